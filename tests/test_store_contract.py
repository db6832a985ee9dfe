"""The `Store` contract: one suite that every backend must pass.

The tests speak only the protocol of `bot.store` (no SQL, no private
attributes), so they hold for any implementation. A backend is one entry of
`BACKENDS`: an async context manager that prepares an empty database and yields
a factory of new, unopened stores over it (a second store over the same
database is how a test sees a restart). SQLite gets a file in `tmp_path`;
PostgreSQL a fresh schema on the server THREADCAST_TEST_POSTGRES_URL names
(without one these skip, saying why; in CI they fail: see tests/postgres.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.models import (
    ArticleDraft,
    Community,
    CommunitySettings,
    DigestSchedule,
    Discussion,
    DiscussionState,
    Feed,
    FeedSuccess,
    MemberPrefs,
    PeriodCounts,
    Reply,
    ReplyMark,
    StatsRow,
)
from bot.store import ConsoleMessage, ConsoleStore, DuplicateError, Store, StoreError
from storage.store import SQLiteStore
from tests.conftest import T0
from tests.postgres import fresh_schema

StoreFactory = Callable[[], Store]


@asynccontextmanager
async def _sqlite(tmp_path: Path) -> AsyncIterator[StoreFactory]:
    path = tmp_path / "contract.db"
    yield lambda: SQLiteStore(path)


@asynccontextmanager
async def _postgres(tmp_path: Path) -> AsyncIterator[StoreFactory]:
    async with fresh_schema() as schema:
        yield schema.store


BACKENDS: dict[str, Callable[[Path], AbstractAsyncContextManager[StoreFactory]]] = {
    "sqlite": _sqlite,
    "postgres": _postgres,
}


@pytest.fixture(params=list(BACKENDS))
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StoreFactory]:
    async with BACKENDS[request.param](tmp_path) as make_store:
        yield make_store


@pytest.fixture
async def contract_store(backend: StoreFactory) -> AsyncIterator[Store]:
    store = backend()
    await store.open()
    yield store
    await store.close()


# -- shared fixtures of data ------------------------------------------------------

C1 = Community("discord", "guild-1")
C2 = Community("discord", "guild-2")
S1 = Community("slack", "guild-1")  # same id as C1, other platform
H = timedelta(hours=1)
D = timedelta(days=1)


def draft(key: str, **changes: object) -> ArticleDraft:
    fields: dict[str, object] = {
        "title": f"Title of {key}",
        "url": f"https://news.example/{key}",
        "summary": f"Summary of {key}",
        "source": "News Example",
        "published_at": None,
        "guid": None,
    }
    fields.update(changes)
    return ArticleDraft(**fields)  # type: ignore[arg-type]


async def posted(
    store: Store,
    key: str,
    *,
    community: Community = C1,
    channel: str = "news",
    at: datetime = T0,
    prompt: str = "What do you think?",
    feed_id: int | None = None,
) -> Discussion:
    """An article posted and confirmed: thread id `t-<key>-<channel>`."""
    article = await store.save_article(key, draft(key), at)
    pending = await store.begin_discussion(
        article.id, community, channel, prompt=prompt, feed_id=feed_id, now=at
    )
    assert pending is not None
    return await store.confirm_discussion(pending.id, f"m-{key}-{channel}", f"t-{key}-{channel}", at)


async def reply(
    store: Store,
    discussion: Discussion,
    message_id: str,
    author: str = "u1",
    at: datetime = T0,
    text: str | None = None,
) -> None:
    added = await store.add_reply(
        discussion.id,
        message_id=message_id,
        author_id=author,
        author_name=f"Name {author}",
        text=text if text is not None else f"{author} says {message_id}",
        created_at=at,
    )
    assert added


async def must_reply(store: Store, community: Community, message_id: str) -> Reply:
    found = await store.get_reply(community, message_id)
    assert found is not None, message_id
    return found


# -- lifecycle ----------------------------------------------------------------------


async def test_schema_version_is_positive_after_open(contract_store: Store) -> None:
    assert await contract_store.schema_version() >= 1


async def test_data_survives_a_restart(backend: StoreFactory, contract_store: Store) -> None:
    article = await contract_store.save_article("k1", draft("k1"), T0)
    version = await contract_store.schema_version()
    await contract_store.close()

    again = backend()
    await again.open()
    try:
        assert await again.get_article(article.id) == article
        assert await again.schema_version() == version
    finally:
        await again.close()


async def test_stores_can_open_a_new_database_at_once(backend: StoreFactory) -> None:
    """Processes starting together (the bot, a CLI command) on an empty database all get in."""
    stores = [backend() for _ in range(8)]
    opened = await asyncio.gather(*(s.open() for s in stores), return_exceptions=True)
    try:
        assert [o for o in opened if o is not None] == []
        assert len({await s.schema_version() for s in stores}) == 1
        article = await stores[0].save_article("k1", draft("k1"), T0)
        assert await stores[-1].get_article(article.id) == article
    finally:
        for store in stores:
            await store.close()


# -- articles -------------------------------------------------------------------------


async def test_save_article_returns_the_stored_row(contract_store: Store) -> None:
    paris = ZoneInfo("Europe/Paris")
    published = datetime(2026, 10, 30, 8, 15, 30, 123456, tzinfo=paris)
    saved = await contract_store.save_article("guid:1", draft("a1", published_at=published), T0)

    assert saved.key == "guid:1"
    assert (saved.title, saved.url, saved.summary, saved.source) == (
        "Title of a1", "https://news.example/a1", "Summary of a1", "News Example",
    )  # fmt: skip
    assert saved.published_at == published  # same instant, whatever zone it comes back in
    assert saved.created_at == T0
    assert await contract_store.get_article(saved.id) == saved
    assert await contract_store.get_article(saved.id + 1000) is None


async def test_save_article_keeps_optional_fields_empty(contract_store: Store) -> None:
    saved = await contract_store.save_article("hash:x", draft("x", url=None, published_at=None), T0)
    assert saved.url is None
    assert saved.published_at is None
    assert await contract_store.get_article(saved.id) == saved


async def test_save_article_is_idempotent_on_key(contract_store: Store) -> None:
    first = await contract_store.save_article("k", draft("first"), T0)
    again = await contract_store.save_article("k", draft("second", url=None), T0 + D)
    assert again == first  # the stored row, not the new draft
    other = await contract_store.save_article("k2", draft("second"), T0 + D)
    assert other.id != first.id
    assert await contract_store.get_article(first.id) == first


# -- feeds ------------------------------------------------------------------------------


async def add_feed(
    store: Store, url: str = "https://news.example/feed", *, community: Community = C1,
    channel: str = "news", at: datetime = T0, prompt: str | None = None,
) -> Feed:  # fmt: skip
    return await store.add_feed(
        community, channel, url, prompt=prompt, backlog=3, interval_seconds=900, now=at
    )


async def test_add_feed_returns_the_stored_feed(contract_store: Store) -> None:
    feed = await add_feed(contract_store, prompt="Your take on {title}?")
    assert feed.community == C1
    assert (feed.channel_id, feed.url, feed.prompt) == (
        "news", "https://news.example/feed", "Your take on {title}?",
    )  # fmt: skip
    assert (feed.backlog, feed.interval_seconds) == (3, 900)
    assert feed.title is None and feed.etag is None and feed.last_modified is None
    assert feed.last_success_at is None and feed.last_error is None and feed.last_error_at is None
    assert (feed.failures, feed.items_posted, feed.primed) == (0, 0, False)
    assert feed.created_at == T0
    assert await contract_store.get_feed(feed.id) == feed
    assert await contract_store.get_feed(feed.id + 1000) is None
    # a new feed is polled at once
    assert [f.id for f in await contract_store.due_feeds(T0)] == [feed.id]


async def test_add_feed_twice_in_one_channel_is_a_duplicate(contract_store: Store) -> None:
    feed = await add_feed(contract_store)
    with pytest.raises(DuplicateError):
        await add_feed(contract_store, at=T0 + H)
    assert await contract_store.list_feeds(C1) == [feed]  # nothing changed

    # the same URL elsewhere is another subscription
    in_other_channel = await add_feed(contract_store, channel="other")
    in_other_community = await add_feed(contract_store, community=C2)
    on_other_platform = await add_feed(contract_store, community=S1)
    ids = {feed.id, in_other_channel.id, in_other_community.id, on_other_platform.id}
    assert len(ids) == 4


async def test_list_feeds_keeps_communities_apart(contract_store: Store) -> None:
    a = await add_feed(contract_store, "https://a.example/feed")
    b = await add_feed(contract_store, "https://b.example/feed", channel="other")
    c = await add_feed(contract_store, "https://c.example/feed", community=C2)
    s = await add_feed(contract_store, "https://a.example/feed", community=S1)

    assert await contract_store.list_feeds(C1) == [a, b]  # in the order they were added
    assert await contract_store.list_feeds(C2) == [c]
    assert await contract_store.list_feeds(S1) == [s]
    assert await contract_store.list_feeds(Community("discord", "nobody")) == []


async def test_remove_feed_forgets_it_and_its_seen_items(contract_store: Store) -> None:
    feed = await add_feed(contract_store)
    keeper = await add_feed(contract_store, "https://keep.example/feed")
    keys = [f"item-{i}" for i in range(10)]
    await contract_store.remember_items(feed.id, keys, T0)
    await contract_store.remember_items(keeper.id, keys, T0)

    assert await contract_store.remove_feed(feed.id) is True
    assert await contract_store.get_feed(feed.id) is None
    assert await contract_store.list_feeds(C1) == [keeper]
    assert await contract_store.remove_feed(feed.id) is False
    assert await contract_store.unseen_item_keys(feed.id, keys) == set(keys)
    # A poll that ends after the feed was removed writes nothing and says so.
    assert (
        await contract_store.record_feed_success(
            feed.id, title="Gone", etag="e", last_modified=None, next_poll_at=T0 + H, now=T0
        )
        is False
    )
    assert await contract_store.record_feed_failure(feed.id, error="x", next_poll_at=T0 + H, now=T0) is False
    assert (
        await contract_store.record_feed_success(
            keeper.id, title=None, etag=None, last_modified=None, next_poll_at=T0 + H, now=T0
        )
        is True
    )
    assert await contract_store.record_feed_failure(keeper.id, error="x", next_poll_at=T0 + H, now=T0) is True
    assert await contract_store.get_feed(feed.id) is None
    assert await contract_store.unseen_item_keys(keeper.id, keys) == set()

    # subscribing again starts afresh, even if the backend reuses the id
    again = await add_feed(contract_store, at=T0 + H)
    assert again.primed is False
    assert await contract_store.unseen_item_keys(again.id, keys) == set(keys)


async def test_remove_feed_keeps_the_discussions_it_posted(contract_store: Store) -> None:
    feed = await add_feed(contract_store)
    discussion = await posted(contract_store, "a1", feed_id=feed.id)
    await reply(contract_store, discussion, "r1")

    assert await contract_store.remove_feed(feed.id) is True
    kept = await contract_store.get_discussion(discussion.id)
    assert kept is not None
    assert (kept.article_id, kept.state, kept.thread_id) == (
        discussion.article_id,
        discussion.state,
        "t-a1-news",
    )
    assert (await must_reply(contract_store, C1, "r1")).discussion_id == discussion.id


async def test_feed_successes_are_recorded_together_and_skip_a_removed_feed(contract_store: Store) -> None:
    a = await add_feed(contract_store, "https://a.example/feed")
    b = await add_feed(contract_store, "https://b.example/feed")
    gone = await add_feed(contract_store, "https://gone.example/feed")
    await contract_store.record_feed_success(
        b.id, title="Bee", etag='"b0"', last_modified=None, next_poll_at=T0, now=T0
    )
    await contract_store.record_feed_failure(a.id, error="boom", next_poll_at=T0 + H, now=T0)
    assert await contract_store.remove_feed(gone.id) is True
    await contract_store.record_feed_successes([])  # nothing to write
    await contract_store.record_feed_successes([
        FeedSuccess(a.id, "Ay", '"a1"', "Mon, 02 Nov 2026 15:00:00 GMT", next_poll_at=T0 + 2 * H, at=T0 + H),
        FeedSuccess(gone.id, "Gone", None, None, next_poll_at=T0 + 2 * H, at=T0 + H),
        FeedSuccess(b.id, None, None, None, next_poll_at=T0 + 3 * H, at=T0 + H),  # a 304
    ])  # fmt: skip
    got_a, got_b = await contract_store.get_feed(a.id), await contract_store.get_feed(b.id)
    assert got_a is not None and got_b is not None
    assert (got_a.title, got_a.etag, got_a.last_modified) == ("Ay", '"a1"', "Mon, 02 Nov 2026 15:00:00 GMT")
    assert (got_a.failures, got_a.primed, got_a.last_success_at) == (0, True, T0 + H)
    assert got_a.next_poll_at == T0 + 2 * H
    assert got_a.last_error == "boom"  # the last error stays on record, as after one success
    assert (got_b.title, got_b.etag, got_b.last_success_at) == ("Bee", None, T0 + H)
    assert got_b.next_poll_at == T0 + 3 * H
    assert await contract_store.get_feed(gone.id) is None
    assert {f.id for f in await contract_store.due_feeds(T0 + H)} == set()


async def test_due_feeds_by_time(contract_store: Store) -> None:
    a = await add_feed(contract_store, "https://a.example/feed")
    b = await add_feed(contract_store, "https://b.example/feed")
    c = await add_feed(contract_store, "https://c.example/feed", community=C2, at=T0 + 3 * H)

    await contract_store.record_feed_success(
        a.id, title=None, etag=None, last_modified=None, next_poll_at=T0 + H, now=T0
    )
    await contract_store.record_feed_failure(
        b.id, error="timeout", next_poll_at=T0 + timedelta(minutes=10), now=T0
    )

    async def due(at: datetime) -> set[int]:
        return {f.id for f in await contract_store.due_feeds(at)}

    assert await due(T0 + timedelta(minutes=5)) == set()
    assert await due(T0 + timedelta(minutes=10)) == {b.id}  # the boundary is due
    assert await due(T0 + H) == {a.id, b.id}
    assert await due(T0 + 3 * H) == {a.id, b.id, c.id}  # every community


async def test_feed_success_sets_state_and_resets_failures(contract_store: Store) -> None:
    feed = await add_feed(contract_store)
    for attempt in range(3):
        await contract_store.record_feed_failure(
            feed.id, error=f"boom {attempt}", next_poll_at=T0 + (attempt + 1) * H, now=T0 + attempt * H
        )
    await contract_store.record_feed_success(
        feed.id, title="Village Gazette", etag='"v1"', last_modified="Mon, 02 Nov 2026 15:00:00 GMT",
        next_poll_at=T0 + 4 * H, now=T0 + 3 * H,
    )  # fmt: skip
    got = await contract_store.get_feed(feed.id)
    assert got is not None
    assert got.failures == 0
    assert got.primed is True
    assert (got.title, got.etag, got.last_modified) == (
        "Village Gazette", '"v1"', "Mon, 02 Nov 2026 15:00:00 GMT",
    )  # fmt: skip
    assert got.last_success_at == T0 + 3 * H
    assert got.next_poll_at == T0 + 4 * H

    # a 304 brings no title: the known one stays; validators follow the response
    await contract_store.record_feed_success(
        feed.id, title=None, etag=None, last_modified=None, next_poll_at=T0 + 5 * H, now=T0 + 4 * H
    )
    got = await contract_store.get_feed(feed.id)
    assert got is not None
    assert got.title == "Village Gazette"
    assert (got.etag, got.last_modified) == (None, None)
    assert got.last_success_at == T0 + 4 * H


async def test_feed_failure_counts_and_reschedules(contract_store: Store) -> None:
    feed = await add_feed(contract_store)
    other = await add_feed(contract_store, "https://other.example/feed")
    await contract_store.record_feed_failure(feed.id, error="HTTP 500", next_poll_at=T0 + H, now=T0)
    await contract_store.record_feed_failure(feed.id, error="timed out", next_poll_at=T0 + 3 * H, now=T0 + H)
    got = await contract_store.get_feed(feed.id)
    assert got is not None
    assert got.failures == 2
    assert got.last_error == "timed out"
    assert got.last_error_at == T0 + H
    assert got.next_poll_at == T0 + 3 * H
    assert got.last_success_at is None
    assert got.primed is False
    assert await contract_store.get_feed(other.id) == other


async def test_unseen_items_of_several_feeds_in_one_lookup(contract_store: Store) -> None:
    a = await add_feed(contract_store, "https://a.example/feed")
    b = await add_feed(contract_store, "https://b.example/feed")
    c = await add_feed(contract_store, "https://c.example/feed")
    await contract_store.remember_items(a.id, ["a1", "shared"], T0)
    await contract_store.remember_items(b.id, ["b1", "shared"], T0)
    assert await contract_store.unseen_item_keys_of([]) == []
    assert await contract_store.unseen_item_keys_of([(a.id, []), (c.id, [])]) == [set(), set()]
    # Each feed's own items count, not another's (though asked in the same lookup), in order.
    assert await contract_store.unseen_item_keys_of([
        (a.id, ["a1", "shared", "new", "b1"]),
        (b.id, ["shared", "b1", "a1", "b1"]),
        (a.id, []),
        (c.id, ["a1", "shared"]),
        (a.id, ["a1"]),
    ]) == [{"new", "b1"}, {"a1"}, set(), {"a1", "shared"}, set()]  # fmt: skip
    assert await contract_store.unseen_item_keys_of([(b.id, ["a1", "b1"])]) == [{"a1"}]


async def test_unseen_and_remember_items(contract_store: Store) -> None:
    feed = await add_feed(contract_store)
    other = await add_feed(contract_store, "https://other.example/feed")
    assert await contract_store.unseen_item_keys(feed.id, []) == set()
    assert await contract_store.unseen_item_keys(feed.id, ["a", "b", "a"]) == {"a", "b"}
    await contract_store.remember_items(feed.id, [], T0)  # nothing to remember is fine

    await contract_store.remember_items(feed.id, ["a"], T0)
    await contract_store.remember_items(feed.id, iter(["a", "c"]), T0 + H)  # again, and any iterable
    assert await contract_store.unseen_item_keys(feed.id, ["a", "b", "c", "b"]) == {"b"}
    assert await contract_store.unseen_item_keys(other.id, ["a", "b", "c"]) == {"a", "b", "c"}


async def test_unseen_and_remember_many_items(contract_store: Store) -> None:
    """More keys than one query can bind: the backend has to split them."""
    feed = await add_feed(contract_store)
    known = [f"https://news.example/item/{i:05d}" for i in range(1, 2400, 2)]  # 1,200 odd numbers
    await contract_store.remember_items(feed.id, (k for k in known), T0)

    asked = [f"https://news.example/item/{i:05d}" for i in range(2400)]  # 2,400, half of them new
    unseen = await contract_store.unseen_item_keys(feed.id, asked)
    assert unseen == {f"https://news.example/item/{i:05d}" for i in range(0, 2400, 2)}
    assert await contract_store.unseen_item_keys(feed.id, known) == set()


async def test_count_feed_post(contract_store: Store) -> None:
    feed = await add_feed(contract_store)
    other = await add_feed(contract_store, "https://other.example/feed")
    await contract_store.count_feed_post(feed.id)
    await contract_store.count_feed_post(feed.id)
    got = await contract_store.get_feed(feed.id)
    assert got is not None and got.items_posted == 2
    got_other = await contract_store.get_feed(other.id)
    assert got_other is not None and got_other.items_posted == 0


async def test_feed_template_is_kept_and_reset(contract_store: Store) -> None:
    feed = await add_feed(contract_store)
    assert feed.template is None and (feed.items_held_back, feed.held_unmatched) == (0, 0)
    assert await contract_store.set_feed_template(feed.id, "title,link,prompt")
    got = await contract_store.get_feed(feed.id)
    assert got is not None and got.template == "title,link,prompt"
    assert [f.template for f in await contract_store.list_feeds(C1)] == ["title,link,prompt"]
    assert await contract_store.set_feed_template(feed.id, None)
    got = await contract_store.get_feed(feed.id)
    assert got is not None and got.template is None
    assert not await contract_store.set_feed_template(feed.id + 1000, "title")


async def test_feed_filters_are_added_listed_counted_and_removed(contract_store: Store) -> None:
    feed = await add_feed(contract_store)
    other = await add_feed(contract_store, "https://other.example/feed")
    first = await contract_store.add_feed_filter(
        feed.id, action="exclude", pattern="Sponsored", field="title", now=T0
    )
    second = await contract_store.add_feed_filter(
        feed.id, action="include", pattern="/rust|go/", field="all", now=T0 + H
    )
    assert first is not None and second is not None
    assert (first.feed_id, first.action, first.pattern, first.field, first.held_back, first.created_at) == (
        feed.id, "exclude", "Sponsored", "title", 0, T0,
    )  # fmt: skip
    assert await contract_store.list_feed_filters(feed.id) == [first, second]
    assert await contract_store.list_feed_filters(other.id) == []
    assert (
        await contract_store.add_feed_filter(
            feed.id + 1000, action="include", pattern="x", field="all", now=T0
        )
        is None
    )
    with pytest.raises(ValueError):
        await contract_store.add_feed_filter(feed.id, action="maybe", pattern="x", field="all", now=T0)
    with pytest.raises(ValueError):
        await contract_store.add_feed_filter(feed.id, action="include", pattern="x", field="body", now=T0)

    await contract_store.count_held_back(feed.id, {first.id: 2}, 3)
    await contract_store.count_held_back(feed.id, {first.id: 1, 999_999: 4}, 0)  # a removed rule's count
    await contract_store.count_held_back(other.id, {first.id: 7}, 0)  # not this feed's rule
    got = await contract_store.get_feed(feed.id)
    assert got is not None and (got.items_held_back, got.held_unmatched) == (10, 3)
    [shown_first, _] = await contract_store.list_feed_filters(feed.id)
    assert shown_first.held_back == 3
    got_other = await contract_store.get_feed(other.id)
    assert got_other is not None and got_other.items_held_back == 7

    assert not await contract_store.remove_feed_filter(other.id, first.id)  # another feed's rule
    assert await contract_store.remove_feed_filter(feed.id, first.id)
    assert not await contract_store.remove_feed_filter(feed.id, first.id)
    assert await contract_store.list_feed_filters(feed.id) == [second]
    # Removing the feed removes its rules.
    assert await contract_store.remove_feed(feed.id)
    assert await contract_store.list_feed_filters(feed.id) == []


# -- channel settings ---------------------------------------------------------------------


async def test_channel_prompt_set_get_clear(contract_store: Store) -> None:
    assert await contract_store.get_channel_settings(C1, "news") is None

    await contract_store.set_channel_prompt(C1, "news", "Seen {title}? Tell us.")
    settings = await contract_store.get_channel_settings(C1, "news")
    assert settings is not None
    assert (settings.community, settings.channel_id, settings.prompt) == (
        C1,
        "news",
        "Seen {title}? Tell us.",
    )

    await contract_store.set_channel_prompt(C1, "news", "Second prompt")
    settings = await contract_store.get_channel_settings(C1, "news")
    assert settings is not None and settings.prompt == "Second prompt"

    # other channels, communities and platforms are untouched
    assert await contract_store.get_channel_settings(C1, "other") is None
    assert await contract_store.get_channel_settings(C2, "news") is None
    assert await contract_store.get_channel_settings(S1, "news") is None

    await contract_store.set_channel_prompt(C1, "news", None)
    cleared = await contract_store.get_channel_settings(C1, "news")
    assert cleared is None or cleared.prompt is None


async def test_digest_style_per_channel(contract_store: Store) -> None:
    await contract_store.set_digest_style(C1, "digest", "full")
    settings = await contract_store.get_channel_settings(C1, "digest")
    assert settings is not None
    assert (settings.prompt, settings.digest_style) == (None, "full")

    # a prompt and a style live side by side in one channel's settings
    await contract_store.set_channel_prompt(C1, "news", "Seen {title}?")
    news = await contract_store.get_channel_settings(C1, "news")
    assert news is not None and news.digest_style == "compact"
    await contract_store.set_digest_style(C1, "news", "full")
    await contract_store.set_channel_prompt(C1, "news", "Other prompt")
    news = await contract_store.get_channel_settings(C1, "news")
    assert news is not None and (news.prompt, news.digest_style) == ("Other prompt", "full")
    await contract_store.set_digest_style(C1, "news", "compact")
    news = await contract_store.get_channel_settings(C1, "news")
    assert news is not None and (news.prompt, news.digest_style) == ("Other prompt", "compact")

    assert await contract_store.get_channel_settings(C2, "digest") is None
    assert await contract_store.get_channel_settings(S1, "digest") is None
    with pytest.raises(ValueError):
        await contract_store.set_digest_style(C1, "digest", "huge")
    settings = await contract_store.get_channel_settings(C1, "digest")
    assert settings is not None and settings.digest_style == "full"


# -- community settings ---------------------------------------------------------------------


async def test_community_settings_default_set_and_get(backend: StoreFactory, contract_store: Store) -> None:
    assert await contract_store.get_community_settings(C1) == CommunitySettings(C1, None, "builtin")

    await contract_store.set_community_language(C1, "de")
    assert await contract_store.get_community_settings(C1) == CommunitySettings(C1, "de", "builtin")
    await contract_store.set_community_summaries(C1, "model")
    assert await contract_store.get_community_settings(C1) == CommunitySettings(C1, "de", "model")
    await contract_store.set_community_language(C1, "pt")
    await contract_store.set_community_summaries(S1, "model")  # summaries first, language untouched
    assert await contract_store.get_community_settings(S1) == CommunitySettings(S1, None, "model")
    with pytest.raises(ValueError):
        await contract_store.set_community_summaries(C1, "oracle")

    assert await contract_store.get_community_settings(C2) == CommunitySettings(C2)
    reopened = backend()
    await reopened.open()
    try:
        assert await reopened.get_community_settings(C1) == CommunitySettings(C1, "pt", "model")
        await reopened.set_community_language(C1, None)
        await reopened.set_community_summaries(C1, "builtin")
        assert await reopened.get_community_settings(C1) == CommunitySettings(C1, None, "builtin")
    finally:
        await reopened.close()


# -- gists ------------------------------------------------------------------------------------


async def test_save_and_get_gist(contract_store: Store) -> None:
    first = await posted(contract_store, "a1")
    second = await posted(contract_store, "a2")
    await contract_store.save_gist(first.id, T0, "fp1", "builtin", "Three members shared a fix.", T0)
    await contract_store.save_gist(first.id, T0, "fp1", "builtin", "Three members shared a fix.", T0)  # again
    await contract_store.save_gist(first.id, T0 + D, "fp1", "model", "Next week's gist.", T0 + D)

    assert await contract_store.get_gist(first.id, T0, "fp1") == ("builtin", "Three members shared a fix.")
    assert await contract_store.get_gist(first.id, T0 + D, "fp1") == ("model", "Next week's gist.")
    assert await contract_store.get_gist(first.id, T0, "fp2") is None  # other words
    assert await contract_store.get_gist(second.id, T0, "fp1") is None
    # the same moment in another timezone is the same period
    berlin = T0.astimezone(ZoneInfo("Europe/Berlin"))
    assert await contract_store.get_gist(first.id, berlin, "fp1") == (
        "builtin",
        "Three members shared a fix.",
    )

    await contract_store.save_gist(first.id, T0, "fp1", "model", "Rewritten.", T0 + H)
    assert await contract_store.get_gist(first.id, T0, "fp1") == ("model", "Rewritten.")


async def _gisted(store: Store, key: str) -> Discussion:
    """A discussion with replies r-<key>-1 (u1) and r-<key>-2 (u2) and a kept gist."""
    discussion = await posted(store, key)
    await reply(store, discussion, f"r-{key}-1", author="u1")
    await reply(store, discussion, f"r-{key}-2", author="u2")
    await store.save_gist(discussion.id, T0, "fp", "builtin", f"Gist of {key}", T0)
    return discussion


async def _kept(store: Store, discussion: Discussion) -> bool:
    return await store.get_gist(discussion.id, T0, "fp") is not None


async def test_a_gist_goes_when_a_reply_of_its_discussion_is_deleted_hidden_or_edited(
    contract_store: Store,
) -> None:
    store = contract_store
    deleted, hidden, edited, thread, other = [await _gisted(store, k) for k in ("a1", "a2", "a3", "a4", "a5")]

    # what does not change the words keeps it
    await store.set_reply_flags(C1, "r-a2-1", featured=True)
    await store.set_reply_flags(C1, "r-a2-1", hidden=False)
    await store.set_reaction(C1, "r-a2-1", "u9", "👍", True)
    await store.edit_reply(C1, "r-a3-1", "u1 says r-a3-1", T0 + H)  # the same words
    await reply(store, hidden, "r-a2-3", author="u3")
    assert await _kept(store, hidden) and await _kept(store, edited)

    assert await store.delete_reply(C1, "r-a1-2")
    assert await store.set_reply_flags(C1, "r-a2-1", hidden=True)
    assert await store.edit_reply(C1, "r-a3-2", "new words", T0 + H)
    assert await store.delete_thread_replies(thread.id) == 2
    assert [await _kept(store, d) for d in (deleted, hidden, edited, thread, other)] == [
        False, False, False, False, True,
    ]  # fmt: skip


async def test_a_gist_goes_when_a_member_of_its_discussion_opts_out_or_is_forgotten(
    contract_store: Store,
) -> None:
    store = contract_store
    first, second, third = [await _gisted(store, k) for k in ("a1", "a2", "a3")]
    elsewhere = await posted(store, "a4", community=S1)  # another platform: its u1 is someone else
    await reply(store, elsewhere, "r-s-1", author="u1")
    await store.save_gist(elsewhere.id, T0, "fp", "builtin", "Slack gist", T0)
    alone = await posted(store, "a5")
    await reply(store, alone, "r-a5-1", author="u3")
    await store.save_gist(alone.id, T0, "fp", "builtin", "u3 only", T0)

    await store.set_prefs(MemberPrefs("discord", "u1", opted_out=True))
    assert [await _kept(store, d) for d in (first, second, third, elsewhere, alone)] == [
        False, False, False, True, True,
    ]  # fmt: skip

    await store.save_gist(first.id, T0, "fp", "builtin", "again", T0)
    await store.set_prefs(MemberPrefs("discord", "u2", anonymous=True))
    assert not await _kept(store, first)

    await store.save_gist(second.id, T0, "fp", "builtin", "again", T0)
    await store.forget_member("discord", "u2")
    assert not await _kept(store, second)
    assert await _kept(store, alone) and await _kept(store, elsewhere)


async def test_a_gist_goes_with_its_discussion(contract_store: Store) -> None:
    article = await contract_store.save_article("a1", draft("a1"), T0)
    pending = await contract_store.begin_discussion(article.id, C1, "news", prompt="p", feed_id=None, now=T0)
    assert pending is not None
    await contract_store.save_gist(pending.id, T0, "fp", "builtin", "text", T0)
    await contract_store.abandon_discussion(pending.id)
    again = await contract_store.begin_discussion(article.id, C1, "news", prompt="p", feed_id=None, now=T0)
    assert again is not None
    assert await contract_store.get_gist(pending.id, T0, "fp") is None
    assert await contract_store.get_gist(again.id, T0, "fp") is None


# -- discussions -------------------------------------------------------------------------------


async def test_begin_discussion_records_a_pending_post(contract_store: Store) -> None:
    feed = await add_feed(contract_store)
    article = await contract_store.save_article("a1", draft("a1"), T0)
    pending = await contract_store.begin_discussion(
        article.id, C1, "news", prompt="What do you think?", feed_id=feed.id, now=T0 + H
    )
    assert pending is not None
    assert pending.state == DiscussionState.PENDING
    assert (pending.article_id, pending.community, pending.channel_id) == (article.id, C1, "news")
    assert (pending.prompt, pending.feed_id) == ("What do you think?", feed.id)
    assert pending.message_id is None and pending.thread_id is None and pending.posted_at is None
    assert pending.created_at == T0 + H
    assert pending.anonymous_replies == 0
    assert await contract_store.get_discussion(pending.id) == pending
    assert await contract_store.get_discussion(pending.id + 1000) is None
    assert await contract_store.pending_discussions() == [pending]


async def test_an_article_gets_one_discussion_per_channel(contract_store: Store) -> None:
    article = await contract_store.save_article("a1", draft("a1"), T0)

    async def begin(community: Community = C1, channel: str = "news") -> Discussion | None:
        return await contract_store.begin_discussion(
            article.id, community, channel, prompt="p", feed_id=None, now=T0
        )

    first = await begin()
    assert first is not None
    assert await begin() is None  # while pending
    await contract_store.confirm_discussion(first.id, "m1", "t1", T0 + H)
    assert await begin() is None  # and once posted
    assert await contract_store.find_discussion(article.id, C1, "news") is not None

    elsewhere = [await begin(C1, "other"), await begin(C2), await begin(S1)]
    assert all(d is not None for d in elsewhere)
    assert len({d.id for d in elsewhere if d is not None} | {first.id}) == 4


async def test_confirm_discussion(contract_store: Store) -> None:
    article = await contract_store.save_article("a1", draft("a1"), T0)
    pending = await contract_store.begin_discussion(article.id, C1, "news", prompt="p", feed_id=None, now=T0)
    assert pending is not None

    confirmed = await contract_store.confirm_discussion(pending.id, "msg-1", "thread-1", T0 + H)
    assert confirmed.state == DiscussionState.POSTED
    assert (confirmed.message_id, confirmed.thread_id) == ("msg-1", "thread-1")
    assert confirmed.posted_at == T0 + H
    assert confirmed.created_at == T0
    assert (confirmed.id, confirmed.article_id, confirmed.prompt) == (pending.id, article.id, "p")
    assert await contract_store.get_discussion(pending.id) == confirmed
    assert await contract_store.pending_discussions() == []


async def test_confirm_an_unknown_discussion_is_an_error(contract_store: Store) -> None:
    with pytest.raises(StoreError):
        await contract_store.confirm_discussion(4242, "m", "t", T0)
    assert await contract_store.get_discussion(4242) is None


async def test_abandon_forgets_only_a_pending_discussion(contract_store: Store) -> None:
    article = await contract_store.save_article("a1", draft("a1"), T0)
    pending = await contract_store.begin_discussion(article.id, C1, "news", prompt="p", feed_id=None, now=T0)
    assert pending is not None
    await contract_store.abandon_discussion(pending.id)
    assert await contract_store.get_discussion(pending.id) is None
    assert await contract_store.find_discussion(article.id, C1, "news") is None
    assert await contract_store.pending_discussions() == []

    retry = await contract_store.begin_discussion(
        article.id, C1, "news", prompt="p", feed_id=None, now=T0 + H
    )
    assert retry is not None  # it can be tried again
    confirmed = await contract_store.confirm_discussion(retry.id, "m", "t", T0 + H)
    await contract_store.abandon_discussion(confirmed.id)
    assert await contract_store.get_discussion(confirmed.id) == confirmed  # a posted one stays


async def test_find_discussion(contract_store: Store) -> None:
    discussion = await posted(contract_store, "a1")
    assert await contract_store.find_discussion(discussion.article_id, C1, "news") == discussion
    assert await contract_store.find_discussion(discussion.article_id, C1, "other") is None
    assert await contract_store.find_discussion(discussion.article_id, C2, "news") is None
    assert await contract_store.find_discussion(discussion.article_id, S1, "news") is None
    assert await contract_store.find_discussion(discussion.article_id + 1000, C1, "news") is None


async def test_discussion_for_thread(contract_store: Store) -> None:
    mine = await posted(contract_store, "a1")
    theirs = await posted(contract_store, "a1", community=C2)  # same thread id in another community
    assert mine.thread_id == theirs.thread_id == "t-a1-news"
    assert await contract_store.discussion_for_thread(C1, "t-a1-news") == mine
    assert await contract_store.discussion_for_thread(C2, "t-a1-news") == theirs
    assert await contract_store.discussion_for_thread(S1, "t-a1-news") is None
    assert await contract_store.discussion_for_thread(C1, "t-unknown") is None


async def test_pending_discussions_lists_every_community(contract_store: Store) -> None:
    await posted(contract_store, "done")
    waiting = []
    for key, community in (("a1", C1), ("a2", C2), ("a3", S1)):
        article = await contract_store.save_article(key, draft(key), T0)
        pending = await contract_store.begin_discussion(
            article.id, community, "news", prompt="p", feed_id=None, now=T0
        )
        assert pending is not None
        waiting.append(pending)
    assert sorted(await contract_store.pending_discussions(), key=lambda d: d.id) == waiting


async def test_recent_discussions(contract_store: Store) -> None:
    old = await posted(contract_store, "old", at=T0 - D)
    at_since = await posted(contract_store, "edge", at=T0)
    new = await posted(contract_store, "new", at=T0 + H)
    await posted(contract_store, "theirs", community=C2, at=T0 + H)
    article = await contract_store.save_article("pending", draft("pending"), T0 + H)
    await contract_store.begin_discussion(article.id, C1, "news", prompt="p", feed_id=None, now=T0 + H)

    recent = await contract_store.recent_discussions(C1, T0)
    assert {d.id for d in recent} == {at_since.id, new.id}
    assert old.id not in {d.id for d in recent}
    assert all(d.state == DiscussionState.POSTED for d in recent)


async def test_count_anonymous_reply(contract_store: Store) -> None:
    discussion = await posted(contract_store, "a1")
    other = await posted(contract_store, "a2")
    await contract_store.count_anonymous_reply(discussion.id)
    await contract_store.count_anonymous_reply(discussion.id)
    got = await contract_store.get_discussion(discussion.id)
    assert got is not None and got.anonymous_replies == 2
    assert await contract_store.get_discussion(other.id) == other


# -- replies -------------------------------------------------------------------------------------


async def test_add_reply_is_idempotent(contract_store: Store) -> None:
    discussion = await posted(contract_store, "a1")
    created = T0 + timedelta(minutes=5, microseconds=42)
    assert await contract_store.add_reply(
        discussion.id, message_id="r1", author_id="u1", author_name="Ann", text="We had that too.",
        created_at=created,
    )  # fmt: skip
    assert not await contract_store.add_reply(
        discussion.id, message_id="r1", author_id="u1", author_name="Ann", text="a second delivery",
        created_at=created + H,
    )  # fmt: skip
    got = await must_reply(contract_store, C1, "r1")
    assert (got.discussion_id, got.message_id, got.author_id, got.author_name) == (
        discussion.id, "r1", "u1", "Ann",
    )  # fmt: skip
    assert got.text == "We had that too."
    assert got.created_at == created
    assert got.edited_at is None
    assert (got.featured, got.hidden, got.reactions) == (False, False, 0)
    assert await contract_store.get_reply(C1, "unknown") is None


async def test_edit_reply_replaces_the_text(contract_store: Store) -> None:
    discussion = await posted(contract_store, "a1")
    await reply(contract_store, discussion, "r1", text="first words")
    await reply(contract_store, discussion, "r2", text="untouched")

    assert await contract_store.edit_reply(C1, "r1", "second words", T0 + H) is True
    assert await contract_store.edit_reply(C1, "r1", "third words", T0 + 2 * H) is True
    got = await must_reply(contract_store, C1, "r1")
    assert got.text == "third words"
    assert got.edited_at == T0 + 2 * H
    assert got.created_at == T0
    assert (await must_reply(contract_store, C1, "r2")).text == "untouched"
    assert await contract_store.edit_reply(C1, "unknown", "x", T0) is False
    assert await contract_store.edit_reply(C2, "r1", "x", T0) is False


async def test_delete_reply(contract_store: Store) -> None:
    discussion = await posted(contract_store, "a1")
    await reply(contract_store, discussion, "r1")
    await reply(contract_store, discussion, "r2")
    await contract_store.set_reaction(C1, "r1", "u2", "👍", True)

    assert await contract_store.delete_reply(C2, "r1") is False  # not in that community
    assert await contract_store.delete_reply(C1, "r1") is True
    assert await contract_store.get_reply(C1, "r1") is None
    assert await contract_store.delete_reply(C1, "r1") is False
    assert await contract_store.set_reaction(C1, "r1", "u3", "👍", True) is False
    assert await contract_store.get_reply(C1, "r2") is not None
    # a message that comes back (an event replayed) starts with no reactions
    await reply(contract_store, discussion, "r1")
    assert (await must_reply(contract_store, C1, "r1")).reactions == 0


async def test_delete_thread_replies(contract_store: Store) -> None:
    gone = await posted(contract_store, "a1")
    kept = await posted(contract_store, "a2")
    for i in range(3):
        await reply(contract_store, gone, f"g{i}")
    await reply(contract_store, kept, "k1")

    assert await contract_store.delete_thread_replies(gone.id) == 3
    assert all([await contract_store.get_reply(C1, f"g{i}") is None for i in range(3)])
    assert await contract_store.get_reply(C1, "k1") is not None
    assert await contract_store.delete_thread_replies(gone.id) == 0
    assert await contract_store.get_discussion(gone.id) == gone  # the discussion itself stays


async def test_reactions_are_counted_once_per_user_and_emoji(contract_store: Store) -> None:
    discussion = await posted(contract_store, "a1")
    await reply(contract_store, discussion, "r1")
    await reply(contract_store, discussion, "r2")

    assert await contract_store.set_reaction(C1, "r1", "u2", "👍", True)
    assert await contract_store.set_reaction(C1, "r1", "u2", "👍", True)  # the event came twice
    assert await contract_store.set_reaction(C1, "r1", "u2", "❤️", True)
    assert await contract_store.set_reaction(C1, "r1", "u3", "👍", True)
    assert (await must_reply(contract_store, C1, "r1")).reactions == 3
    assert (await must_reply(contract_store, C1, "r2")).reactions == 0

    assert await contract_store.set_reaction(C1, "r1", "u2", "👍", False)
    assert await contract_store.set_reaction(C1, "r1", "u2", "👍", False)  # removing twice is harmless
    assert await contract_store.set_reaction(C1, "r1", "u9", "🎉", False)  # never added
    assert (await must_reply(contract_store, C1, "r1")).reactions == 2

    assert await contract_store.set_reaction(C1, "unknown", "u2", "👍", True) is False
    assert await contract_store.set_reaction(C2, "r1", "u2", "👍", True) is False
    assert await contract_store.set_reaction(S1, "r1", "u2", "👍", False) is False
    assert (await must_reply(contract_store, C1, "r1")).reactions == 2


async def test_thread_replies_lists_a_threads_replies_with_who_reacted_with_what(
    contract_store: Store,
) -> None:
    discussion = await posted(contract_store, "a1")
    other = await posted(contract_store, "a2")
    await reply(contract_store, discussion, "r2", at=T0 + 2 * H)
    await reply(contract_store, discussion, "r1", at=T0 + H)
    await reply(contract_store, other, "o1")
    assert await contract_store.set_reaction(C1, "r1", "u2", "👍", True)
    assert await contract_store.set_reaction(C1, "r1", "u3", "👍", True)
    assert await contract_store.set_reaction(C1, "r1", "u2", "❤️", True)
    assert await contract_store.set_reaction(C1, "o1", "u2", "👍", True)
    await contract_store.set_reply_flags(C1, "r2", hidden=True)

    found = await contract_store.thread_replies(discussion.id)
    assert [(r.message_id, r.hidden, r.reactions) for r, _ in found] == [("r1", False, 3), ("r2", True, 0)]
    assert [reactions for _, reactions in found] == [{"👍": {"u2", "u3"}, "❤️": {"u2"}}, {}]
    assert await contract_store.thread_replies(12345) == []


async def test_set_reply_flags(contract_store: Store) -> None:
    discussion = await posted(contract_store, "a1")
    await reply(contract_store, discussion, "r1")
    await reply(contract_store, discussion, "r2")

    assert await contract_store.set_reply_flags(C1, "r1", featured=True) is True
    got = await must_reply(contract_store, C1, "r1")
    assert (got.featured, got.hidden) == (True, False)

    assert await contract_store.set_reply_flags(C1, "r1", hidden=True) is True  # featured stays
    got = await must_reply(contract_store, C1, "r1")
    assert (got.featured, got.hidden) == (True, True)

    assert await contract_store.set_reply_flags(C1, "r1", featured=False) is True  # hidden stays
    got = await must_reply(contract_store, C1, "r1")
    assert (got.featured, got.hidden) == (False, True)

    assert await contract_store.set_reply_flags(C1, "r1", featured=True, hidden=False) is True
    got = await must_reply(contract_store, C1, "r1")
    assert (got.featured, got.hidden) == (True, False)

    other = await must_reply(contract_store, C1, "r2")
    assert (other.featured, other.hidden) == (False, False)
    assert await contract_store.set_reply_flags(C1, "unknown", featured=True) is False
    assert await contract_store.set_reply_flags(C2, "r2", hidden=True) is False
    assert (await must_reply(contract_store, C1, "r2")).hidden is False


async def test_the_same_message_id_in_two_communities_stays_apart(contract_store: Store) -> None:
    """Message ids are unique only within one platform (and we do not trust even that)."""
    places = {C1: await posted(contract_store, "a1"), C2: await posted(contract_store, "a1", community=C2),
              S1: await posted(contract_store, "a1", community=S1)}  # fmt: skip
    for community, discussion in places.items():
        await reply(contract_store, discussion, "m-42", author="u1", text=f"said in {community.key}")

    assert await contract_store.edit_reply(C1, "m-42", "edited in C1", T0 + H)
    assert await contract_store.set_reaction(C2, "m-42", "u2", "👍", True)
    assert await contract_store.set_reply_flags(S1, "m-42", hidden=True, featured=True)

    in_c1, in_c2, in_s1 = [await must_reply(contract_store, c, "m-42") for c in (C1, C2, S1)]
    assert (in_c1.discussion_id, in_c2.discussion_id, in_s1.discussion_id) == (
        places[C1].id, places[C2].id, places[S1].id,
    )  # fmt: skip
    assert (in_c1.text, in_c1.edited_at, in_c1.reactions, in_c1.hidden) == ("edited in C1", T0 + H, 0, False)
    assert (in_c2.text, in_c2.edited_at, in_c2.reactions, in_c2.hidden) == (
        f"said in {C2.key}", None, 1, False,
    )  # fmt: skip
    assert (in_s1.text, in_s1.reactions, in_s1.hidden, in_s1.featured) == (f"said in {S1.key}", 0, True, True)

    assert await contract_store.delete_reply(C2, "m-42")
    assert await contract_store.get_reply(C2, "m-42") is None
    assert await contract_store.get_reply(C1, "m-42") == in_c1
    assert await contract_store.get_reply(S1, "m-42") == in_s1


# -- reply batches -------------------------------------------------------------------------------


async def anonymous(store: Store, discussion: Discussion) -> int:
    got = await store.get_discussion(discussion.id)
    assert got is not None
    return got.anonymous_replies


async def test_store_replies_checks_threads_and_preferences_in_one_batch(contract_store: Store) -> None:
    first = await posted(contract_store, "a1")
    second = await posted(contract_store, "a2")
    elsewhere = await posted(contract_store, "a1", community=C2)
    await reply(contract_store, first, "r0")
    await contract_store.set_prefs(MemberPrefs("discord", "gone", opted_out=True))
    await contract_store.set_prefs(MemberPrefs("slack", "u2", opted_out=True))  # another platform
    await contract_store.set_prefs(
        MemberPrefs("discord", "shy", anonymous=True)
    )  # stored, shown as anonymous
    created = T0 + timedelta(minutes=5, microseconds=42)
    stamp = T0.replace(microsecond=0)  # a zero microsecond keeps its place in the stored text
    t1, t2 = "t-a1-news", "t-a2-news"
    rows = [
        (t1, "r1", "u1", "Ann", "first", created, False),
        (t1, "r0", "u1", "Ann", "stored before", T0, False),
        (t2, "r1", "u2", "Bob", "same id, another thread", stamp, False),
        (t1, "r1", "u9", "Eve", "a second delivery in the batch", T0, False),
        ("t-not-ours", "r3", "u1", "Ann", "a thread threadcast did not open", T0, False),
        (t1, "g1", "gone", "Gone", "live, opted out", T0, False),
        (t1, "g2", "gone", "Gone", "live, opted out", T0, False),
        (t2, "g3", "gone", "Gone", "live, opted out", T0, False),
        (t1, "g4", "gone", "Gone", "read back from history, opted out", T0, True),
        (t1, "s1", "shy", "Shy", "anonymous, kept", T0, True),
    ]
    assert await contract_store.store_replies(C1, rows) == 3

    got = await must_reply(contract_store, C1, "s1")
    assert (got.discussion_id, got.author_id, got.author_name, got.text) == (
        first.id,
        "shy",
        "Shy",
        "anonymous, kept",
    )
    replies = [view.reply for views in (await contract_store.period_replies(
        [first.id, second.id, elsewhere.id], T0 - D, T0 + D)).values() for view in views]  # fmt: skip
    assert {(r.discussion_id, r.message_id, r.author_id, r.text, r.created_at) for r in replies} == {
        (first.id, "r0", "u1", "u1 says r0", T0), (first.id, "r1", "u1", "first", created),
        (second.id, "r1", "u2", "same id, another thread", stamp),
        (first.id, "s1", "shy", "anonymous, kept", T0),
    }  # fmt: skip
    assert [await anonymous(contract_store, d) for d in (first, second, elsewhere)] == [2, 1, 0]
    # again: nothing new is stored; opted-out live replies are counted each time they come
    assert await contract_store.store_replies(C1, rows) == 0
    assert await contract_store.store_replies(C1, []) == 0
    assert await anonymous(contract_store, first) == 4
    # the same thread id in another community is that community's
    assert await contract_store.store_replies(C2, [(t1, "c2", "u1", "Ann", "there", T0, False)]) == 1
    assert (await must_reply(contract_store, C2, "c2")).discussion_id == elsewhere.id


async def test_store_replies_in_a_large_batch(contract_store: Store) -> None:
    discussion = await posted(contract_store, "a1")
    rows = [
        ("t-a1-news", f"r{i}", f"u{i % 7}", "N", "w", T0 + i * timedelta(seconds=1), False)
        for i in range(1203)
    ]
    assert await contract_store.store_replies(C1, rows) == len(rows)
    assert (await contract_store.period_counts(C1, T0, T0 + D)).replies == len(rows)
    assert await contract_store.latest_reply_message_id(discussion.id) == "r1202"


async def test_discussions_for_threads(contract_store: Store) -> None:
    a1 = await posted(contract_store, "a1")
    a2 = await posted(contract_store, "a2", channel="other")
    await posted(contract_store, "a1", community=C2)
    article = await contract_store.save_article("a3", draft("a3"), T0)
    assert await contract_store.begin_discussion(article.id, C1, "news", prompt="?", feed_id=None, now=T0)

    found = await contract_store.discussions_for_threads(C1, ["t-a1-news", "t-a2-other", "t-a1-news", "nope"])
    assert found == {"t-a1-news": a1, "t-a2-other": a2}
    assert await contract_store.discussions_for_threads(S1, ["t-a1-news"]) == {}
    assert await contract_store.discussions_for_threads(C1, []) == {}
    many = [f"t-{i}" for i in range(1100)] + ["t-a2-other"]
    assert await contract_store.discussions_for_threads(C1, many) == {"t-a2-other": a2}


async def test_prefs_of_many_members(contract_store: Store) -> None:
    await contract_store.set_prefs(MemberPrefs("discord", "u1", opted_out=True))
    await contract_store.set_prefs(MemberPrefs("discord", "u2", anonymous=True))
    await contract_store.set_prefs(MemberPrefs("slack", "u3", opted_out=True))
    wanted = ["u1", "u2", "u3", "u4", *(f"x{i}" for i in range(1100))]
    assert await contract_store.prefs_of("discord", wanted) == {
        "u1": MemberPrefs("discord", "u1", opted_out=True),
        "u2": MemberPrefs("discord", "u2", anonymous=True),
    }
    assert await contract_store.prefs_of("slack", ["u1", "u3"]) == {
        "u3": MemberPrefs("slack", "u3", opted_out=True)
    }
    assert await contract_store.prefs_of("discord", []) == {}


# -- members -----------------------------------------------------------------------------------------


async def test_prefs_default_set_and_get(contract_store: Store) -> None:
    assert await contract_store.get_prefs("discord", "u1") == MemberPrefs("discord", "u1")
    await contract_store.set_prefs(MemberPrefs("discord", "u1", opted_out=True))
    assert await contract_store.get_prefs("discord", "u1") == MemberPrefs("discord", "u1", opted_out=True)
    await contract_store.set_prefs(MemberPrefs("discord", "u1", opted_out=False, anonymous=True))
    assert await contract_store.get_prefs("discord", "u1") == MemberPrefs("discord", "u1", anonymous=True)
    # the same user id on another platform is another person
    assert await contract_store.get_prefs("slack", "u1") == MemberPrefs("slack", "u1")
    assert await contract_store.get_prefs("discord", "u2") == MemberPrefs("discord", "u2")


async def test_member_replies(contract_store: Store) -> None:
    d1 = await posted(contract_store, "a1")
    d2 = await posted(contract_store, "a2", community=C2)
    ds = await posted(contract_store, "a1", community=S1)
    await reply(contract_store, d1, "r1", author="u1", at=T0 + H)
    await reply(contract_store, d2, "r2", author="u1", at=T0 + 2 * H)
    await reply(contract_store, d1, "r3", author="u2", at=T0 + H)
    await reply(contract_store, ds, "r4", author="u1", at=T0 + H)

    mine = await contract_store.member_replies("discord", "u1")
    assert sorted((r.message_id, a.key) for r, a in mine) == [("r1", "a1"), ("r2", "a2")]
    for stored_reply, article in mine:
        assert stored_reply.author_id == "u1"
        assert await contract_store.get_article(article.id) == article
    assert [(r.message_id, a.key) for r, a in await contract_store.member_replies("slack", "u1")] == [
        ("r4", "a1")
    ]
    assert await contract_store.member_replies("discord", "nobody") == []


async def test_forget_member_deletes_replies_and_reactions(contract_store: Store) -> None:
    d1 = await posted(contract_store, "a1")
    d2 = await posted(contract_store, "a2", community=C2)
    ds = await posted(contract_store, "a1", community=S1)
    await reply(contract_store, d1, "mine-1", author="u1")
    await reply(contract_store, d2, "mine-2", author="u1")
    await reply(contract_store, d1, "theirs-1", author="u2")
    await reply(contract_store, d2, "theirs-2", author="u2")
    await reply(contract_store, ds, "slack-1", author="u1")  # the same id on Slack: someone else
    await reply(contract_store, ds, "slack-2", author="u2")

    await contract_store.set_reaction(C1, "theirs-1", "u1", "👍", True)
    await contract_store.set_reaction(C1, "theirs-1", "u1", "❤️", True)
    await contract_store.set_reaction(C2, "theirs-2", "u1", "👍", True)
    await contract_store.set_reaction(C1, "mine-1", "u1", "👍", True)  # on their own reply
    await contract_store.set_reaction(C1, "theirs-1", "u3", "👍", True)
    await contract_store.set_reaction(S1, "slack-2", "u1", "👍", True)
    await contract_store.set_prefs(MemberPrefs("discord", "u1", opted_out=True, anonymous=True))
    await contract_store.set_prefs(MemberPrefs("slack", "u1", anonymous=True))

    replies, reactions = await contract_store.forget_member("discord", "u1")
    assert (replies, reactions) == (2, 4)

    assert await contract_store.get_reply(C1, "mine-1") is None
    assert await contract_store.get_reply(C2, "mine-2") is None
    assert await contract_store.member_replies("discord", "u1") == []
    assert (await must_reply(contract_store, C1, "theirs-1")).reactions == 1  # u3's stays
    assert (await must_reply(contract_store, C2, "theirs-2")).reactions == 0
    # the opt-out is kept, so forgetting does not start storing again; the rest is gone
    assert await contract_store.get_prefs("discord", "u1") == MemberPrefs("discord", "u1", opted_out=True)

    # Slack's u1 is another person
    assert (await must_reply(contract_store, S1, "slack-1")).author_id == "u1"
    assert (await must_reply(contract_store, S1, "slack-2")).reactions == 1
    assert await contract_store.get_prefs("slack", "u1") == MemberPrefs("slack", "u1", anonymous=True)

    assert await contract_store.forget_member("discord", "u1") == (0, 0)


async def test_forget_member_without_opt_out_removes_every_pref(contract_store: Store) -> None:
    discussion = await posted(contract_store, "a1")
    await reply(contract_store, discussion, "r1", author="u1")
    await contract_store.set_prefs(MemberPrefs("discord", "u1", anonymous=True))
    assert await contract_store.forget_member("discord", "u1") == (1, 0)
    assert await contract_store.get_prefs("discord", "u1") == MemberPrefs("discord", "u1")
    assert await contract_store.forget_member("discord", "nobody") == (0, 0)


# -- digest schedules and claims ---------------------------------------------------------------------


def schedule(
    channel: str = "digest", *, community: Community = C1, weekday: int = 0, at: time = time(9, 0),
    timezone: str = "UTC", enabled: bool = True, next_run_at: datetime | None = T0 + D,
    last_run_at: datetime | None = None,
) -> DigestSchedule:  # fmt: skip
    return DigestSchedule(community, channel, weekday, at, timezone, enabled, next_run_at, last_run_at)


async def test_set_digest_schedule_replaces_the_channels_schedule(contract_store: Store) -> None:
    first = schedule()
    await contract_store.set_digest_schedule(first)
    assert await contract_store.digest_schedules(C1) == [first]

    replaced = schedule(weekday=4, at=time(17, 30), timezone="Europe/Paris", next_run_at=T0 + 4 * D,
                        last_run_at=T0 - 3 * D)  # fmt: skip
    await contract_store.set_digest_schedule(replaced)
    assert await contract_store.digest_schedules(C1) == [replaced]

    second_channel = schedule("weekly", weekday=2, next_run_at=None)
    theirs = schedule(community=C2)
    await contract_store.set_digest_schedule(second_channel)
    await contract_store.set_digest_schedule(theirs)
    assert sorted(await contract_store.digest_schedules(C1), key=lambda s: s.channel_id) == [
        replaced, second_channel,
    ]  # fmt: skip
    assert await contract_store.digest_schedules(C2) == [theirs]
    assert await contract_store.digest_schedules(S1) == []


async def test_disable_digests(contract_store: Store) -> None:
    await contract_store.set_digest_schedule(schedule("a"))
    await contract_store.set_digest_schedule(schedule("b"))
    await contract_store.set_digest_schedule(schedule("c", enabled=False))
    await contract_store.set_digest_schedule(schedule("a", community=C2))

    assert await contract_store.disable_digests(C1) == 2
    assert [s.enabled for s in await contract_store.digest_schedules(C1)] == [False, False, False]
    assert [s.enabled for s in await contract_store.digest_schedules(C2)] == [True]
    assert await contract_store.disable_digests(C1) == 0
    assert {s.community for s in await contract_store.due_digest_schedules(T0 + 2 * D)} == {C2}


async def test_advance_digest_schedule(contract_store: Store) -> None:
    await contract_store.set_digest_schedule(schedule("a"))
    await contract_store.set_digest_schedule(schedule("b"))
    await contract_store.set_digest_schedule(schedule("a", community=C2))

    await contract_store.advance_digest_schedule(C1, "a", T0 + D, T0 + 8 * D)
    by_channel = {s.channel_id: s for s in await contract_store.digest_schedules(C1)}
    assert (by_channel["a"].last_run_at, by_channel["a"].next_run_at) == (T0 + D, T0 + 8 * D)
    assert by_channel["a"].enabled and by_channel["a"].at == time(9, 0)
    assert by_channel["b"] == schedule("b")
    assert await contract_store.digest_schedules(C2) == [schedule("a", community=C2)]


async def test_due_digest_schedules(contract_store: Store) -> None:
    soon = schedule("soon", next_run_at=T0 + H)
    later = schedule("later", next_run_at=T0 + D)
    off = schedule("off", enabled=False, next_run_at=T0)
    unplanned = schedule("unplanned", next_run_at=None)
    theirs = schedule("soon", community=S1, next_run_at=T0 + 2 * H)
    for s in (soon, later, off, unplanned, theirs):
        await contract_store.set_digest_schedule(s)

    async def due(at: datetime) -> list[DigestSchedule]:
        return sorted(await contract_store.due_digest_schedules(at), key=lambda s: s.next_run_at or T0)

    assert await due(T0) == []
    assert await due(T0 + H) == [soon]  # the boundary is due
    assert await due(T0 + 3 * H) == [soon, theirs]
    assert await due(T0 + 2 * D) == [soon, theirs, later]


async def test_claim_digest_once_per_period(backend: StoreFactory, contract_store: Store) -> None:
    start, end = T0 - 7 * D, T0

    async def claim(store: Store = contract_store, community: Community = C1, channel: str = "digest",
                    period: tuple[datetime, datetime] = (start, end)) -> bool:  # fmt: skip
        return await store.claim_digest(community, channel, period[0], period[1], T0)

    assert await claim() is True
    assert await claim() is False
    assert await claim() is False
    # another destination or period is another digest
    assert await claim(channel="other") is True
    assert await claim(community=C2) is True
    assert await claim(community=S1) is True
    assert await claim(period=(end, end + 7 * D)) is True

    # even across a restart
    again = backend()
    await again.open()
    try:
        assert await claim(again) is False
    finally:
        await again.close()


async def test_unfinished_digests_keep_the_messages_sent_so_far(contract_store: Store) -> None:
    start, end = T0 - 7 * D, T0
    assert await contract_store.claim_digest(C1, "digest", start, end, T0)
    assert await contract_store.claim_digest(C2, "digest", start, end, T0 + H)
    await contract_store.record_digest_messages(C1, "digest", end, ["m-1"])
    await contract_store.record_digest_messages(C1, "digest", end, ["m-1", "m-2"])
    assert await contract_store.unfinished_digests(T0) == []  # claimed at T0: not before T0
    [claim] = await contract_store.unfinished_digests(T0 + H)
    assert (claim.community, claim.channel_id, claim.message_ids) == (C1, "digest", ("m-1", "m-2"))
    assert (claim.period_start, claim.period_end, claim.created_at) == (start, end, T0)
    both = await contract_store.unfinished_digests(T0 + 2 * H)
    assert [(c.community, c.message_ids) for c in both] == [(C1, ("m-1", "m-2")), (C2, ())]
    # Confirmed: no longer unfinished, and its ids are not overwritten by a late record.
    await contract_store.confirm_digest(C1, "digest", end, ["m-1", "m-2", "m-3"])
    await contract_store.record_digest_messages(C1, "digest", end, ["x"])
    assert [c.community for c in await contract_store.unfinished_digests(T0 + 2 * H)] == [C2]


async def test_release_digest_only_if_not_confirmed(contract_store: Store) -> None:
    start, end = T0 - 7 * D, T0
    assert await contract_store.claim_digest(C1, "digest", start, end, T0)
    await contract_store.release_digest(C1, "digest", end)
    assert await contract_store.claim_digest(C1, "digest", start, end, T0 + H)  # free again

    await contract_store.confirm_digest(C1, "digest", end, ["msg-1", "msg-2"])
    await contract_store.release_digest(C1, "digest", end)
    assert await contract_store.claim_digest(C1, "digest", start, end, T0 + 2 * H) is False

    # releasing touches only its own destination
    assert await contract_store.claim_digest(C1, "other", start, end, T0)
    assert await contract_store.claim_digest(C2, "digest", start, end, T0)
    await contract_store.release_digest(C1, "other", end)
    assert await contract_store.claim_digest(C1, "other", start, end, T0)
    assert await contract_store.claim_digest(C2, "digest", start, end, T0) is False


# -- activity, counts, first replies -------------------------------------------------------------------

START = T0
END = T0 + 7 * D


@dataclass
class World:
    quiet: Discussion  # posted before the period, replies only before it
    late: Discussion  # posted before the period, replies in it
    fresh: Discussion  # posted in the period, replies in it
    at_start: Discussion  # posted exactly at the start, no replies
    at_end: Discussion  # posted exactly at the end: outside
    theirs: Discussion  # another community, in the period
    pending: Discussion  # begun in the period, never confirmed


async def make_world(store: Store) -> World:
    """u1 and u2 reply; u9 has opted out; u2 is quoted anonymously."""
    quiet = await posted(store, "quiet", at=START - 10 * D)
    late = await posted(store, "late", at=START - 3 * D, prompt="Late prompt")
    fresh = await posted(store, "fresh", at=START + D)
    at_start = await posted(store, "at-start", at=START)
    at_end = await posted(store, "at-end", at=END)
    theirs = await posted(store, "fresh", community=C2, at=START + D)
    article = await store.save_article("pending", draft("pending"), START + D)
    pending = await store.begin_discussion(article.id, C1, "news", prompt="p", feed_id=None, now=START + D)
    assert pending is not None

    await reply(store, quiet, "q1", "u1", START - 9 * D)
    await reply(store, late, "l1", "u2", START - H)  # before
    await reply(store, late, "l2", "u1", START)  # at the start: in
    await reply(store, fresh, "f1", "u2", START + D + H)
    await reply(store, fresh, "f2", "u1", START + 2 * D)
    await reply(store, fresh, "f3", "u9", START + 2 * D + H)  # opted out
    await reply(store, fresh, "f4", "u4", START + 3 * D)  # deleted below
    await reply(store, fresh, "f5", "u3", END)  # at the end: out
    await reply(store, at_end, "e1", "u1", END + H)
    await reply(store, theirs, "x1", "u1", START + 2 * D)
    await reply(store, theirs, "x2", "u5", START + 2 * D)

    assert await store.delete_reply(C1, "f4")
    await store.set_reply_flags(C1, "f2", hidden=True)
    await store.set_reply_flags(C1, "f1", featured=True)
    await store.set_reaction(C1, "f1", "u1", "👍", True)
    await store.set_reaction(C1, "f1", "u3", "👍", True)
    await store.set_prefs(MemberPrefs("discord", "u9", opted_out=True))
    await store.set_prefs(MemberPrefs("discord", "u2", anonymous=True))
    await store.count_anonymous_reply(fresh.id)
    return World(quiet, late, fresh, at_start, at_end, theirs, pending)


async def test_activity_holds_the_periods_discussions_and_replies(contract_store: Store) -> None:
    world = await make_world(contract_store)
    activity = await contract_store.activity(C1, START, END)
    by_id = {item.discussion.id: item for item in activity}
    assert set(by_id) == {world.late.id, world.fresh.id, world.at_start.id}

    assert [item.discussion.id for item in activity] == [world.late.id, world.at_start.id, world.fresh.id]
    words = await contract_store.period_replies(list(by_id), START, END)
    assert set(words) == {world.late.id, world.fresh.id}  # at_start has no reply

    late = by_id[world.late.id]
    assert [v.reply.message_id for v in words[world.late.id]] == ["l2"]
    assert [m.reply_id for m in late.marks] == [v.reply.id for v in words[world.late.id]]
    assert late.replies_ever == 2
    assert late.article.key == "late" and late.article.id == world.late.article_id
    assert late.discussion.prompt == "Late prompt"

    fresh = by_id[world.fresh.id]
    views = {v.reply.message_id: v for v in words[world.fresh.id]}
    assert list(views) == ["f1", "f2", "f3"]  # oldest first; not the deleted one, not the one at the end
    assert [m.reply_id for m in fresh.marks] == [v.reply.id for v in views.values()]
    assert fresh.replies_ever == 4
    assert fresh.discussion.anonymous_replies == 1
    assert fresh.discussion.state == DiscussionState.POSTED
    assert fresh.discussion.posted_at == START + D
    # the store joins the facts; the core decides what to show
    assert (views["f1"].anonymous, views["f1"].opted_out) == (True, False)
    assert (views["f1"].reply.featured, views["f1"].reply.reactions) == (True, 2)
    assert views["f1"].reply.author_name == "Name u2"
    assert (views["f2"].anonymous, views["f2"].opted_out, views["f2"].reply.hidden) == (False, False, True)
    assert (views["f3"].anonymous, views["f3"].opted_out) == (False, True)
    assert views["f3"].reply.text == "u9 says f3"
    # a mark is its reply without the words
    for mark, view in zip(fresh.marks, views.values(), strict=True):
        reply = view.reply
        assert mark == ReplyMark(
            reply.id, reply.author_id, reply.author_name, reply.created_at, reply.reactions,
            reply.hidden, view.opted_out, view.anonymous,
        )  # fmt: skip

    at_start = by_id[world.at_start.id]
    assert (at_start.marks, at_start.replies_ever) == ([], 0)


async def test_period_activity_is_what_the_marks_add_up_to(contract_store: Store) -> None:
    world = await make_world(contract_store)
    # l2 at the start and f1 a day later on the first day, f2 on the second, none on the third
    midnights = [START + D + 2 * H, START + 2 * D + H // 2]
    counted = await contract_store.period_activity(C1, START, END, midnights)
    tallies = [(t.discussion.id, t.replies, t.participants, t.reactions) for t in counted.discussions]
    # f1 (u2, two reactions) and f2 (hidden: counted); not f3 (opted out), f4 (deleted), f5 (at the end)
    assert tallies == [(world.late.id, 1, 1, 0), (world.at_start.id, 0, 0, 0), (world.fresh.id, 2, 2, 2)]
    assert [t.replies_ever for t in counted.discussions] == [2, 0, 4]
    fresh = counted.discussions[2]
    assert (fresh.article.key, fresh.discussion.anonymous_replies) == ("fresh", 1)
    assert counted.days == ((2, 2), (1, 1), (0, 0))
    assert (counted.authors, counted.anonymous) == (frozenset({"u1", "u2"}), frozenset({"u2"}))
    # the same as `activity`'s marks, added up, in every community and period
    for community, start, end in ((C1, START, END), (C2, START, END), (S1, START, END),
                                  (C1, START - 7 * D, START), (C1, END + 30 * D, END + 37 * D)):  # fmt: skip
        activity = await contract_store.activity(community, start, end)
        counted = await contract_store.period_activity(community, start, end, [start + D])
        marks = [m for a in activity for m in a.marks if not m.opted_out]
        assert counted.authors == {m.author_id for m in marks}
        assert counted.anonymous == {m.author_id for m in marks if m.anonymous}
        assert sum(r for r, _ in counted.days) == len(marks)
        by_id = {t.discussion.id: t for t in counted.discussions}
        for item in activity:
            kept = [m for m in item.marks if not m.opted_out]
            if not kept and item.discussion.id not in by_id:
                continue  # only opted-out replies in the period: nothing to count
            tally = by_id[item.discussion.id]
            assert (tally.replies, tally.participants, tally.reactions, tally.replies_ever) == (
                len(kept),
                len({m.author_id for m in kept}),
                sum(m.reactions for m in kept),
                item.replies_ever,
            )


async def test_period_names_are_of_the_first_reply_shown(contract_store: Store) -> None:
    await make_world(contract_store)
    # discussions oldest first: u1 is first named in late (l2), u2 then in fresh (f1); u9 opted out
    names = await contract_store.period_names(C1, START, END, ["u9", "u2", "u1", "nobody"])
    assert list(names.items()) == [("u1", "Name u1"), ("u2", "Name u2")]
    assert await contract_store.period_names(C1, START, END, []) == {}
    await contract_store.set_reply_flags(C1, "l2", hidden=True)  # u1 is left with hidden replies only
    assert await contract_store.period_names(C1, START, END, ["u1", "u2"]) == {"u2": "Name u2"}
    assert await contract_store.period_names(C2, START, END, ["u1"]) == {"u1": "Name u1"}


async def test_period_replies_reads_only_the_discussions_and_period_asked(contract_store: Store) -> None:
    world = await make_world(contract_store)
    assert await contract_store.period_replies([], START, END) == {}
    only_late = await contract_store.period_replies([world.late.id], START, END)
    assert {k: [v.reply.message_id for v in vs] for k, vs in only_late.items()} == {world.late.id: ["l2"]}
    before = await contract_store.period_replies([world.late.id, world.fresh.id], START - D, START)
    assert {k: [v.reply.message_id for v in vs] for k, vs in before.items()} == {world.late.id: ["l1"]}


async def test_activity_keeps_communities_apart(contract_store: Store) -> None:
    world = await make_world(contract_store)
    theirs = await contract_store.activity(C2, START, END)
    assert [item.discussion.id for item in theirs] == [world.theirs.id]
    assert {m.author_id for m in theirs[0].marks} == {"u1", "u5"}
    assert await contract_store.activity(S1, START, END) == []


async def test_activity_of_an_empty_period(contract_store: Store) -> None:
    await make_world(contract_store)
    assert await contract_store.activity(C1, END + 30 * D, END + 37 * D) == []


async def test_period_counts_leave_out_opted_out_members(contract_store: Store) -> None:
    await make_world(contract_store)
    # articles: fresh and at-start; replies: l2, f1, f2 (f3 opted out, f4 deleted, f5 at the end)
    assert await contract_store.period_counts(C1, START, END) == PeriodCounts(
        articles=2, replies=3, participants=2
    )
    assert await contract_store.period_counts(C2, START, END) == PeriodCounts(1, 2, 2)
    assert await contract_store.period_counts(S1, START, END) == PeriodCounts(0, 0, 0)
    # the period before: late was posted in it, and l1 written (quiet and q1 are older)
    assert await contract_store.period_counts(C1, START - 7 * D, START) == PeriodCounts(1, 1, 1)


async def test_first_reply_times(contract_store: Store) -> None:
    await make_world(contract_store)
    assert await contract_store.first_reply_times(C1, ["u1", "u2", "nobody"]) == {
        "u1": START - 9 * D,
        "u2": START - H,
    }
    # in C2, u1's first reply is the one there; u5 never replied in C1
    assert await contract_store.first_reply_times(C2, ["u1", "u5"]) == {
        "u1": START + 2 * D,
        "u5": START + 2 * D,
    }
    assert await contract_store.first_reply_times(C1, ["u5"]) == {}
    assert await contract_store.first_reply_times(C1, []) == {}
    # since: only those who first replied then or later (u2 at that very instant)
    assert await contract_store.first_reply_times(C1, ["u1", "u2", "nobody"], since=START - H) == {
        "u2": START - H
    }
    assert await contract_store.first_reply_times(C1, ["u1", "u2"], since=START - 9 * D) == {
        "u1": START - 9 * D,
        "u2": START - H,
    }
    assert await contract_store.first_reply_times(C1, ["u1", "u2"], since=START) == {}


async def test_first_reply_times_for_many_authors(contract_store: Store) -> None:
    discussion = await posted(contract_store, "a1")
    await reply(contract_store, discussion, "r-early", "author-00007", T0 + H)
    await reply(contract_store, discussion, "r-late", "author-01190", T0 + 2 * H)
    await reply(contract_store, discussion, "r-again", "author-01190", T0 + 3 * H)
    authors = (f"author-{i:05d}" for i in range(1200))  # any iterable, more than one query binds
    assert await contract_store.first_reply_times(C1, authors) == {
        "author-00007": T0 + H,
        "author-01190": T0 + 2 * H,
    }


# -- stats and export -------------------------------------------------------------------------------------


async def test_stats_per_feed_and_per_prompt(contract_store: Store) -> None:
    since = T0
    gazette = await add_feed(contract_store, "https://gazette.example/feed", at=T0 - 30 * D)
    await contract_store.record_feed_success(
        gazette.id, title="Village Gazette", etag=None, last_modified=None, next_poll_at=T0, now=T0 - 30 * D
    )
    untitled = await add_feed(contract_store, "https://untitled.example/feed", at=T0 - 30 * D)
    theirs = await add_feed(contract_store, "https://gazette.example/feed", community=C2, at=T0 - 30 * D)

    d1 = await posted(contract_store, "a1", at=T0 + H, prompt="P1", feed_id=gazette.id)
    d2 = await posted(contract_store, "a2", at=T0 + 2 * H, prompt="P2", feed_id=gazette.id)
    d3 = await posted(contract_store, "a3", at=T0 + 3 * H, prompt="P1", feed_id=untitled.id)
    d4 = await posted(contract_store, "a4", at=T0 + 4 * H, prompt="P2", feed_id=None)
    d0 = await posted(contract_store, "a0", at=T0 - D, prompt="P1", feed_id=gazette.id)  # before since
    dx = await posted(contract_store, "a1", community=C2, at=T0 + H, prompt="P1", feed_id=theirs.id)
    article = await contract_store.save_article("a5", draft("a5"), T0 + H)
    await contract_store.begin_discussion(
        article.id, C1, "news", prompt="P1", feed_id=untitled.id, now=T0 + H
    )

    for message, discussion, author in (
        ("r1", d1, "u1"), ("r2", d1, "u2"), ("r3", d1, "u1"), ("r4", d1, "u9"),
        ("r5", d2, "u3"), ("r6", d4, "u1"), ("r0", d0, "u1"), ("rx", dx, "u7"), ("r7", d3, "u1"),
    ):  # fmt: skip
        await reply(contract_store, discussion, message, author, T0 + 5 * H)
    await contract_store.set_prefs(MemberPrefs("discord", "u9", opted_out=True))

    per_feed, per_prompt = await contract_store.stats(C1, since)

    def table(rows: list[StatsRow]) -> dict[str, tuple[int, int, int, int]]:
        assert len({r.label for r in rows}) == len(rows), rows
        return {r.label: (r.articles, r.replies, r.participants, r.participations) for r in rows}

    # participants: distinct members; participations: members of each article, added up.
    assert table(per_feed) == {
        "Village Gazette": (2, 4, 3, 3),
        "https://untitled.example/feed": (1, 1, 1, 1),
        "posted by hand": (1, 1, 1, 1),
    }
    assert table(per_prompt) == {"P1": (2, 4, 2, 3), "P2": (2, 2, 2, 2)}

    their_feed, their_prompt = await contract_store.stats(C2, since)
    assert table(their_feed) == {"https://gazette.example/feed": (1, 1, 1, 1)}  # that one has no title
    assert table(their_prompt) == {"P1": (1, 1, 1, 1)}
    assert await contract_store.stats(S1, since) == ([], [])
    assert await contract_store.stats(C1, T0 + 30 * D) == ([], [])


async def test_stats_still_name_a_removed_feed(contract_store: Store) -> None:
    """Removing a feed stops new posts; what it posted is still its own, not "posted by hand"."""
    feed = await add_feed(contract_store, "https://gazette.example/feed", at=T0 - D)
    await contract_store.record_feed_success(
        feed.id, title="Village Gazette", etag=None, last_modified=None, next_poll_at=T0, now=T0 - D
    )
    from_feed = await posted(contract_store, "a1", at=T0 + H, feed_id=feed.id)
    await posted(contract_store, "a2", at=T0 + H, feed_id=None)
    await reply(contract_store, from_feed, "r1", "u1", T0 + 2 * H)
    assert await contract_store.remove_feed(feed.id)

    per_feed, _ = await contract_store.stats(C1, T0)
    rows = {r.label: (r.articles, r.replies, r.participants) for r in per_feed}
    assert rows.pop("posted by hand", None) == (1, 0, 0), per_feed
    assert len(rows) == 1, per_feed
    [(label, counts)] = rows.items()
    assert "Village Gazette" in label
    assert counts == (1, 1, 1)


async def test_export_one_community_or_all(contract_store: Store) -> None:
    world = await make_world(contract_store)
    slack = await posted(contract_store, "slack", community=S1, at=START + D)
    await reply(contract_store, slack, "s1", "u1", START + D)

    everything = await contract_store.export(None)
    posted_ids = {world.quiet.id, world.late.id, world.fresh.id, world.at_start.id, world.at_end.id,
                  world.theirs.id, slack.id}  # fmt: skip
    assert {d.id for d, _, _ in everything} == posted_ids  # never the pending one
    assert len(everything) == len(posted_ids)
    for discussion, article, replies in everything:
        assert article.id == discussion.article_id
        assert all(v.reply.discussion_id == discussion.id for v in replies)

    mine = await contract_store.export(C1)
    assert {d.id for d, _, _ in mine} == posted_ids - {world.theirs.id, slack.id}
    assert all(d.community == C1 for d, _, _ in mine)
    fresh = next(replies for d, _, replies in mine if d.id == world.fresh.id)
    views = {v.reply.message_id: v for v in fresh}
    assert set(views) == {"f1", "f2", "f3", "f5"}  # every stored reply; not the deleted one
    assert views["f1"].anonymous and views["f1"].reply.featured and views["f1"].reply.reactions == 2
    assert views["f2"].reply.hidden
    assert views["f3"].opted_out
    assert not views["f5"].opted_out and not views["f5"].anonymous

    assert {d.id for d, _, _ in await contract_store.export(C2)} == {world.theirs.id}
    assert [d.id for d, _, _ in await contract_store.export(S1)] == [slack.id]
    assert await contract_store.export(Community("discord", "empty")) == []


# -- concurrent callers ---------------------------------------------------------------------------------
# Events arrive twice and tasks overlap; two processes may share one database.


async def test_concurrent_duplicates_are_stored_once(contract_store: Store) -> None:
    articles = await asyncio.gather(*(contract_store.save_article("k", draft(f"v{i}"), T0) for i in range(5)))
    assert len({a.id for a in articles}) == 1

    begun = await asyncio.gather(
        *(contract_store.begin_discussion(articles[0].id, C1, "news", prompt="p", feed_id=None, now=T0)
          for _ in range(5))
    )  # fmt: skip
    winners = [d for d in begun if d is not None]
    assert len(winners) == 1
    discussion = await contract_store.confirm_discussion(winners[0].id, "m", "t", T0)

    added = await asyncio.gather(
        *(contract_store.add_reply(discussion.id, message_id="r1", author_id="u1", author_name="U",
                                   text="hi", created_at=T0)
          for _ in range(5))
    )  # fmt: skip
    assert sorted(added) == [False, False, False, False, True]

    await asyncio.gather(*(contract_store.set_reaction(C1, "r1", "u2", "👍", True) for _ in range(5)))
    assert (await must_reply(contract_store, C1, "r1")).reactions == 1


async def test_a_period_is_claimed_once_by_concurrent_callers(
    backend: StoreFactory, contract_store: Store
) -> None:
    other = backend()  # another process on the same database
    await other.open()
    try:
        claims = await asyncio.gather(
            *(store.claim_digest(C1, "digest", T0 - 7 * D, T0, T0)
              for store in (contract_store, other) * 4)
        )  # fmt: skip
    finally:
        await other.close()
    assert sorted(claims) == [False] * 7 + [True]


# -- leases -----------------------------------------------------------------------------------------
# The scheduler's jobs run in one process at a time: whoever holds the lease.

TTL = timedelta(seconds=90)
S = timedelta(seconds=1)


async def test_a_free_lease_is_taken_and_refused_to_another_holder(contract_store: Store) -> None:
    assert await contract_store.lease_holder("scheduler", T0) is None
    assert await contract_store.acquire_lease("scheduler", "host:1:a", T0, TTL)
    assert await contract_store.lease_holder("scheduler", T0) == "host:1:a"
    assert not await contract_store.acquire_lease("scheduler", "host:2:b", T0 + 89 * S, TTL)
    assert await contract_store.lease_holder("scheduler", T0 + 89 * S) == "host:1:a"
    # Another name is another lease.
    assert await contract_store.acquire_lease("other", "host:2:b", T0, TTL)


async def test_the_holder_renews_its_lease_and_keeps_it_past_the_first_expiry(contract_store: Store) -> None:
    assert await contract_store.acquire_lease("scheduler", "host:1:a", T0, TTL)
    assert await contract_store.acquire_lease("scheduler", "host:1:a", T0 + 60 * S, TTL)  # renewed
    # Past the first expiry, within the renewed one: still held, still refused to others.
    assert await contract_store.lease_holder("scheduler", T0 + 120 * S) == "host:1:a"
    assert not await contract_store.acquire_lease("scheduler", "host:2:b", T0 + 120 * S, TTL)


async def test_an_expired_lease_is_taken_over_and_its_old_holder_refused(
    backend: StoreFactory, contract_store: Store
) -> None:
    other = backend()  # another process on the same database
    await other.open()
    try:
        assert await contract_store.acquire_lease("scheduler", "host:1:a", T0, TTL)
        assert await other.lease_holder("scheduler", T0 + TTL) is None  # ran out at T0 + TTL
        assert await other.acquire_lease("scheduler", "host:2:b", T0 + TTL, TTL)
        assert await contract_store.lease_holder("scheduler", T0 + TTL) == "host:2:b"
        # The old holder, back after a pause, cannot renew what it lost.
        assert not await contract_store.acquire_lease("scheduler", "host:1:a", T0 + TTL + S, TTL)
    finally:
        await other.close()


async def test_a_released_lease_is_free_at_once_and_only_its_holder_releases_it(
    contract_store: Store,
) -> None:
    assert await contract_store.acquire_lease("scheduler", "host:1:a", T0, TTL)
    assert not await contract_store.release_lease("scheduler", "host:2:b")
    assert await contract_store.lease_holder("scheduler", T0) == "host:1:a"
    assert await contract_store.release_lease("scheduler", "host:1:a")
    assert await contract_store.lease_holder("scheduler", T0) is None
    assert not await contract_store.release_lease("scheduler", "host:1:a")  # nothing left to release
    assert await contract_store.acquire_lease("scheduler", "host:2:b", T0 + S, TTL)


async def test_concurrent_takers_of_a_free_lease_get_it_once(
    backend: StoreFactory, contract_store: Store
) -> None:
    other = backend()
    await other.open()
    try:
        taken = await asyncio.gather(
            *(store.acquire_lease("scheduler", f"host:{n}:x", T0, TTL)
              for n, store in enumerate((contract_store, other) * 4))
        )  # fmt: skip
    finally:
        await other.close()
    assert sorted(taken) == [False] * 7 + [True]


# -- the console platform's messages (ConsoleStore) -------------------------------------------


def _console(store: Store) -> ConsoleStore:
    assert isinstance(store, ConsoleStore)
    return store


async def test_console_messages_are_numbered_once_across_stores_on_one_database(
    backend: StoreFactory,
) -> None:
    first, second = backend(), backend()  # two processes on one database
    await first.open()
    await second.open()
    try:
        made = await asyncio.gather(
            *(_console(s).add_console_message("general", f"u{i}", f"hello {i}", T0) for i in range(40)
              for s in (first, second))
        )  # fmt: skip
        ids = [m.id for m in made]
        assert len(set(ids)) == 80 and all(i.startswith("m") for i in ids)
        for m in made:
            again = await _console(second).console_message(m.id)
            assert again is not None and (again.author, again.text) == (m.author, m.text)
    finally:
        await first.close()
        await second.close()


async def test_console_threads_openers_edits_deletes_and_reactions(contract_store: Store) -> None:
    store = _console(contract_store)
    post = await store.add_console_message(
        "general", "threadcast", "An article", T0, opens_thread=True, article="url:a"
    )
    other = await store.add_console_message("news", "threadcast", "Another", T0, opens_thread=True)
    reply = await store.add_console_message(
        "general", "ann", "first", T0 + timedelta(seconds=1), thread=post.id
    )
    await store.add_console_message("general", "bob", "second", T0, thread=post.id)
    assert [m.text for m in await store.console_thread(post.id)] == ["first", "second"]
    assert (await store.console_thread(post.id))[0].created_at == T0 + timedelta(seconds=1)
    assert (await store.latest_console_opener()) == other
    assert (await store.latest_console_opener("general")) == post
    assert (await store.latest_console_opener("general", "url:a")) == post
    assert await store.latest_console_opener("general", "url:b") is None

    assert await store.set_console_reaction(reply.id, "👍", "bob", True)
    assert not await store.set_console_reaction(reply.id, "👍", "bob", True)  # nothing changed
    assert await store.set_console_reaction(reply.id, "👍", "cy", True)
    shown = await store.console_message(reply.id)
    assert shown is not None and shown.reactions == {"👍": ["bob", "cy"]}
    assert await store.set_console_reaction(reply.id, "👍", "bob", False)
    assert not await store.set_console_reaction(reply.id, "👍", "bob", False)

    assert await store.edit_console_message(reply.id, "first, edited")
    assert (await store.console_thread(post.id))[0].text == "first, edited"
    assert await store.delete_console_message(reply.id)
    assert not await store.delete_console_message(reply.id)
    assert await store.console_message(reply.id) is None
    assert not await store.edit_console_message(reply.id, "back?")
    assert [m.text for m in await store.console_thread(post.id)] == ["second"]
    # A deleted message's number is never handed out again, even when it was the newest.
    last = await store.add_console_message("general", "ann", "third", T0)
    assert await store.delete_console_message(last.id)
    newer = await store.add_console_message("general", "ann", "fourth", T0)
    assert int(newer.id[1:]) > int(last.id[1:])
    assert await store.console_message("not-an-id") is None


async def test_console_time_offset_and_a_state_taken_in_once(backend: StoreFactory) -> None:
    store = backend()
    await store.open()
    try:
        console = _console(store)
        assert await console.console_time_offset() is None
        old = [
            ConsoleMessage("m3", "general", "threadcast", "A post", None, True, "url:x", T0),
            ConsoleMessage("m4", "general", "ann", "A reply", "m3", False, None, T0, {"👍": ["bob"]}),
        ]
        assert await console.import_console_messages(old, 10, 3600.0)
        assert not await console.import_console_messages(old[:1], 20, 7.0)  # once only
        assert await console.console_time_offset() == 3600.0
        reply = await console.console_message("m4")
        assert reply is not None and reply.thread == "m3" and reply.reactions == {"👍": ["bob"]}
        # Numbers up to next_id - 1 were handed out before (the messages since deleted): not again.
        assert int((await console.add_console_message("general", "ann", "new", T0)).id[1:]) >= 10
        await console.set_console_time_offset(7200.5)
    finally:
        await store.close()
    again = backend()  # a restart
    await again.open()
    try:
        assert await _console(again).console_time_offset() == 7200.5
    finally:
        await again.close()
