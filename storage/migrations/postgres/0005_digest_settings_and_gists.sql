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
    platform text NOT NULL,
    community_id text NOT NULL,
    language text,
    summaries text NOT NULL DEFAULT 'builtin' CHECK (summaries IN ('builtin', 'model')),
    PRIMARY KEY (platform, community_id)
);

ALTER TABLE channel_settings ADD COLUMN digest_style text NOT NULL DEFAULT 'compact'
    CHECK (digest_style IN ('compact', 'full'));

CREATE TABLE gists (
    discussion_id bigint NOT NULL REFERENCES discussions (id) ON DELETE CASCADE,
    period_start timestamptz NOT NULL,
    fingerprint text NOT NULL,
    engine text NOT NULL,
    text text NOT NULL,
    created_at timestamptz NOT NULL,
    PRIMARY KEY (discussion_id, period_start, fingerprint)
);

CREATE FUNCTION gists_forget_reply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM gists WHERE discussion_id = OLD.discussion_id;
    RETURN NULL;
END;
$$;

CREATE TRIGGER gists_reply_deleted AFTER DELETE ON replies
    FOR EACH ROW EXECUTE FUNCTION gists_forget_reply();

CREATE TRIGGER gists_reply_changed AFTER UPDATE OF text, hidden, author_name ON replies
    FOR EACH ROW
    WHEN (OLD.text IS DISTINCT FROM NEW.text OR OLD.hidden IS DISTINCT FROM NEW.hidden
          OR OLD.author_name IS DISTINCT FROM NEW.author_name)
    EXECUTE FUNCTION gists_forget_reply();

CREATE FUNCTION gists_forget_member() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM gists WHERE discussion_id IN (
        SELECT r.discussion_id FROM replies r JOIN discussions d ON d.id = r.discussion_id
        WHERE r.author_id = NEW.user_id AND d.platform = NEW.platform);
    RETURN NULL;
END;
$$;

CREATE TRIGGER gists_member_prefs_written AFTER INSERT OR UPDATE ON member_prefs
    FOR EACH ROW EXECUTE FUNCTION gists_forget_member();
