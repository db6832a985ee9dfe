"""Copy everything one store holds into another, table by table (`threadcast migrate-db`).

Rows keep their ids, so links between tables, and the message ids platforms
know, stay valid. The target must be empty: merging two communities' ids is
not something a copy can do safely.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from bot.store import StoreError
from storage.tables import TABLES, Row, TableStore

_log = logging.getLogger(__name__)

BATCH = 1000  # rows per read and per target transaction


class TargetNotEmpty(StoreError):
    """The target already holds data; nothing was copied."""


@dataclass(frozen=True, slots=True)
class TableCount:
    table: str
    source: int
    target: int

    @property
    def matches(self) -> bool:
        return self.source == self.target


async def plan_copy(source: TableStore, target: TableStore) -> dict[str, int]:
    """The source's rows per table, once the target is known to be empty and at the same schema."""
    source_version, target_version = await source.schema_version(), await target.schema_version()
    if source_version != target_version:
        raise StoreError(
            f"the source is at schema version {source_version} and the target at {target_version}:"
            " run the same threadcast version on both"
        )
    held = {t.name: n for t in TABLES if (n := await target.count_rows(t))}
    if held:
        listed = ", ".join(f"{name} {count}" for name, count in held.items())
        raise TargetNotEmpty(
            f"the target already holds data ({listed}); migrate-db copies only into an empty database,"
            " so nothing was copied"
        )
    return {t.name: await source.count_rows(t) for t in TABLES}


async def copy_tables(
    source: TableStore,
    target: TableStore,
    *,
    batch: int = BATCH,
    progress: Callable[[int], object] = lambda _: None,
) -> list[TableCount]:
    """Copy every table (call `plan_copy` first), then count both sides again.

    `progress` hears how many rows each batch moved. Parents are copied
    before children, so the target's foreign keys hold after every batch.
    """
    for table in TABLES:
        after: Row | None = None
        try:
            while rows := await source.read_rows(table, after, batch):
                await target.write_rows(table, rows)
                progress(len(rows))
                if len(rows) < batch:
                    break
                after = table.key_of(rows[-1])
        except StoreError as exc:
            raise StoreError(
                f"copying {table.name} failed: {exc}. The target now holds part of the data:"
                " empty it before copying again"
            ) from exc
        _log.info("copied %s", table.name)
    await target.after_copy()
    return [TableCount(t.name, await source.count_rows(t), await target.count_rows(t)) for t in TABLES]
