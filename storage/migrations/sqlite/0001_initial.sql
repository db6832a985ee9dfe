-- The first schema: articles, feeds and what they have shown, discussions
-- (also the outbox of posts not yet confirmed), replies and reactions,
-- member preferences, digest schedules and posted digests.
-- Times are UTC text in one fixed format, so they sort as text.

CREATE TABLE articles (
    id INTEGER PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    url TEXT,
    summary TEXT NOT NULL,
    source TEXT NOT NULL,
    published_at TEXT,
    created_at TEXT NOT NULL
);

CREATE TABLE feeds (
    id INTEGER PRIMARY KEY,
    platform TEXT NOT NULL,
    community_id TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    url TEXT NOT NULL,
    title TEXT,
    prompt TEXT,
    backlog INTEGER NOT NULL DEFAULT 0,
    interval_seconds INTEGER NOT NULL,
    etag TEXT,
    last_modified TEXT,
    last_success_at TEXT,
    last_error TEXT,
    last_error_at TEXT,
    failures INTEGER NOT NULL DEFAULT 0,
    next_poll_at TEXT NOT NULL,
    items_posted INTEGER NOT NULL DEFAULT 0,
    primed INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    UNIQUE (platform, community_id, channel_id, url)
);
CREATE INDEX feeds_due ON feeds (next_poll_at);

CREATE TABLE feed_items (
    feed_id INTEGER NOT NULL REFERENCES feeds (id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    seen_at TEXT NOT NULL,
    PRIMARY KEY (feed_id, key)
) WITHOUT ROWID;

CREATE TABLE channel_settings (
    platform TEXT NOT NULL,
    community_id TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    prompt TEXT,
    PRIMARY KEY (platform, community_id, channel_id)
) WITHOUT ROWID;

CREATE TABLE discussions (
    id INTEGER PRIMARY KEY,
    article_id INTEGER NOT NULL REFERENCES articles (id),
    platform TEXT NOT NULL,
    community_id TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    message_id TEXT,
    thread_id TEXT,
    prompt TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'posted')),
    feed_id INTEGER REFERENCES feeds (id) ON DELETE SET NULL,
    removed_feed TEXT,  -- the feed's name, kept when the feed is removed
    created_at TEXT NOT NULL,
    posted_at TEXT,
    anonymous_replies INTEGER NOT NULL DEFAULT 0,
    UNIQUE (article_id, platform, community_id, channel_id)
);
CREATE UNIQUE INDEX discussions_thread ON discussions (platform, community_id, thread_id)
    WHERE thread_id IS NOT NULL;
CREATE INDEX discussions_posted ON discussions (platform, community_id, posted_at);
CREATE INDEX discussions_feed ON discussions (feed_id);

CREATE TABLE replies (
    id INTEGER PRIMARY KEY,
    discussion_id INTEGER NOT NULL REFERENCES discussions (id) ON DELETE CASCADE,
    message_id TEXT NOT NULL,
    author_id TEXT NOT NULL,
    author_name TEXT NOT NULL,
    text TEXT NOT NULL,
    created_at TEXT NOT NULL,
    edited_at TEXT,
    featured INTEGER NOT NULL DEFAULT 0,
    hidden INTEGER NOT NULL DEFAULT 0,
    UNIQUE (discussion_id, message_id)
);
CREATE INDEX replies_message ON replies (message_id);
CREATE INDEX replies_discussion_created ON replies (discussion_id, created_at);
CREATE INDEX replies_author ON replies (author_id);

CREATE TABLE reactions (
    reply_id INTEGER NOT NULL REFERENCES replies (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL,
    emoji TEXT NOT NULL,
    PRIMARY KEY (reply_id, user_id, emoji)
) WITHOUT ROWID;
CREATE INDEX reactions_user ON reactions (user_id);

CREATE TABLE member_prefs (
    platform TEXT NOT NULL,
    user_id TEXT NOT NULL,
    opted_out INTEGER NOT NULL DEFAULT 0,
    anonymous INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (platform, user_id)
) WITHOUT ROWID;

CREATE TABLE digest_schedules (
    platform TEXT NOT NULL,
    community_id TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    weekday INTEGER NOT NULL CHECK (weekday BETWEEN 0 AND 6),
    at TEXT NOT NULL,
    timezone TEXT NOT NULL,
    enabled INTEGER NOT NULL DEFAULT 1,
    next_run_at TEXT,
    last_run_at TEXT,
    PRIMARY KEY (platform, community_id, channel_id)
) WITHOUT ROWID;
CREATE INDEX digest_schedules_due ON digest_schedules (enabled, next_run_at);

CREATE TABLE digests (
    platform TEXT NOT NULL,
    community_id TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    period_start TEXT NOT NULL,
    period_end TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('claimed', 'posted')),
    message_ids TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    PRIMARY KEY (platform, community_id, channel_id, period_end)
) WITHOUT ROWID;
