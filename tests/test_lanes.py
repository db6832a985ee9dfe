"""Ordered lanes (`App.dispatch`): one thread's events in order, threads and communities side
by side, a bounded number in flight; and the group commit's flush under a flood."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.app import App
from bot.collector import Collector
from bot.commands.registry import Answer, CommandContext
from bot.events import Caller, CommandInvoked, Event, ReactionChanged, ReplyDeleted, ReplyEdited, ReplyPosted
from bot.group_commit import GroupCommit
from bot.models import ArticleDraft, Community
from storage.store import SQLiteStore
from tests.conftest import T0, eventually

C = Community("discord", "g1")
OTHER = Community("discord", "g2")
THREAD_ID = 1_300_000_000_000_000_001  # a Discord thread discord.py has not cached


def reply(message_id: str, thread: str = "t-a", where: Community = C, n: int = 0) -> ReplyPosted:
    return ReplyPosted(
        where, thread, message_id, "u1", "Name", f"words of {message_id}", T0 + timedelta(seconds=n)
    )


async def _turns(count: int = 20) -> None:
    """Let the loop run other tasks' steps (no clock involved)."""
    for _ in range(count):
        await asyncio.sleep(0)


async def _threads(store: SQLiteStore, names: list[str]) -> None:
    for name in names:
        article = await store.save_article(name, ArticleDraft(f"Title {name}", None, "", "src"), T0)
        pending = await store.begin_discussion(article.id, C, "news", prompt="?", feed_id=None, now=T0)
        assert pending is not None
        await store.confirm_discussion(pending.id, f"post-{name}", name, T0)


async def test_a_reply_its_edit_and_its_delete_keep_their_order_inside_a_flood(store: SQLiteStore) -> None:
    threads = ["t-a", "t-b", "t-c", "t-d", "t-e"]
    await _threads(store, threads)
    # Small batches and few slots: the flood fills both, so lanes wait on each other and on the store.
    app = App(max_in_flight=8)
    Collector(store, batch_rows=7, batch_delay=60).register(app)
    handled: dict[str, list[str]] = {}

    async def record(event: Event) -> None:
        await asyncio.sleep(0)  # every handler gives the others a turn: lanes interleave
        thread = getattr(event, "thread_id", None) or "-"
        handled.setdefault(thread, []).append(f"{type(event).__name__}:{getattr(event, 'message_id', '')}")

    for kind in (ReplyPosted, ReplyEdited, ReplyDeleted):
        app.on(kind, record)
    later = T0 + timedelta(hours=1)
    ours: list[Event] = [
        reply("x"),
        ReplyEdited(C, "t-a", "x", "x edited", later),
        ReplyDeleted(C, "x", "t-a"),
        reply("y"),
        ReplyEdited(C, "t-a", "y", "y edited", later),
    ]
    flood = [reply(f"f{n}", threads[1 + n % 4], n=n) for n in range(200)]
    events: list[Event] = []
    for n, event in enumerate(flood):
        events.append(event)
        if n % 40 == 10:
            events.append(ours.pop(0))
    events += ours
    # As discord.py does: one task per event, started in arrival order.
    await asyncio.gather(*(asyncio.create_task(app.dispatch(e)) for e in events))
    await app.flush()

    assert await store.get_reply(C, "x") is None  # the delete came after its reply
    y = await store.get_reply(C, "y")
    assert y is not None and y.text == "y edited"  # the edit came after its reply
    for thread in threads:
        sent = [f"{type(e).__name__}:{getattr(e, 'message_id', '')}" for e in events if e.thread_id == thread]  # type: ignore[attr-defined]
        assert handled[thread] == sent
    for event in flood:
        assert await store.get_reply(C, event.message_id) is not None
    assert app.in_flight == 0 and app.waiting == 0


async def test_a_slow_thread_does_not_stall_another_thread_or_community() -> None:
    app = App()
    gate = asyncio.Event()
    entered: list[str] = []

    async def handle(event: ReplyPosted) -> None:
        entered.append(event.message_id)
        if event.message_id == "slow":
            await gate.wait()

    app.on(ReplyPosted, handle)
    slow = asyncio.create_task(app.dispatch(reply("slow", "t-a")))
    behind = asyncio.create_task(app.dispatch(reply("behind", "t-a")))
    await _turns()
    # Thread B and another community are handled to the end while thread A is held.
    await app.dispatch(reply("b1", "t-b"))
    await app.dispatch(reply("o1", "t-a", where=OTHER))
    assert entered == ["slow", "b1", "o1"]
    assert not slow.done() and not behind.done()  # A's next event waits for A's first
    gate.set()
    await asyncio.gather(slow, behind)
    assert entered == ["slow", "b1", "o1", "behind"]


async def test_an_event_without_a_thread_waits_for_the_community_and_holds_it() -> None:
    app = App()
    gate = asyncio.Event()
    entered: list[str] = []

    async def handle(event: ReplyPosted) -> None:
        entered.append(event.message_id)
        if event.message_id == "slow":
            await gate.wait()

    async def reacted(event: ReactionChanged) -> None:
        entered.append("reaction")

    app.on(ReplyPosted, handle)
    app.on(ReactionChanged, reacted)
    slow = asyncio.create_task(app.dispatch(reply("slow", "t-a")))
    reaction = asyncio.create_task(app.dispatch(ReactionChanged(C, "slow", "u2", "👍", True)))
    after = asyncio.create_task(app.dispatch(reply("after", "t-b")))
    elsewhere = asyncio.create_task(app.dispatch(reply("elsewhere", "t-b", where=OTHER)))
    await elsewhere  # another community is not held
    await _turns()
    assert entered == ["slow", "elsewhere"]
    gate.set()
    await asyncio.gather(slow, reaction, after)
    assert entered == ["slow", "elsewhere", "reaction", "after"]


async def test_the_next_dispatch_waits_for_a_slot_and_slots_go_in_arrival_order() -> None:
    app = App(max_in_flight=2)
    gates = {name: asyncio.Event() for name in ("a", "b", "c", "d")}
    entered: list[str] = []

    async def handle(event: ReplyPosted) -> None:
        entered.append(event.thread_id)
        await gates[event.thread_id].wait()

    app.on(ReplyPosted, handle)
    tasks = [asyncio.create_task(app.dispatch(reply(f"m-{name}", name))) for name in "abcd"]
    await _turns()
    assert entered == ["a", "b"]  # two slots, two events under way...
    assert app.in_flight == 2 and app.waiting == 2  # ...the third and fourth wait for one
    gates["b"].set()
    await tasks[1]
    await _turns()
    assert entered == ["a", "b", "c"]  # the first one waiting, not the last
    assert app.in_flight == 2 and app.waiting == 1
    for gate in gates.values():
        gate.set()
    await asyncio.gather(*tasks)
    assert entered == ["a", "b", "c", "d"] and app.in_flight == 0


async def test_a_caller_cancelled_while_waiting_for_a_slot_takes_none() -> None:
    app = App(max_in_flight=1)
    gate = asyncio.Event()
    entered: list[str] = []

    async def handle(event: ReplyPosted) -> None:
        entered.append(event.message_id)
        await gate.wait()

    app.on(ReplyPosted, handle)
    first = asyncio.create_task(app.dispatch(reply("1", "t-a")))
    gone = asyncio.create_task(app.dispatch(reply("2", "t-b")))
    last = asyncio.create_task(app.dispatch(reply("3", "t-c")))
    await _turns()
    gone.cancel()
    gate.set()
    await asyncio.gather(first, last)
    assert gone.cancelled()
    assert entered == ["1", "3"] and app.in_flight == 0 and app.waiting == 0


async def test_a_command_sees_a_reply_dispatched_before_it_whose_lane_was_held(store: SQLiteStore) -> None:
    await _threads(store, ["t-a"])
    app = App()
    Collector(store, batch_rows=1000, batch_delay=60).register(app)
    gate = asyncio.Event()

    async def hold(event: ReplyEdited) -> None:
        await gate.wait()

    async def count(ctx: CommandContext) -> Answer:
        found = await store.get_reply(C, "late")
        return Answer("stored" if found is not None else "missing")

    app.on(ReplyEdited, hold)
    app.commands.add("count", count, help="count", moderator=False)
    held = asyncio.create_task(app.dispatch(ReplyEdited(C, "t-a", "gone", "?", T0)))
    late = asyncio.create_task(app.dispatch(reply("late", "t-a")))
    command = asyncio.create_task(
        app.dispatch(CommandInvoked(C, "general", Caller("u", "U", False), ("count",)))
    )
    await _turns()
    assert not command.done()  # the reply before it is not handled yet: the command waits
    gate.set()
    await asyncio.gather(held, late)
    answer = await command
    assert answer is not None and answer.text == "stored"


async def test_a_flush_waits_for_what_was_queued_before_it_not_for_the_flood_after() -> None:
    written: list[list[int]] = []
    release: asyncio.Queue[None] = asyncio.Queue()

    async def write(batch: list[int]) -> None:
        await release.get()
        written.append(batch)

    commit: GroupCommit[int] = GroupCommit(write, max_rows=2, max_delay=60)
    await commit.add(1)
    await commit.add(2)  # full: the writer takes it and waits
    flushing = asyncio.create_task(commit.flush())
    await asyncio.sleep(0)  # the flush takes its mark: the two items so far
    await commit.add(3)
    await commit.add(4)  # the next full batch, queued after the flush began
    await _turns()
    release.put_nowait(None)
    await flushing  # done with the first batch, the writer still busy with the second
    assert written == [[1, 2]]
    release.put_nowait(None)
    await commit.flush()
    assert written == [[1, 2], [3, 4]]


async def test_a_crowded_core_stops_discord_being_read_until_it_has_room() -> None:
    """discord.py reads on and starts a task per message whatever the core does: the adapter
    stops reading the gateway's socket while callers wait for a slot, so a flood waits at
    Discord (here: in the fake's socket), not in memory."""
    from adapters.discord.platform import DiscordPlatform
    from tests.fake_discord import FakeDiscord

    app = App(max_in_flight=4)
    gate = asyncio.Event()
    handled = 0

    async def held(event: ReplyPosted) -> None:
        nonlocal handled
        await gate.wait()
        handled += 1

    app.on(ReplyPosted, held)
    count = 3000
    async with FakeDiscord(compress=False, heartbeat_interval_ms=600_000) as fake:
        platform = DiscordPlatform(app, guild_ready_timeout=0.1)
        running = asyncio.create_task(platform.run(fake.token))
        try:
            await asyncio.wait_for(platform.ready.wait(), 10)
            # Long messages: the flood is larger than the socket's buffers.
            frames = fake.message_frames(THREAD_ID, fake.member_id, count, "x" * 3000 + " {n}")
            sending = asyncio.create_task(fake.send_frames(frames))

            async def crowded() -> bool:
                return app.crowded

            await eventually(crowded, what="the core crowded")
            assert platform.client.ws is not None
            read = platform.client.ws.sequence or 0
            await _turns(2000)  # read freely, the reader would take the whole flood in this
            now = platform.client.ws.sequence or 0
            assert now - read < count // 6, (read, now)
            assert app.in_flight + app.waiting < count // 6 and not sending.done()
            gate.set()  # room again: the rest is read and handled
            await asyncio.wait_for(sending, 30)

            async def all_handled() -> bool:
                return handled == count

            await eventually(all_handled, timeout=30, what="every message handled")
        finally:
            gate.set()
            await platform.close()
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)


async def test_submitted_replies_are_handled_in_order_after_submit_returned_and_before_what_follows() -> None:
    app = App(max_in_flight=64)
    gate = asyncio.Event()
    entered: list[str] = []

    async def handle(event: Event) -> None:
        entered.append(getattr(event, "message_id", type(event).__name__))
        if getattr(event, "message_id", "") == "slow":
            await gate.wait()

    app.on(ReplyPosted, handle)
    app.on(ReplyDeleted, handle)
    slow = asyncio.create_task(app.submit(reply("slow", "t-a")))
    await _turns()
    assert not slow.done()  # an idle lane: handled by the caller, which waits for it
    # Behind it in its lane: each submit returns at once, its reply queued, holding a slot.
    for n in range(10):
        await app.submit(reply(f"r{n}", "t-a"))
    await app.submit(reply("b", "t-b"))  # another thread is not held up
    assert entered == ["slow", "b"] and app.in_flight == 11
    deleted = asyncio.create_task(app.dispatch(ReplyDeleted(C, "r3", "t-a")))
    await _turns()
    assert not deleted.done()  # dispatch waits for its turn and its handling
    gate.set()
    await asyncio.gather(slow, deleted)  # its delete never overtakes a reply submitted before
    assert entered == ["slow", "b", *(f"r{n}" for n in range(10)), "r3"]
    assert app.in_flight == 0 and app.waiting == 0


async def test_submit_waits_for_a_slot_so_a_blocked_lane_holds_at_most_the_bound() -> None:
    app = App(max_in_flight=4)
    gate = asyncio.Event()
    entered: list[str] = []

    async def handle(event: ReplyPosted) -> None:
        entered.append(event.message_id)
        if event.message_id == "r0":
            await gate.wait()

    app.on(ReplyPosted, handle)
    tasks = [asyncio.create_task(app.submit(reply(f"r{n}"))) for n in range(10)]
    await _turns()
    assert app.in_flight == 4 and app.waiting == 6 and app.crowded
    assert sum(task.done() for task in tasks) == 3  # queued behind r0; the rest wait for a slot
    gate.set()
    await asyncio.gather(*tasks)
    await _turns()
    assert entered == [f"r{n}" for n in range(10)] and app.in_flight == 0 and not app.crowded


async def test_a_command_and_a_flush_after_submitted_replies_see_them_stored(store: SQLiteStore) -> None:
    await _threads(store, ["t-a"])
    app = App()
    Collector(store, batch_rows=3, batch_delay=60).register(app)
    gate = asyncio.Event()

    async def held(event: ReplyPosted) -> None:
        if event.message_id == "m0":
            await gate.wait()

    app.on(ReplyPosted, held)
    first = asyncio.create_task(app.submit(reply("m0")))
    await _turns()
    for n in range(1, 8):
        await app.submit(reply(f"m{n}", n=n))
    seen: list[int] = []

    async def count(ctx: CommandContext) -> Answer:
        seen.append((await store.period_counts(C, T0, T0 + timedelta(days=1))).replies)
        return Answer("ok")

    app.commands.add("count", count, help="count", moderator=False)
    command = asyncio.create_task(
        app.dispatch(CommandInvoked(C, "general", Caller("u", "U", False), ("count",)))
    )
    await _turns()
    assert not command.done()
    gate.set()
    await asyncio.gather(first, command)
    assert seen == [8]


async def test_shutdown_stores_the_replies_still_queued_in_their_lanes(store: SQLiteStore) -> None:
    await _threads(store, ["t-a"])
    app = App()
    Collector(store, batch_rows=100, batch_delay=60).register(app)
    gate = asyncio.Event()

    async def held(event: ReplyPosted) -> None:
        if event.message_id == "m0":
            await gate.wait()

    app.on(ReplyPosted, held)
    first = asyncio.create_task(app.submit(reply("m0")))
    await _turns()
    for n in range(1, 5):
        await app.submit(reply(f"m{n}", n=n))
    stopping = asyncio.create_task(app.shutdown(timeout=30))
    await _turns()
    assert not stopping.done()  # it waits for the replies still in their lane
    gate.set()
    await asyncio.gather(first, stopping)
    for n in range(5):
        assert await store.get_reply(C, f"m{n}") is not None


async def test_a_caller_cancelled_while_queued_in_its_lane_is_skipped_and_the_lane_goes_on() -> None:
    app = App()
    gate = asyncio.Event()
    entered: list[str] = []

    async def handle(event: ReplyPosted) -> None:
        entered.append(event.message_id)
        if event.message_id == "slow":
            await gate.wait()

    app.on(ReplyPosted, handle)
    slow = asyncio.create_task(app.dispatch(reply("slow")))
    gone = asyncio.create_task(app.dispatch(reply("gone")))
    after = [asyncio.create_task(app.dispatch(reply(f"a{n}"))) for n in range(3)]
    await _turns()
    gone.cancel()
    gate.set()
    await asyncio.gather(slow, *after)
    assert gone.cancelled()
    assert entered == ["slow", "a0", "a1", "a2"] and app.in_flight == 0


async def test_a_command_cannot_be_submitted() -> None:
    app = App()
    with pytest.raises(TypeError):
        await app.submit(CommandInvoked(C, "general", Caller("u", "U", False), ("help",)))
