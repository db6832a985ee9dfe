-- A digest counts the replies written in its period. Through replies_discussion_created that
-- is one probe per discussion the community ever had (most of them long quiet); through the
-- replies in time order it is one walk over the period's own replies. The index holds what
-- the counts read of each reply (its discussion and author), so the walk can stay in it.

CREATE INDEX replies_created ON replies (created_at) INCLUDE (discussion_id, author_id, id);
