-- The console platform's own messages, kept in the store so that several processes on one
-- database (two consoles, a console and `threadcast post`) hand out message ids from one
-- sequence and see each other's posts and threads. A message is numbered by `seq` (its id is
-- "m" || seq); a deleted one stays as a tombstone, so no id is ever handed out twice.

CREATE TABLE console_messages (
    seq INTEGER PRIMARY KEY,
    channel TEXT NOT NULL,
    author TEXT NOT NULL,
    text TEXT NOT NULL,
    thread TEXT,
    opens_thread INTEGER NOT NULL DEFAULT 0,
    article TEXT,
    deleted INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);

CREATE INDEX console_messages_thread ON console_messages (thread, seq);
CREATE INDEX console_messages_openers ON console_messages (channel, seq) WHERE opens_thread = 1;

CREATE TABLE console_reactions (
    seq INTEGER NOT NULL REFERENCES console_messages (seq) ON DELETE CASCADE,
    emoji TEXT NOT NULL,
    user_id TEXT NOT NULL,
    PRIMARY KEY (seq, emoji, user_id)
);

-- name -> value: "time_offset" (seconds `.advance` added), "imported" (a JSON state file was taken in).
CREATE TABLE console_state (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
