"""`threadcast check` asks the platforms, the database and the feeds (issue 13): real processes
of the CLI against the fake Discord and the fake Slack, real SQLite files and a real feed
server; `--offline` contacts nothing. Every output is scanned for the secrets."""

from __future__ import annotations

import asyncio
import base64
import os
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest
import yaml
from aiohttp import web

from adapters.discord.setup import PERMISSIONS, PERMISSIONS_VALUE
from adapters.slack.setup import EVENTS, SCOPES
from bot.checkup import CheckLine, DatabaseState, SubscribedFeed, check_feeds, database_lines
from bot.models import Community
from bot.sources.http import AiohttpFetcher
from storage import migrations
from storage.state import database_state
from storage.store import SQLiteStore
from tests.conftest import T0
from tests.fake_discord import (
    ATTACH_FILES,
    EMBED_LINKS,
    MESSAGE_CONTENT,
    PRIVILEGED_INTENTS,
    FakeDiscord,
    Fault,
    server_error,
)
from tests.fake_slack import BOT_SCOPES, FakeSlack
from tests.postgres import fresh_schema
from tests.sources_server import SourcesServer

pytestmark = pytest.mark.timeout(180)

ROOT = Path(__file__).resolve().parents[1]
DISCORD_TOKEN = base64.b64encode(b"223344556677889900").decode().rstrip("=") + ".GxChk1.chkSecretZ8q2Mn4"
SLACK_BOT_TOKEN = "xoxb-4444-5555-chkBotSecretQ1w2e3"
SLACK_APP_TOKEN = "xapp-1-A0APP-6666-chkAppSecretR4t5"
SIGNING_SECRET = "8f3a1c77e0d94b2a5c6d7e8f90a1b2c3"
FEED_KEY = "feedKeySecret77"
SECRETS = (DISCORD_TOKEN, SLACK_BOT_TOKEN, SLACK_APP_TOKEN, SIGNING_SECRET, FEED_KEY)

RSS = """<?xml version="1.0"?><rss version="2.0"><channel><title>Marrowby Gazette</title>
<item><title>Night trains return</title><link>https://example.org/a</link></item>
<item><title>The garden opens</title><link>https://example.org/b</link></item>
</channel></rss>"""

# discord.py pointed at the fake by its two addresses, then the real CLI entry point.
LAUNCHER = """
import sys, discord.http, discord.gateway, yarl
discord.http.Route.BASE = sys.argv.pop(1)
discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(sys.argv.pop(1))
from threadcast.cli import entry
sys.argv[0] = "threadcast"
entry()
"""


def leaks(text: str) -> list[str]:
    """The secrets found in `text`: whole, or their last 10 characters (a mask keeps the start)."""
    return [secret for secret in SECRETS if secret in text or secret[-10:] in text]


async def check(
    tmp_path: Path,
    *args: str,
    discord: FakeDiscord | None = None,
    environment: Mapping[str, str] | None = None,
    **env: str,
) -> tuple[int, str]:
    """`threadcast check ARGS` in a process of its own, with `environment` and then `env` set;
    its exit code and stdout + stderr."""
    full_env = {
        k: v for k, v in os.environ.items() if not k.startswith(("THREADCAST_", "DISCORD_", "SLACK_"))
    }
    full_env.update(
        PYTHONPATH=str(ROOT),
        THREADCAST_DATABASE_URL=f"sqlite:///{tmp_path / 'threadcast.db'}",
        THREADCAST_ALLOW_PRIVATE_URLS="true",
        THREADCAST_HTTP_TIMEOUT="10",
    )
    full_env.update(environment or {})
    full_env.update(env)
    # Discord's address is set in every run: a test without the fake must reach no real Discord.
    base, gateway = (
        (discord.url + "/api/v10", discord.gateway_url)
        if discord
        else ("http://127.0.0.1:9/", "ws://127.0.0.1:9/")
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", LAUNCHER, base, gateway, "check", *args,
        cwd=tmp_path, env=full_env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return process.returncode, out.decode()


def crosses(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith("✗")]


def ticks(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith("✓")]


async def database_with_feeds(path: Path, *urls: str) -> Path:
    store = SQLiteStore(path)
    await store.open()
    try:
        for url in urls:
            await store.add_feed(
                Community("discord", "1"), "2", url, prompt=None, backlog=0, interval_seconds=900, now=T0
            )
    finally:
        await store.close()
    return path


def slack_env(slack: FakeSlack) -> dict[str, str]:
    slack.bot_token, slack.app_token = SLACK_BOT_TOKEN, SLACK_APP_TOKEN
    return {
        "SLACK_BOT_TOKEN": SLACK_BOT_TOKEN,
        "SLACK_APP_TOKEN": SLACK_APP_TOKEN,
        "SLACK_API_URL": slack.api_url,
    }


# -- Discord ----------------------------------------------------------------------------------


async def test_a_refused_discord_token_is_one_line_saying_what_to_do(tmp_path: Path) -> None:
    async with FakeDiscord(token="the-token-discord-knows", patch_discord=False) as fake:
        code, out = await check(tmp_path, discord=fake, DISCORD_TOKEN=DISCORD_TOKEN)
    assert code == 1, out
    assert crosses(out) == [
        "✗ Discord refused DISCORD_TOKEN — copy the token again from Bot → Token in the developer portal"
        " (Reset Token) into DISCORD_TOKEN."
    ], out
    assert [r.path for r in fake.requests] == ["/users/@me"]  # nothing asked after the refusal
    assert leaks(out) == [], out
    assert not (tmp_path / "threadcast.db").exists()  # the missing database is reported, not made
    assert "does not exist yet" in out


async def test_a_missing_message_content_intent_is_one_line(tmp_path: Path) -> None:
    async with FakeDiscord(
        token=DISCORD_TOKEN, privileged_intents=PRIVILEGED_INTENTS & ~MESSAGE_CONTENT, patch_discord=False
    ) as fake:
        code, out = await check(tmp_path, discord=fake, DISCORD_TOKEN=DISCORD_TOKEN)
    assert code == 1, out
    [line] = crosses(out)
    assert line.startswith("✗ Discord application: the Message Content intent is not enabled"), out
    assert "Privileged Gateway Intents" in line
    assert f"client_id={fake.app_id}&" in out  # the invite URL with the real application id


async def test_missing_server_permissions_are_named_with_what_they_cost(tmp_path: Path) -> None:
    async with FakeDiscord(token=DISCORD_TOKEN, patch_discord=False) as fake:
        fake.members[fake.bot_id].permissions = PERMISSIONS_VALUE & ~ATTACH_FILES & ~EMBED_LINKS
        code, out = await check(tmp_path, discord=fake, DISCORD_TOKEN=DISCORD_TOKEN, DISCORD_GUILD_IDS="42")
    assert code == 1, out
    lacking, not_there = crosses(out)
    assert lacking.startswith(
        f"✗ Discord server 'threadcast test' ({fake.guild_id}): the bot lacks Embed Links"
    )
    assert "Attach Files (the digest's participation chart is refused)" in lacking
    assert "Send Messages" not in lacking.split(" — ")[0]
    assert not_there.startswith("✗ DISCORD_GUILD_IDS names server 42, where the bot is not")


async def test_discord_down_or_answering_nonsense_is_a_line_not_a_crash(tmp_path: Path) -> None:
    async with FakeDiscord(token=DISCORD_TOKEN, patch_discord=False) as fake:
        fake.inject("GET", "/oauth2/applications/@me", server_error(503))
        code, out = await check(tmp_path, discord=fake, DISCORD_TOKEN=DISCORD_TOKEN)
        assert code == 1, out
        [line] = crosses(out)
        assert line.startswith("✗ Discord answered 503 (503: Server Error) — try again in a few minutes")

        fake.inject("GET", "/oauth2/applications/@me", Fault(200, {"name": "no id"}))
        code, out = await check(tmp_path, discord=fake, DISCORD_TOKEN=DISCORD_TOKEN)
    assert code == 1, out
    assert "✗ Discord's answer was not what threadcast expects (KeyError: 'id') — try again later" in out
    assert "✓ Discord accepted DISCORD_TOKEN" in out and "✓ configuration is valid" in out
    assert leaks(out) == [], out


# -- Slack ------------------------------------------------------------------------------------


async def test_a_slack_token_without_files_write_is_one_line_naming_what_it_costs(tmp_path: Path) -> None:
    async with FakeSlack() as slack:
        env = slack_env(slack)
        slack.granted_scopes = [scope for scope in BOT_SCOPES if scope != "files:write"]
        code, out = await check(tmp_path, environment=env)
    assert code == 1, out
    assert crosses(out) == [
        "✗ Slack scope files:write is not granted: the digest chart is not uploaded — add files:write under"
        " OAuth & Permissions → Bot Token Scopes and reinstall the app."
    ], out
    assert "✓ Slack Socket Mode: SLACK_APP_TOKEN opened a connection and Slack said hello" in out
    assert leaks(out) == [], out


async def test_refused_slack_tokens_and_a_malformed_signing_secret(tmp_path: Path) -> None:
    async with FakeSlack() as slack:
        env = slack_env(slack)
        slack.bot_token = "xoxb-another-one"
        code, out = await check(tmp_path, environment=env)
        assert code == 1 and crosses(out) == [
            "✗ Slack refused SLACK_BOT_TOKEN (invalid_auth) — copy the Bot User OAuth Token (xoxb-…) again"
            " from OAuth & Permissions into SLACK_BOT_TOKEN; reinstall the app if it was revoked."
        ], out

        slack.bot_token, slack.app_token = SLACK_BOT_TOKEN, "xapp-another-one"
        code, out = await check(tmp_path, environment=env)
        [line] = crosses(out)
        assert line.startswith(
            "✗ Socket Mode: Slack refused SLACK_APP_TOKEN (invalid_auth) — create an app-level"
        )
        assert slack.socket_connections == 0

        http_env = {**env, "SLACK_APP_TOKEN": "", "SLACK_SIGNING_SECRET": "not-the-signing-secret"}
        code, out = await check(tmp_path, environment=http_env)
        [line] = crosses(out)
        assert line.startswith("✗ Slack HTTP mode: SLACK_SIGNING_SECRET does not look like a signing secret")
        code, out = await check(tmp_path, environment=http_env, SLACK_SIGNING_SECRET=SIGNING_SECRET)
        assert code == 0, out
        assert "✓ Slack HTTP mode: SLACK_SIGNING_SECRET has the form of a signing secret" in out
        assert leaks(out) == [], out


def test_the_scopes_and_events_are_those_of_the_manifest() -> None:
    manifest = yaml.safe_load((ROOT / "slack-manifest.yml").read_text(encoding="utf-8"))
    assert [s.name for s in SCOPES] == manifest["oauth_config"]["scopes"]["bot"]
    assert list(EVENTS) == manifest["settings"]["event_subscriptions"]["bot_events"]
    assert [s.name for s in SCOPES] == list(BOT_SCOPES)  # the fake grants what the manifest asks


# -- all together, the feeds, and --offline -----------------------------------------------------


async def test_a_healthy_set_up_is_all_ticks(tmp_path: Path) -> None:
    async with (
        FakeDiscord(token=DISCORD_TOKEN, patch_discord=False) as fake,
        FakeSlack() as slack,
        SourcesServer() as feeds,
    ):
        feeds.serve("/feed.xml", RSS)
        db = await database_with_feeds(tmp_path / "threadcast.db", feeds.url(f"/feed.xml?token={FEED_KEY}"))
        before = db.read_bytes()
        code, out = await check(
            tmp_path,
            discord=fake,
            DISCORD_TOKEN=DISCORD_TOKEN,
            environment=slack_env(slack),
            THREADCAST_LOG_LEVEL="DEBUG",
        )
        assert code == 0, out
        assert crosses(out) == [], out
        shown = ticks(out)
        assert shown[0] == "✓ configuration is valid; platforms: discord, slack"
        assert "✓ database " in out and f"schema version {len(migrations.load('sqlite'))}, up to date" in out
        assert f"✓ feed 1 {feeds.url('/feed.xml?token=****')} answers: 2 items (Marrowby Gazette)" in shown
        assert "✓ Discord accepted DISCORD_TOKEN: bot threadcast" in out
        assert "✓ Discord application: the Message Content intent is enabled" in out
        assert (
            f"✓ Discord servers with every permission threadcast needs: 'threadcast test' ({fake.guild_id})"
            in out
        )
        assert (
            f"client_id={fake.app_id}&scope=bot+applications.commands&permissions={PERMISSIONS_VALUE}" in out
        )
        assert (
            "✓ Slack accepted SLACK_BOT_TOKEN: workspace Fake Team (T0TEAM), bot user threadcast (U0BOT)"
            in out
        )
        assert "✓ Slack scopes: every one threadcast needs" in out
        assert slack.socket_connections == 1 and fake.requests_to("GET", "/users/@me/guilds")
        assert "DEBUG" in out  # the libraries' request logs are there, and scanned
        assert leaks(out) == [], out
        assert db.read_bytes() == before  # read, not written
        assert sorted(os.listdir(tmp_path)) == ["threadcast.db"]  # no WAL files left behind


async def test_failing_feeds_are_named_masked_with_the_fix(tmp_path: Path) -> None:
    async with SourcesServer() as feeds:
        feeds.serve("/good.xml", RSS)
        feeds.serve("/page.html", "<html><body>Hello</body></html>", content_type="text/html")
        gone = feeds.url(f"/gone.xml?key={FEED_KEY}")
        await database_with_feeds(
            tmp_path / "threadcast.db", feeds.url("/good.xml"), gone, feeds.url("/page.html")
        )
        code, out = await check(tmp_path)
        root = feeds.url("/").rstrip("/")
    assert code == 1, out
    gone_line, page_line = crosses(out)
    assert gone_line == (
        f"✗ feed 2 {root}/gone.xml?key=****: HTTP 404 Not Found — the feed moved or is gone: find"
        " its new address, then `feed remove 2` and `feed add <new url>`."
    )
    assert page_line.startswith(f"✗ feed 3 {root}/page.html: ")
    assert "`feed remove 3`, then `feed add <feed url>`" in page_line
    assert f"✓ feed 1 {root}/good.xml answers: 2 items" in out
    assert leaks(out) == [], out
    assert "3 problems to fix" not in out and "2 problems to fix (the ✗ lines)." in out


async def test_offline_contacts_nothing_and_prints_the_set_up(tmp_path: Path) -> None:
    async with (
        FakeDiscord(token=DISCORD_TOKEN, patch_discord=False) as fake,
        FakeSlack() as slack,
        SourcesServer() as feeds,
    ):
        feeds.serve("/feed.xml", RSS)
        await database_with_feeds(tmp_path / "threadcast.db", feeds.url("/feed.xml"))
        env = {"DISCORD_TOKEN": DISCORD_TOKEN, **slack_env(slack)}
        code, out = await check(tmp_path, "--offline", discord=fake, environment=env)
        assert code == 0, out
        assert fake.requests == [] and fake.connections == []
        assert slack.calls == [] and slack.socket_connections == 0
        assert feeds.requests == []
    assert "Configuration is valid. Effective settings (secrets masked):" in out
    assert (
        f"client_id=223344556677889900&scope=bot+applications.commands&permissions={PERMISSIONS_VALUE}" in out
    )
    assert ", ".join(p.name for p in PERMISSIONS) in out
    assert "MESSAGE CONTENT" in out and "files:write" in out and "connections:write" in out
    assert leaks(out) == [], out


# -- the database -----------------------------------------------------------------------------


async def test_an_unreachable_postgresql_is_one_line_without_its_password(tmp_path: Path) -> None:
    url = "postgresql://threadcast:pgPassSecret42@127.0.0.1:1/community"  # nothing listens on port 1
    code, out = await check(tmp_path, THREADCAST_DATABASE_URL=url)
    assert code == 1, out
    [line] = crosses(out)
    assert line.startswith("✗ cannot open the database postgresql://threadcast:****@127.0.0.1:1/community")
    assert "pgPassSecret42" not in out


async def test_the_database_state_is_read_without_changing_it(tmp_path: Path) -> None:
    missing = tmp_path / "sub" / "none.db"
    with pytest.raises(Exception, match=r"the folder .* does not exist"):
        await database_state(f"sqlite:///{missing}")
    state = await database_state(f"sqlite:///{tmp_path / 'later.db'}")
    assert not state.exists and not (tmp_path / "later.db").exists()

    db = await database_with_feeds(tmp_path / "t.db", "https://example.org/feed.xml")
    state = await database_state(f"sqlite:///{db}")
    assert (state.version, state.pending) == (state.known, ())
    assert state.feeds == (SubscribedFeed(1, "https://example.org/feed.xml"),)

    await asyncio.to_thread(_sql, db, "DELETE FROM schema_migrations WHERE version = 6")
    state = await database_state(f"sqlite:///{db}")
    [line] = database_lines(state)
    assert line.ok and "applies 1 pending migration at start (0006_console_messages)" in line.text

    await asyncio.to_thread(_sql, db, "INSERT INTO schema_migrations VALUES (99, 'future', '2030-01-01')")
    [line] = database_lines(await database_state(f"sqlite:///{db}"))
    assert not line.ok and "schema version 99, newer than this threadcast knows" in line.text


def _sql(path: Path, statement: str) -> None:
    import sqlite3

    with sqlite3.connect(path) as conn:
        conn.execute(statement)
    conn.close()


async def test_the_state_of_a_postgresql_database() -> None:
    async with fresh_schema() as schema:
        empty = await database_state(schema.store_url)
        assert (empty.version, len(empty.pending), empty.feeds) == (0, empty.known, ())
        assert (
            await schema.admin.fetchval(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = $1", schema.name
            )
            == 0
        )  # looking made no table
        store = schema.store()
        await store.open()
        try:
            await store.add_feed(
                Community("slack", "T1"), "C1", "https://example.org/f", prompt=None, backlog=0,
                interval_seconds=900, now=T0,
            )  # fmt: skip
        finally:
            await store.close()
        state = await database_state(schema.store_url)
        assert (state.version, state.pending) == (state.known, ())
        assert [f.url for f in state.feeds] == ["https://example.org/f"]
        assert database_lines(state)[0] == CheckLine(
            True, f"database {state.where}: schema version {state.known}, up to date"
        )


async def test_feeds_still_unanswered_when_the_time_is_up_are_reported() -> None:
    async with SourcesServer() as server, AiohttpFetcher(timeout=30, allow_private=True) as fetcher:

        async def never(request: web.Request) -> web.StreamResponse:
            await server.released.wait()
            raise AssertionError("released")

        server.route("/slow.xml", never)
        server.serve("/feed.xml", RSS)
        feeds = [SubscribedFeed(1, server.url("/slow.xml")), SubscribedFeed(2, server.url("/feed.xml")),
                 SubscribedFeed(3, server.url("/feed.xml"))]  # fmt: skip
        slow, good = await check_feeds(fetcher, feeds, budget=2.0)
        assert len(server.requests_to("/feed.xml")) == 1  # one address followed twice is fetched once
        assert not slow.ok and slow.text == f"feed 1 {server.url('/slow.xml')}: no answer within 2 s"
        assert good.ok and good.text.startswith(f"feeds 2, 3 {server.url('/feed.xml')} answers: 2 items")


def test_a_database_that_does_not_exist_yet_is_not_a_problem() -> None:
    [line] = database_lines(DatabaseState("x.db", exists=False, version=0, known=6))
    assert line.ok and "does not exist yet" in line.text
