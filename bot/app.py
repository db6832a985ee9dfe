"""`App.dispatch`: the one entry point every adapter and test calls."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from bot.commands.registry import Answer, CommandRegistry
from bot.events import CommandInvoked, Event, ReplyPosted
from bot.handlers import check_handler

_log = logging.getLogger(__name__)

E = TypeVar("E", bound=Event)
EventHandler = Callable[[E], Awaitable[None]]


class App:
    """Routes events to handlers, each inside its own error boundary.

    Commands go to the registry and yield an `Answer`; other events go to
    every handler registered for their type. Background work started through
    `spawn` is kept referenced and drained by `shutdown`. Barriers (see
    `add_barrier`) run before every event but a new reply, and at shutdown.
    """

    def __init__(self, registry: CommandRegistry | None = None) -> None:
        self.commands = registry or CommandRegistry()
        self._handlers: dict[type[Event], list[Callable[[Any], Awaitable[None]]]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closing = False
        # Platforms run each event in its own task; taken one at a time, in the
        # order they arrive, a delete can never overtake the reply it deletes.
        self._in_order = asyncio.Lock()
        self._barriers: list[Callable[[], Awaitable[None]]] = []

    def on(self, event_type: type[E], handler: EventHandler[E]) -> None:
        if event_type is CommandInvoked:
            raise TypeError("commands are registered with app.commands.add")
        check_handler(handler, event_type, type(None))
        self._handlers.setdefault(event_type, []).append(handler)

    def add_barrier(self, barrier: Callable[[], Awaitable[None]]) -> None:
        """`barrier` finishes deferred work (the collector's batch of new replies): it is
        awaited before any other event or command is handled, and at shutdown, so whatever
        comes next sees every reply that arrived before it."""
        self._barriers.append(barrier)

    async def flush(self) -> None:
        """Finish every deferred write now."""
        for barrier in self._barriers:
            await barrier()

    async def dispatch(self, event: Event) -> Answer | None:
        if isinstance(event, CommandInvoked):
            await self.flush()
            return await self.commands.run(event)
        async with self._in_order:
            if not isinstance(event, ReplyPosted):
                await self.flush()
            for handler in self._handlers.get(type(event), []):
                try:
                    await handler(event)
                except Exception:
                    _log.exception(
                        "handler %s failed on %r", getattr(handler, "__qualname__", handler), event
                    )
        return None

    def spawn(self, coro: Coroutine[Any, Any, Any], *, name: str) -> asyncio.Task[Any]:
        """Run work in the background, logged if it fails, awaited at shutdown."""
        if self._closing:
            coro.close()
            raise RuntimeError("the app is shutting down")
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            _log.error("background task %s failed", task.get_name(), exc_info=task.exception())

    async def drain(self, timeout: float | None = None) -> None:
        """Wait for the background work started so far (and what it starts)."""
        while self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
            if pending:
                return

    async def shutdown(self, timeout: float = 10.0) -> None:
        self._closing = True
        await self.drain(timeout)
        for task in list(self._tasks):
            _log.warning("cancelling %s at shutdown", task.get_name())
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.flush()  # what the platforms delivered before the stop is kept
