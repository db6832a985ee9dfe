-- A digest counts the replies written in its period. Through replies_discussion_created that
-- is one probe per discussion the community ever had (most of them long quiet); through the
-- replies in time order it is one walk over the period's own replies. The index holds what
-- the counts read of each reply (its discussion, its author, and its id, which the reactions
-- are found by), so the walk can stay in it once the table is vacuumed.

CREATE INDEX replies_created ON replies (created_at) INCLUDE (discussion_id, author_id, id);
