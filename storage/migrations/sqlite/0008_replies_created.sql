-- A digest counts the replies written in its period. Through replies_discussion_created that
-- is one probe per discussion the community ever had (most of them long quiet); through the
-- replies in time order it is one walk over the period's own replies. The index holds what
-- the counts read of each reply (its discussion and author; SQLite adds the rowid, which the
-- reactions are found by), so the walk does not visit the table.

CREATE INDEX replies_created ON replies (created_at, discussion_id, author_id);
