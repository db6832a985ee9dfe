"""The base of every aggregate module (storage/articles.py, replies.py, …): its database and
the readers of its rows. An aggregate is a class of queries over one `Db`, written once for
both engines; `storage.store.SqlStore` composes them."""

from __future__ import annotations

from storage.db.core import Db
from storage.rows import Rows


class Queries:
    def __init__(self, db: Db) -> None:
        self._db = db
        self._rows = Rows(db.when)
