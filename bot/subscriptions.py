"""Subscriptions in bulk: OPML import into one channel, and export of a community's feeds.

Shared by the chat commands (`feed import`, `feed export`) and the CLI (`threadcast feeds …`).
An import checks every feed as `feed add` does before subscribing it: a URL that is not
http(s), reaches a private address, is unreachable or is not a feed is refused and reported,
never subscribed. Feeds are fetched a few at a time, each within its own time limit, and
subscribed with backlog 0: what the feeds hold now is remembered as seen, nothing is posted.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from bot.clock import Clock
from bot.identity import normalize_url
from bot.models import Community, Feed
from bot.poller import FeedPoller
from bot.redact import mask_url
from bot.sources.errors import SourceError
from bot.sources.feeds import FeedResult
from bot.sources.http import InvalidURL, parse_url
from bot.sources.opml import ExportFolder, OpmlFeed, write_opml
from bot.store import DuplicateError, Store

_log = logging.getLogger(__name__)

IMPORT_CONCURRENCY = 10  # feeds fetched at once during an import
# Seconds for one feed, redirects included (the fetcher has its own limit too). With MAX_FEEDS
# feeds, an import of only dead, slow hosts ends within 300 / 10 * 20 s = 10 minutes: inside
# Discord's 15 minutes to answer an interaction.
IMPORT_FETCH_TIMEOUT = 20.0


class Outcome(enum.StrEnum):
    ADDED = "added"
    DUPLICATE = "duplicate"
    REFUSED = "refused"


@dataclass(frozen=True, slots=True)
class ImportLine:
    url: str
    title: str | None
    outcome: Outcome
    feed_id: int | None = None  # the new feed, or the one already following it
    reason: str = ""  # why it was refused or skipped (English, from the sources)
    twice_in_file: bool = False


@dataclass(frozen=True, slots=True)
class ImportReport:
    lines: list[ImportLine]

    def of(self, outcome: Outcome) -> list[ImportLine]:
        return [line for line in self.lines if line.outcome is outcome]


def _web_url(url: str) -> bool:
    try:
        parts = parse_url(url)
    except InvalidURL:
        return False
    return parts.scheme in ("http", "https") and bool(parts.raw_host)


async def import_feeds(
    store: Store,
    poller: FeedPoller,
    clock: Clock,
    community: Community,
    channel_id: str,
    feeds: Sequence[OpmlFeed],
    *,
    interval_seconds: int,
    concurrency: int = IMPORT_CONCURRENCY,
    timeout: float = IMPORT_FETCH_TIMEOUT,
) -> ImportReport:
    """Subscribe ``channel_id`` to each of ``feeds`` that is new there and reads as a feed."""
    followed = {
        normalize_url(f.url): f for f in await store.list_feeds(community) if f.channel_id == channel_id
    }
    lines: list[ImportLine | None] = []
    to_fetch: list[tuple[int, OpmlFeed]] = []
    in_file: set[str] = set()
    for feed in feeds:
        if not _web_url(feed.url):
            lines.append(
                ImportLine(
                    feed.url,
                    feed.title,
                    Outcome.REFUSED,
                    reason=f"{mask_url(feed.url)[:200]}: not a valid http(s) URL",
                )
            )
            continue
        key = normalize_url(feed.url)
        if key in in_file:
            lines.append(ImportLine(feed.url, feed.title, Outcome.DUPLICATE, twice_in_file=True))
            continue
        in_file.add(key)
        if (existing := followed.get(key)) is not None:
            lines.append(ImportLine(feed.url, feed.title, Outcome.DUPLICATE, feed_id=existing.id))
            continue
        to_fetch.append((len(lines), feed))
        lines.append(None)

    gate = asyncio.Semaphore(max(1, concurrency))

    async def fetch(feed: OpmlFeed) -> FeedResult | str:
        async with gate:
            try:
                async with asyncio.timeout(timeout):
                    return await poller.fetch(feed.url)
            except TimeoutError:
                return f"{mask_url(feed.url)}: no answer within {timeout:g} s"
            except SourceError as exc:
                return str(exc)

    fetched = await asyncio.gather(*(fetch(feed) for _, feed in to_fetch))
    # Subscribed in the file's order, one after the other: ids follow the file.
    for (index, feed), result in zip(to_fetch, fetched, strict=True):
        lines[index] = await _subscribe(
            store, poller, clock, community, channel_id, feed, result, interval_seconds
        )
    return ImportReport([line for line in lines if line is not None])


async def _subscribe(
    store: Store,
    poller: FeedPoller,
    clock: Clock,
    community: Community,
    channel_id: str,
    feed: OpmlFeed,
    result: FeedResult | str,
    interval_seconds: int,
) -> ImportLine:
    if isinstance(result, str):
        return ImportLine(feed.url, feed.title, Outcome.REFUSED, reason=result)
    try:
        added = await store.add_feed(
            community, channel_id, feed.url, prompt=None, backlog=0,
            interval_seconds=interval_seconds, now=clock.now(),
        )  # fmt: skip
    except DuplicateError:  # added meanwhile (another moderator, another import)
        return ImportLine(feed.url, feed.title, Outcome.DUPLICATE)
    # The feed's own title wins (each poll refreshes it); the file's names one that has none.
    report = await poller.poll(added, prefetched=replace(result, title=result.title or feed.title))
    if report.error:
        _log.info("imported feed %s: first poll: %s", mask_url(feed.url), report.error)
    return ImportLine(feed.url, result.title or feed.title, Outcome.ADDED, feed_id=added.id)


# --- export ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Export:
    opml: bytes
    feeds: int
    channels: int
    secrets: int  # feeds whose address holds a password or token
    masked: int  # of them, written masked


def has_secret(url: str) -> bool:
    return mask_url(url) != url


def export_feeds(
    feeds: Sequence[Feed], community: Community, *, now: datetime, include_secrets: bool = False
) -> Export:
    """The community's feeds as OPML 2.0, one folder per channel ("#news"). A feed address
    with a password or token in it is written masked (****) unless ``include_secrets``:
    an export travels (chat, mail, another reader), the credential should not."""
    by_channel: dict[str, list[OpmlFeed]] = {}
    secrets = 0
    for feed in sorted(feeds, key=lambda f: (f.channel_id, f.id)):
        url = feed.url
        if has_secret(url):
            secrets += 1
            url = url if include_secrets else mask_url(url)
        by_channel.setdefault(feed.channel_id, []).append(OpmlFeed(url, feed.title, None, None))
    folders = [ExportFolder(f"#{channel}", listed) for channel, listed in by_channel.items()]
    opml = write_opml(f"threadcast feeds of {community.key}", folders, created=now)
    return Export(opml, len(feeds), len(by_channel), secrets, 0 if include_secrets else secrets)
