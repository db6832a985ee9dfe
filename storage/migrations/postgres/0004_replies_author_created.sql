-- The digest asks when each of the period's authors first replied in the community.
-- With an author's replies in time order in the index, that is the first entry that
-- belongs to the community, instead of a walk through every reply of the community.
-- The new index also serves what the old one did (look-ups by author alone).

DROP INDEX replies_author;
CREATE INDEX replies_author_created ON replies (author_id, created_at);
