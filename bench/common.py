"""What every benchmark case shares: memory readings, a timer, the community, sizes."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.models import Community

COMMUNITY = Community("discord", "1000")
T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)
POSTGRES_VARIABLE = "THREADCAST_TEST_POSTGRES_URL"


@dataclass(frozen=True, slots=True)
class Sizes:
    replies: int  # ingest
    messages: int  # Discord flood
    digest_replies: int
    digest_discussions: int
    feeds: int

    @classmethod
    def of(cls, quick: bool) -> Sizes:
        if quick:
            return cls(replies=1_000, messages=500, digest_replies=5_000, digest_discussions=100, feeds=40)
        return cls(
            replies=50_000, messages=20_000, digest_replies=1_000_000, digest_discussions=10_000, feeds=1_000
        )


def _status(field: str) -> float:
    """A VmRSS/VmHWM line of /proc/self/status, in MB (Linux)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def rss_mb() -> float:
    return _status("VmRSS")


def peak_rss_mb() -> float:
    return _status("VmHWM")


class Timer:
    def __enter__(self) -> Timer:
        self.started = time.perf_counter()
        return self

    def __exit__(self, *_: object) -> None:
        self.seconds = time.perf_counter() - self.started


def cpu_count() -> int:
    return len(os.sched_getaffinity(0))
