"""One benchmark case in this process: `python -m bench.worker CASE JSON` prints its result as JSON."""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import sys
from typing import Any

# case name -> module:function; each is async and returns a dict of figures.
CASES = {
    "ingest_app": "bench.ingest:through_app",
    "ingest_raw": "bench.ingest:raw_insert",
    "discord_adapter": "bench.discord_flood:adapter",
    "discord_bare": "bench.discord_flood:bare",
    "digest_builder": "bench.digest:builder",
    "digest_sql": "bench.digest:aggregate",
    "gist_builtin": "bench.gist:builtin",
    "feeds_poller": "bench.feeds:poller",
    "feeds_loop": "bench.feeds:minimal_loop",
    "feeds_huge": "bench.feeds:huge_feed",
}


def run(case: str, arguments: dict[str, Any]) -> dict[str, Any]:
    module, function = CASES[case].split(":")
    result: dict[str, Any] = asyncio.run(getattr(importlib.import_module(module), function)(**arguments))
    return result


if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING)
    print(json.dumps(run(sys.argv[1], json.loads(sys.argv[2]))))
