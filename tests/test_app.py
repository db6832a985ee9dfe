"""App: one dispatch entry point, typed handlers, tracked background work."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from adapters.console.platform import COMMUNITY
from bot.app import App
from bot.events import ReactionChanged, ReplyPosted


def posted(text: str = "my secret words") -> ReplyPosted:
    return ReplyPosted(COMMUNITY, "t", "m", "u", "U", text, datetime.now(UTC))


async def test_handlers_run_in_order_and_a_failure_stays_contained(caplog: pytest.LogCaptureFixture) -> None:
    app = App()
    seen: list[str] = []

    async def first(event: ReplyPosted) -> None:
        seen.append("first")
        raise RuntimeError("boom")

    async def second(event: ReplyPosted) -> None:
        seen.append("second")

    app.on(ReplyPosted, first)
    app.on(ReplyPosted, second)
    assert await app.dispatch(posted()) is None
    assert seen == ["first", "second"]
    assert "boom" in caplog.text and "my secret words" not in caplog.text


async def test_registration_checks_the_signature() -> None:
    app = App()

    def not_async(event: ReplyPosted) -> None: ...

    async def wrong_type(event: ReactionChanged) -> None: ...

    async def two(event: ReplyPosted, extra: int) -> None: ...

    async def returns(event: ReplyPosted) -> int:
        return 1

    for bad in (not_async, wrong_type, two, returns):
        with pytest.raises(TypeError):
            app.on(ReplyPosted, bad)  # type: ignore[arg-type]


async def test_background_work_is_tracked_drained_and_refused_after_shutdown(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = App()
    done: list[int] = []
    gate = asyncio.Event()

    async def work(n: int) -> None:
        await gate.wait()
        done.append(n)

    async def fails() -> None:
        raise ValueError("background trouble")

    app.spawn(work(1), name="one")
    app.spawn(fails(), name="fails")
    gate.set()
    await app.drain()
    assert done == [1]
    assert "background trouble" in caplog.text

    never = asyncio.Event()

    async def stuck() -> None:
        await never.wait()

    task = app.spawn(stuck(), name="stuck")
    await app.shutdown(timeout=0.05)
    assert task.cancelled()
    with pytest.raises(RuntimeError):
        app.spawn(work(2), name="late")
