"""`App.dispatch`: the one entry point every adapter and test calls.

Events travel in ordered lanes. Each thread of a community is a lane: its events are
handled one at a time, in the order `dispatch` was called, so an edit never precedes its
reply and a delete never overtakes it; different threads, and different communities,
are handled at the same time. An event that names no thread (a reaction, a reconnect, a
delete without its thread, a catch-up's mark) is a barrier of its community: it waits for
every event of the community dispatched before it, and those dispatched after it wait
for it. A command waits for every event of its community dispatched before it, and for
the deferred writes (see `add_barrier`), so it sees every reply that arrived before it;
it then runs beside the lanes, holding none of them up.

At most `max_in_flight` events are admitted at once (waiting in their lane or being
handled); the next `dispatch` waits for a slot, slots are given in arrival order. The
platform adapters await `dispatch` from their readers, so a flood pushes back on them.

An event whose lane is idle is handled in its caller's task. One that must wait is queued
behind what it waits for, and whoever finishes that handles it next, in the same step: a
lane's backlog is worked off in one task, not one turn of the event loop per event. A
reader that need not know when its event is handled (Discord's, one task per message)
calls `submit`: it returns once the event has its slot and its place, so the reader's
task ends without waiting for the events before it; order and the bound are the same.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from bot.commands.registry import Answer, CommandRegistry
from bot.events import CommandInvoked, Event, ReplyPosted
from bot.handlers import check_handler

_log = logging.getLogger(__name__)

E = TypeVar("E", bound=Event)
EventHandler = Callable[[E], Awaitable[None]]

DEFAULT_MAX_IN_FLIGHT = 512

_Key = tuple[str, ...]


class _Place:
    """An admitted event's place in its lane: whether it is done, and who waits for it.

    A command waits with a future of its own in `waiters` (so a waiter cancelled takes
    nobody else's wait away). An event that must wait is a `job`: it is queued behind the
    places it waits for (`after` of each), and whoever finishes the last of them handles it
    in the same step (see `App._run`), so a lane's backlog is handled in one go, not one
    turn of the event loop per event; its caller is told through the job's future.
    """

    __slots__ = ("after", "blocked", "done", "job", "key", "waiters")

    def __init__(self, key: _Key) -> None:
        self.key = key  # its lane: (platform, community, thread), or (platform, community)
        self.done = False
        self.waiters: list[asyncio.Future[None]] | None = None
        self.job: tuple[Event, asyncio.Future[None] | None] | None = None
        self.blocked = 0  # places not yet done that this job waits for
        self.after: list[_Place] | None = None  # jobs waiting for this place

    async def wait(self) -> None:
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.waiters is None:
            self.waiters = [waiter]
        else:
            self.waiters.append(waiter)
        await waiter

    def end(self) -> list[_Place]:
        """Done: wake the waiters; the jobs that wait for nothing more now."""
        self.done = True
        for waiter in self.waiters or ():
            if not waiter.done():
                waiter.set_result(None)
        ready = []
        for job in self.after or ():
            job.blocked -= 1
            if not job.blocked:
                ready.append(job)
        self.after = None
        return ready


# What an admitted event waits for (earlier events of its lane), and its own place, which
# later ones wait for; None for a command, which nobody waits for.
_Turn = tuple[list[_Place], _Place | None]


class App:
    """Routes events to handlers, each inside its own error boundary.

    Commands go to the registry and yield an `Answer`; other events go to
    every handler registered for their type, in their lane (see the module's
    docstring). Background work started through `spawn` is kept referenced and
    drained by `shutdown`. Barriers (see `add_barrier`) run before every event
    but a new reply, before every command, and at shutdown.
    """

    def __init__(
        self, registry: CommandRegistry | None = None, *, max_in_flight: int = DEFAULT_MAX_IN_FLIGHT
    ) -> None:
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        self.commands = registry or CommandRegistry()
        self._handlers: dict[type[Event], list[Callable[[Any], Awaitable[None]]]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closing = False
        self._barriers: list[Callable[[], Awaitable[None]]] = []
        self._max_in_flight = max_in_flight
        self._in_flight = 0
        self._waiting: deque[tuple[Event, asyncio.Future[_Turn]]] = deque()
        # The place of the last event admitted, per thread, keyed (platform, community, thread)
        # (strings: hashed in C, on every event)...
        self._lanes: dict[_Key, _Place] = {}
        # ...and of the last event of a whole community (one that names no thread).
        self._whole: dict[_Key, _Place] = {}
        self._runners: set[asyncio.Task[None]] = set()  # tasks handling queued jobs (see `_run`)
        self._settled: asyncio.Future[None] | None = None  # at shutdown: set once none is in flight

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

    @property
    def in_flight(self) -> int:
        """Events admitted and not finished (waiting in their lane or being handled)."""
        return self._in_flight

    @property
    def waiting(self) -> int:
        """Calls of `dispatch` waiting for a slot."""
        return len(self._waiting)

    @property
    def crowded(self) -> bool:
        """Every slot is taken and callers wait for one. A platform whose library starts a task
        per event (discord.py) gets no backpressure from waiting callers alone, as its reader
        goes on reading: while this holds, it should stop reading (and start again once the
        `dispatch` that found it crowded returns)."""
        return bool(self._waiting)

    async def dispatch(self, event: Event) -> Answer | None:
        """Handle the event in its lane; returns once it is handled (a command: its answer)."""
        if self._in_flight < self._max_in_flight and not self._waiting:
            self._in_flight += 1
            before, end = self._enter(event)
        else:
            before, end = await self._admit(event)
        if end is None:  # a command
            try:
                for earlier in before:
                    if not earlier.done:
                        await earlier.wait()
                await self.flush()
            finally:
                self._finish(end)
            assert isinstance(event, CommandInvoked)
            return await self.commands.run(event)  # beside the lanes: a slow command stalls none
        if not (blocked := self._queue(before, end)):  # its lane is idle: handled here and now
            try:
                await self._handle(event)
            finally:
                self._start(self._finish(end))
            return None
        # Queued: handled by whoever finishes what it waits for, in order (see `_run`).
        handled: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        end.job = (event, handled)
        end.blocked = blocked
        await handled  # cancelled: the event is skipped when its turn comes
        return None

    async def submit(self, event: Event) -> None:
        """Like `dispatch`, for a caller that need not wait for the event to be handled (a
        platform's reader): returns once the event has a slot and its place in its lane, where
        it is handled in order, as `dispatch` would. Its slot is held until then, so at most
        `max_in_flight` events are in memory; `flush` and `shutdown` see it once handled, and
        every event or command dispatched after it waits for it as usual. Not for commands."""
        if type(event) is CommandInvoked:
            raise TypeError("a command's caller waits for its answer: use dispatch")
        if self._in_flight < self._max_in_flight and not self._waiting:
            self._in_flight += 1
            before, end = self._enter(event)
        else:
            before, end = await self._admit(event)
        assert end is not None
        if not (blocked := self._queue(before, end)):
            try:
                await self._handle(event)
            finally:
                self._start(self._finish(end))
            return
        end.job = (event, None)
        end.blocked = blocked

    @staticmethod
    def _queue(before: list[_Place], end: _Place) -> int:
        """Put `end` behind each earlier place not yet done; how many there are."""
        blocked = 0
        for earlier in before:
            if not earlier.done:
                blocked += 1
                if earlier.after is None:
                    earlier.after = [end]
                else:
                    earlier.after.append(end)
        return blocked

    async def _handle(self, event: Event) -> None:
        if type(event) is not ReplyPosted:
            await self.flush()
        for handler in self._handlers.get(type(event), ()):
            try:
                await handler(event)
            except Exception:
                _log.exception("handler %s failed on %r", getattr(handler, "__qualname__", handler), event)

    def _start(self, ready: list[_Place]) -> None:
        """Jobs whose turn came in a caller's step: each chain runs in a task of its own."""
        for place in ready:
            task = asyncio.create_task(self._run(place), name="lane")
            self._runners.add(task)
            task.add_done_callback(self._runners.discard)

    async def _run(self, place: _Place | None) -> None:
        """Handle a queued job, then the jobs its end makes ready, one after the other in this
        task while each is the only one (a lane's backlog); others get tasks of their own."""
        while place is not None:
            assert place.job is not None
            event, handled = place.job
            place.job = None
            try:
                if handled is None or not handled.done():  # not cancelled by a waiting caller
                    await self._handle(event)
            except BaseException:  # this task is cancelled: the jobs after it go on elsewhere
                self._start(self._finish(place))
                raise
            finally:
                if handled is not None and not handled.done():
                    handled.set_result(None)
            ready = self._finish(place)
            place = ready.pop() if len(ready) == 1 else None
            self._start(ready)

    # -- lanes and slots -------------------------------------------------------------
    async def _admit(self, event: Event) -> _Turn:
        turn: asyncio.Future[_Turn] = asyncio.get_running_loop().create_future()
        self._waiting.append((event, turn))
        try:
            return await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():  # admitted just before: give the slot on
                self._start(self._finish(turn.result()[1]))
            else:
                turn.cancel()  # skipped by `_finish`
            raise

    def _enter(self, event: Event) -> _Turn:
        """Take the event's place in its lane, now: its order is fixed here."""
        community = event.community
        whole_key = (community.platform, community.id)
        before = []
        if self._whole and (whole := self._whole.get(whole_key)) is not None:
            before.append(whole)
        thread = getattr(event, "thread_id", None)
        if type(event) is CommandInvoked or type(thread) is not str:
            # A command, or an event of the whole community: after every lane of it.
            lanes = [key for key in self._lanes if key[:2] == whole_key]
            before.extend(self._lanes[key] for key in lanes)
            if type(event) is CommandInvoked:
                return before, None
            for key in lanes:  # every later event waits for this one, which waits for them
                del self._lanes[key]
            place = self._whole[whole_key] = _Place(whole_key)
            return before, place
        key = (community.platform, community.id, thread)
        if (last := self._lanes.get(key)) is not None:
            before.append(last)
        place = self._lanes[key] = _Place(key)
        return before, place

    def _finish(self, place: _Place | None) -> list[_Place]:
        """The place ends, its slot is given on; the jobs that may run now."""
        ready: list[_Place] = []
        if place is not None:
            ready = place.end()
            lanes = self._lanes if len(place.key) == 3 else self._whole
            if lanes.get(place.key) is place:
                del lanes[place.key]
        while self._waiting:  # the slot goes to the first caller waiting, if any
            waiting, turn = self._waiting.popleft()
            if not turn.done():
                turn.set_result(self._enter(waiting))
                return ready
        self._in_flight -= 1
        if not self._in_flight and self._settled is not None and not self._settled.done():
            self._settled.set_result(None)
        return ready

    # -- background work -----------------------------------------------------------------
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
        if self._in_flight:  # events admitted before the stop (some queued in their lanes) are handled
            self._settled = asyncio.get_running_loop().create_future()
            try:
                await asyncio.wait_for(asyncio.shield(self._settled), timeout)
            except TimeoutError:
                _log.warning("%d events still in their lanes at shutdown", self._in_flight)
            finally:
                self._settled = None
        await self.flush()  # what the platforms delivered before the stop is kept
