"""How long to wait before connecting again to a platform that could not be reached."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator

FIRST = 1.0  # seconds before the second try
CAP = 300.0  # never more than five minutes between tries
JITTER = 0.2  # each wait is moved by up to this share, so restarted bots do not knock in step


def backoff(
    first: float = FIRST,
    cap: float = CAP,
    *,
    jitter: float = JITTER,
    rand: Callable[[], float] = random.random,
) -> Iterator[float]:
    """Waits that double from `first` up to `cap`, each moved by ±`jitter` (never past `cap`)."""
    delay = first
    while True:
        yield min(cap, delay * (1 - jitter + 2 * jitter * rand()))
        delay = min(cap, delay * 2)


def seconds(delay: float) -> str:
    """A wait as a person reads it: "0.5 s", "4 s", "2 min 30 s"."""
    if delay < 10:
        return f"{delay:.2g} s" if delay < 1 else f"{round(delay)} s"
    whole = round(delay)
    minutes, rest = divmod(whole, 60)
    if not minutes:
        return f"{rest} s"
    return f"{minutes} min" + (f" {rest} s" if rest else "")


def reason(error: BaseException) -> str:
    """One line on why a connection failed: the error's own words, else its kind."""
    text = " ".join(str(error).split())
    return text[:200] if text else type(error).__name__
