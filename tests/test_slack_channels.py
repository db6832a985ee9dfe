"""Issue 13: a #channel in a Slack command is a real channel, stored by its id.

The real slack-bolt app (SlackPlatform) against the fake Slack, which sends commands escaped
as slack-manifest.yml asks (`should_escape: true`): a channel the member picked arrives as
`<#C…|name>`, one pasted or not recognised as plain `#name` (`fake.link_typed_channels = False`).
Assertions are on the answer, on what the fake was asked, and on the store.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from adapters.slack.channels import ChannelDirectory, command_text
from adapters.slack.platform import SlackPlatform
from adapters.slack.setup import SCOPES
from bot.app import App
from bot.config import Settings
from bot.models import Community
from bot.platform import ChatPlatform
from bot.services import build_core
from bot.sources.http import AiohttpFetcher
from storage.store import SQLiteStore
from tests.conftest import FakeClock
from tests.fake_slack import ADMIN, FIRST_TS, GENERAL, MEMBER, FakeSlack, Json, api_error, ratelimited

pytestmark = pytest.mark.timeout(20)

SECRET = "fake-signing-secret"
START = datetime.fromtimestamp(FIRST_TS / 1_000_000, UTC) - timedelta(seconds=30)
TOWN_HALL, LOUNGE, SECRET_ROOM = "C0TOWNHALL", "C0LOUNGE01", "G0SECRET01"
NO_CHANNEL = "There is no channel #{} here that I can see — invite me to it or check the name."
MANIFEST = Path(__file__).resolve().parent.parent / "slack-manifest.yml"


@dataclass
class Bot:
    fake: FakeSlack
    app: App
    store: SQLiteStore
    platforms: dict[str, ChatPlatform]
    platform: SlackPlatform | None = None
    http: bool = False

    @property
    def community(self) -> Community:
        return Community("slack", self.fake.team_id)

    async def start(self, *, http: bool = False) -> SlackPlatform:
        self.http = http
        options: dict[str, Any] = (
            {"signing_secret": SECRET, "http_host": "127.0.0.1", "http_port": 0}
            if http
            else {"app_token": self.fake.app_token}
        )
        platform = SlackPlatform(
            self.app, bot_token=self.fake.bot_token, base_url=self.fake.api_url, pace=0.0, **options
        )
        self.platform = self.platforms["slack"] = platform
        await platform.start()
        if not http:
            await self.fake.wait_connected()
        return platform

    async def command(self, text: str, *, user: str = ADMIN) -> str:
        """/threadcast `text` as typed (the fake escapes it as Slack would); the answer's text."""
        seen = len(self.fake.responses)
        body = self.fake.command_body(user, text)
        if self.http:
            assert self.platform is not None and self.platform.http_url
            reply = await self.fake.http_event(self.platform.http_url, body, secret=SECRET)
            assert reply.status == 200
        else:
            await self.fake.send_envelope("slash_commands", body)
        await self.fake.wait_for(lambda: len(self.fake.responses) > seen, 5.0)
        await self.app.drain(2)
        return str(self.fake.responses[seen]["text"])

    async def schedules(self) -> dict[str, Any]:
        return {s.channel_id: s for s in await self.store.digest_schedules(self.community)}

    async def saved_anything(self) -> bool:
        """Whether any command stored a channel's setting, a schedule, a feed or a discussion."""
        return bool(
            await self.schedules()
            or await self.store.list_feeds(self.community)
            or await self.store.export(self.community)
        )


@pytest.fixture
async def bot(store: SQLiteStore, caplog: pytest.LogCaptureFixture) -> AsyncIterator[Bot]:
    caplog.set_level(logging.WARNING)
    fetcher = AiohttpFetcher(allow_private=True, timeout=5)
    platforms: dict[str, ChatPlatform] = {}
    app, _ = build_core(Settings(), store, FakeClock(START), fetcher, platforms)
    async with FakeSlack() as fake:
        fake.add_channel(TOWN_HALL, "town-hall")
        fake.add_channel(LOUNGE, "lounge", member=False)
        fake.add_private_channel(SECRET_ROOM, "secret", member=False)
        harness = Bot(fake, app, store, platforms)
        try:
            yield harness
        finally:
            if harness.platform is not None:
                await harness.platform.close()
            await app.shutdown()
            await fetcher.close()
    records = caplog.get_records("call") + caplog.get_records("teardown")  # .records: this phase only
    errors = [f"{r.name}: {r.getMessage()}" for r in records if r.levelno >= logging.ERROR]
    assert not errors  # a member's mistake is never an ERROR


def _asked(fake: FakeSlack, method: str) -> list[Json]:
    return [c.params for c in fake.calls_to(method)]


# ----------------------------------------------------------------------------- refused


async def test_a_channel_that_does_not_exist_is_refused_and_nothing_is_saved(bot: Bot) -> None:
    await bot.start()
    for typed in (
        "digest schedule monday 09:00 UTC #nowhere",
        'post "Ferry returns" #nowhere',
        "feed add http://127.0.0.1:9/feed.xml #nowhere",
        "digest style full #nowhere",
        "prompt set Tell us about {title} #nowhere",
    ):
        assert await bot.command(typed) == NO_CHANNEL.format("nowhere"), typed
    assert not await bot.saved_anything()
    assert await bot.store.get_channel_settings(bot.community, "nowhere") is None
    assert bot.fake.calls_to("chat.postMessage") == []
    assert len(bot.fake.calls_to("conversations.list")) == 1  # the listing is kept a while


async def test_a_private_channel_without_the_bot_gets_the_invite_hint(bot: Bot) -> None:
    await bot.start()
    picked = await bot.command("digest schedule monday 09:00 UTC #secret")  # Slack links it
    assert picked.startswith("I cannot see #secret: if it is a private channel, invite me to it")
    assert "/invite @threadcast" in picked
    assert [c["channel"] for c in _asked(bot.fake, "conversations.info")] == [SECRET_ROOM]
    bot.fake.link_typed_channels = False
    assert await bot.command("digest schedule monday 09:00 UTC #secret") == NO_CHANNEL.format("secret")
    assert not await bot.saved_anything()

    bot.fake.channels[SECRET_ROOM]["is_member"] = True  # someone typed /invite @threadcast there
    bot.fake.link_typed_channels = True
    assert "#secret" not in await bot.command("digest schedule monday 09:00 UTC #secret")
    assert list(await bot.schedules()) == [SECRET_ROOM]


async def test_a_public_channel_without_the_bot_is_refused_only_where_the_bot_posts(bot: Bot) -> None:
    await bot.start()
    for typed in ('post "Ferry returns" #lounge', "digest schedule monday 09:00 UTC #lounge"):
        answer = await bot.command(typed)
        assert answer == (
            f"I am not in <#{LOUNGE}>, so I cannot post there: invite me (type `/invite @threadcast`"
            " there), then try again."
        ), typed
    assert not await bot.saved_anything()
    assert bot.fake.calls_to("chat.postMessage") == []
    # A setting needs no membership: the channel's style is kept under its id.
    assert f"<#{LOUNGE}>" in await bot.command("digest style full #lounge")
    settings = await bot.store.get_channel_settings(bot.community, LOUNGE)
    assert settings is not None and settings.digest_style == "full"


async def test_an_archived_channel_is_refused_for_posting(bot: Bot) -> None:
    await bot.start()
    bot.fake.archive_channel(TOWN_HALL)
    answer = await bot.command('post "Ferry returns" #town-hall')
    assert answer == f"<#{TOWN_HALL}> is archived; pick another channel."
    assert not await bot.saved_anything()


# ----------------------------------------------------------------------------- resolved


@pytest.mark.parametrize("http", [False, True], ids=["socket", "http"])
async def test_a_picked_channel_is_stored_by_its_id_and_shown_as_a_channel_link(bot: Bot, http: bool) -> None:
    await bot.start(http=http)
    answer = await bot.command("digest schedule monday 09:00 Europe/Berlin #town-hall")
    (sent,) = [r for r in bot.fake.responses if r["text"] == answer]
    assert f"<#{TOWN_HALL}>" in answer and sent["response_type"] == "ephemeral"
    schedule = (await bot.schedules())[TOWN_HALL]
    assert schedule.weekday == 0 and str(schedule.timezone) == "Europe/Berlin"
    assert bot.fake.calls_to("conversations.list") == []  # Slack sent the id
    assert [c["channel"] for c in _asked(bot.fake, "conversations.info")] == [TOWN_HALL]

    await bot.command('post "Ferry returns" #town-hall')
    (posted,) = bot.fake.calls_to("chat.postMessage")
    assert posted.params["channel"] == TOWN_HALL
    ((discussion, _, _),) = await bot.store.export(bot.community)
    assert discussion.channel_id == TOWN_HALL


async def test_a_typed_channel_name_is_looked_up_and_stored_by_its_id(bot: Bot) -> None:
    await bot.start()
    bot.fake.link_typed_channels = False  # pasted: Slack sends "#town-hall" as text
    answer = await bot.command("digest schedule monday 09:00 UTC #Town-Hall")
    assert f"<#{TOWN_HALL}>" in answer
    assert list(await bot.schedules()) == [TOWN_HALL]
    (listed,) = _asked(bot.fake, "conversations.list")
    assert listed["types"] == "public_channel,private_channel" and listed["exclude_archived"] in ("1", "true")
    await bot.command("prompt set What changed for you? #town-hall")
    settings = await bot.store.get_channel_settings(bot.community, TOWN_HALL)
    assert settings is not None and settings.prompt == "What changed for you?"
    assert len(bot.fake.calls_to("conversations.list")) == 1  # the cached listing answered
    # The channel the command is typed in needs no look-up.
    await bot.command("digest style full #general")
    settings = await bot.store.get_channel_settings(bot.community, GENERAL)
    assert settings is not None and settings.digest_style == "full"
    assert len(bot.fake.calls_to("conversations.list")) == 1


async def test_a_name_is_found_on_a_later_page_of_the_channel_list(bot: Bot) -> None:
    for number in range(250):
        bot.fake.add_channel(f"C0BULK{number:04d}", f"bulk-{number}")
    bot.fake.add_channel("C0LASTONE1", "last-one")
    bot.fake.channels_list_max_limit = 100  # Slack may send fewer than asked
    bot.fake.link_typed_channels = False
    await bot.start()
    assert "<#C0LASTONE1>" in await bot.command("digest schedule monday 09:00 UTC #last-one")
    assert list(await bot.schedules()) == ["C0LASTONE1"]
    cursors = [c.get("cursor") for c in _asked(bot.fake, "conversations.list")]
    assert len(cursors) == 3 and cursors[0] is None and all(cursors[1:])  # 255 channels, 100 a page
    # A name on the first page later: the pages read are kept, nothing is asked again.
    await bot.command("digest style full #bulk-3")
    assert len(bot.fake.calls_to("conversations.list")) == 3


async def test_a_rate_limited_listing_is_waited_out(bot: Bot) -> None:
    bot.fake.link_typed_channels = False
    bot.fake.inject("conversations.list", ratelimited(0))
    await bot.start()
    assert f"<#{TOWN_HALL}>" in await bot.command("digest schedule monday 09:00 UTC #town-hall")
    assert list(await bot.schedules()) == [TOWN_HALL]
    assert len(bot.fake.calls_to("conversations.list")) == 2  # the 429, then the answer


async def test_an_app_without_the_new_scopes_says_to_reinstall(bot: Bot) -> None:
    bot.fake.link_typed_channels = False
    bot.fake.inject("conversations.list", api_error("missing_scope"))
    await bot.start()
    answer = await bot.command("digest schedule monday 09:00 UTC #town-hall")
    assert "missing_scope" in answer and "reinstall it from slack-manifest.yml" in answer
    assert not await bot.saved_anything()


async def test_channel_links_in_a_prompt_are_words_and_links_are_addresses(bot: Bot) -> None:
    await bot.start()
    await bot.command('post "Ferry returns" #town-hall What do #news readers & @alice think?')
    (posted,) = bot.fake.calls_to("chat.postMessage")
    assert posted.params["channel"] == TOWN_HALL
    shown = str(posted.params["blocks"])
    assert "What do #news readers &amp; @alice think?" in shown  # as typed, escaped for Slack
    assert "<#" not in shown and "<@" not in shown


async def test_a_non_moderator_naming_a_channel_looks_nothing_up(bot: Bot) -> None:
    await bot.start()
    answer = await bot.command("digest schedule monday 09:00 UTC #secret", user=MEMBER)
    assert "Only moderators" in answer
    assert bot.fake.calls_to("conversations.info") == bot.fake.calls_to("conversations.list") == []


# ----------------------------------------------------------------------------- units


def test_command_text_undoes_slacks_escaping_except_channels() -> None:
    escaped = (
        "feed add <https://example.com/f?a=1&amp;b=2> <#C0NEWS|news> for <@U0MEMBER|alice>"
        " <@U0OWNER> <!here> <!subteam^S1|@mods> <mailto:a@b.test|a@b.test> <http://x.test|x.test>"
        " &lt;b&gt; &amp;lt;"
    )
    assert command_text(escaped) == (
        "feed add https://example.com/f?a=1&b=2 <#C0NEWS|news> for @alice @U0OWNER @here @mods"
        " a@b.test http://x.test <b> &lt;"
    )


async def test_the_directory_reads_again_when_its_listing_is_old(bot: Bot) -> None:
    now = [0.0]
    clock: Callable[[], float] = lambda: now[0]  # noqa: E731
    platform = await bot.start()
    directory = ChannelDirectory(platform.client, fresh_for=60, relist_after_miss=10, clock=clock)
    found = await directory.by_name("town-hall")
    assert found is not None and found.id == TOWN_HALL and found.is_member
    assert await directory.by_name("brand-new") is None
    assert len(bot.fake.calls_to("conversations.list")) == 1  # the whole list was read: a miss
    bot.fake.add_channel("C0BRANDNEW", "brand-new")
    now[0] = 5.0
    assert await directory.by_name("brand-new") is None  # a fresh listing is trusted
    now[0] = 11.0
    assert (await directory.by_name("brand-new")) is not None  # an older one is read again on a miss
    now[0] = 80.0
    await directory.by_name("town-hall")
    assert len(bot.fake.calls_to("conversations.list")) == 3  # stale after a minute


def test_the_manifest_escapes_commands_and_grants_the_scopes_the_adapter_uses() -> None:
    manifest = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    (command,) = manifest["features"]["slash_commands"]
    assert command["should_escape"] is True
    scopes = [scope.name for scope in SCOPES]
    assert sorted(manifest["oauth_config"]["scopes"]["bot"]) == sorted(scopes)
    assert {"channels:read", "groups:read"} <= set(scopes)


async def test_the_refusal_is_in_the_communitys_language(bot: Bot) -> None:
    await bot.start()
    assert "de" in await bot.command("digest language de")
    assert await bot.command('post "Fähre" #nirgends') == (
        "Hier gibt es keinen Kanal #nirgends, den ich sehen kann — lade mich dorthin ein"
        " oder prüfe den Namen."
    )
    assert not await bot.saved_anything()
