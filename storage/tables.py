"""Every table a store keeps, described once, for copying a community between stores.

`threadcast migrate-db` moves rows table by table through `TableStore`, which
both stores implement. Rows travel as plain Python values (int, str, bool,
aware datetime, None), so each store only converts its own storage format;
the SQL to read and write a table is built here from the description, not
written per table.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.store import Store

Row = tuple[object, ...]


class Kind(enum.Enum):
    INT = "int"
    TEXT = "text"
    BOOL = "bool"
    TIME = "time"  # an instant: aware datetime in Python, timestamptz or UTC text in the database


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    columns: tuple[tuple[str, Kind], ...]
    key: tuple[str, ...]  # the primary key: rows are read in its order
    identity: str | None = None  # a column numbered by the database, whose counter must follow a copy

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.columns)

    @property
    def kinds(self) -> tuple[Kind, ...]:
        return tuple(kind for _, kind in self.columns)

    def key_of(self, row: Row) -> Row:
        names = self.names
        return tuple(row[names.index(k)] for k in self.key)

    def key_kinds(self) -> tuple[Kind, ...]:
        kinds = dict(self.columns)
        return tuple(kinds[k] for k in self.key)

    def select_sql(self, mark: Callable[[int], str], *, after: bool) -> str:
        """Rows in key order, `limit` at a time, after the given key (keyset paging: no open cursor).

        `mark(i)` is the engine's placeholder for the i-th parameter, counted from 1:
        the key values come first, then the limit.
        """
        keys = ", ".join(self.key)
        where = ""
        if after:
            marks = ", ".join(mark(i) for i in range(1, len(self.key) + 1))
            where = f" WHERE ({keys}) > ({marks})"
        limit = mark(len(self.key) + 1 if after else 1)
        return f"SELECT {', '.join(self.names)} FROM {self.name}{where} ORDER BY {keys} LIMIT {limit}"

    def insert_sql(self, mark: Callable[[int], str]) -> str:
        marks = ", ".join(mark(i) for i in range(1, len(self.columns) + 1))
        return f"INSERT INTO {self.name} ({', '.join(self.names)}) VALUES ({marks})"


def _cols(spec: str) -> tuple[tuple[str, Kind], ...]:
    """`"id:int title:text"` → columns; keeps the table list below readable."""
    return tuple((name, Kind(kind)) for name, kind in (part.split(":") for part in spec.split()))


# In an order that satisfies the foreign keys: a row's parents are copied before it.
TABLES: tuple[Table, ...] = (
    Table(
        "articles",
        _cols(
            "id:int key:text title:text url:text summary:text source:text published_at:time created_at:time"
        ),
        ("id",),
        "id",
    ),
    Table(
        "feeds",
        _cols(
            "id:int platform:text community_id:text channel_id:text url:text title:text prompt:text"
            " backlog:int interval_seconds:int etag:text last_modified:text last_success_at:time"
            " last_error:text last_error_at:time failures:int next_poll_at:time items_posted:int"
            " primed:bool created_at:time post_template:text items_held_back:int held_unmatched:int"
        ),
        ("id",),
        "id",
    ),
    Table("feed_items", _cols("feed_id:int key:text seen_at:time"), ("feed_id", "key")),
    Table(
        "feed_filters",
        _cols("id:int feed_id:int action:text pattern:text field:text held_back:int created_at:time"),
        ("id",),
        "id",
    ),
    Table(
        "channel_settings",
        _cols("platform:text community_id:text channel_id:text prompt:text digest_style:text"),
        ("platform", "community_id", "channel_id"),
    ),
    Table(
        "discussions",
        _cols(
            "id:int article_id:int platform:text community_id:text channel_id:text message_id:text"
            " thread_id:text prompt:text state:text feed_id:int removed_feed:text created_at:time"
            " posted_at:time anonymous_replies:int"
        ),
        ("id",),
        "id",
    ),
    Table(
        "replies",
        _cols(
            "id:int discussion_id:int message_id:text author_id:text author_name:text text:text"
            " created_at:time edited_at:time featured:bool hidden:bool"
        ),
        ("id",),
        "id",
    ),
    Table("reactions", _cols("reply_id:int user_id:text emoji:text"), ("reply_id", "user_id", "emoji")),
    Table("catchup_marks", _cols("discussion_id:int after_message_id:text"), ("discussion_id",)),
    Table(
        "member_prefs",
        _cols("platform:text user_id:text opted_out:bool anonymous:bool"),
        ("platform", "user_id"),
    ),
    Table(
        "digest_schedules",
        _cols(
            "platform:text community_id:text channel_id:text weekday:int at:text timezone:text"
            " enabled:bool next_run_at:time last_run_at:time"
        ),
        ("platform", "community_id", "channel_id"),
    ),
    Table(
        "digests",
        _cols(
            "platform:text community_id:text channel_id:text period_start:time period_end:time"
            " state:text message_ids:text created_at:time"
        ),
        ("platform", "community_id", "channel_id", "period_end"),
    ),
    Table("leases", _cols("name:text holder:text expires_at:time"), ("name",)),
    Table(
        "community_settings",
        _cols("platform:text community_id:text language:text summaries:text"),
        ("platform", "community_id"),
    ),
    Table(
        "console_messages",
        _cols(
            "seq:int channel:text author:text text:text thread:text opens_thread:bool article:text"
            " deleted:bool created_at:time"
        ),
        ("seq",),
        "seq",
    ),
    Table("console_reactions", _cols("seq:int emoji:text user_id:text"), ("seq", "emoji", "user_id")),
    Table("console_state", _cols("name:text value:text"), ("name",)),
    # Last: the triggers that keep gists clean fire on writes of replies and member_prefs.
    Table(
        "gists",
        _cols("discussion_id:int period_start:time fingerprint:text engine:text text:text created_at:time"),
        ("discussion_id", "period_start", "fingerprint"),
    ),
)


class TableStore(Store, Protocol):
    """A `Store` that can also hand over and take in whole tables (for `migrate-db`)."""

    async def count_rows(self, table: Table) -> int: ...

    async def read_rows(self, table: Table, after: Row | None, limit: int) -> list[Row]:
        """Up to `limit` rows in key order, starting after the row whose key is `after`."""

    async def write_rows(self, table: Table, rows: Sequence[Row]) -> None:
        """Insert the rows as they are, ids included, in one transaction."""

    async def after_copy(self) -> None:
        """Make the store ready for new rows after a copy (id counters past the copied ids)."""
