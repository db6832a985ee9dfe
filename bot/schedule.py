"""Weekly digest times: the weekday and wall-clock time of a schedule, in its
IANA timezone, turned into UTC instants. croniter does the calendar walk,
including days when the clocks change."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

# cron counts Sunday as 0; the core counts Monday as 0 like `datetime.weekday()`.
_CRON_WEEKDAY = (1, 2, 3, 4, 5, 6, 0)


def _expression(weekday: int, at: time) -> str:
    return f"{at.minute} {at.hour} * * {_CRON_WEEKDAY[weekday]}"


def _is_repeat(found: datetime) -> bool:
    """True for the second pass of a wall time that happens twice (clocks going back).

    A weekly digest must fire once that day, at the first pass.
    """
    first = found.replace(tzinfo=None).replace(tzinfo=found.tzinfo, fold=0)
    return first.astimezone(UTC) != found.astimezone(UTC)


def _walk(weekday: int, at: time, timezone: str, start: datetime, *, forward: bool) -> datetime:
    from croniter import (
        croniter,
    )  # a third of a one-shot command's imports otherwise; once loaded, a dict look-up

    walk = croniter(_expression(weekday, at), start.astimezone(ZoneInfo(timezone)))
    while True:
        found: datetime = walk.get_next(datetime) if forward else walk.get_prev(datetime)
        if not _is_repeat(found):
            return found.astimezone(UTC)


def next_run(weekday: int, at: time, timezone: str, after: datetime) -> datetime:
    """The first scheduled instant strictly after `after`, in UTC."""
    return _walk(weekday, at, timezone, after, forward=True)


def previous_run(weekday: int, at: time, timezone: str, before: datetime) -> datetime:
    """The last scheduled instant strictly before `before`, in UTC."""
    return _walk(weekday, at, timezone, before, forward=False)
