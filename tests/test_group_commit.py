"""Group commit: replies written in batches, in order, once, and none lost on a clean stop."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from bot.app import App
from bot.collector import Collector
from bot.events import ReactionChanged, ReplyDeleted, ReplyEdited, ReplyPosted
from bot.group_commit import GroupCommit
from bot.models import ArticleDraft, Community, Discussion, MemberPrefs
from storage.store import SQLiteStore
from tests.conftest import T0, eventually

C = Community("discord", "g1")


async def test_a_batch_goes_out_when_full_and_the_rest_after_the_delay() -> None:
    written: list[list[int]] = []

    async def write(batch: list[int]) -> None:
        written.append(batch)

    commit: GroupCommit[int] = GroupCommit(write, max_rows=3, max_delay=0.01, backlog=1)
    for i in range(7):
        await commit.add(i)

    async def all_written() -> bool:
        return sum(map(len, written)) == 7

    await eventually(all_written, what="the timed batch")
    assert [i for batch in written for i in batch] == list(range(7))  # every item, in order, once
    assert max(len(batch) for batch in written) == 3
    assert written[-1] == [6]


async def test_flush_returns_once_everything_queued_is_written() -> None:
    written: list[int] = []
    release = asyncio.Event()

    async def slow_write(batch: list[int]) -> None:
        await release.wait()
        written.extend(batch)

    commit: GroupCommit[int] = GroupCommit(slow_write, max_rows=2, max_delay=60)
    for i in range(3):
        await commit.add(i)  # the first two are being written; the third waits for its delay
    flushing = asyncio.create_task(commit.flush())
    await asyncio.sleep(0)
    assert not flushing.done()
    release.set()
    await flushing
    assert written == [0, 1, 2]
    assert commit.pending == 0


async def test_a_full_queue_makes_the_producer_wait() -> None:
    release = asyncio.Event()
    written: list[int] = []

    async def slow_write(batch: list[int]) -> None:
        await release.wait()
        written.extend(batch)

    commit: GroupCommit[int] = GroupCommit(slow_write, max_rows=2, max_delay=60, backlog=1)
    for i in range(4):
        await commit.add(i)  # 0 and 1 being written, 2 and 3 queued: the largest batch waits
    blocked = asyncio.create_task(commit.add(4))
    await asyncio.sleep(0.01)
    assert not blocked.done() and commit.pending == 2
    release.set()
    await blocked
    await commit.flush()
    assert written == [0, 1, 2, 3, 4]


async def test_what_arrives_during_a_write_goes_in_one_batch_up_to_the_backlog() -> None:
    release = asyncio.Event()
    written: list[list[int]] = []

    async def slow_write(batch: list[int]) -> None:
        await release.wait()
        written.append(batch)

    commit: GroupCommit[int] = GroupCommit(slow_write, max_rows=2, max_delay=60, backlog=3)
    for i in range(8):
        await commit.add(i)  # 0 and 1 being written; 2 to 7 (three batches' worth) queued
    blocked = asyncio.create_task(commit.add(8))
    await asyncio.sleep(0.01)
    assert not blocked.done() and commit.pending == 6
    release.set()
    await blocked
    await commit.flush()
    assert written == [[0, 1], [2, 3, 4, 5, 6, 7], [8]]  # in order, the backlog as one batch


async def test_a_failing_batch_is_logged_and_the_next_ones_still_go(caplog: pytest.LogCaptureFixture) -> None:
    written: list[int] = []

    async def write(batch: list[int]) -> None:
        if 0 in batch:
            raise RuntimeError("disk full")
        written.extend(batch)

    commit: GroupCommit[int] = GroupCommit(write, max_rows=2, max_delay=60)
    for i in range(5):
        await commit.add(i)
    await commit.flush()
    assert written == [2, 3, 4]
    assert "a batch of 2 could not be written" in caplog.text


async def test_a_write_left_with_its_commit_lets_the_next_batch_start() -> None:
    started: list[list[int]] = []
    commits: list[asyncio.Event] = []
    commit: GroupCommit[int]

    async def write(batch: list[int]) -> None:
        started.append(batch)
        done = asyncio.Event()
        commits.append(done)
        if batch[0] != 2:  # the second batch never says it is staged
            commit.staged()
            commit.staged()  # twice changes nothing
        await done.wait()

    commit = GroupCommit(write, max_rows=2, max_delay=60, backlog=1)
    commit.staged()  # outside a write: nothing
    for i in range(6):
        await commit.add(i)
    await asyncio.sleep(0)
    # the first is staged, so the second started; the third waits for the second to end
    assert started == [[0, 1], [2, 3]] and commit.pending == 2
    blocked = asyncio.create_task(commit.add(6))  # the bound: a full batch queued behind a write
    flushing = asyncio.create_task(commit.flush())
    await asyncio.sleep(0.01)
    assert not blocked.done() and not flushing.done()

    commits[1].set()  # the second ends before the first: the third starts...
    await blocked
    await asyncio.sleep(0.01)
    assert started[2] == [4, 5]
    commits[2].set()
    await asyncio.sleep(0.01)
    assert not flushing.done()  # ...but nothing counts as written while the first is not
    commits[0].set()
    for _ in range(20):  # the last batch (6) is written by the flush
        await asyncio.sleep(0.001)
        for done in commits:
            done.set()
    await flushing
    assert [i for batch in started for i in batch] == list(range(7))


# -- through App.dispatch into a real store --------------------------------------------------------


async def _discussion(store: SQLiteStore, key: str = "a1") -> Discussion:
    article = await store.save_article(key, ArticleDraft(f"Title {key}", None, "", "src"), T0)
    pending = await store.begin_discussion(article.id, C, "news", prompt="?", feed_id=None, now=T0)
    assert pending is not None
    return await store.confirm_discussion(pending.id, f"m-{key}", f"t-{key}", T0)


def _reply(message_id: str, author: str = "u1", thread: str = "t-a1", **changes: object) -> ReplyPosted:
    fields: dict[str, object] = dict(
        community=C, thread_id=thread, message_id=message_id, author_id=author,
        author_name=f"Name {author}", text=f"{author} wrote {message_id}",
        created_at=T0 + timedelta(seconds=int(message_id.strip("r") or 0)),
    )  # fmt: skip
    fields.update(changes)
    return ReplyPosted(**fields)  # type: ignore[arg-type]


async def _app(store: SQLiteStore, *, max_rows: int = 1000, max_delay: float = 60) -> App:
    # A long delay: nothing is written unless something asks for it (a barrier, a full batch).
    app = App()
    Collector(store, batch_rows=max_rows, batch_delay=max_delay).register(app)
    return app


async def test_replies_wait_for_their_batch_and_a_delete_after_a_reply_sees_it(store: SQLiteStore) -> None:
    await _discussion(store)
    app = await _app(store)
    await app.dispatch(_reply("r1"))
    await app.dispatch(_reply("r2"))
    assert await store.get_reply(C, "r1") is None  # still in the batch

    await app.dispatch(ReplyDeleted(C, "r1", "t-a1"))  # a barrier: the batch is written first
    assert await store.get_reply(C, "r1") is None
    assert await store.get_reply(C, "r2") is not None

    await app.dispatch(_reply("r3"))
    await app.dispatch(ReplyEdited(C, "t-a1", "r3", "new words", T0 + timedelta(hours=1)))
    await app.dispatch(_reply("r4"))
    await app.dispatch(ReactionChanged(C, "r4", "u2", "👍", True))
    edited = await store.get_reply(C, "r3")
    assert edited is not None and edited.text == "new words"
    reacted = await store.get_reply(C, "r4")
    assert reacted is not None and reacted.reactions == 1


async def test_a_clean_shutdown_writes_what_is_queued(store: SQLiteStore) -> None:
    await _discussion(store)
    app = await _app(store)
    for i in range(50):
        await app.dispatch(_reply(f"r{i}", author=f"u{i % 4}"))
    await app.shutdown()
    assert (await store.period_counts(C, T0, T0 + timedelta(days=1))).replies == 50


async def test_batched_replies_keep_the_collectors_rules(store: SQLiteStore) -> None:
    discussion = await _discussion(store)
    await _discussion(store, "a2")
    await store.set_prefs(MemberPrefs("discord", "quiet", opted_out=True))
    app = await _app(store, max_rows=4)  # several full batches, then the rest at the barrier
    events = [
        _reply("r1"),
        _reply("r1", text="delivered twice"),
        _reply("r2", thread="not-ours"),  # a thread threadcast did not open
        _reply("r3", author="quiet"),  # opted out: counted, not stored
        _reply("r4", author="quiet", from_history=True),  # read back: not counted again
        _reply("r5", thread="t-a2", author_name="\u202eEvil\x00", text="  spaced   out\x07 "),
        _reply("r6", community=Community("slack", "g1")),  # another platform: no such thread there
        *(_reply(f"r{i}", author="u2") for i in range(10, 20)),
    ]
    for event in events:
        await app.dispatch(event)
    await app.flush()

    first = await store.get_reply(C, "r1")
    assert first is not None and first.text == "u1 wrote r1"
    assert await store.get_reply(C, "r2") is None
    assert await store.get_reply(C, "r3") is None and await store.get_reply(C, "r4") is None
    counted = await store.get_discussion(discussion.id)
    assert counted is not None and counted.anonymous_replies == 1
    cleaned = await store.get_reply(C, "r5")
    assert cleaned is not None and (cleaned.author_name, cleaned.text) == ("Evil", "spaced out")
    assert await store.get_reply(Community("slack", "g1"), "r6") is None
    assert (await store.period_counts(C, T0, T0 + timedelta(days=1))).replies == 12


async def test_a_timed_batch_is_written_without_any_barrier(store: SQLiteStore) -> None:
    await _discussion(store)
    app = await _app(store, max_delay=0.005)
    await app.dispatch(_reply("r1"))
    assert await eventually(lambda: store.get_reply(C, "r1"), what="the reply written by the timer")


async def test_a_write_may_say_it_is_staged_from_a_callback_it_scheduled_but_no_other_task_may() -> None:
    # SQLite's thread has `staged` called on the loop as a callback while the write still
    # waits for its answer (storage/db/sqlite.py); another task's call changes nothing.
    started: list[list[int]] = []
    ends: list[asyncio.Event] = []
    commit: GroupCommit[int]

    async def write(batch: list[int]) -> None:
        started.append(batch)
        ends.append(done := asyncio.Event())
        if batch[0] == 0:
            asyncio.get_running_loop().call_soon(commit.staged)
        if batch[0] != 4:  # the last is written at once
            await done.wait()

    async def meddle() -> None:
        commit.staged()

    commit = GroupCommit(write, max_rows=2, max_delay=60, backlog=1)
    for i in range(6):
        await commit.add(i)
    await asyncio.sleep(0.01)
    assert started == [[0, 1], [2, 3]]  # the callback let the second start
    await asyncio.create_task(meddle())  # the second is under way: another task cannot free its slot
    await asyncio.sleep(0.01)
    assert started == [[0, 1], [2, 3]] and commit.pending == 2
    for done in ends:
        done.set()
    await commit.flush()
    assert started == [[0, 1], [2, 3], [4, 5]]
