-- Catch-up marks: where reading a thread's history starts, kept until that reading
-- is done. A process killed in the middle of a catch-up may have stored live replies
-- newer than what it had not read yet; the next start reads from the mark, not from
-- the newest stored reply, so those older replies are not skipped.

CREATE TABLE catchup_marks (
    discussion_id INTEGER PRIMARY KEY REFERENCES discussions (id) ON DELETE CASCADE,
    after_message_id TEXT  -- NULL: from the start of the thread
);
