"""A PostgreSQL schema of the benchmark's own, on the server a URL names."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg  # type: ignore[import-untyped]

from storage.store import PostgresStore


def store(url: str, schema: str) -> PostgresStore:
    return PostgresStore(url, server_settings={"search_path": schema}, max_size=4)


async def connect(url: str, schema: str) -> asyncpg.Connection:
    return await asyncpg.connect(url, server_settings={"search_path": schema})


@asynccontextmanager
async def scratch_schema(url: str, name: str) -> AsyncIterator[str]:
    """A fresh schema, dropped afterwards."""
    admin = await asyncpg.connect(url)
    try:
        await admin.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE; CREATE SCHEMA "{name}"')
        yield name
    finally:
        await admin.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        await admin.close()
