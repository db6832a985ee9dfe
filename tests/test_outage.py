"""`threadcast run` when a platform is out of reach or refuses the bot, and the log it writes.

Real discord.py and slack-bolt against the fakes; Slack's outage is its fake's port closed
(connections refused) and opened again on the same port."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from datetime import time as daytime
from pathlib import Path

import discord.http
import pytest

from adapters.slack.platform import SlackPlatform, SlackStartError
from adapters.slack.platform import supervise as supervise_slack
from bot.config import Settings
from bot.models import Community, DigestSchedule
from bot.retry import backoff, seconds
from storage.store import SQLiteStore
from tests.conftest import eventually
from tests.fake_discord import FakeDiscord
from tests.fake_slack import ADMIN, GENERAL, TEAM_ID, FakeSlack, api_error, server_error
from threadcast import logs
from threadcast.wiring import NothingRunning, run_platforms

pytestmark = pytest.mark.timeout(120)

ROOT = str(Path(__file__).resolve().parents[1])


@pytest.fixture
def log_text() -> Iterator[io.StringIO]:
    """The log as `threadcast run` writes it at its default level (INFO, text)."""
    out = io.StringIO()
    logs.setup("INFO", "text", stream=out)
    try:
        yield out
    finally:
        root = logging.getLogger()
        for handler in [h for h in root.handlers if h.name == "threadcast"]:
            root.removeHandler(handler)


def settings_for(database: Path, discord: FakeDiscord, slack: FakeSlack, **more: object) -> Settings:
    values: dict[str, object] = {
        "database_url": f"sqlite:///{database}",
        "tick_seconds": 0.2,
        "discord_token": discord.token,
        "discord_guild_ids": (discord.guild_id,),
        "slack_bot_token": slack.bot_token,
        "slack_app_token": slack.app_token,
        "slack_api_url": slack.api_url,
        **more,
    }
    return Settings(**values)  # type: ignore[arg-type]


async def stopped(running: asyncio.Task[None], ready: asyncio.Event) -> None:
    """Stop `run` as an operator does (SIGTERM once its handlers are in), and wait for it."""
    if ready.is_set() and not running.done():
        os.kill(os.getpid(), signal.SIGTERM)
    else:
        running.cancel()
    await asyncio.wait_for(asyncio.gather(running, return_exceptions=True), 15)


async def until(predicate: Callable[[], object], timeout: float = 20.0) -> None:
    async def holds() -> bool:
        return bool(predicate())

    await eventually(holds, timeout)


@pytest.fixture
async def fakes() -> AsyncIterator[tuple[FakeDiscord, FakeSlack]]:
    async with FakeDiscord() as discord_fake, FakeSlack() as slack_fake:
        yield discord_fake, slack_fake


async def test_discord_keeps_running_while_slack_is_unreachable_and_slack_recovers(
    tmp_path: Path, fakes: tuple[FakeDiscord, FakeSlack], log_text: io.StringIO
) -> None:
    discord_fake, slack_fake = fakes
    database = tmp_path / "threadcast.db"
    # A Slack digest falls due while Slack is down: it must go out once Slack is back.
    slack_team = Community("slack", TEAM_ID)
    store = SQLiteStore(database)
    await store.open()
    due = datetime.now(UTC) - timedelta(minutes=5)
    await store.set_digest_schedule(
        DigestSchedule(
            slack_team, GENERAL, due.weekday(), daytime(due.hour, due.minute), "UTC", True, due, None
        )
    )
    await store.close()

    await slack_fake.stop_serving()  # connections to its port are refused
    ready = asyncio.Event()
    running = asyncio.create_task(
        run_platforms(settings_for(database, discord_fake, slack_fake), ready=ready)
    )
    try:
        await until(lambda: running.done() or ready.is_set())
        assert not running.done()
        # Discord works meanwhile: a command answered, an article posted.
        post = await discord_fake.slash_command(
            discord_fake.mod_id, discord_fake.general_id, "post", {"article": "Bridge reopens"}
        )
        await discord_fake.wait_for(lambda: post.followups, timeout=10)
        assert "Posted" in "\n".join(m["content"] for m in post.followups)
        await until(lambda: log_text.getvalue().count("Slack unreachable") >= 2)
        assert not running.done()
        # Slack down: its digest is still due (nothing was marked done).
        check = SQLiteStore(database)
        await check.open()
        try:
            [schedule] = await check.digest_schedules(slack_team)
            assert schedule.next_run_at == due and schedule.last_run_at is None
        finally:
            await check.close()

        await slack_fake.serve_again()
        await until(lambda: "Slack connected again" in log_text.getvalue())
        await slack_fake.wait_connected(timeout=10)
        await slack_fake.socket_command(ADMIN, 'post "Ferry returns"', timeout=10)
        await slack_fake.wait_for(lambda: slack_fake.responses, timeout=10)
        assert "Posted" in slack_fake.responses[0]["text"], slack_fake.responses[0]
        # The digest that fell due while Slack was down goes out at the next tick, once.
        await slack_fake.wait_for(
            lambda: any(
                "Community digest" in json.dumps(m.get("blocks")) for m in slack_fake.messages_in(GENERAL)
            ),
            timeout=10,
        )
    finally:
        await stopped(running, ready)
    running.result()

    text = log_text.getvalue()
    retries = [line for line in text.splitlines() if "Slack unreachable" in line]
    assert len(retries) >= 2
    for line in retries:  # one line each: what failed, where, and the wait
        assert (
            " WARNING adapters.slack.platform: Slack unreachable (Cannot connect to host 127.0.0.1:" in line
        )
        assert "; retrying in " in line
    assert "Traceback" not in text, text
    assert text.count("Slack connected again") == 1 and "Slack connected (" not in text
    assert "slack_bolt" not in text  # its socket's comings and goings are not an operator's news
    store = SQLiteStore(database)
    await store.open()
    try:
        stored = {(d.community.platform, a.title) for d, a, _ in await store.export(None)}
        assert stored == {("discord", "Bridge reopens"), ("slack", "Ferry returns")}
        [schedule] = await store.digest_schedules(slack_team)
        assert schedule.last_run_at == due
    finally:
        await store.close()


async def test_a_refused_slack_token_stops_slack_while_discord_keeps_running(
    tmp_path: Path, fakes: tuple[FakeDiscord, FakeSlack], log_text: io.StringIO
) -> None:
    discord_fake, slack_fake = fakes
    settings = settings_for(tmp_path / "t.db", discord_fake, slack_fake, slack_bot_token="xoxb-revoked")
    ready = asyncio.Event()
    running = asyncio.create_task(run_platforms(settings, ready=ready))
    try:
        await until(lambda: running.done() or ready.is_set())
        await until(lambda: "Slack stopped" in log_text.getvalue())
        post = await discord_fake.slash_command(
            discord_fake.mod_id, discord_fake.general_id, "post", {"article": "Bridge reopens"}
        )
        await discord_fake.wait_for(lambda: post.followups, timeout=10)
        assert "Posted" in "\n".join(m["content"] for m in post.followups)
        assert not running.done()
    finally:
        await stopped(running, ready)
    running.result()
    text = log_text.getvalue()
    [line] = [line for line in text.splitlines() if "Slack stopped" in line]
    assert "SLACK_BOT_TOKEN" in line and "invalid_auth" in line
    assert "Traceback" not in text and len(slack_fake.calls_to("auth.test")) == 1  # not tried again


async def test_when_every_platform_is_refused_run_stops_with_each_reason(
    tmp_path: Path, fakes: tuple[FakeDiscord, FakeSlack], log_text: io.StringIO
) -> None:
    discord_fake, slack_fake = fakes
    settings = settings_for(
        tmp_path / "t.db",
        discord_fake,
        slack_fake,
        slack_bot_token="xoxb-revoked",
        discord_token="bad.token.x",
    )
    with pytest.raises(NothingRunning) as stopped_run:
        await asyncio.wait_for(run_platforms(settings), 30)
    reasons = sorted(stopped_run.value.reasons)
    assert len(reasons) == 2
    assert reasons[0].startswith("Discord refused DISCORD_TOKEN")
    assert "Slack refused" in reasons[1] and "SLACK_BOT_TOKEN" in reasons[1]
    assert "Traceback" not in log_text.getvalue()


DISCORD_LAUNCHER = """
import sys, discord.http, discord.gateway, yarl
discord.http.Route.BASE = sys.argv.pop(1)
discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(sys.argv.pop(1))
from threadcast.cli import entry
sys.argv[0] = "threadcast"
entry()
"""


async def threadcast(
    tmp_path: Path, *args: str, env: dict[str, str], launcher: bool = False
) -> tuple[int, str, str]:
    """The real CLI as a process: its exit code, stdout and stderr."""
    command = ("-c", DISCORD_LAUNCHER) if launcher else ("-m", "bot")
    process = await asyncio.create_subprocess_exec(
        sys.executable, *command, *args, cwd=tmp_path, env={**env, "PYTHONPATH": ROOT},
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        out, err = await asyncio.wait_for(process.communicate(), 60)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def clean_env(tmp_path: Path, **values: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "THREADCAST_DATABASE_URL": f"sqlite:///{tmp_path / 'threadcast.db'}",
        **values,
    }


async def test_run_with_every_token_refused_exits_1_with_both_sentences_and_no_traceback(
    tmp_path: Path, fakes: tuple[FakeDiscord, FakeSlack]
) -> None:
    discord_fake, slack_fake = fakes
    env = clean_env(
        tmp_path,
        DISCORD_TOKEN="bad.token.x",
        SLACK_BOT_TOKEN="xoxb-revoked",
        SLACK_APP_TOKEN=slack_fake.app_token,
        SLACK_API_URL=slack_fake.api_url,
    )
    code, out, err = await threadcast(
        tmp_path, discord_fake.url + "/api/v10", discord_fake.gateway_url, "run", env=env, launcher=True
    )
    assert code == 1, err
    assert "Error: No platform is running:" in err
    assert "- Discord refused DISCORD_TOKEN: copy the token from the Bot page again" in err
    assert "- Slack refused SLACK_BOT_TOKEN (invalid_auth): copy the Bot User OAuth Token again" in err
    assert "Traceback" not in err + out, err


async def test_one_shot_commands_log_no_info_on_a_new_database_unless_asked(tmp_path: Path) -> None:
    article = tmp_path / "article.txt"
    article.write_text("Bridge reopens\n\nThe old bridge is open again.\n", encoding="utf-8")
    code, out, err = await threadcast(
        tmp_path, "post", str(article), "--db", "new.db", env=clean_env(tmp_path)
    )
    assert code == 0 and "Posted" in out, err
    assert err == "", err  # the migrations applied to the new file say nothing at WARNING

    env = clean_env(tmp_path, THREADCAST_LOG_FORMAT="json")
    code, out, err = await threadcast(
        tmp_path, "--log-level", "info", "post", str(article), "--db", "other.db", env=env
    )
    assert code == 0, err
    records = [json.loads(line) for line in err.splitlines()]  # every line is one JSON object
    assert records and all(set(r) == {"time", "level", "logger", "message"} for r in records), records
    assert any(r["level"] == "INFO" and "migration" in r["message"] for r in records)
    datetime.fromisoformat(records[0]["time"])

    # The variable says it too (the option wins over it).
    env = clean_env(tmp_path, THREADCAST_LOG_LEVEL="info")
    code, _, err = await threadcast(tmp_path, "post", str(article), "--db", "third.db", env=env)
    assert code == 0 and " INFO storage." in err, err
    code, _, err = await threadcast(
        tmp_path, "--log-level", "warning", "post", str(article), "--db", "fourth.db", env=env
    )
    assert code == 0 and err == "", err


def test_a_library_traceback_is_one_line_above_debug_and_whole_at_debug() -> None:
    def logged(level: str, form: str) -> str:
        out = io.StringIO()
        logs.setup(level, form, stream=out)
        try:
            try:
                raise ConnectionResetError("Connection lost")
            except ConnectionResetError:
                logging.getLogger("discord.client").exception("Attempting a reconnect in 2.00s")
                logging.getLogger("bot.app").exception("a bug of ours")
        finally:
            root = logging.getLogger()
            for handler in [h for h in root.handlers if h.name == "threadcast"]:
                root.removeHandler(handler)
        return out.getvalue()

    text = logged("INFO", "text")
    library, ours = text.split("\n", 1)
    assert library.endswith(
        "ERROR discord.client: Attempting a reconnect in 2.00s (ConnectionResetError: Connection lost)"
    )
    assert "Traceback" in ours  # our own bugs keep theirs
    assert logged("DEBUG", "text").count("Traceback") == 2

    first, second = (json.loads(line) for line in logged("INFO", "json").splitlines())
    assert "exc_info" not in first and first["logger"] == "discord.client"
    assert second["level"] == "ERROR" and "ConnectionResetError" in second["exc_info"]


def test_backoff_doubles_with_jitter_up_to_its_cap() -> None:
    plain = list(zip(range(12), backoff(1.0, 300.0, jitter=0.0), strict=False))
    assert [d for _, d in plain][:10] == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300]
    low = [d for _, d in zip(range(12), backoff(1.0, 300.0, rand=lambda: 0.0), strict=False)]
    high = [d for _, d in zip(range(12), backoff(1.0, 300.0, rand=lambda: 1.0), strict=False)]
    assert low[:3] == pytest.approx([0.8, 1.6, 3.2]) and high[:3] == pytest.approx([1.2, 2.4, 4.8])
    assert max(high) == 300.0 and low[-1] == pytest.approx(240.0)
    assert [seconds(s) for s in (0.5, 4.2, 45, 150, 300)] == ["0.5 s", "4 s", "45 s", "2 min 30 s", "5 min"]


def test_time_is_measured_in_utc() -> None:
    # The JSON log's time is UTC whatever the machine's zone (it ends in +00:00).
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", None, None)
    record.created = time.time()
    assert json.loads(logs.JsonFormatter().format(record))["time"].endswith("+00:00")


def closed_port() -> int:
    """A loopback port nothing listens on (connections to it are refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_slack_keeps_running_while_discord_is_unreachable_and_discord_recovers(
    tmp_path: Path,
    fakes: tuple[FakeDiscord, FakeSlack],
    log_text: io.StringIO,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    discord_fake, slack_fake = fakes
    real_base = discord.http.Route.BASE
    monkeypatch.setattr(discord.http.Route, "BASE", f"http://127.0.0.1:{closed_port()}/api/v10")
    ready = asyncio.Event()
    running = asyncio.create_task(
        run_platforms(settings_for(tmp_path / "t.db", discord_fake, slack_fake), ready=ready)
    )
    try:
        await until(lambda: running.done() or ready.is_set())
        await slack_fake.socket_command(ADMIN, 'post "Ferry returns"', timeout=10)
        await slack_fake.wait_for(lambda: slack_fake.responses, timeout=10)
        assert "Posted" in slack_fake.responses[0]["text"], slack_fake.responses[0]
        await until(lambda: log_text.getvalue().count("Discord unreachable") >= 2)

        monkeypatch.setattr(discord.http.Route, "BASE", real_base)  # Discord is back
        await until(lambda: "Discord connected again" in log_text.getvalue())
        post = await discord_fake.slash_command(
            discord_fake.mod_id, discord_fake.general_id, "post", {"article": "Bridge reopens"}
        )
        await discord_fake.wait_for(lambda: post.followups, timeout=10)
        assert "Posted" in "\n".join(m["content"] for m in post.followups)
    finally:
        await stopped(running, ready)
    running.result()
    text = log_text.getvalue()
    for line in (line for line in text.splitlines() if "Discord unreachable" in line):
        assert "WARNING adapters.discord.platform: Discord unreachable (Cannot connect to host" in line, line
    assert "Traceback" not in text and "logging in" not in text, text


async def test_slack_lost_after_connecting_is_noted_once_and_its_return_too(
    tmp_path: Path, fakes: tuple[FakeDiscord, FakeSlack], log_text: io.StringIO
) -> None:
    discord_fake, slack_fake = fakes
    settings = settings_for(tmp_path / "t.db", discord_fake, slack_fake, discord_token="")
    ready = asyncio.Event()
    running = asyncio.create_task(run_platforms(settings, ready=ready))
    try:
        await until(lambda: running.done() or ready.is_set())
        await slack_fake.stop_serving()
        await until(lambda: "Slack connection lost" in log_text.getvalue(), timeout=30)
        await slack_fake.serve_again()
        await until(lambda: "Slack connected again" in log_text.getvalue(), timeout=30)
        await slack_fake.socket_command(ADMIN, 'post "Ferry returns"', timeout=10)
        await slack_fake.wait_for(lambda: slack_fake.responses, timeout=10)
        assert "Posted" in slack_fake.responses[0]["text"], slack_fake.responses[0]
    finally:
        await stopped(running, ready)
    running.result()
    text = log_text.getvalue()
    assert text.count("Slack connection lost") == 1 and text.count("Slack connected again") == 1
    assert "Traceback" not in text, text


def slack_platform(slack_fake: FakeSlack, app_token: str | None = None) -> SlackPlatform:
    """A Slack platform as `run` makes it, on the fake."""
    from bot.app import App
    from bot.commands.registry import CommandRegistry

    app = App(CommandRegistry(lambda: datetime.now(UTC)))
    return SlackPlatform(
        app,
        bot_token=slack_fake.bot_token,
        app_token=app_token or slack_fake.app_token,
        base_url=slack_fake.api_url,
    )


async def test_slack_failing_on_its_side_is_tried_again_and_a_refused_app_token_is_not(
    fakes: tuple[FakeDiscord, FakeSlack], log_text: io.StringIO
) -> None:
    _, slack_fake = fakes
    stop = asyncio.Event()
    platform = slack_platform(slack_fake)
    slack_fake.inject("auth.test", server_error(503), api_error("internal_error"))
    keeping = asyncio.create_task(supervise_slack(platform, stop, delays=iter([0.01] * 5)))
    try:
        await slack_fake.wait_connected(timeout=10)
        await until(lambda: "Slack connected again" in log_text.getvalue())
    finally:
        stop.set()
        await platform.close()
        await asyncio.wait_for(keeping, 10)
    retries = [line for line in log_text.getvalue().splitlines() if "Slack unreachable" in line]
    assert len(retries) == 2 and "(Slack answered 503" in retries[0], retries
    assert "internal_error" in retries[1]

    refused = slack_platform(slack_fake, app_token="xapp-not-this-one")
    opened = len(slack_fake.calls_to("apps.connections.open"))
    with pytest.raises(SlackStartError, match=r"SLACK_APP_TOKEN.*\(invalid_auth\)"):
        await asyncio.wait_for(supervise_slack(refused, asyncio.Event(), delays=iter([0.01] * 5)), 10)
    assert len(slack_fake.calls_to("apps.connections.open")) == opened + 1  # asked once, not again
    await refused.close()


@pytest.mark.parametrize(
    ("error", "advice"),
    [
        ("account_inactive", "reinstall the app"),
        ("missing_scope", "slack-manifest.yml"),
        ("token_revoked", "reinstall the app"),
        ("not_authed", "Bot User OAuth Token"),
    ],
)
async def test_each_refusal_of_the_bot_token_says_what_to_change_and_is_not_retried(
    fakes: tuple[FakeDiscord, FakeSlack], error: str, advice: str
) -> None:
    _, slack_fake = fakes
    slack_fake.inject("auth.test", api_error(error))
    platform = slack_platform(slack_fake)
    with pytest.raises(SlackStartError) as refused:
        await asyncio.wait_for(supervise_slack(platform, asyncio.Event(), delays=iter([0.01] * 5)), 10)
    assert str(refused.value).startswith(f"Slack refused SLACK_BOT_TOKEN ({error}): ")
    assert advice in str(refused.value) and len(slack_fake.calls_to("auth.test")) == 1
    await platform.close()
