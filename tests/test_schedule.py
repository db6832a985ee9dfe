"""Weekly schedule arithmetic across daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from bot.schedule import next_run, previous_run


def runs(weekday: int, at: time, tz: str, start: datetime, count: int) -> list[datetime]:
    found, moment = [], start
    for _ in range(count):
        moment = next_run(weekday, at, tz, moment)
        found.append(moment)
    return found


@pytest.mark.parametrize(
    ("tz", "start"),
    [
        ("Europe/Berlin", datetime(2026, 3, 20, tzinfo=UTC)),  # clocks go forward 29 March
        ("Europe/Berlin", datetime(2026, 10, 15, tzinfo=UTC)),  # and back 25 October
        ("America/New_York", datetime(2026, 3, 1, tzinfo=UTC)),  # forward 8 March
        ("America/New_York", datetime(2026, 10, 25, tzinfo=UTC)),  # back 1 November
    ],
)
def test_monday_nine_oclock_stays_nine_oclock_local(tz: str, start: datetime) -> None:
    found = runs(0, time(9, 0), tz, start, 4)
    local = [moment.astimezone(ZoneInfo(tz)) for moment in found]
    assert [(m.weekday(), m.hour, m.minute) for m in local] == [(0, 9, 0)] * 4
    gaps = {b - a for a, b in pairwise(found)}
    # Across the change one gap is an hour longer or shorter than a week.
    assert gaps <= {timedelta(days=7), timedelta(days=7, hours=1), timedelta(days=7, hours=-1)}
    assert len(gaps) == 2


def test_a_time_skipped_by_the_clocks_runs_once_right_after() -> None:
    # 02:30 does not exist in Berlin on Sunday 29 March 2026.
    found = runs(6, time(2, 30), "Europe/Berlin", datetime(2026, 3, 25, tzinfo=UTC), 2)
    assert found[0] == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)  # 03:00 CEST
    assert found[1] == datetime(2026, 4, 5, 0, 30, tzinfo=UTC)


def test_a_time_that_happens_twice_runs_once() -> None:
    # 02:30 happens twice in Berlin on Sunday 25 October 2026.
    found = runs(6, time(2, 30), "Europe/Berlin", datetime(2026, 10, 20, tzinfo=UTC), 2)
    assert found == [
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
        datetime(2026, 11, 1, 1, 30, tzinfo=UTC),
    ]
    # Asking from between the two passes must not give the second pass.
    between = datetime(2026, 10, 25, 1, 0, tzinfo=UTC)
    assert next_run(6, time(2, 30), "Europe/Berlin", between) == datetime(2026, 11, 1, 1, 30, tzinfo=UTC)
    assert previous_run(6, time(2, 30), "Europe/Berlin", datetime(2026, 10, 25, 2, 0, tzinfo=UTC)) == (
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    )


def test_next_is_strictly_after_and_previous_strictly_before() -> None:
    moment = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # a Monday, 09:00 UTC
    assert next_run(0, time(9, 0), "UTC", moment) == moment + timedelta(days=7)
    assert previous_run(0, time(9, 0), "UTC", moment) == moment - timedelta(days=7)
