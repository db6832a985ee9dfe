"""Per-member rate limits on commands that read or delete stored data.

A member who repeats `privacy my-data` or a moderator who loops `stats` gets
a short answer saying when to try again, and the command does not run. The
windows live in memory: a restart forgets them, which errs on the side of
letting people reach their own data.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.i18n import Words


@dataclass(frozen=True, slots=True)
class Limit:
    calls: int
    per: timedelta


# A member's own data: a few requests are plenty, and forget-me is heavy.
MEMBER_DATA = Limit(3, timedelta(minutes=10))
# Moderators' views over everyone's data (stats, digest preview).
COMMUNITY_DATA = Limit(10, timedelta(minutes=10))


class RateLimiter:
    def __init__(self, now: Callable[[], datetime]) -> None:
        self._now = now
        self._calls: dict[Hashable, deque[datetime]] = {}

    def wait(self, key: Hashable, limit: Limit) -> timedelta | None:
        """None (and the call counted) when allowed; else how long until it would be."""
        now = self._now()
        calls = self._calls.setdefault(key, deque())
        while calls and calls[0] <= now - limit.per:
            calls.popleft()
        if len(calls) >= limit.calls:
            return calls[0] + limit.per - now
        calls.append(now)
        self._forget_idle(now, limit.per)
        return None

    def _forget_idle(self, now: datetime, per: timedelta) -> None:
        # Keep the table as small as the number of recent callers.
        if len(self._calls) > 1000:
            for key in [k for k, c in self._calls.items() if not c or c[-1] <= now - per]:
                del self._calls[key]


def minutes(delta: timedelta, words: Words) -> str:
    whole = max(1, -(-int(delta.total_seconds()) // 60))
    return words.ngettext("{n} minute", "{n} minutes", whole)
