-- The console platform's own messages, kept in the store so that several processes on one
-- database (two consoles, a console and `threadcast post`) hand out message ids from one
-- sequence and see each other's posts and threads. A message is numbered by `seq` (its id is
-- 'm' || seq); a deleted one stays as a tombstone, so no id is ever handed out twice.

CREATE TABLE console_messages (
    seq bigserial PRIMARY KEY,
    channel text NOT NULL,
    author text NOT NULL,
    text text NOT NULL,
    thread text,
    opens_thread boolean NOT NULL DEFAULT false,
    article text,
    deleted boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL
);

CREATE INDEX console_messages_thread ON console_messages (thread, seq);
CREATE INDEX console_messages_openers ON console_messages (channel, seq) WHERE opens_thread;

CREATE TABLE console_reactions (
    seq bigint NOT NULL REFERENCES console_messages (seq) ON DELETE CASCADE,
    emoji text NOT NULL,
    user_id text NOT NULL,
    PRIMARY KEY (seq, emoji, user_id)
);

-- name -> value: 'time_offset' (seconds `.advance` added), 'imported' (a JSON state file was taken in).
CREATE TABLE console_state (
    name text PRIMARY KEY,
    value text NOT NULL
);
