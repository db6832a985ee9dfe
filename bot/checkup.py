"""`threadcast check`: what was checked, one line each, passed (✓) or failed (✗) with the fix.

The platform adapters check their own platform (`adapters/*/setup.py`) and the store reads its
own state (`storage/state.py`); this module holds the line type they all return, the lines for
the database's state, and the check of every subscribed feed (through the same safe fetcher
and parser the poller uses).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from bot.redact import mask_url
from bot.sources.errors import FeedError, SourceError
from bot.sources.feeds import fetch_feed
from bot.sources.http import Fetcher, FetchError
from bot.text import count

FEED_CONCURRENCY = 8  # feeds fetched at once


@dataclass(frozen=True, slots=True)
class CheckLine:
    ok: bool
    text: str
    fix: str | None = None  # one sentence: what to do about it (failed lines only)

    def __str__(self) -> str:
        if self.ok:
            return f"✓ {self.text}"
        return f"✗ {self.text}" + (f" — {self.fix}" if self.fix else "")


def passed(text: str) -> CheckLine:
    return CheckLine(True, text)


def failed(text: str, fix: str) -> CheckLine:
    return CheckLine(False, text, fix)


# -- the database ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SubscribedFeed:
    id: int
    url: str  # as stored: show it only through bot.redact.mask_url


@dataclass(frozen=True, slots=True)
class DatabaseState:
    """What the store holds, read without changing it (`storage.state.database_state`)."""

    where: str  # the database, masked (a SQLite path, or a PostgreSQL URL without its password)
    exists: bool  # False: a SQLite file not made yet (nothing was created by looking)
    version: int  # the newest migration applied (0: none)
    known: int  # the newest migration this threadcast ships
    pending: tuple[str, ...] = ()  # "0007_name" of the migrations `run` would apply
    feeds: tuple[SubscribedFeed, ...] = ()


def database_lines(state: DatabaseState) -> list[CheckLine]:
    if not state.exists:
        return [
            passed(
                f"database {state.where} does not exist yet: the first `threadcast run` (or `console`)"
                " creates it with its schema"
            )
        ]
    if state.version > state.known:
        return [
            failed(
                f"database {state.where} has schema version {state.version}, newer than this"
                f" threadcast knows ({state.known})",
                "run the threadcast release that wrote it (or a newer one); this one would misread it.",
            )
        ]
    if state.pending:
        shown = ", ".join(state.pending)
        return [
            passed(
                f"database {state.where}: schema version {state.version};"
                f" `threadcast run` applies {count(len(state.pending), 'pending migration')} at start"
                f" ({shown})"
            )
        ]
    return [passed(f"database {state.where}: schema version {state.version}, up to date")]


# -- feeds ----------------------------------------------------------------------------------


async def check_feeds(
    fetcher: Fetcher,
    feeds: Sequence[SubscribedFeed],
    *,
    budget: float,
    concurrency: int = FEED_CONCURRENCY,
) -> list[CheckLine]:
    """One line per subscribed address (a URL followed in several channels is fetched once),
    in the order of the first feed id. Feeds still unanswered after `budget` seconds in all
    are reported as not checked; the fetcher bounds each one by its own timeout."""
    ids: dict[str, list[int]] = {}
    for feed in sorted(feeds, key=lambda f: f.id):
        ids.setdefault(feed.url, []).append(feed.id)
    if not ids:
        return [passed("feeds: none subscribed yet")]
    gate = asyncio.Semaphore(concurrency)

    async def one(url: str) -> CheckLine:
        async with gate:
            return await _check_feed(fetcher, url, ids[url])

    tasks = {url: asyncio.create_task(one(url)) for url in ids}
    await asyncio.wait(tasks.values(), timeout=budget)
    lines = []
    for url, task in tasks.items():
        if task.done():
            lines.append(task.result())
        else:
            task.cancel()
            lines.append(
                failed(
                    f"{_feed_label(ids[url])} {mask_url(url)}: no answer within {budget:g} s",
                    "run `threadcast check` again; if it stays slow, raise THREADCAST_HTTP_TIMEOUT"
                    " or remove the feed.",
                )
            )
    await asyncio.gather(*tasks.values(), return_exceptions=True)
    return lines


def _feed_label(ids: Sequence[int]) -> str:
    return f"feed {ids[0]}" if len(ids) == 1 else f"feeds {', '.join(map(str, ids))}"


async def _check_feed(fetcher: Fetcher, url: str, ids: Sequence[int]) -> CheckLine:
    label = f"{_feed_label(ids)} {mask_url(url)}"
    try:
        result = await fetch_feed(fetcher, url)
    except FetchError as exc:
        return failed(f"{label}: {exc.reason}", _fetch_fix(exc, ids[0]))
    except FeedError as exc:
        problem = str(exc).removeprefix(f"{mask_url(url)}: ")
        return failed(
            f"{label}: {problem}",
            f"subscribe to the site's RSS or Atom address instead (`feed remove {ids[0]}`, then"
            " `feed add <feed url>`).",
        )
    except SourceError as exc:
        return failed(f"{label}: {exc}", "check the address with `feed list`.")
    title = f" ({result.title})" if result.title else ""
    return passed(f"{label} answers: {count(len(result.entries), 'item')}{title}")


def _fetch_fix(exc: FetchError, feed_id: int) -> str:
    if exc.status in (404, 410):
        return (
            f"the feed moved or is gone: find its new address, then `feed remove {feed_id}` and"
            " `feed add <new url>`."
        )
    if exc.status in (401, 403):
        return "the site refuses threadcast: check the address (and any key in it) with the site."
    if exc.reason.startswith("refused:"):
        return (
            "if the feed really is on this machine or your network, set"
            f" THREADCAST_ALLOW_PRIVATE_URLS=true; otherwise `feed remove {feed_id}`."
        )
    if exc.status is not None:
        return "the site answered with an error: try again later; the poller backs off meanwhile."
    return "check the address and that this machine can reach the site (network, proxy, DNS)."
