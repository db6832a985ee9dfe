"""PostgreSQL for tests: a fresh schema per test on the server THREADCAST_TEST_POSTGRES_URL names.

Without that variable, or without a server answering there, the tests that
need it skip with the reason; under THREADCAST_CI (set by `.ci/run`) they fail
instead, so CI cannot pass having run none of them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import NoReturn

import asyncpg  # type: ignore[import-untyped]
import pytest

from bot.redact import mask_url
from storage.store import PostgresStore

URL_VARIABLE = "THREADCAST_TEST_POSTGRES_URL"


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("THREADCAST_CI"):
        pytest.fail(f"CI must run the PostgreSQL tests, but {reason}")
    pytest.skip(reason)


@dataclass(frozen=True, slots=True)
class Schema:
    """One test's own schema: every store made here sees only its tables."""

    url: str
    name: str
    admin: asyncpg.Connection  # outside the schema, for tests that look behind the store

    def store(self) -> PostgresStore:
        return PostgresStore(self.url, server_settings={"search_path": self.name}, max_size=4)

    @property
    def store_url(self) -> str:
        """The same schema as a URL (asyncpg passes unknown query parameters on as server settings)."""
        return f"{self.url}{'&' if '?' in self.url else '?'}search_path={self.name}"


@asynccontextmanager
async def fresh_schema() -> AsyncIterator[Schema]:
    url = os.environ.get(URL_VARIABLE)
    if not url:
        _unavailable(f"{URL_VARIABLE} is not set (e.g. postgresql://postgres@127.0.0.1:5432/test)")
    try:
        admin = await asyncpg.connect(url, timeout=5)
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        _unavailable(f"no PostgreSQL answers at {mask_url(url)} ({URL_VARIABLE}): {exc}")
    name = f"threadcast_test_{uuid.uuid4().hex[:16]}"
    try:
        await admin.execute(f'CREATE SCHEMA "{name}"')
        yield Schema(url, name, admin)
    finally:
        await admin.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        await admin.close()
