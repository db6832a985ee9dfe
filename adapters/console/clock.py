"""The console's clock: real time, plus whatever `.advance` has added, so a
script can let a week pass and watch the digest go out."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

_log = logging.getLogger(__name__)


class ConsoleClock:
    def __init__(self, start: datetime | None = None) -> None:
        self._offset = timedelta() if start is None else start - datetime.now(UTC)
        # The time the console recorded in the store is to be read once it is open (see
        # `threadcast.wiring.use_recorded_time`): set by `recorded_clock`.
        self.recorded = False

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def advance(self, delta: timedelta) -> None:
        self._offset += delta

    @property
    def offset(self) -> timedelta:
        return self._offset

    def set_offset(self, offset: timedelta) -> None:
        self._offset = offset


def recorded_clock(state_file: Path | None) -> ConsoleClock:
    """A clock at the time the console last recorded (`.advance` keeps its offset in the store;
    an older console kept it in a state file beside the database, read here until the store
    has taken that file in), for commands that read that database; real time without one.
    The runtime sets it to the store's offset when it opens the store."""
    clock = ConsoleClock()
    clock.recorded = True
    if state_file is None:
        return clock
    try:
        data = json.loads(state_file.read_text(encoding="utf-8"))
        clock.set_offset(timedelta(seconds=float(data.get("time_offset", 0.0))))
    except FileNotFoundError:
        pass
    except (OSError, ValueError, TypeError, AttributeError) as exc:
        _log.warning("console state %s unreadable (%s): using the real time", state_file, exc)
    return clock
