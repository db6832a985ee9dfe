"""The core stays light to import: feed parsing, HTML extraction, HTTP and imaging load when
first used, not when a command's process starts (each check runs in a fresh interpreter)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("trafilatura", "lxml", "feedparser", "aiohttp", "PIL")
PLATFORMS_AND_DATABASES = ("discord", "slack_bolt", "slack_sdk", "aiosqlite", "asyncpg")
# `import bot.app` loaded 166 modules when this was written (608 before the core was made
# light); the cap leaves room for a few small modules, not for a heavy library coming back.
BOT_APP_MODULE_CAP = 200


def loaded_after(statement: str) -> list[str]:
    """The module names a fresh interpreter holds after running `statement`."""
    probe = f"import json, sys\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    names: list[str] = json.loads(done.stdout)
    return names


def tops(names: list[str]) -> set[str]:
    return {name.split(".")[0] for name in names}


def test_importing_the_app_loads_no_heavy_library_and_few_modules() -> None:
    names = loaded_after("import bot.app")
    assert "bot.app" in names  # the probe really imported it
    assert not tops(names) & set(HEAVY), sorted(tops(names) & set(HEAVY))
    assert len(names) <= BOT_APP_MODULE_CAP, f"import bot.app loads {len(names)} modules"


@pytest.mark.parametrize("module", ["bot.services", "bot.commands.all", "bot.sources"])
def test_the_core_loads_no_heavy_library_before_it_is_used(module: str) -> None:
    names = loaded_after(f"import {module}")
    assert module in names
    assert not tops(names) & set(HEAVY), sorted(tops(names) & set(HEAVY))


def test_a_source_loads_its_library_when_used() -> None:
    """The lazy imports are real: the names resolve, and the library comes with the use."""
    names = loaded_after(
        "from bot.sources import parse_feed\n"
        "parse_feed(b'<rss version=\"2.0\"><channel><title>t</title></channel></rss>', 'http://x/')"
    )
    assert "feedparser" in tops(names)


def test_the_command_line_imports_only_light_things_at_its_top() -> None:
    """`threadcast --help` imports the CLI module alone: no platform, store or heavy library."""
    names = loaded_after("import threadcast.cli")
    assert "click" in tops(names)
    bad = tops(names) & {*HEAVY, *PLATFORMS_AND_DATABASES, "babel", "adapters", "storage"}
    assert not bad, sorted(bad)
