"""Group commit: many small writes gathered into a few short transactions.

Why: written one transaction each, a flood of replies (a busy thread, the
catch-up after a reconnect) spends its time on transaction overhead and
round trips rather than on rows. Gathered, one transaction carries a whole
batch, and the lookups it needs are made once per batch.

How it works, and what it promises:

- `add(item)` queues an item and returns. A batch is written when it holds
  `max_rows` items, or `max_delay` seconds after its first item arrived,
  whichever comes first: no item waits longer than `max_delay` plus the
  writes ahead of it. Under a flood, batches are full; when quiet, a reply is
  stored within a few milliseconds.
- Batches are written one at a time, in arrival order. Items that arrive
  during a write queue for the next one, so the platform keeps reading while
  the database writes, and go together, up to `backlog` times `max_rows`:
  under a flood a write's fixed costs (its lookup, its commit, the turns of
  the event loop and the handoffs to the database's thread) are shared by
  more rows, and the reader is held up less often. `add` waits only when that
  many are queued and a write is under way (backpressure: memory stays
  bounded by two such batches, three while one commits, see next).
- A store whose writes are applied in the order they start (SQLite: one
  connection, whose thread runs calls first in, first out) calls `staged()`
  during the write once only its commit is left: the next batch starts
  then, and its rows queue behind that commit, so the database goes from one
  batch to the next while the event loop prepares the one after.
- `flush()` returns once every item queued before it is written (items queued
  after it, from other lanes, do not hold it up). `App` calls it before every
  event that is not a new reply and before every command (see
  `App.add_barrier`), so an edit, a delete, a reaction or a moderator's command
  always sees the replies that arrived before it; and at shutdown, so a clean
  stop loses nothing.
- Exactly once comes from the store, not from here: it ignores a message id it
  has stored before, so a reply delivered twice (a replayed event, history
  read back after a reconnect) is kept once.
- A batch whose write fails is logged and dropped, as a single failing write
  would be; replies missed that way are read back by the next catch-up.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

_log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_MAX_ROWS = 512
DEFAULT_MAX_DELAY = 0.005  # seconds
DEFAULT_BACKLOG = 4  # a batch written after a busy spell: up to this many times max_rows


class GroupCommit(Generic[T]):
    def __init__(
        self,
        write: Callable[[list[T]], Awaitable[None]],
        *,
        max_rows: int = DEFAULT_MAX_ROWS,
        max_delay: float = DEFAULT_MAX_DELAY,
        backlog: int = DEFAULT_BACKLOG,
        name: str = "group commit",
    ) -> None:
        if max_rows < 1 or max_delay < 0 or backlog < 1:
            raise ValueError("max_rows and backlog must be at least 1 and max_delay not negative")
        self._write = write
        self._max_rows = max_rows
        self._max_batch = max_rows * backlog
        self._max_delay = max_delay
        self._name = name
        self._queue: list[T] = []
        self._timer: asyncio.TimerHandle | None = None
        self._writes: deque[tuple[asyncio.Task[None], int]] = deque()  # started, not yet counted
        self._holder: asyncio.Task[None] | None = None  # the write under way, until `staged` or its end
        self._taken = asyncio.Event()  # set each time a batch is taken off the queue
        self._oldest = 0.0  # when the first queued item arrived (loop time)
        self._flushing = 0  # callers of flush() waiting: write now, however small the batch
        self._added = 0  # items ever queued...
        self._done = 0  # ...and those written (or given up on), in the same order
        self._wrote = asyncio.Event()  # set, and replaced, each time a batch is done

    @property
    def pending(self) -> int:
        """Items queued and not yet written."""
        return len(self._queue)

    async def add(self, item: T) -> None:
        # Called once per item under a flood: kept to a few attribute reads on the usual path.
        while len(self._queue) >= self._max_batch and self._holder is not None:
            self._taken.clear()  # the largest batch is waiting already: wait until a write takes it
            await self._taken.wait()
        queue = self._queue
        if not queue:
            self._oldest = asyncio.get_running_loop().time()
        queue.append(item)
        self._added += 1
        if len(queue) >= self._max_rows:
            self._start_writer()
        elif self._timer is None and self._holder is None:
            self._timer = asyncio.get_running_loop().call_later(self._max_delay, self._start_writer)

    async def flush(self) -> None:
        """Write everything queued so far, and return once it is written."""
        mark = self._added
        self._flushing += 1
        try:
            while self._done < mark:
                self._start_writer()
                # Not the writes themselves: a caller cancelled here cuts no batch off mid-write.
                await self._wrote.wait()
        finally:
            self._flushing -= 1

    def staged(self) -> None:
        """Called by `write` while it is under way (from inside it, or from a callback it had
        scheduled on the loop) once what is left of it is its commit, where a write started
        now is applied after it: the next batch may start. Its items count as written only once
        `write` returns. A call from any other task changes nothing."""
        if self._holder is not None and asyncio.current_task() in (self._holder, None):
            self._holder = None
            self._next()

    def _next(self) -> None:
        """No write is under way: the next batch may start, and callers waiting for room are told."""
        self._start_writer()
        if self._holder is None:
            self._taken.set()  # nobody waits for a write that is not coming yet

    def _start_writer(self) -> None:
        """Start writing the next batch, if it is due and no write is under way."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._holder is not None or not self._queue:
            return
        loop = asyncio.get_running_loop()
        if len(self._queue) < self._max_rows and not self._flushing:
            wait = self._oldest + self._max_delay - loop.time()
            if wait > 0:
                # Not full and not due: the batch may grow a little longer (a write costs
                # about the same for five rows as for a hundred).
                self._timer = loop.call_later(wait, self._start_writer)
                return
        batch, self._queue = self._queue[: self._max_batch], self._queue[self._max_batch :]
        self._oldest = loop.time()  # what is left waited at most this one write longer
        self._taken.set()
        task = self._holder = asyncio.create_task(self._write_batch(batch), name=self._name)
        self._writes.append((task, len(batch)))
        task.add_done_callback(self._written)

    async def _write_batch(self, batch: list[T]) -> None:
        try:
            await self._write(batch)
        except Exception:
            _log.exception("%s: a batch of %d could not be written", self._name, len(batch))

    def _written(self, task: asyncio.Task[None]) -> None:
        # The items are counted done in the order the writes started (what `flush` waits
        # for), whichever ends first. A write cancelled (the loop closing) counts as given up on.
        if task is self._holder:
            self._holder = None
        while self._writes and self._writes[0][0].done():
            self._done += self._writes.popleft()[1]
        wrote, self._wrote = self._wrote, asyncio.Event()
        wrote.set()
        if task.cancelled():
            self._taken.set()
        else:
            self._next()
