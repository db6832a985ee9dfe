"""Soak: 10,000 member events through the fake Discord and the fake Slack at once, over one
SQLite store, while faults are injected; the store must end exactly as the script says.

One core (App, Collector, CatchUp, Publisher, DigestJobs) over one SQLite file serves a real
DiscordPlatform (discord.py) and a real SlackPlatform (slack-bolt, Socket Mode), as
`threadcast run` does. A seeded script writes replies in several threads of each platform,
edits them, deletes them, adds and removes reactions, and sprinkles noise (bots' messages,
channel messages outside any discussion). Meanwhile:

- articles and digests are posted through the core, with ~5% of the bot's REST / Web API calls
  answered 5xx and bursts of 429 (Retry-After) queued now and then; a refused post is tried
  again, as the next feed poll would;
- the Discord gateway is dropped (the bot RESUMEs and gets the missed dispatches) and, a few
  times, the session expires: what members wrote meanwhile is only in the threads' history,
  read back by the catch-up on the new READY;
- the Slack socket is dropped while envelopes are in flight; an envelope not acknowledged is
  sent again, as Slack does (same event, ``retry_attempt`` + 1).

The expected state is computed from the script alone: which replies exist, their last text,
their author, and each one's reactions (user, emoji). Seed: THREADCAST_SOAK_SEED.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import sqlite3
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from adapters.discord.platform import DiscordPlatform
from adapters.slack.platform import SlackPlatform
from bot.app import App
from bot.config import Settings
from bot.models import ArticleDraft, Community, DiscussionState, MemberPrefs
from bot.platform import ChatPlatform, PlatformError
from bot.publisher import PublishError
from bot.services import Services, build_core
from bot.sources.http import AiohttpFetcher
from bot.store import Store
from storage.store import SQLiteStore
from tests import fake_discord, fake_slack
from tests.fake_discord import FakeDiscord
from tests.fake_slack import GENERAL, NEWS, FakeSlack

EVENTS = int(os.environ.get("THREADCAST_SOAK_EVENTS", "10000"))  # member events, half on each platform
SEED = int(os.environ.get("THREADCAST_SOAK_SEED", "20261102"))
FAULT_RATE = 0.05
THREADS = 4  # discussion threads per platform that members reply in
ARTICLES = 30  # articles posted per platform while events stream
MEMBERS = 8
DISCORD_EMOJI = ("👍", "❤️", "🎉", "😂")
SLACK_EMOJI = ("thumbsup", "heart", "tada", "joy")
WORDS = [
    "library",
    "evening",
    "quiet",
    "study",
    "parents",
    "hours",
    "bridge",
    "ferry",
    "bakery",
    "rye",
    "bread",
    "town",
    "council",
    "budget",
    "vote",
    "park",
    "bench",
    "rain",
    "market",
    "stall",
    "bus",
    "route",
    "late",
    "night",
    "open",
    "early",
]
ODD = ("@everyone", "@here", "<@123456789012345678>", "<!channel>", "naïve café", "🙂", "**bold**", "x_y_z")


# -- the script ----------------------------------------------------------------------------


@dataclass
class Op:
    kind: str  # post, edit, delete, react, unreact, noise; drop, expire, rejoin, ratelimit
    reply: int = -1  # the script's number of the reply acted on
    thread: int = 0
    user: int = 0
    text: str = ""
    emoji: int = 0


@dataclass
class Expected:
    thread: int
    author: int
    text: str
    deleted: bool = False
    reactions: set[tuple[int, int]] = field(default_factory=set)  # (user, emoji)


def _text(rng: random.Random, serial: int) -> str:
    """Words as members type them, already in the shape the store keeps (clean() leaves it)."""
    words = [rng.choice(WORDS) for _ in range(rng.randint(1, 14))]
    if rng.random() < 0.15:
        words.insert(rng.randrange(len(words) + 1), rng.choice(ODD))
    text = " ".join(words)
    if rng.random() < 0.1:
        text += "\n" + " ".join(rng.choice(WORDS) for _ in range(3))
    return f"{text} #{serial}"


@dataclass
class Script:
    """One platform's events and, computed from them alone, the state they must leave."""

    ops: list[Op]
    replies: list[Expected]
    events: int

    @classmethod
    def generate(cls, rng: random.Random, events: int, *, gaps: bool) -> Script:
        ops: list[Op] = []
        replies: list[Expected] = []
        live: list[int] = []  # replies not deleted
        count = 0

        def add(op: Op) -> None:
            nonlocal count
            ops.append(op)
            count += 1

        def post(thread: int | None = None) -> int:
            number = len(replies)
            who = rng.randrange(MEMBERS)
            where = rng.randrange(THREADS) if thread is None else thread
            replies.append(Expected(where, who, _text(rng, count)))
            live.append(number)
            add(Op("post", number, where, who, replies[number].text))
            return number

        def edit(number: int) -> None:
            replies[number].text = _text(rng, count)
            add(Op("edit", number, text=replies[number].text))

        def delete(number: int) -> None:
            replies[number].deleted = True
            live.remove(number)
            add(Op("delete", number))

        next_drop = rng.randint(200, 600)
        next_gap = rng.randint(800, 1500)
        next_burst = rng.randint(100, 300)
        while count < events:
            if count >= next_drop:
                ops.append(Op("drop"))
                next_drop = count + rng.randint(200, 600)
            if count >= next_burst:
                ops.append(Op("ratelimit", user=rng.randint(2, 5)))
                next_burst = count + rng.randint(100, 300)
            if gaps and count >= next_gap and events - count > 60:
                # The session expires: only what history can give back happens meanwhile
                # (new replies, their edits and deletes); then, at once, members act on them.
                ops.append(Op("expire"))
                fresh: list[int] = []
                for _ in range(rng.randint(10, 25)):
                    if fresh and rng.random() < 0.3:
                        target = rng.choice(fresh)
                        if rng.random() < 0.3:
                            delete(target)
                            fresh.remove(target)
                        else:
                            edit(target)
                    else:
                        fresh.append(post())
                ops.append(Op("rejoin"))
                for target in fresh[: rng.randint(1, len(fresh))]:
                    choice = rng.random()
                    if choice < 0.4:
                        edit(target)
                    elif choice < 0.6:
                        delete(target)
                    else:
                        who, emoji = rng.randrange(MEMBERS), rng.randrange(4)
                        replies[target].reactions.add((who, emoji))
                        add(Op("react", target, user=who, emoji=emoji))
                next_gap = count + rng.randint(800, 1500)
                continue
            roll = rng.random()
            if roll < 0.35 or len(live) < 5:
                post()
            elif roll < 0.50:
                edit(rng.choice(live))
            elif roll < 0.58:
                delete(rng.choice(live))
            elif roll < 0.80:
                target = rng.choice(live)
                who, emoji = rng.randrange(MEMBERS), rng.randrange(4)
                if (who, emoji) in replies[target].reactions:
                    continue
                replies[target].reactions.add((who, emoji))
                add(Op("react", target, user=who, emoji=emoji))
            elif roll < 0.97:
                candidates = [n for n in live if replies[n].reactions]
                if not candidates:
                    continue
                target = rng.choice(candidates)
                who, emoji = rng.choice(sorted(replies[target].reactions))
                replies[target].reactions.discard((who, emoji))
                add(Op("unreact", target, user=who, emoji=emoji))
            else:
                add(Op("noise", thread=rng.randrange(THREADS), text=_text(rng, count)))
        return cls(ops, replies, count)


# -- faults --------------------------------------------------------------------------------


@dataclass
class Faults:
    rng: random.Random
    active: bool = False
    played: Counter[str] = field(default_factory=Counter)

    def roll(self, what: str, excluded: bool) -> int | None:
        """A 5xx status for ~5% of the calls, while active."""
        if not self.active or excluded or self.rng.random() >= FAULT_RATE:
            return None
        status = self.rng.choice((500, 502, 503, 504))
        self.played[f"{what} {status}"] += 1
        return status

    def discord(self, request: fake_discord.Request) -> fake_discord.Fault | None:
        # Logging in and syncing commands are not what this test is about.
        setup = request.path.startswith(("/users/@me", "/oauth2", "/applications", "/gateway"))
        status = self.roll("discord", setup)
        return None if status is None else fake_discord.server_error(status)

    def slack(self, method: str) -> fake_slack.Fault | None:
        status = self.roll("slack", method in ("auth.test", "apps.connections.open"))
        return None if status is None else fake_slack.server_error(status)


# -- the bot -------------------------------------------------------------------------------


class RealClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class Soak:
    discord: FakeDiscord
    slack: FakeSlack
    app: App
    services: Services
    store: SQLiteStore
    discord_platform: DiscordPlatform
    slack_platform: SlackPlatform
    faults: Faults
    discord_members: list[int] = field(default_factory=list)
    slack_members: list[str] = field(default_factory=list)
    discord_threads: list[int] = field(default_factory=list)
    slack_threads: list[tuple[str, str]] = field(default_factory=list)  # (channel, ts)
    discord_ids: dict[int, str] = field(default_factory=dict)  # script reply -> message id
    slack_ids: dict[int, str] = field(default_factory=dict)  # script reply -> ts
    slack_retries: int = 0
    slack_drops: int = 0
    discord_drops: int = 0
    discord_expiries: int = 0

    @property
    def discord_community(self) -> Community:
        return Community("discord", str(self.discord.guild_id))

    @property
    def slack_community(self) -> Community:
        return Community("slack", self.slack.team_id)


@pytest.fixture
async def soak(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> AsyncIterator[Soak]:
    caplog.set_level(logging.WARNING)
    store = SQLiteStore(tmp_path / "soak.db")
    await store.open()
    fetcher = AiohttpFetcher(allow_private=True, timeout=5)
    platforms: dict[str, ChatPlatform] = {}
    app, services = build_core(Settings(), store, RealClock(), fetcher, platforms)
    faults = Faults(random.Random(SEED + 1))
    async with FakeDiscord() as discord_fake, FakeSlack() as slack_fake:
        discord_members = [discord_fake.add_member(name=f"member{n}") for n in range(MEMBERS)]
        discord_fake.add_member(name="robot", bot=True)
        slack_members = [f"U0M{n:03d}" for n in range(MEMBERS)]
        for n, user in enumerate(slack_members):
            slack_fake.add_user(user, f"member{n}")
        discord_fake.fault_hook = faults.discord
        slack_fake.fault_hook = faults.slack
        discord_platform = DiscordPlatform(app, guild_ids=(discord_fake.guild_id,), guild_ready_timeout=0.05)
        slack_platform = SlackPlatform(
            app,
            bot_token=slack_fake.bot_token,
            app_token=slack_fake.app_token,
            base_url=slack_fake.api_url,
            pace=0.0,
        )
        platforms.update(discord=discord_platform, slack=slack_platform)
        running = asyncio.create_task(discord_platform.run(discord_fake.token))
        await discord_fake.wait_for(lambda: discord_platform.client.is_ready() or running.done())
        await slack_platform.start()
        await slack_fake.wait_connected()
        harness = Soak(
            discord_fake, slack_fake, app, services, store, discord_platform, slack_platform, faults,
            discord_members, slack_members,
        )  # fmt: skip
        try:
            yield harness
        finally:
            faults.active = False
            await slack_platform.close()
            await discord_platform.close()
            await asyncio.wait_for(asyncio.gather(running, return_exceptions=True), 5)
            await app.shutdown()
            await fetcher.close()
            await store.close()
    # The core's error boundaries log and swallow: a handler that failed is a failed test.
    failed = [
        r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR and r.name.startswith("bot")
    ]
    assert failed == []


def draft(title: str) -> ArticleDraft:
    slug = title.lower().replace(" ", "-")
    return ArticleDraft(title, f"https://news.example/{slug}", f"About {title.lower()}.", "news.example")


async def open_threads(soak: Soak) -> None:
    publish = soak.services.publisher.publish
    for n in range(THREADS):
        channel = soak.discord.general_id if n % 2 == 0 else soak.discord.news_id
        published = await publish(draft(f"Discord thread {n}"), soak.discord_community, str(channel))
        soak.discord_threads.append(int(published.discussion.thread_id or 0))
        slack_channel = GENERAL if n % 2 == 0 else NEWS
        published = await publish(draft(f"Slack thread {n}"), soak.slack_community, slack_channel)
        soak.slack_threads.append((slack_channel, (published.discussion.thread_id or "").split(":")[1]))


# -- driving the platforms -------------------------------------------------------------------


async def run_discord(soak: Soak, script: Script, rng: random.Random) -> None:
    fake, members, ids = soak.discord, soak.discord_members, soak.discord_ids
    expired: str | None = None
    robot = next(m.id for m in fake.members.values() if m.name == "robot")
    for number, op in enumerate(script.ops):
        if op.kind == "post":
            message = await fake.user_message(soak.discord_threads[op.thread], members[op.user], op.text)
            ids[op.reply] = message["id"]
        elif op.kind == "edit":
            await fake.user_edit(int(ids[op.reply]), op.text)
        elif op.kind == "delete":
            await fake.user_delete(int(ids[op.reply]))
        elif op.kind in ("react", "unreact"):
            act = fake.reaction_add if op.kind == "react" else fake.reaction_remove
            await act(members[op.user], int(ids[op.reply]), DISCORD_EMOJI[op.emoji])
        elif op.kind == "noise":
            if rng.random() < 0.5:
                await fake.user_message(soak.discord_threads[op.thread], robot, op.text)
            else:
                await fake.user_message(fake.general_id, members[0], op.text)
        elif op.kind == "drop":
            soak.discord_drops += 1
            await fake.drop_connection(4000)  # discord.py RESUMEs and gets what it missed
        elif op.kind == "expire":
            soak.discord_expiries += 1
            # Only once a drop just before has been resumed: events of an old reply that were
            # waiting for that RESUME would be lost for good (history shows no edit or delete).
            await fake.wait_for(lambda: fake.live, 20)
            fake.expire_session()
            expired = fake.session_id
            await fake.drop_connection(4000)
        elif op.kind == "rejoin":
            # What is written from here on reaches the new session live.
            def rejoined(gone: str | None = expired) -> bool:
                return fake.session_id != gone and fake.live

            await fake.wait_for(rejoined, 20)
        elif op.kind == "ratelimit":
            burst = [fake_discord.rate_limited(0.05) for _ in range(op.user)]
            fake.inject("POST", "/channels/*/messages", *burst)
        if number % 25 == 0:
            await asyncio.sleep(0.002)  # members type; the bot keeps up


async def deliver(soak: Soak, event: dict[str, Any], *, drop: bool = False) -> None:
    """One event, sent again until acknowledged, as Slack does; with ``drop``, the socket is
    closed while it is on its way (its ack may be lost, and then it comes twice)."""
    body = soak.slack.event_body(event)
    for attempt in range(5):
        sent = asyncio.create_task(
            soak.slack.send_envelope("events_api", body, timeout=2.0, retry_attempt=attempt)
        )
        if drop and attempt == 0:
            await asyncio.sleep(0)
            await soak.slack.drop_socket()
        try:
            await sent
            return
        except (TimeoutError, ConnectionError):
            soak.slack_retries += 1
    raise AssertionError(f"event never acknowledged: {event['type']}")


async def run_slack(soak: Soak, script: Script, rng: random.Random) -> None:
    fake, members, ids = soak.slack, soak.slack_members, soak.slack_ids
    drops: list[asyncio.Task[None]] = []
    drop_next = False
    for op in script.ops:
        if op.kind == "post":
            channel, thread_ts = soak.slack_threads[op.thread]
            event = fake.message_event(channel, members[op.user], op.text, thread_ts)
            ids[op.reply] = event["ts"]
        elif op.kind in ("edit", "delete", "react", "unreact"):
            channel, _ = soak.slack_threads[script.replies[op.reply].thread]
            ts = ids[op.reply]
            if op.kind == "edit":
                event = fake.edit_event(channel, ts, op.text)
            elif op.kind == "delete":
                event = fake.delete_event(channel, ts)
            else:
                who, name = members[op.user], SLACK_EMOJI[op.emoji]
                event = fake.reaction_event(channel, ts, who, name, added=op.kind == "react")
        elif op.kind == "noise":
            channel, thread_ts = soak.slack_threads[op.thread]
            if rng.random() < 0.5:
                event = fake.bot_message_event(channel, op.text, thread_ts=thread_ts)
            else:
                event = fake.message_event(channel, members[0], op.text)  # in the channel, no thread
        elif op.kind == "drop":
            # Dropped while envelopes are in flight: one may go unacknowledged and come again.
            soak.slack_drops += 1
            if rng.random() < 0.5:
                drops.append(asyncio.create_task(fake.drop_socket()))
            else:
                drop_next = True
            continue
        elif op.kind == "ratelimit":
            fake.inject("chat.postMessage", *[fake_slack.ratelimited(0) for _ in range(op.user)])
            continue
        else:
            continue
        await deliver(soak, event, drop=drop_next)
        drop_next = False
    await asyncio.gather(*drops)


async def post_articles(soak: Soak, community: Community, channel: str, titles: list[str]) -> Counter[str]:
    """Post each article, trying again after a refusal as the next feed poll would."""
    outcomes: Counter[str] = Counter()
    for title in titles:
        for _ in range(100):
            try:
                await soak.services.publisher.publish(draft(title), community, channel)
                outcomes["posted"] += 1
                break
            except PublishError:
                outcomes["refused, tried again"] += 1
                await asyncio.sleep(0.05)
        else:
            raise AssertionError(f"{title!r} was never posted")
        await asyncio.sleep(0.1)
    return outcomes


async def post_digests(soak: Soak, stop: asyncio.Event, outcomes: Counter[str]) -> None:
    """`digest now` by hand on both platforms while the store is busy; a refusal is fine."""
    places = ((soak.discord_community, str(soak.discord.news_id)), (soak.slack_community, NEWS))
    while not stop.is_set():
        for community, channel in places:
            digest, _ = await soak.services.digests.current(community)
            try:
                await soak.services.digests.post(digest, channel)
                outcomes[f"{community.platform} digest posted"] += 1
            except PlatformError:
                outcomes[f"{community.platform} digest refused"] += 1
        await asyncio.sleep(1.0)


# -- what the store holds ----------------------------------------------------------------------


def expected_state(
    script: Script, ids: dict[int, str], message_id: Callable[[int, str], str], author: Callable[[int], str]
) -> dict[str, tuple[int, str, str, int]]:
    return {
        message_id(number, ids[number]): (
            reply.thread,
            author(reply.author),
            reply.text,
            len(reply.reactions),
        )
        for number, reply in enumerate(script.replies)
        if not reply.deleted
    }


async def stored_state(
    soak: Soak, community: Community, threads: list[str]
) -> dict[str, tuple[int, str, str, int]]:
    found = {}
    for discussion, _, views in await soak.store.export(community):
        for view in views:
            reply = view.reply
            where = threads.index(discussion.thread_id) if discussion.thread_id in threads else -1
            found[reply.message_id] = (where, reply.author_id, reply.text, reply.reactions)
    return found


def stored_reactions(database: Path) -> set[tuple[str, str, str]]:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        rows = db.execute(
            "SELECT r.message_id, x.user_id, x.emoji FROM reactions x JOIN replies r ON r.id = x.reply_id"
        ).fetchall()
    return {(str(m), str(u), str(e)) for m, u, e in rows}


def diff(expected: dict[str, Any], found: dict[str, Any]) -> Iterator[str]:
    for key in sorted(expected.keys() - found.keys())[:5]:
        yield f"missing {key}: {expected[key]}"
    for key in sorted(found.keys() - expected.keys())[:5]:
        yield f"unexpected {key}: {found[key]}"
    for key in sorted(k for k in expected.keys() & found.keys() if expected[k] != found[k])[:5]:
        yield f"differs {key}: expected {expected[key]}, stored {found[key]}"


# -- the test ------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.timeout(300)
async def test_soak_10000_events_with_faults_end_in_exactly_the_expected_state(
    soak: Soak, tmp_path: Path
) -> None:
    started = time.monotonic()
    rng = random.Random(SEED)
    discord_script = Script.generate(rng, EVENTS // 2, gaps=True)
    slack_script = Script.generate(rng, EVENTS - discord_script.events, gaps=False)
    assert discord_script.events + slack_script.events == EVENTS
    await open_threads(soak)

    soak.faults.active = True
    stop_digests = asyncio.Event()
    digest_outcomes: Counter[str] = Counter()
    digests = asyncio.create_task(post_digests(soak, stop_digests, digest_outcomes))
    articles = asyncio.gather(
        post_articles(soak, soak.discord_community, str(soak.discord.general_id),
                      [f"Discord article {n}" for n in range(ARTICLES)]),
        post_articles(soak, soak.slack_community, GENERAL, [f"Slack article {n}" for n in range(ARTICLES)]),
    )  # fmt: skip
    await asyncio.gather(
        run_discord(soak, discord_script, random.Random(SEED + 2)),
        run_slack(soak, slack_script, random.Random(SEED + 3)),
    )
    article_outcomes = await articles
    stop_digests.set()
    await digests
    soak.faults.active = False
    streamed = time.monotonic() - started

    discord_threads = [str(t) for t in soak.discord_threads]
    slack_threads = [f"{c}:{ts}" for c, ts in soak.slack_threads]
    discord_members = [str(m) for m in soak.discord_members]
    expected = {
        **expected_state(discord_script, soak.discord_ids, lambda _, mid: mid, discord_members.__getitem__),
        **expected_state(
            slack_script,
            soak.slack_ids,
            lambda n, ts: f"{soak.slack_threads[slack_script.replies[n].thread][0]}:{ts}",
            soak.slack_members.__getitem__,
        ),
    }

    async def stored() -> dict[str, tuple[int, str, str, int]]:
        return {
            **await stored_state(soak, soak.discord_community, discord_threads),
            **await stored_state(soak, soak.slack_community, slack_threads),
        }

    # The bot may still be working through what arrived last (a replay, a catch-up).
    deadline = time.monotonic() + 30
    found = await stored()
    while found != expected and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        found = await stored()
    await soak.app.drain(10)
    found = await stored()

    played = soak.faults.played
    rate_limited = sum(1 for r in soak.discord.requests if r.status == 429)
    rate_limited += sum(1 for c in soak.slack.calls if c.method == "chat.postMessage") - sum(
        1 for m in soak.slack.messages_in(GENERAL) + soak.slack.messages_in(NEWS)
        if m.get("user") == soak.slack.bot_user_id
    )  # fmt: skip
    summary = (
        f"seed {SEED}: {EVENTS} events ({discord_script.events} Discord, {slack_script.events} Slack),"
        f" {len(expected)} replies expected; 5xx played {dict(played)}; 429s {rate_limited};"
        f" Discord drops {soak.discord_drops}, expired sessions {soak.discord_expiries},"
        f" gateway connections {len(soak.discord.connections)}; Slack drops {soak.slack_drops},"
        f" sockets {soak.slack.socket_connections}, redelivered {soak.slack_retries};"
        f" articles {[dict(o) for o in article_outcomes]}; digests {dict(digest_outcomes)};"
        f" streamed in {streamed:.1f} s"
    )
    print(summary)
    assert found == expected, "\n".join([summary, *diff(expected, found)])

    # Reactions exactly: who reacted with what, not only how many.
    def discord_reaction(number: int, user: int, emoji: int) -> tuple[str, str, str]:
        return (soak.discord_ids[number], discord_members[user], DISCORD_EMOJI[emoji])

    def slack_reaction(number: int, user: int, emoji: int) -> tuple[str, str, str]:
        channel = soak.slack_threads[slack_script.replies[number].thread][0]
        return (f"{channel}:{soak.slack_ids[number]}", soak.slack_members[user], SLACK_EMOJI[emoji])

    expected_reactions = {
        make(number, user, emoji)
        for script, make in ((discord_script, discord_reaction), (slack_script, slack_reaction))
        for number, reply in enumerate(script.replies)
        if not reply.deleted
        for user, emoji in reply.reactions
    }
    assert stored_reactions(tmp_path / "soak.db") == expected_reactions

    # Every article posted exactly once, its discussion confirmed, nothing left half done.
    assert await soak.store.pending_discussions() == []
    titles = Counter(
        message["embeds"][0]["title"]
        for channel in (soak.discord.general_id, soak.discord.news_id)
        for message in soak.discord.messages_in(channel)
        if int(message["author"]["id"]) == soak.discord.bot_id and message["embeds"]
        and message["embeds"][0]["title"].startswith("Discord ")
    )  # fmt: skip
    assert titles == Counter({f"Discord article {n}": 1 for n in range(ARTICLES)} | {
        f"Discord thread {n}": 1 for n in range(THREADS)
    })  # fmt: skip
    keys = Counter(
        (message.get("metadata") or {}).get("event_payload", {}).get("article")
        for channel in (GENERAL, NEWS)
        for message in soak.slack.messages_in(channel)
        if message.get("metadata")
    )
    assert sorted(keys.values()) == [1] * (ARTICLES + THREADS)
    for community, fake_ids in (
        (soak.discord_community, {m["id"] for c in soak.discord.messages.values() for m in c}),
        (
            soak.slack_community,
            {f"{c}:{m['ts']}" for c in (GENERAL, NEWS) for m in soak.slack.messages_in(c)},
        ),
    ):
        discussions = [d for d, _, _ in await soak.store.export(community)]
        assert len(discussions) == ARTICLES + THREADS
        assert all(d.state is DiscussionState.POSTED and d.message_id in fake_ids for d in discussions)
    assert sum(played.values()) > 0 and rate_limited > 0
    assert soak.discord_expiries > 0 and soak.slack_drops > 0


# -- what the soak found, pinned -----------------------------------------------------------------


@pytest.fixture
async def discord_bot(tmp_path: Path) -> AsyncIterator[tuple[FakeDiscord, App, Services]]:
    """The core over SQLite and a DiscordPlatform whose on_ready comes well after READY
    (discord.py waits guild_ready_timeout for the servers' GUILD_CREATE first)."""
    store = SQLiteStore(tmp_path / "bot.db")
    await store.open()
    fetcher = AiohttpFetcher(allow_private=True, timeout=5)
    platforms: dict[str, ChatPlatform] = {}
    app, services = build_core(Settings(), store, RealClock(), fetcher, platforms)
    async with FakeDiscord() as fake:
        platform = DiscordPlatform(app, guild_ids=(fake.guild_id,), guild_ready_timeout=0.5)
        platforms["discord"] = platform
        running = asyncio.create_task(platform.run(fake.token))
        await fake.wait_for(lambda: platform.client.is_ready() or running.done())
        try:
            yield fake, app, services
        finally:
            await platform.close()
            await asyncio.wait_for(asyncio.gather(running, return_exceptions=True), 5)
            await app.shutdown()
            await fetcher.close()
            await store.close()


@pytest.mark.timeout(20)
async def test_a_reply_written_live_before_on_ready_does_not_hide_the_replies_written_while_away(
    discord_bot: tuple[FakeDiscord, App, Services],
) -> None:
    fake, _, services = discord_bot
    community = Community("discord", str(fake.guild_id))
    published = await services.publisher.publish(draft("Library opens late"), community, str(fake.general_id))
    thread = int(published.discussion.thread_id or 0)
    before = await fake.user_message(thread, fake.member_id, "before the drop")
    await eventually_stored(services, community, {before["id"]})

    # The session ends for good; a member writes while the bot is away (history only) …
    fake.expire_session()
    await fake.drop_connection(4000)
    away = fake.store_message(thread, fake.member_id, "while the bot was away")
    # … and another one the moment the new session is READY, before discord.py's on_ready.
    session = fake.session_id
    await fake.wait_for(lambda: fake.session_id != session, 10)
    live = await fake.user_message(thread, fake.owner_id, "right after the reconnect")

    await eventually_stored(services, community, {before["id"], away["id"], live["id"]})


async def eventually_stored(services: Services, community: Community, ids: set[str]) -> None:
    found: set[str] = set()
    for _ in range(300):
        found = {v.reply.message_id for _, _, views in await services.store.export(community) for v in views}
        if found == ids:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"stored {sorted(found)}, expected {sorted(ids)}")


@pytest.mark.timeout(20)
async def test_live_changes_to_replies_the_catch_up_has_not_stored_yet_are_not_lost(
    discord_bot: tuple[FakeDiscord, App, Services],
) -> None:
    fake, app, services = discord_bot
    community = Community("discord", str(fake.guild_id))
    published = await services.publisher.publish(draft("Bridge reopens"), community, str(fake.general_id))
    thread = int(published.discussion.thread_id or 0)
    fake.expire_session()
    await fake.drop_connection(4000)
    edited = fake.store_message(thread, fake.member_id, "first words")
    deleted = fake.store_message(thread, fake.member_id, "regretted")
    liked = fake.store_message(thread, fake.member_id, "worth a reaction")
    # The catch-up's read of the thread comes back late: members act on those messages meanwhile, live.
    fake.inject("GET", f"/channels/{thread}/messages", fake_discord.late_answer(0.5))
    await fake.wait_for(lambda: fake.requests_to("GET", f"/channels/{thread}/messages"), 10)
    await fake.user_edit(int(edited["id"]), "second thoughts")
    await fake.user_delete(int(deleted["id"]))
    await fake.reaction_add(fake.owner_id, int(liked["id"]), "👍")

    await eventually_stored(services, community, {edited["id"], liked["id"]})
    await app.drain(5)  # the catch-up is over
    stored = {
        v.reply.message_id: v.reply for _, _, views in await services.store.export(community) for v in views
    }
    assert stored.keys() == {edited["id"], liked["id"]}
    assert stored[edited["id"]].text == "second thoughts"
    assert stored[liked["id"]].reactions == 1


@pytest.mark.timeout(30)
async def test_edits_deletes_and_reactions_made_while_the_session_was_invalid_are_brought_back(
    discord_bot: tuple[FakeDiscord, App, Services],
) -> None:
    """What the soak ran into now and then: after a session that could not be resumed, the
    catch-up brings the stored replies back to what the thread shows."""
    fake, app, services = discord_bot
    store = services.store
    community = Community("discord", str(fake.guild_id))
    published = await services.publisher.publish(draft("Ferry timetable"), community, str(fake.general_id))
    thread = int(published.discussion.thread_id or 0)
    await store.set_prefs(MemberPrefs("discord", str(fake.owner_id), opted_out=True))
    edited = await fake.user_message(thread, fake.member_id, "the ferry is late")
    deleted = await fake.user_message(thread, fake.member_id, "regretted words")
    liked = await fake.user_message(thread, fake.mod_id, "the bakery opens early")
    unliked = await fake.user_message(thread, fake.mod_id, "the bus route changed")
    ids = {m["id"] for m in (edited, deleted, liked, unliked)}
    await eventually_stored(services, community, ids)
    await fake.reaction_add(fake.member_id, int(unliked["id"]), "👍")
    await fake.reaction_add(fake.mod_id, int(unliked["id"]), "🎉")
    await fake.reaction_add(fake.member_id, int(liked["id"]), "🎉")
    await fake.reaction_add(fake.bot_id, int(liked["id"]), "👍")  # the bot's own: never a member's
    await store.set_reply_flags(community, edited["id"], hidden=True)
    await store.set_reply_flags(community, liked["id"], featured=True)
    await eventually(lambda: _reactions(store, published.discussion.id), {
        edited["id"]: {}, deleted["id"]: {}, liked["id"]: {"🎉": {str(fake.member_id)}},
        unliked["id"]: {"👍": {str(fake.member_id)}, "🎉": {str(fake.mod_id)}},
    })  # fmt: skip

    # The session expires: nothing of what follows reaches the bot as an event.
    fake.expire_session()
    session = fake.session_id
    await fake.drop_connection(4000)
    await fake.user_edit(int(edited["id"]), "the ferry is on time after all")
    await fake.user_delete(int(deleted["id"]))
    await fake.reaction_add(fake.member_id, int(liked["id"]), "👍")
    await fake.reaction_add(fake.owner_id, int(liked["id"]), "👍")  # opted out: not stored
    await fake.reaction_remove(fake.member_id, int(unliked["id"]), "👍")
    await fake.reactions_clear(int(unliked["id"]))
    assert fake.session_id == session  # none of it was sent to a live session

    await fake.wait_for(lambda: fake.session_id != session and fake.live, 10)
    want = {
        edited["id"]: {},
        liked["id"]: {"🎉": {str(fake.member_id)}, "👍": {str(fake.member_id)}},
        unliked["id"]: {},
    }
    await eventually(lambda: _reactions(store, published.discussion.id), want)
    await app.drain(10)
    stored = {r.message_id: r for r, _ in await store.thread_replies(published.discussion.id)}
    assert stored[edited["id"]].text == "the ferry is on time after all"
    assert stored[edited["id"]].hidden  # the moderator's flags stay
    assert stored[liked["id"]].featured and stored[liked["id"]].reactions == 2
    assert await _reactions(store, published.discussion.id) == want
    # Who reacted was asked only where the counts differed: for 👍 on the liked reply.
    asked = [r.path for r in fake.requests if r.method == "GET" and "/reactions/" in r.path]
    assert asked and all(p.startswith(f"/channels/{thread}/messages/{liked['id']}/") for p in asked)


async def _reactions(store: Store, discussion_id: int) -> dict[str, dict[str, set[str]]]:
    return {r.message_id: reactions for r, reactions in await store.thread_replies(discussion_id)}


async def eventually(read: Callable[[], Any], want: Any) -> None:
    found = None
    for _ in range(400):
        found = await read()
        if found == want:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"found {found}, expected {want}")


@pytest.mark.timeout(30)
async def test_a_503_on_the_catch_ups_reading_is_read_again_in_the_same_catch_up(
    discord_bot: tuple[FakeDiscord, App, Services],
) -> None:
    """discord.py tries 500, 502 and 504 again by itself, not 503: the catch-up does, after a
    pause, instead of leaving the thread's replies to the next new session."""
    fake, app, services = discord_bot
    community = Community("discord", str(fake.guild_id))
    published = await services.publisher.publish(draft("Market moves"), community, str(fake.general_id))
    thread = int(published.discussion.thread_id or 0)
    fake.expire_session()
    session = fake.session_id
    await fake.drop_connection(4000)
    away = fake.store_message(thread, fake.member_id, "written while the session was gone")
    history = f"/channels/{thread}/messages"
    fake.inject("GET", history, fake_discord.server_error(503), fake_discord.server_error(503))

    await fake.wait_for(lambda: len(fake.requests_to("GET", history)) >= 3, 20)
    await eventually_stored(services, community, {away["id"]})
    await app.drain(10)
    first = fake.requests_to("GET", history)[:3]
    assert [r.status for r in first] == [503, 503, 200]
    assert all(r.query.get("after") == str(thread) for r in first)  # the same reading, again
    assert fake.session_id != session
