"""Polling one feed: fetch conditionally, post what is new, remember the rest.

The backlog rule: the first successful poll of a subscription posts at most
`backlog` of the items already in the feed (newest ones) and remembers every
other item as seen, so subscribing to a feed with 700 items posts 0 by default.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

from bot.clock import Clock
from bot.feed_filters import Candidate, Rules, held_counts
from bot.group_commit import DEFAULT_MAX_DELAY, GroupCommit
from bot.identity import article_link
from bot.models import ArticleDraft, Community, Feed, FeedSuccess
from bot.platform import ChatPlatform
from bot.post_layout import stored_layout
from bot.publisher import Publisher, PublishError, item_key, known_by
from bot.redact import mask_url
from bot.sources.errors import SourceError
from bot.sources.feeds import FeedEntry, FeedResult, fetch_feed
from bot.sources.http import Fetcher
from bot.store import Store
from bot.text import safe

_log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(hours=6)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
NOTIFY_AFTER = 3  # consecutive failures before moderators are told, once
AWAY_AFTER = 3  # intervals without a successful poll that count as downtime
SUMMARY_TITLES = 10


@dataclass(frozen=True, slots=True)
class PollReport:
    posted: int = 0
    remembered: int = 0
    waiting: int = 0  # new items left for the next poll
    error: str | None = None
    titles: tuple[str, ...] = ()  # of the items posted, in the order posted
    held_back: int = 0  # new items the feed's filters held back (remembered as seen)
    not_modified: bool = False  # the server said nothing changed since the last poll


def backoff(feed: Feed) -> timedelta:
    """Doubling delay after each consecutive failure, never above MAX_BACKOFF."""
    base = timedelta(seconds=feed.interval_seconds)
    return min(base * (1 << min(feed.failures + 1, 16)), MAX_BACKOFF)


class PollCycle:
    """What the polls of one scheduler cycle share, so that a poll costs fewer trips to the store.

    - Their successes are written in batches (`GroupCommit`: up to `batch`, within `delay`
      seconds, and all by `finish`), not one write each. A crash before a batch is written
      leaves those feeds due with the validators of their last recorded poll: the next cycle
      fetches them again. Nothing is posted twice or missed: a poll remembers each item as it
      posts it (or holds it back) before its success is queued, so the items read again are
      known and a new one is new either way. A first poll, which primes its feed, is not
      queued: left unprimed, its feed's next new item would meet the backlog rule again.
    - Their lookups of seen items are asked together: a lookup waits up to `lookup_delay`
      seconds, or while the query ahead of it runs, for others to join it in one query.
    """

    def __init__(
        self, store: Store, *, batch: int, delay: float, lookup_delay: float = DEFAULT_MAX_DELAY
    ) -> None:
        self._store = store
        self._lookup_delay = lookup_delay
        self.successes = GroupCommit(
            store.record_feed_successes, max_rows=batch, max_delay=delay, name="feed successes"
        )
        self._asked: list[tuple[int, list[str], asyncio.Future[set[str]]]] = []
        self._asking: asyncio.Task[None] | None = None

    async def unseen_item_keys(self, feed_id: int, keys: list[str]) -> set[str]:
        """`Store.unseen_item_keys`, asked with the other polls' lookups that wait meanwhile."""
        answer: asyncio.Future[set[str]] = asyncio.get_running_loop().create_future()
        self._asked.append((feed_id, keys, answer))
        if self._asking is None or self._asking.done():
            self._asking = asyncio.create_task(self._ask(), name="feed item lookups")
        return await answer

    async def _ask(self) -> None:
        while self._asked:
            # A few milliseconds for the polls parsing meanwhile to join: one query costs about
            # the same for several feeds' keys as for one, and each is a trip to the store's thread.
            await asyncio.sleep(self._lookup_delay)
            asked, self._asked = self._asked, []
            try:
                found = await self._store.unseen_item_keys_of([(feed_id, keys) for feed_id, keys, _ in asked])
            except Exception as exc:  # each poll fails with it, as if it had asked alone
                for *_, answer in asked:
                    if not answer.done():
                        answer.set_exception(exc)
                continue
            for (*_, answer), unseen in zip(asked, found, strict=True):
                if not answer.done():  # not a poll cancelled meanwhile
                    answer.set_result(unseen)

    async def finish(self) -> None:
        """Write every success queued so far."""
        await self.successes.flush()


class FeedPoller:
    def __init__(
        self,
        store: Store,
        fetcher: Fetcher,
        publisher: Publisher,
        clock: Clock,
        platforms: Mapping[str, ChatPlatform],
        *,
        max_posts_per_poll: int = 5,
        mod_channels: Mapping[Community, str] | None = None,
    ) -> None:
        self._store = store
        self._fetcher = fetcher
        self._publisher = publisher
        self._clock = clock
        self._platforms = platforms
        self._max_posts = max_posts_per_poll
        self._mod_channels = mod_channels or {}

    async def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FeedResult:
        return await fetch_feed(self._fetcher, url, etag=etag, last_modified=last_modified)

    async def poll(
        self,
        feed: Feed,
        prefetched: FeedResult | None = None,
        *,
        cycle: PollCycle | None = None,
    ) -> PollReport:
        """Poll `feed` (or take `prefetched`, just read); its success is recorded before this
        returns or, in a scheduler's `cycle`, queued there (see `PollCycle`)."""
        try:
            result = prefetched or await self.fetch(
                feed.url, etag=feed.etag, last_modified=feed.last_modified
            )
            report = (
                PollReport(not_modified=True)
                if result.not_modified
                else await self._take_items(feed, result.entries, cycle)
            )
        except SourceError as exc:
            return await self._failed(feed, str(exc))
        except Exception as exc:  # a bug or a storage fault must back off too, not retry every tick
            _log.exception("polling %s failed", mask_url(feed.url))
            return await self._failed(feed, f"internal error ({type(exc).__name__}); see the bot's log")
        if report.error is not None:
            # The feed was read but a post was refused (a missing channel or permission, the
            # platform down): back off and, if it lasts, tell the moderators like any failure.
            # The validators of the last good poll stay: the feed has changed since, so the
            # next poll gets it in full and offers the unposted items again.
            failed = await self._failed(feed, f"could not post in #{feed.channel_id}: {report.error}")
            return replace(report, error=failed.error)
        # With items left to post, fetch in full next time: a 304 would hide them.
        complete = report.waiting == 0
        now = self._clock.now()
        success = FeedSuccess(
            feed.id,
            title=result.title,
            etag=result.etag if complete else None,
            last_modified=result.last_modified if complete else None,
            next_poll_at=now + timedelta(seconds=feed.interval_seconds),
            at=now,
        )
        if cycle is not None and feed.primed:
            await cycle.successes.add(success)
        else:
            await self._store.record_feed_success(
                feed.id, title=success.title, etag=success.etag, last_modified=success.last_modified,
                next_poll_at=success.next_poll_at, now=now,
            )  # fmt: skip
        return report

    async def _failed(self, feed: Feed, error: str) -> PollReport:
        now = self._clock.now()
        delay = backoff(feed)
        _log.warning(
            "feed %s failed (%d in a row), next try in %s: %s",
            mask_url(feed.url),
            feed.failures + 1,
            delay,
            error,
        )
        exists = await self._store.record_feed_failure(
            feed.id, error=error, next_poll_at=now + delay, now=now
        )
        if exists and feed.failures + 1 == NOTIFY_AFTER:  # a feed removed meanwhile is not reported
            await self._tell_moderators(feed, error, delay)
        return PollReport(error=error)

    async def _take_items(self, feed: Feed, entries: list[FeedEntry], cycle: PollCycle | None) -> PollReport:
        # Off the event loop: an item without GUID or link is keyed by its text, read from HTML.
        # (`parse_feed` keeps at most MAX_FEED_ENTRIES, so this and the lookup below are bounded.)
        if len(entries) <= _KEYED_ON_THE_LOOP and all(_keyed_without_text(e) for e in entries):
            known = _known(entries)  # a few links and GUIDs: less work than a thread's hand-over
        else:
            known = await asyncio.to_thread(_known, entries) if entries else []
        lookup = self._store.unseen_item_keys if cycle is None else cycle.unseen_item_keys
        unseen = await lookup(feed.id, [k for keys, _ in known for k in keys])
        # New only if known by none of its keys: a link posted before under another GUID (a
        # feed that changes its GUIDs) is the same article.
        fresh = [(keys, entry) for keys, entry in known if all(k in unseen for k in keys)]
        if fresh:
            # Read again before anything is posted or remembered: the scheduler reads the due
            # feeds once per cycle, and one may have been removed (or changed) since.
            current = await self._store.get_feed(feed.id)
            if current is None:
                return PollReport()
            feed = current
        # Only new entries are made into drafts (their HTML read as text) and judged by the
        # feed's filters, off the event loop: a feed read for the first time may bring a hundred.
        rules = Rules(await self._store.list_feed_filters(feed.id) if fresh else ())

        def made() -> list[tuple[ArticleDraft, int | None]]:
            out = []
            for _, entry in fresh:
                draft = entry.draft()
                candidate = Candidate(draft.title, draft.summary, entry.categories)
                out.append((draft, rules.held_by(candidate) if rules else None))
            return out

        judged = await asyncio.to_thread(made) if fresh else []
        new = [(keys, draft) for (keys, _), (draft, held) in zip(fresh, judged, strict=True) if held is None]
        held_back = [keys for (keys, _), (_, held) in zip(fresh, judged, strict=True) if held is not None]
        if held_back:
            # Remembered as seen: an item a filter held back is not posted later, whatever
            # the filters become.
            await self._store.remember_items(
                feed.id, [k for keys in held_back for k in keys], self._clock.now()
            )
            by_filter, unmatched = held_counts([held for _, held in judged])
            await self._store.count_held_back(feed.id, by_filter, unmatched)
        if all(item.published_at for _, item in new):
            # Dates beat document order: some feeds list oldest first.
            new.sort(key=lambda pair: pair[1].published_at or _EPOCH, reverse=True)
        if not feed.primed:
            to_post, old = new[: feed.backlog], new[feed.backlog :]
            await self._store.remember_items(feed.id, [k for keys, _ in old for k in keys], self._clock.now())
            remembered = len(old)
        else:
            to_post, remembered = new, 0
        to_post.reverse()  # oldest first, so the channel reads in order
        if len(to_post) > self._max_posts and self._was_away(feed):
            # Back from downtime: the newest items are posted, the older ones named once.
            older, to_post = to_post[: -self._max_posts], to_post[-self._max_posts :]
            await self._store.remember_items(
                feed.id, [k for keys, _ in older for k in keys], self._clock.now()
            )
            remembered += len(older)
            await self._summarize(feed, [item for _, item in older])
        waiting = max(0, len(to_post) - self._max_posts)
        posted = 0
        titles: list[str] = []
        layout = stored_layout(feed.template)
        for keys, item in to_post[: self._max_posts]:
            try:
                published = await self._publisher.publish(
                    item, feed.community, feed.channel_id, prompt=feed.prompt, feed_id=feed.id, key=keys[0],
                    layout=layout,
                )  # fmt: skip
            except PublishError as exc:
                # Not remembered: the item is tried again at the next poll.
                _log.warning("feed %s: could not post %r: %s", mask_url(feed.url), item.title, exc)
                return PollReport(
                    posted, remembered, len(to_post) - posted, str(exc), tuple(titles), len(held_back)
                )
            await self._store.remember_items(feed.id, keys, self._clock.now())
            posted += published.new  # another feed may have brought the same article here first
            if published.new:
                titles.append(published.article.title)
        return PollReport(posted, remembered, waiting, None, tuple(titles), len(held_back))

    def _was_away(self, feed: Feed) -> bool:
        """True when this feed was not read for a while (the bot was down, or the feed was)."""
        if not feed.primed or feed.last_success_at is None:
            return False
        return self._clock.now() - feed.last_success_at > timedelta(
            seconds=AWAY_AFTER * feed.interval_seconds
        )

    async def _summarize(self, feed: Feed, items: list[ArticleDraft]) -> None:
        """One "while we were away" message instead of a flood of posts."""
        platform = self._platforms.get(feed.community.platform)
        if platform is None or not items:
            return
        name = safe(feed.title or _public(feed.url), 120)
        lines = [
            f"While threadcast was away, {name} published {len(items)} more"
            f" {'article' if len(items) == 1 else 'articles'} than it posts at once."
            f" The newest {self._max_posts} follow; these were left out:"
        ]
        lines += [f"• {safe(item.title, 150)}" for item in reversed(items[-SUMMARY_TITLES:])]
        if len(items) > SUMMARY_TITLES:
            lines.append(f"…and {len(items) - SUMMARY_TITLES} more.")
        try:
            await platform.notify(feed.community, feed.channel_id, "\n".join(lines))
        except Exception:
            _log.exception("could not post the catch-up summary of %s", mask_url(feed.url))

    async def _tell_moderators(self, feed: Feed, error: str, delay: timedelta) -> None:
        """Nothing is disabled silently: the moderators' channel (else the feed's own) hears
        about it once."""
        platform = self._platforms.get(feed.community.platform)
        if platform is None:
            return
        channel = self._mod_channels.get(feed.community, feed.channel_id)
        posts_in = f" posting in #{feed.channel_id}" if channel != feed.channel_id else ""
        text = (
            f"⚠️ The feed {safe(feed.title or _public(feed.url), 120)} (feed {feed.id}){posts_in} has failed"
            f" {NOTIFY_AFTER} times in a row: {safe(error, 300)}\n"
            f"threadcast keeps trying, now every {int(delay.total_seconds() // 60)} min."
            f" Check the address and the bot's permissions, or a moderator can `feed remove {feed.id}`."
        )
        try:
            await platform.notify(feed.community, channel, text)
        except Exception:
            _log.exception("could not tell %s about failing feed %s", channel, mask_url(feed.url))


# Up to this many entries that each have a GUID or a link are keyed on the event loop (a few
# hundredths of a millisecond each); more, or any keyed by its text, in a thread.
_KEYED_ON_THE_LOOP = 50


def _keyed_without_text(entry: FeedEntry) -> bool:
    """The entry's key needs no text read from its HTML (see `item_key`)."""
    return bool((entry.guid and entry.guid.strip()) or (entry.url and entry.url.strip()))


def _known(entries: list[FeedEntry]) -> list[tuple[list[str], FeedEntry]]:
    """Each item once (feed order, newest first) with the keys it is known by. A link is the
    article's identity, unless several items of this feed share it (a feed whose items all
    point at its home page): then their GUIDs tell them apart."""
    keyed: dict[str, tuple[FeedEntry, str | None]] = {}
    for entry in entries:
        key = item_key(entry.guid, entry.url, entry.source, entry.draft)
        if key not in keyed:
            keyed[key] = (entry, article_link(entry.url))  # normalized once: the dearest step here
    links = Counter(link for _, link in keyed.values())
    return [
        (known_by(link if links[link] == 1 else None, key), entry) for key, (entry, link) in keyed.items()
    ]


def _public(url: str) -> str:
    """A feed's address fit for a public channel: no credentials, query or fragment."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.hostname or "", parts.path, "", ""))
