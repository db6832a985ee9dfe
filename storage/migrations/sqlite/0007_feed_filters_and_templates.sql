-- A moderator's feed controls (issue 13).
-- feeds gains its post template (NULL: the standard post; else the parts to show, in order,
-- e.g. 'title,excerpt,link,prompt') and how many new items its filters held back: in all,
-- and of those, how many matched none of its include filters.
-- feed_filters: a feed's include and exclude rules, each a phrase or a /regular expression/
-- on the item's title, summary, categories or all three ('all'); held_back counts the items
-- an exclude rule held back (the first exclude that matched an item counts it).

ALTER TABLE feeds ADD COLUMN post_template TEXT;
ALTER TABLE feeds ADD COLUMN items_held_back INTEGER NOT NULL DEFAULT 0;
ALTER TABLE feeds ADD COLUMN held_unmatched INTEGER NOT NULL DEFAULT 0;

CREATE TABLE feed_filters (
    id INTEGER PRIMARY KEY,
    feed_id INTEGER NOT NULL REFERENCES feeds (id) ON DELETE CASCADE,
    action TEXT NOT NULL CHECK (action IN ('include', 'exclude')),
    pattern TEXT NOT NULL,
    field TEXT NOT NULL DEFAULT 'all' CHECK (field IN ('all', 'title', 'summary', 'categories')),
    held_back INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL
);
CREATE INDEX feed_filters_feed ON feed_filters (feed_id, id);
