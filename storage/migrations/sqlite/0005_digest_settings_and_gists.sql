-- Digest settings and the gist cache (issue 11).
-- community_settings: the community's language (NULL: the operator's default) and which
-- engine writes its gists. channel_settings gains the digest style of a digest channel.
-- gists: the gist written for a discussion's replies of one period, keyed by a fingerprint
-- of the words it was written from, so a preview and the post say the same and a retry
-- costs nothing.
--
-- A cached gist must not outlive the words it was written from: the triggers below delete
-- a discussion's gists whenever one of its replies is deleted, hidden, edited or renamed,
-- and every gist of the discussions a member replied in whenever that member's
-- preferences are written (opt-out, anonymous) or forgotten. Deleting the discussion
-- deletes its gists through the foreign key.

CREATE TABLE community_settings (
    platform TEXT NOT NULL,
    community_id TEXT NOT NULL,
    language TEXT,
    summaries TEXT NOT NULL DEFAULT 'builtin' CHECK (summaries IN ('builtin', 'model')),
    PRIMARY KEY (platform, community_id)
) WITHOUT ROWID;

ALTER TABLE channel_settings ADD COLUMN digest_style TEXT NOT NULL DEFAULT 'compact'
    CHECK (digest_style IN ('compact', 'full'));

CREATE TABLE gists (
    discussion_id INTEGER NOT NULL REFERENCES discussions (id) ON DELETE CASCADE,
    period_start TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    engine TEXT NOT NULL,
    text TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (discussion_id, period_start, fingerprint)
) WITHOUT ROWID;

CREATE TRIGGER gists_reply_deleted AFTER DELETE ON replies
BEGIN
    DELETE FROM gists WHERE discussion_id = OLD.discussion_id;
END;

CREATE TRIGGER gists_reply_changed AFTER UPDATE OF text, hidden, author_name ON replies
WHEN OLD.text IS NOT NEW.text OR OLD.hidden IS NOT NEW.hidden OR OLD.author_name IS NOT NEW.author_name
BEGIN
    DELETE FROM gists WHERE discussion_id = OLD.discussion_id;
END;

CREATE TRIGGER gists_member_prefs_added AFTER INSERT ON member_prefs
BEGIN
    DELETE FROM gists WHERE discussion_id IN (
        SELECT r.discussion_id FROM replies r JOIN discussions d ON d.id = r.discussion_id
        WHERE r.author_id = NEW.user_id AND d.platform = NEW.platform);
END;

CREATE TRIGGER gists_member_prefs_changed AFTER UPDATE ON member_prefs
BEGIN
    DELETE FROM gists WHERE discussion_id IN (
        SELECT r.discussion_id FROM replies r JOIN discussions d ON d.id = r.discussion_id
        WHERE r.author_id = NEW.user_id AND d.platform = NEW.platform);
END;
