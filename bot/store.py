"""The storage contract. `storage/` implements it; the core only sees this protocol.

Every method is a short unit of work that commits before it returns. Methods
that look things up by a platform message id take the community, because
message ids are only unique within one platform.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from bot.models import (
    Article,
    ArticleDraft,
    ChannelSettings,
    Community,
    CommunitySettings,
    DigestClaim,
    DigestSchedule,
    Discussion,
    DiscussionActivity,
    Feed,
    FeedFilter,
    FeedSuccess,
    MemberPrefs,
    PeriodActivity,
    PeriodCounts,
    Reply,
    ReplyView,
    StatsRow,
)


class StoreError(Exception):
    """Storage failed in a way the caller can report (disk full, read-only, corrupt)."""


class DuplicateError(StoreError):
    """The record exists already (a unique rule said no)."""


class ArticleStore(Protocol):
    """Articles, and the discussions posted about them (the outbox: a post is recorded before it is sent)."""

    async def save_article(self, key: str, draft: ArticleDraft, now: datetime) -> Article:
        """Insert the article, or return the stored one with the same key."""

    async def get_article(self, article_id: int) -> Article | None: ...

    async def begin_discussion(
        self,
        article_id: int,
        community: Community,
        channel_id: str,
        *,
        prompt: str,
        feed_id: int | None,
        now: datetime,
    ) -> Discussion | None:
        """Record a post about to be sent. None if this article already has a
        discussion (posted or pending) in this channel."""

    async def confirm_discussion(
        self, discussion_id: int, message_id: str, thread_id: str, now: datetime
    ) -> Discussion: ...

    async def abandon_discussion(self, discussion_id: int) -> None:
        """Forget a pending post that the platform refused, so it can be tried again."""

    async def get_discussion(self, discussion_id: int) -> Discussion | None: ...

    async def find_discussion(
        self, article_id: int, community: Community, channel_id: str
    ) -> Discussion | None: ...

    async def discussion_for_thread(self, community: Community, thread_id: str) -> Discussion | None: ...

    async def pending_discussions(self) -> list[Discussion]: ...

    async def recent_discussions(self, community: Community, since: datetime) -> list[Discussion]: ...

    async def discussions_for_threads(
        self, community: Community, thread_ids: Iterable[str]
    ) -> dict[str, Discussion]:
        """`discussion_for_thread` for many threads at once: thread id -> discussion, for
        the threads that are discussions."""


# A new reply as a platform delivered it, for `ReplyStore.store_replies`: thread id, message
# id, author id, author name, text (name and text already cleaned), when it was written, and
# whether it was read back from the thread's history (True) rather than seen live.
ReplyRow = tuple[str, str, str, str, str, datetime, bool]


class ReplyStore(Protocol):
    """Members' replies in discussions, their reactions and flags, and the catch-up marks."""

    async def store_replies(
        self, community: Community, rows: Sequence[ReplyRow], *, staged: Callable[[], None] | None = None
    ) -> int:
        """A batch of new replies of the community, in one transaction and one pass, as the
        members' preferences allow: a reply in a thread that is not one of the community's
        discussions is dropped; an opted-out member's reply is never stored, and counted in
        its discussion's anonymous replies when seen live (one read back from history may
        have been counted live already); a message stored before, or earlier in the batch,
        is skipped. Returns how many replies were stored. A store whose writes are applied in
        the order they start calls `staged` once only the commit is left: a write started
        then is applied after this one (see `bot.group_commit`)."""

    async def add_reply(
        self,
        discussion_id: int,
        *,
        message_id: str,
        author_id: str,
        author_name: str,
        text: str,
        created_at: datetime,
    ) -> bool:
        """False if this message was stored before (events may arrive twice)."""

    async def count_anonymous_reply(self, discussion_id: int) -> None: ...

    async def latest_reply_message_id(self, discussion_id: int) -> str | None:
        """The message id of the newest stored reply of the discussion (by time written)."""

    async def edit_reply(
        self, community: Community, message_id: str, text: str, edited_at: datetime
    ) -> bool: ...

    async def delete_reply(self, community: Community, message_id: str) -> bool: ...

    async def delete_thread_replies(self, discussion_id: int) -> int: ...

    async def get_reply(self, community: Community, message_id: str) -> Reply | None: ...

    async def thread_replies(self, discussion_id: int) -> list[tuple[Reply, dict[str, set[str]]]]:
        """Every stored reply of the discussion, oldest first, with its reactions: emoji -> the
        members who reacted with it (empty when nobody did). What a catch-up compares with what
        the platform shows (see bot/catchup.py)."""

    async def set_reaction(
        self, community: Community, message_id: str, user_id: str, emoji: str, present: bool
    ) -> bool:
        """Add or remove one member's reaction; False if the message is not a stored reply."""

    async def clear_reactions(self, community: Community, message_id: str, emoji: str | None) -> int: ...

    async def set_reply_flags(
        self,
        community: Community,
        message_id: str,
        *,
        featured: bool | None = None,
        hidden: bool | None = None,
    ) -> bool: ...

    # Where reading a thread's history starts, kept until the reading is done, so a process
    # killed mid catch-up does not skip what it had not read (see bot/catchup.py).
    async def catch_up_from(self, discussion_ids: Sequence[int]) -> dict[int, str | None]:
        """Per discussion, the message id after which its history is read (None: from the
        start): a mark left by a reading that did not finish, else its newest stored reply,
        which is recorded as its mark now, until `caught_up`."""

    async def caught_up(self, discussion_id: int) -> None:
        """The reading that began at the discussion's mark is done (and its replies stored)."""


class MemberStore(Protocol):
    """Members' preferences (opt-out, anonymous) and what forgetting a member deletes."""

    async def get_prefs(self, platform: str, user_id: str) -> MemberPrefs: ...

    async def set_prefs(self, prefs: MemberPrefs) -> None: ...

    async def prefs_of(self, platform: str, user_ids: Iterable[str]) -> dict[str, MemberPrefs]:
        """`get_prefs` for many members at once; only members with stored preferences appear."""

    async def member_replies(self, platform: str, user_id: str) -> list[tuple[Reply, Article]]: ...

    async def forget_member(self, platform: str, user_id: str) -> tuple[int, int]:
        """Delete every reply and reaction of the member, and their preferences
        except an opt-out. Returns (replies deleted, reactions deleted)."""


class FeedStore(Protocol):
    """Subscribed feeds, the items they have shown, and their templates and filters."""

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
        """Raises DuplicateError if the channel already follows this URL."""

    async def get_feed(self, feed_id: int) -> Feed | None: ...

    async def list_feeds(self, community: Community) -> list[Feed]: ...

    async def remove_feed(self, feed_id: int) -> bool: ...

    async def due_feeds(self, now: datetime) -> list[Feed]: ...

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
        """Also marks the feed primed and clears its failure count. False: the feed is gone
        (removed), and nothing was written."""

    async def record_feed_successes(self, successes: Sequence[FeedSuccess]) -> None:
        """`record_feed_success` for each, in one transaction (a feed removed meanwhile is skipped)."""

    async def record_feed_failure(
        self, feed_id: int, *, error: str, next_poll_at: datetime, now: datetime
    ) -> bool:
        """False: the feed is gone (removed), and nothing was written."""

    async def unseen_item_keys(self, feed_id: int, keys: Sequence[str]) -> set[str]:
        """The keys among `keys` that this feed has never remembered."""

    async def unseen_item_keys_of(self, asked: Sequence[tuple[int, Sequence[str]]]) -> list[set[str]]:
        """`unseen_item_keys` of several (feed id, keys) at once, in one query: a set for each."""

    async def remember_items(self, feed_id: int, keys: Iterable[str], now: datetime) -> None: ...

    async def count_feed_post(self, feed_id: int) -> None: ...

    async def set_feed_template(self, feed_id: int, template: str | None) -> bool:
        """The feed's post template (None: the standard post); False if there is no such feed."""

    async def add_feed_filter(
        self, feed_id: int, *, action: str, pattern: str, field: str, now: datetime
    ) -> FeedFilter | None:
        """A new rule, after the feed's others; None if there is no such feed. ValueError for
        an action not in `FILTER_ACTIONS` or a field not in `FILTER_FIELDS`."""

    async def list_feed_filters(self, feed_id: int) -> list[FeedFilter]:
        """The feed's rules, oldest first."""

    async def remove_feed_filter(self, feed_id: int, filter_id: int) -> bool: ...

    async def count_held_back(self, feed_id: int, by_filter: Mapping[int, int], unmatched: int) -> None:
        """Items a poll held back: `by_filter` per exclude rule (ids of rules since removed are
        ignored), `unmatched` those that matched no include rule. The feed's total grows by all."""


class DigestStore(Protocol):
    """Digest schedules and claims, channel and community settings, kept gists, and the reads
    a digest is built from."""

    async def set_channel_prompt(self, community: Community, channel_id: str, prompt: str | None) -> None: ...

    async def get_channel_settings(self, community: Community, channel_id: str) -> ChannelSettings | None: ...

    async def set_digest_style(self, community: Community, channel_id: str, style: str) -> None:
        """The digest style of a digest channel: one of `models.DIGEST_STYLES` (ValueError
        otherwise). A channel without settings is "compact"."""

    async def get_community_settings(self, community: Community) -> CommunitySettings:
        """The stored settings, or the defaults (no language, built-in summaries)."""

    async def set_community_language(self, community: Community, language: str | None) -> None:
        """A language code (see `bot.i18n.language_code`), or None for the operator's default."""

    async def set_community_summaries(self, community: Community, engine: str) -> None:
        """Who writes the gists: one of `models.SUMMARY_ENGINES` (ValueError otherwise)."""

    # The gist written for a discussion's replies of one period, keyed by a fingerprint of the
    # words it was written from. Cached text must never outlive those words, so the store
    # deletes a discussion's gists whenever one of its replies is deleted, hidden, edited
    # (text or author name), and every gist of the discussions a member replied in whenever
    # that member's preferences are written (opt-out, anonymous, named) or the member is
    # forgotten; deleting a discussion deletes its gists. Both stores do it with triggers
    # (migration 0005), so no write path can forget it.
    async def save_gist(
        self,
        discussion_id: int,
        period_start: datetime,
        fingerprint: str,
        engine: str,
        text: str,
        now: datetime,
    ) -> None:
        """Keep a gist; saving the same key again replaces its engine and text."""

    async def get_gist(
        self, discussion_id: int, period_start: datetime, fingerprint: str
    ) -> tuple[str, str] | None:
        """(engine, text) of the kept gist, or None."""

    async def set_digest_schedule(self, schedule: DigestSchedule) -> None:
        """One schedule per digest channel: setting it replaces that channel's."""

    async def digest_schedules(self, community: Community) -> list[DigestSchedule]: ...

    async def disable_digests(self, community: Community) -> int: ...

    async def advance_digest_schedule(
        self, community: Community, channel_id: str, last_run_at: datetime, next_run_at: datetime
    ) -> None: ...

    async def due_digest_schedules(self, now: datetime) -> list[DigestSchedule]: ...

    async def claim_digest(
        self,
        community: Community,
        channel_id: str,
        period_start: datetime,
        period_end: datetime,
        now: datetime,
    ) -> bool:
        """Reserve the digest of this destination and period. False if it was
        claimed before: a period gets one digest, even across restarts."""

    async def confirm_digest(
        self, community: Community, channel_id: str, period_end: datetime, message_ids: Sequence[str]
    ) -> None: ...

    async def release_digest(self, community: Community, channel_id: str, period_end: datetime) -> None: ...

    async def record_digest_messages(
        self, community: Community, channel_id: str, period_end: datetime, message_ids: Sequence[str]
    ) -> None:
        """The ids of the messages of a claimed (not confirmed) digest sent so far, written as
        each goes out, so a try cut off by a crash can be finished without sending them again."""

    async def unfinished_digests(self, before: datetime) -> list[DigestClaim]:
        """Digests claimed before `before` and never confirmed, oldest first."""

    async def activity(
        self, community: Community, start: datetime, end: datetime
    ) -> list[DiscussionActivity]:
        """Discussions posted in [start, end) or with replies written then, oldest first,
        with marks of those replies (not deleted, oldest first) and their authors' preferences."""

    async def period_activity(
        self, community: Community, start: datetime, end: datetime, midnights: Sequence[datetime]
    ) -> PeriodActivity:
        """What `activity`'s marks add up to, leaving out opted-out members (hidden replies
        count: they are only not quoted): the discussions posted in [start, end) or with
        replies written then, oldest first, each with the replies, distinct repliers and
        reactions of those replies; the replies and distinct repliers of each day (the days
        split at `midnights`, ascending instants inside the period: one day more than
        midnights); and who replied."""

    async def period_names(
        self, community: Community, start: datetime, end: datetime, author_ids: Iterable[str]
    ) -> dict[str, str]:
        """Of these members not opted out, the name on the first of their period's replies
        that is not hidden, in the order of those replies as `activity` lists them
        (discussions oldest first, replies oldest first within each); a member with only
        hidden replies is left out."""

    async def period_replies(
        self, discussion_ids: Collection[int], start: datetime, end: datetime
    ) -> dict[int, list[ReplyView]]:
        """The replies written in [start, end) in these discussions, with their words and their
        authors' preferences, oldest first, by discussion (one without any is left out)."""

    async def period_counts(self, community: Community, start: datetime, end: datetime) -> PeriodCounts:
        """Articles posted, replies and distinct repliers in [start, end) (in posted
        discussions, like `activity`), leaving out opted-out members (hidden replies count:
        they are only not quoted)."""

    async def first_reply_times(
        self, community: Community, author_ids: Iterable[str], since: datetime | None = None
    ) -> dict[str, datetime]:
        """When each of these members first replied in the community (a member who never did
        is left out); with `since`, only those whose first reply was written then or later."""


class StatsStore(Protocol):
    """Figures per feed and per prompt, and the export of everything posted."""

    async def stats(self, community: Community, since: datetime) -> tuple[list[StatsRow], list[StatsRow]]:
        """Per feed and per prompt: articles posted since then, their replies
        and participants (opted-out members left out)."""

    async def export(
        self, community: Community | None
    ) -> list[tuple[Discussion, Article, list[ReplyView]]]: ...


class LeaseStore(Protocol):
    """A named job that one process at a time runs (the scheduler's): several processes may
    share one database. Times come from the callers' clocks, so hosts must keep them in sync."""

    async def acquire_lease(self, name: str, holder: str, now: datetime, ttl: timedelta) -> bool:
        """Take the lease until `now + ttl` if nobody holds it, its holder let it run out
        (expiry at or before `now`), or `holder` holds it already (a renewal); else False."""

    async def release_lease(self, name: str, holder: str) -> bool:
        """Give the lease up at once, if `holder` holds it (False otherwise)."""

    async def lease_holder(self, name: str, now: datetime) -> str | None:
        """Who holds the lease at `now`; None when it is free or has run out."""


class Store(ArticleStore, ReplyStore, MemberStore, FeedStore, DigestStore, StatsStore, LeaseStore, Protocol):
    """Everything the core keeps: the union of the narrow stores above, and the lifecycle."""

    async def open(self) -> None:
        """Connect and run pending migrations."""

    async def close(self) -> None: ...

    async def schema_version(self) -> int: ...


@dataclass(frozen=True, slots=True)
class ConsoleMessage:
    """A message of the console platform, as the store keeps it. Its id is "m" + its number."""

    id: str
    channel: str
    author: str
    text: str
    thread: str | None
    opens_thread: bool
    article: str | None  # the key of the article a post is about
    created_at: datetime
    reactions: dict[str, list[str]] = field(default_factory=dict)  # emoji -> who, in order


@runtime_checkable
class ConsoleStore(Protocol):
    """What the console platform keeps in the store: its messages, numbered from one sequence
    (so every process on the database hands out different ids), their reactions, and the time
    `.advance` added. Every method commits before it returns."""

    async def add_console_message(
        self,
        channel: str,
        author: str,
        text: str,
        created_at: datetime,
        *,
        thread: str | None = None,
        opens_thread: bool = False,
        article: str | None = None,
    ) -> ConsoleMessage:
        """Store a new message under the next number of the sequence."""

    async def console_message(self, message_id: str) -> ConsoleMessage | None:
        """The message with its reactions; None if there is none (or it was deleted)."""

    async def latest_console_opener(
        self, channel: str | None = None, article: str | None = None
    ) -> ConsoleMessage | None:
        """The newest message that opens a thread, in that channel (any if None), about that
        article (any if None)."""

    async def console_thread(self, thread: str) -> list[ConsoleMessage]:
        """The messages written in the thread, oldest first (without reactions)."""

    async def edit_console_message(self, message_id: str, text: str) -> bool: ...

    async def delete_console_message(self, message_id: str) -> bool:
        """Deleted messages keep their number: it is never handed out again."""

    async def set_console_reaction(self, message_id: str, emoji: str, user_id: str, present: bool) -> bool:
        """Add or take back one reaction; True if that changed anything."""

    async def console_time_offset(self) -> float | None:
        """Seconds `.advance` added to the real clock; None if never recorded."""

    async def set_console_time_offset(self, seconds: float) -> None: ...

    async def import_console_messages(
        self, messages: Sequence[ConsoleMessage], next_number: int, time_offset: float
    ) -> bool:
        """Take in a console's former state (its JSON file) once: False, and nothing written, if
        a state was taken in before. Numbers up to `next_number - 1` are never handed out."""
