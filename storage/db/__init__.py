"""The dialect layer under the store: queries written once, run on SQLite or PostgreSQL.

`core` holds the protocols (`Db`, `Tx`) and the rewrite of a query for each engine; `sqlite`
and `postgres` hold each engine's own code (opening, WAL and backup; the pool), `sqlite_calls`
the calls SQLite's connection thread runs; `migrate` applies the named migration files. Only
`storage.db.sqlite` and `sqlite_calls` import aiosqlite and only `storage.db.postgres` imports
asyncpg: a deployment loads the one it uses.
"""

from __future__ import annotations

from storage.db.core import NO_PARAMS, Db, Engine, NewRows, Params, Row, Sql, Tx, compile_sql, pick

__all__ = ["NO_PARAMS", "Db", "Engine", "NewRows", "Params", "Row", "Sql", "Tx", "compile_sql", "pick"]
