"""Numbered, forward-only schema migrations, one SQL file each, per engine."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def load(engine: str) -> list[Migration]:
    """The migrations of one engine (a folder beside this file), in order.

    Numbers must run 1, 2, 3… with no gap or repeat: a gap means a lost file.
    """
    folder = resources.files(__package__).joinpath(engine)
    found: list[Migration] = []
    for entry in folder.iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            raise RuntimeError(
                f"{engine} migrations: expected number {expected:04d}, found {migration.version:04d}"
            )
    return found
