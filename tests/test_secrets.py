"""No secret in anything threadcast prints or logs, even at DEBUG (where slack-sdk, aiohttp and
discord.py log their requests): `check`, `console`, `run` on the fake Slack and the fake
Discord, a refused token and an unreachable PostgreSQL whose URL holds a password. Real
processes; their stdout and stderr (where the log goes) are scanned for every secret value
and for its tail, so a partly masked value is caught too."""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import sys
import time
from pathlib import Path

import pytest

from tests.fake_discord import FakeDiscord
from tests.fake_slack import GENERAL, MEMBER, FakeSlack

pytestmark = pytest.mark.timeout(180)

DISCORD_TOKEN = base64.b64encode(b"112233445566778899").decode().rstrip("=") + ".GxAbC1.dscSecretQ7v9Lk2mZ8"
SLACK_BOT_TOKEN = "xoxb-1111-2222-botSecretT0kenR4nd0m"
SLACK_APP_TOKEN = "xapp-1-A0APP-3333-appSecretT0kenXy9"
SLACK_SIGNING_SECRET = "signing-5ecret-8f3a1c77e0d94b2"
PG_PASSWORD = "pg-Pa55word-4u7Hq"
SECRETS = {
    "DISCORD_TOKEN": DISCORD_TOKEN,
    "SLACK_BOT_TOKEN": SLACK_BOT_TOKEN,
    "SLACK_APP_TOKEN": SLACK_APP_TOKEN,
    "SLACK_SIGNING_SECRET": SLACK_SIGNING_SECRET,
    "PG password": PG_PASSWORD,
}
ROOT = str(Path(__file__).resolve().parents[1])
PG_URL = f"postgresql://threadcast:{PG_PASSWORD}@127.0.0.1:1/community"  # nothing listens on port 1


def leaks(text: str) -> list[str]:
    """The secrets found in `text`: whole, or their last 12 characters (a mask keeps the start)."""
    return [name for name, value in SECRETS.items() if value in text or value[-12:] in text]


def shown_secrets(text: str) -> dict[str, str]:
    """What `check` shows for each secret variable."""
    found = {}
    for line in text.splitlines():
        name, equals, value = line.strip().partition(" = ")
        if equals and name in SECRETS:
            found[name] = value
    return found


def env_with(tmp_path: Path, **values: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "THREADCAST_LOG_LEVEL": "DEBUG",
        "THREADCAST_ALLOW_PRIVATE_URLS": "true",
        "THREADCAST_DATABASE_URL": f"sqlite:///{tmp_path / 'threadcast.db'}",
        **values,
    }


async def threadcast(
    tmp_path: Path,
    *args: str,
    env: dict[str, str],
    stdin: bytes = b"",
    stop_when: str | asyncio.Event | None = None,
    command: tuple[str, ...] = ("-m", "bot"),
) -> tuple[int, str]:
    """Run it; with `stop_when`, SIGTERM once that text is in its output (or that event is set).
    Returns the exit code and everything it wrote."""
    log = tmp_path / f"out-{time.monotonic_ns()}.log"
    with log.open("wb") as sink:
        process = await asyncio.create_subprocess_exec(
            sys.executable, *command, *args, cwd=tmp_path, env=env,
            stdin=asyncio.subprocess.PIPE, stdout=sink, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
    assert process.stdin is not None
    process.stdin.write(stdin)
    if stop_when is None:
        process.stdin.close()
    try:
        if stop_when is not None:
            deadline = time.monotonic() + 60

            def stop() -> bool:
                if isinstance(stop_when, asyncio.Event):
                    return stop_when.is_set()
                return stop_when in log.read_text()

            while not stop() and process.returncode is None:
                assert time.monotonic() < deadline, log.read_text()
                await asyncio.sleep(0.1)
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(process.wait(), 60)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    return code, log.read_text()


def every_secret(tmp_path: Path, **more: str) -> dict[str, str]:
    values = {
        "DISCORD_TOKEN": DISCORD_TOKEN,
        "SLACK_BOT_TOKEN": SLACK_BOT_TOKEN,
        "SLACK_APP_TOKEN": SLACK_APP_TOKEN,
        "SLACK_SIGNING_SECRET": SLACK_SIGNING_SECRET,
    }
    return env_with(tmp_path, **{**values, **more})


async def test_check_and_console_show_no_secret(tmp_path: Path) -> None:
    env = every_secret(tmp_path, THREADCAST_DATABASE_URL=PG_URL)
    code, out = await threadcast(tmp_path, "check", "--offline", env=env)
    assert code == 0, out
    assert "THREADCAST_DATABASE_URL = postgresql://threadcast:****@127.0.0.1:1/community" in out
    # No character of a secret: whether it is set, its length, and a Slack token's kind (the
    # "xoxb-" every bot token starts with), so an app token given as the bot token shows.
    assert shown_secrets(out) == {
        "DISCORD_TOKEN": f"**** ({len(DISCORD_TOKEN)} characters)",
        "SLACK_BOT_TOKEN": f"xoxb-**** ({len(SLACK_BOT_TOKEN)} characters)",
        "SLACK_APP_TOKEN": f"xapp-**** ({len(SLACK_APP_TOKEN)} characters)",
        "SLACK_SIGNING_SECRET": f"**** ({len(SLACK_SIGNING_SECRET)} characters)",
    }, out
    assert leaks(out) == [], out

    script = b'/post "Night trains return to the Alps. Tickets on sale Monday." #general\n.thread m1\nhello\n'
    code, out = await threadcast(tmp_path, "console", env=every_secret(tmp_path), stdin=script)
    assert code == 0, out
    assert "DEBUG" in out and "[m2] mod: hello" in out
    assert leaks(out) == [], out


async def test_an_unreachable_postgresql_is_reported_without_its_password(tmp_path: Path) -> None:
    env = every_secret(tmp_path, THREADCAST_DATABASE_URL=PG_URL)
    for command in ("console", "export", "run"):
        code, out = await threadcast(tmp_path, command, env=env)
        assert code != 0, out
        assert "127.0.0.1" in out  # the error says where it tried
        assert leaks(out) == [], f"{command}: {out}"


async def test_run_on_slack_at_debug_logs_no_token(tmp_path: Path) -> None:
    async with FakeSlack() as slack:
        slack.bot_token, slack.app_token = SLACK_BOT_TOKEN, SLACK_APP_TOKEN
        env = every_secret(tmp_path, SLACK_API_URL=slack.api_url, DISCORD_TOKEN="")
        # Stopped only once the command is answered: a stop on "connected" could cut it off.
        answered = asyncio.Event()
        running = asyncio.create_task(threadcast(tmp_path, "run", env=env, stop_when=answered))
        await slack.wait_for(lambda: slack._connected.is_set(), timeout=60)
        try:
            await slack.socket_command(MEMBER, "privacy my-data", channel=GENERAL, timeout=10)
        finally:
            answered.set()
        code, out = await running
        assert code == 0, out
        assert "Sending a request" in out  # slack-sdk's DEBUG lines are there, and scanned
        assert leaks(out) == [], out

        # A bot token Slack refuses: the error names the variable, never its value.
        refused = every_secret(
            tmp_path, SLACK_API_URL=slack.api_url, DISCORD_TOKEN="", SLACK_BOT_TOKEN=SLACK_BOT_TOKEN + "x"
        )
        code, out = await threadcast(tmp_path, "run", env=refused)
        assert code == 1 and "SLACK_BOT_TOKEN" in out, out
        assert leaks(out) == [], out


DISCORD_LAUNCHER = """
import sys, discord.http, discord.gateway, yarl
discord.http.Route.BASE = sys.argv.pop(1)
discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(sys.argv.pop(1))
from threadcast.cli import entry
sys.argv[0] = "threadcast"
entry()
"""


async def test_run_on_discord_at_debug_logs_no_token(tmp_path: Path) -> None:
    """discord.py pointed at the fake by a launcher that sets its two addresses, then the real CLI."""
    async with FakeDiscord(token=DISCORD_TOKEN, patch_discord=False) as fake:
        env = every_secret(tmp_path, SLACK_BOT_TOKEN="", SLACK_APP_TOKEN="", SLACK_SIGNING_SECRET="")
        env["PYTHONPATH"] = ROOT
        code, out = await threadcast(
            tmp_path, fake.url + "/api/v10", fake.gateway_url, "run", env=env,
            stop_when="has connected to Gateway", command=("-c", DISCORD_LAUNCHER),
        )  # fmt: skip
        assert code == 0, out
        assert "discord." in out and "DEBUG" in out
        assert leaks(out) == [], out
