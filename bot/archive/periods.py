"""The archive's weeks: aligned to a community's digest schedule, so each page
covers the same period as a digest that was (or would have been) posted."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from bot.models import DigestSchedule
from bot.schedule import next_run, previous_run


@dataclass(frozen=True, slots=True)
class Cadence:
    weekday: int  # 0 = Monday
    at: time
    timezone: str


# Without a schedule: calendar weeks, Monday 00:00 UTC.
DEFAULT_CADENCE = Cadence(0, time(0, 0), "UTC")


@dataclass(frozen=True, slots=True)
class Period:
    start: datetime
    end: datetime
    open: bool  # the current week, still running: it ends now


def cadence_of(schedules: Sequence[DigestSchedule]) -> Cadence:
    """The first enabled schedule's weekday, time and timezone."""
    for schedule in schedules:
        if schedule.enabled:
            return Cadence(schedule.weekday, schedule.at, schedule.timezone)
    return DEFAULT_CADENCE


def weekly_periods(cadence: Cadence, first: datetime, now: datetime) -> list[Period]:
    """Consecutive periods from the one holding `first` up to the open one holding `now`."""
    c = cadence
    # previous_run is strictly before its argument; a moment later includes `first` itself.
    start = previous_run(c.weekday, c.at, c.timezone, first + timedelta(microseconds=1))
    periods: list[Period] = []
    while start < now:
        end = next_run(c.weekday, c.at, c.timezone, start)
        if end > now:
            periods.append(Period(start, now, open=True))
            break
        periods.append(Period(start, end, open=False))
        start = end
    return periods
