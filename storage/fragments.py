"""The few pieces of SQL where SQLite and PostgreSQL truly differ, each written once here and
used inside queries that are otherwise one text for both engines (see storage/db/core.py)."""

from __future__ import annotations

from collections.abc import Mapping

from storage.db.core import ENGINES


def bytewise(sql: str) -> Mapping[str, str]:
    """The query with each `{C}` ordering its text by bytes: SQLite's BINARY does by default,
    PostgreSQL needs `COLLATE "C"` (its default collation follows the locale)."""
    return {e: sql.replace("{C}", ' COLLATE "C"' if e == "postgres" else "") for e in ENGINES}


def listed(name: str, pg_type: str, alias: str) -> Mapping[str, str]:
    """A list parameter as a table `alias` of one column, `value` (an INSERT … SELECT of many
    rows in one statement, a correlated subquery per item): SQLite's json_each names its column
    so; PostgreSQL's unnest is told to."""
    return {
        "sqlite": f"json_each(:{name}) {alias}",
        "postgres": f"unnest(:{name}::{pg_type}[]) AS {alias} (value)",
    }
