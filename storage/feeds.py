"""Feeds: subscriptions, the items each has shown, and their post templates and filters."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from bot.models import FILTER_ACTIONS, FILTER_FIELDS, Community, Feed, FeedFilter, FeedSuccess
from bot.store import DuplicateError
from storage.fragments import listed
from storage.queries import Queries
from storage.rows import FEED_COLS, FILTER_COLS


def check_choice(what: str, value: str, choices: Sequence[str]) -> None:
    """ValueError naming the choices when `value` is not one of them."""
    if value not in choices:
        raise ValueError(f"{what} must be one of {', '.join(choices)}, not {value!r}")


_REMEMBER = {
    engine: f"INSERT INTO feed_items (feed_id, key, seen_at) SELECT :feed, k.value, :now FROM {keys}"
    " WHERE true ON CONFLICT DO NOTHING"
    for engine, keys in listed("keys", "text", "k").items()
}

_SUCCESS = (
    "UPDATE feeds SET title = coalesce(:title::text, title), etag = :etag,"
    " last_modified = :last_modified, last_success_at = :now, failures = 0,"
    " next_poll_at = :next, primed = true WHERE id = :id"
)


class FeedQueries(Queries):
    """`bot.store.FeedStore`."""

    async def add_feed(
        self,
        community: Community,
        channel_id: str,
        url: str,
        *,
        prompt: str | None,
        backlog: int,
        interval_seconds: int,
        now: datetime,
    ) -> Feed:
        try:
            row = await self._db.fetch_one(
                "INSERT INTO feeds (platform, community_id, channel_id, url, prompt, backlog,"
                " interval_seconds, next_poll_at, created_at) VALUES (:platform, :community, :channel,"
                f" :url, :prompt, :backlog, :interval, :now, :now) RETURNING {FEED_COLS}",
                {"platform": community.platform, "community": community.id, "channel": channel_id,
                 "url": url, "prompt": prompt, "backlog": backlog, "interval": interval_seconds,
                 "now": now},
            )  # fmt: skip
        except DuplicateError as exc:
            raise DuplicateError(f"{channel_id} already follows {url}") from exc
        assert row is not None
        return self._rows.feed(row)

    async def get_feed(self, feed_id: int) -> Feed | None:
        row = await self._db.fetch_one(f"SELECT {FEED_COLS} FROM feeds WHERE id = :id", {"id": feed_id})
        return None if row is None else self._rows.feed(row)

    async def list_feeds(self, community: Community) -> list[Feed]:
        rows = await self._db.fetch(
            f"SELECT {FEED_COLS} FROM feeds WHERE platform = :platform AND community_id = :community"
            " ORDER BY id",
            {"platform": community.platform, "community": community.id},
        )
        return [self._rows.feed(r) for r in rows]

    async def remove_feed(self, feed_id: int) -> bool:
        async with self._db.transaction() as tx:
            # Its discussions keep the feed's name, so stats still say where they came from.
            await tx.execute(
                "UPDATE discussions SET removed_feed ="
                " (SELECT coalesce(title, url) FROM feeds WHERE id = :id) WHERE feed_id = :id",
                {"id": feed_id},
            )
            return await tx.execute("DELETE FROM feeds WHERE id = :id", {"id": feed_id}) > 0

    async def due_feeds(self, now: datetime) -> list[Feed]:
        rows = await self._db.fetch(
            f"SELECT {FEED_COLS} FROM feeds WHERE next_poll_at <= :now ORDER BY next_poll_at, id",
            {"now": now},
        )
        return [self._rows.feed(r) for r in rows]

    async def record_feed_success(
        self,
        feed_id: int,
        *,
        title: str | None,
        etag: str | None,
        last_modified: str | None,
        next_poll_at: datetime,
        now: datetime,
    ) -> bool:
        changed = await self._db.execute(
            _SUCCESS,
            {"title": title, "etag": etag, "last_modified": last_modified, "now": now,
             "next": next_poll_at, "id": feed_id},
        )  # fmt: skip
        return changed > 0

    async def record_feed_successes(self, successes: Sequence[FeedSuccess]) -> None:
        if successes:
            await self._db.execute_many(
                _SUCCESS,
                [{"title": s.title, "etag": s.etag, "last_modified": s.last_modified, "now": s.at,
                  "next": s.next_poll_at, "id": s.feed_id} for s in successes],
            )  # fmt: skip

    async def record_feed_failure(
        self, feed_id: int, *, error: str, next_poll_at: datetime, now: datetime
    ) -> bool:
        changed = await self._db.execute(
            "UPDATE feeds SET last_error = :error, last_error_at = :now, failures = failures + 1,"
            " next_poll_at = :next WHERE id = :id",
            {"error": error, "now": now, "next": next_poll_at, "id": feed_id},
        )
        return changed > 0

    async def unseen_item_keys(self, feed_id: int, keys: Sequence[str]) -> set[str]:
        [unseen] = await self.unseen_item_keys_of([(feed_id, keys)])
        return unseen

    async def unseen_item_keys_of(self, asked: Sequence[tuple[int, Sequence[str]]]) -> list[set[str]]:
        wanted = [(feed_id, set(keys)) for feed_id, keys in asked]
        feeds = list(dict.fromkeys(feed_id for feed_id, keys in wanted if keys))
        if not feeds:
            return [set() for _ in wanted]
        # Every feed's keys against every asked feed (the primary key's two lists): a key two of
        # them share finds a row of the other too, which the pairs below leave out.
        rows = await self._db.fetch(
            "SELECT feed_id, key FROM feed_items"
            " WHERE feed_id = ANY(:feeds::bigint[]) AND key = ANY(:keys::text[])",
            {"feeds": feeds, "keys": list(dict.fromkeys(k for _, keys in wanted for k in keys))},
        )
        seen = {(feed_id, key) for feed_id, key in rows}
        return [{k for k in keys if (feed_id, k) not in seen} for feed_id, keys in wanted]

    async def remember_items(self, feed_id: int, keys: Iterable[str], now: datetime) -> None:
        unique = list(dict.fromkeys(keys))
        if unique:  # one statement over the list (SQLite wants a WHERE before ON CONFLICT here)
            await self._db.execute(_REMEMBER, {"feed": feed_id, "keys": unique, "now": now})

    async def count_feed_post(self, feed_id: int) -> None:
        await self._db.execute(
            "UPDATE feeds SET items_posted = items_posted + 1 WHERE id = :id", {"id": feed_id}
        )

    # -- feed controls: templates and filters -------------------------------------------------
    async def set_feed_template(self, feed_id: int, template: str | None) -> bool:
        changed = await self._db.execute(
            "UPDATE feeds SET post_template = :template WHERE id = :id", {"template": template, "id": feed_id}
        )
        return changed > 0

    async def add_feed_filter(
        self, feed_id: int, *, action: str, pattern: str, field: str, now: datetime
    ) -> FeedFilter | None:
        check_choice("filter action", action, FILTER_ACTIONS)
        check_choice("filter field", field, FILTER_FIELDS)
        row = await self._db.fetch_one(
            "INSERT INTO feed_filters (feed_id, action, pattern, field, created_at)"
            " SELECT id, :action, :pattern, :field, :now FROM feeds WHERE id = :feed"
            f" RETURNING {FILTER_COLS}",
            {"action": action, "pattern": pattern, "field": field, "now": now, "feed": feed_id},
        )
        return None if row is None else self._rows.feed_filter(row)

    async def list_feed_filters(self, feed_id: int) -> list[FeedFilter]:
        rows = await self._db.fetch(
            f"SELECT {FILTER_COLS} FROM feed_filters WHERE feed_id = :feed ORDER BY id", {"feed": feed_id}
        )
        return [self._rows.feed_filter(r) for r in rows]

    async def remove_feed_filter(self, feed_id: int, filter_id: int) -> bool:
        changed = await self._db.execute(
            "DELETE FROM feed_filters WHERE feed_id = :feed AND id = :id", {"feed": feed_id, "id": filter_id}
        )
        return changed > 0

    async def count_held_back(self, feed_id: int, by_filter: Mapping[int, int], unmatched: int) -> None:
        total = sum(by_filter.values()) + unmatched
        if total == 0:
            return
        async with self._db.transaction() as tx:
            await tx.execute(
                "UPDATE feeds SET items_held_back = items_held_back + :total,"
                " held_unmatched = held_unmatched + :unmatched WHERE id = :feed",
                {"total": total, "unmatched": unmatched, "feed": feed_id},
            )
            await tx.execute_many(
                "UPDATE feed_filters SET held_back = held_back + :n WHERE feed_id = :feed AND id = :id",
                [{"n": n, "feed": feed_id, "id": filter_id} for filter_id, n in by_filter.items() if n],
            )
