"""Digests: channel and community settings, kept gists, schedules, claims, and the reads a
digest is built from (a period's activity, replies and counts, and members' first replies)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime

from bot.models import (
    DIGEST_STYLES,
    SUMMARY_ENGINES,
    ChannelSettings,
    Community,
    CommunitySettings,
    DigestClaim,
    DigestSchedule,
    DiscussionActivity,
    DiscussionTally,
    PeriodActivity,
    PeriodCounts,
    ReplyView,
)
from storage.db.core import Db, Params
from storage.feeds import check_choice
from storage.fragments import bytewise, listed
from storage.queries import Queries
from storage.rows import ARTICLE_COLS, DISCUSSION_COLS, MARK_COLS, REPLY_COLS, SCHEDULE_COLS, Rows


async def reply_views(db: Db, rows: Rows, where: str, params: Params) -> dict[int, list[ReplyView]]:
    """Replies (alias r, their discussion d) matching `where`, with their authors' preferences,
    by discussion, oldest first."""
    found = await db.fetch(
        f"SELECT {REPLY_COLS}, coalesce(p.opted_out, false), coalesce(p.anonymous, false)"
        " FROM replies r JOIN discussions d ON d.id = r.discussion_id"
        " LEFT JOIN member_prefs p ON p.platform = d.platform AND p.user_id = r.author_id"
        f" WHERE {where} ORDER BY r.created_at, r.id",
        params,
    )
    return rows.reply_views(found)


def _community(community: Community, **more: object) -> dict[str, object]:
    return {"platform": community.platform, "community": community.id, **more}


_SCHEDULES = bytewise(
    f"SELECT {SCHEDULE_COLS} FROM digest_schedules WHERE platform = :platform"
    " AND community_id = :community ORDER BY channel_id{C}"
)
_DUE_SCHEDULES = bytewise(
    f"SELECT {SCHEDULE_COLS} FROM digest_schedules WHERE enabled = true AND next_run_at <= :now"
    " ORDER BY next_run_at, platform{C}, community_id{C}, channel_id{C}"
)
# The claim of one destination and period.
_CLAIM = "platform = :platform AND community_id = :community AND channel_id = :channel AND period_end = :end"
# Per author, the oldest of their replies (index replies_author_created) in this community:
# usually the first one looked at, not every reply of the community.
_FIRST_REPLIES = {
    engine: "SELECT w.value, (SELECT r.created_at FROM replies r"
    " JOIN discussions d ON d.id = r.discussion_id"
    " WHERE r.author_id = w.value AND d.platform = :platform AND d.community_id = :community"
    f" ORDER BY r.created_at LIMIT 1) AS first_at FROM {table}"
    for engine, table in listed("ids", "text", "w").items()
}
# Only those first replied at or after a time: the rest stay in the database.
_FIRST_REPLIES_SINCE = {
    engine: f"SELECT value, first_at FROM ({sql}) f WHERE first_at >= :since"
    for engine, sql in _FIRST_REPLIES.items()
}


# The replies a digest counts: in posted discussions of the community, written in the
# period, by members not opted out (hidden replies count: they are only not quoted). Found
# by time (index replies_created), each one's discussion then looked up: SQLite's planner,
# left to itself, probes every discussion the community ever had for replies in the period
# (CROSS JOIN fixes its order; PostgreSQL's planner still chooses its own).
_COUNTED = (
    " FROM replies r CROSS JOIN discussions d"
    " LEFT JOIN member_prefs p ON p.platform = d.platform AND p.user_id = r.author_id"
    " WHERE d.id = r.discussion_id"
    " AND d.platform = :platform AND d.community_id = :community AND d.state = 'posted'"
    " AND r.created_at >= :start AND r.created_at < :end AND NOT coalesce(p.opted_out, false)"
)
# Of some repliers, the name of each one's first reply not hidden in the order the digest
# walks them (discussions oldest first, then replies oldest first).
_NAMES = (
    "SELECT author_id, author_name FROM ("
    " SELECT r.author_id, r.author_name, d.posted_at, d.id AS discussion_id, r.created_at, r.id,"
    " row_number() OVER (PARTITION BY r.author_id ORDER BY d.posted_at, d.id, r.created_at, r.id) AS n"
    f"{_COUNTED} AND NOT r.hidden AND r.author_id = ANY(:ids::text[]))"
    " w WHERE n = 1 ORDER BY posted_at, discussion_id, created_at, id"
)

# The discussions posted in the period, and those given by id (replied to in it), with their
# articles and how many replies each has ever had.
_PERIODS_DISCUSSIONS = (
    f"SELECT {DISCUSSION_COLS}, {ARTICLE_COLS},"
    " (SELECT count(*) FROM replies r WHERE r.discussion_id = d.id)"
    " FROM discussions d JOIN articles a ON a.id = d.article_id"
    " WHERE d.platform = :platform AND d.community_id = :community AND d.state = 'posted' AND ("
    "   (d.posted_at >= :start AND d.posted_at < :end) OR d.id = ANY(:ids::bigint[]))"
    " ORDER BY d.posted_at, d.id"
)


def _activity_sql(midnights: int) -> str:
    """The period's replies, read once: the counts of each discussion, then each replier's
    replies per day (a day: the number of midnights passed) with their wish to stay
    anonymous. A few rows per discussion and per replier, not one per reply."""
    passed = " ".join(f"WHEN r.created_at < :m{i} THEN {i}" for i in range(midnights))
    day = f"CASE {passed} ELSE {midnights} END" if midnights else "0"
    return (
        "WITH m AS (SELECT r.discussion_id, r.author_id, coalesce(p.anonymous, false) AS anonymous,"
        f" {day} AS day, (SELECT count(*) FROM reactions x WHERE x.reply_id = r.id) AS reactions"
        f"{_COUNTED})"
        " SELECT discussion_id, NULL, NULL, NULL, count(*), count(DISTINCT author_id), sum(reactions)"
        " FROM m GROUP BY discussion_id"
        " UNION ALL SELECT NULL, author_id, anonymous, day, count(*), NULL, NULL"
        " FROM m GROUP BY author_id, anonymous, day"
    )


class DigestQueries(Queries):
    """`bot.store.DigestStore`."""

    # -- channel settings -----------------------------------------------------------------
    async def set_channel_prompt(self, community: Community, channel_id: str, prompt: str | None) -> None:
        await self._db.execute(
            "INSERT INTO channel_settings (platform, community_id, channel_id, prompt)"
            " VALUES (:platform, :community, :channel, :prompt)"
            " ON CONFLICT (platform, community_id, channel_id) DO UPDATE SET prompt = excluded.prompt",
            _community(community, channel=channel_id, prompt=prompt),
        )

    async def get_channel_settings(self, community: Community, channel_id: str) -> ChannelSettings | None:
        row = await self._db.fetch_one(
            "SELECT prompt, digest_style FROM channel_settings"
            " WHERE platform = :platform AND community_id = :community AND channel_id = :channel",
            _community(community, channel=channel_id),
        )
        return None if row is None else ChannelSettings(community, channel_id, row[0], row[1])

    async def set_digest_style(self, community: Community, channel_id: str, style: str) -> None:
        check_choice("digest style", style, DIGEST_STYLES)
        await self._db.execute(
            "INSERT INTO channel_settings (platform, community_id, channel_id, digest_style)"
            " VALUES (:platform, :community, :channel, :style) ON CONFLICT"
            " (platform, community_id, channel_id) DO UPDATE SET digest_style = excluded.digest_style",
            _community(community, channel=channel_id, style=style),
        )

    # -- community settings -----------------------------------------------------------------
    async def get_community_settings(self, community: Community) -> CommunitySettings:
        row = await self._db.fetch_one(
            "SELECT language, summaries FROM community_settings"
            " WHERE platform = :platform AND community_id = :community",
            _community(community),
        )
        return CommunitySettings(community) if row is None else CommunitySettings(community, row[0], row[1])

    async def set_community_language(self, community: Community, language: str | None) -> None:
        await self._db.execute(
            "INSERT INTO community_settings (platform, community_id, language)"
            " VALUES (:platform, :community, :language)"
            " ON CONFLICT (platform, community_id) DO UPDATE SET language = excluded.language",
            _community(community, language=language),
        )

    async def set_community_summaries(self, community: Community, engine: str) -> None:
        check_choice("summary engine", engine, SUMMARY_ENGINES)
        await self._db.execute(
            "INSERT INTO community_settings (platform, community_id, summaries)"
            " VALUES (:platform, :community, :engine)"
            " ON CONFLICT (platform, community_id) DO UPDATE SET summaries = excluded.summaries",
            _community(community, engine=engine),
        )

    # -- gists (kept clean of deleted, hidden, edited and opted-out words by triggers) --------
    async def save_gist(
        self,
        discussion_id: int,
        period_start: datetime,
        fingerprint: str,
        engine: str,
        text: str,
        now: datetime,
    ) -> None:
        await self._db.execute(
            "INSERT INTO gists (discussion_id, period_start, fingerprint, engine, text, created_at)"
            " VALUES (:discussion, :start, :fingerprint, :engine, :text, :now)"
            " ON CONFLICT (discussion_id, period_start, fingerprint) DO UPDATE"
            " SET engine = excluded.engine, text = excluded.text, created_at = excluded.created_at",
            {"discussion": discussion_id, "start": period_start, "fingerprint": fingerprint,
             "engine": engine, "text": text, "now": now},
        )  # fmt: skip

    async def get_gist(
        self, discussion_id: int, period_start: datetime, fingerprint: str
    ) -> tuple[str, str] | None:
        row = await self._db.fetch_one(
            "SELECT engine, text FROM gists"
            " WHERE discussion_id = :discussion AND period_start = :start AND fingerprint = :fingerprint",
            {"discussion": discussion_id, "start": period_start, "fingerprint": fingerprint},
        )
        return None if row is None else (str(row[0]), str(row[1]))

    # -- schedules ------------------------------------------------------------------------------
    async def set_digest_schedule(self, schedule: DigestSchedule) -> None:
        await self._db.execute(
            f"INSERT INTO digest_schedules ({SCHEDULE_COLS}) VALUES (:platform, :community, :channel,"
            " :weekday, :at, :timezone, :enabled, :next, :last)"
            " ON CONFLICT (platform, community_id, channel_id) DO UPDATE SET weekday = excluded.weekday,"
            " at = excluded.at, timezone = excluded.timezone, enabled = excluded.enabled,"
            " next_run_at = excluded.next_run_at, last_run_at = excluded.last_run_at",
            _community(
                schedule.community, channel=schedule.channel_id, weekday=schedule.weekday,
                at=schedule.at.isoformat(timespec="minutes"), timezone=schedule.timezone,
                enabled=schedule.enabled, next=schedule.next_run_at, last=schedule.last_run_at,
            ),
        )  # fmt: skip

    async def digest_schedules(self, community: Community) -> list[DigestSchedule]:
        rows = await self._db.fetch(_SCHEDULES, _community(community))
        return [self._rows.schedule(r) for r in rows]

    async def disable_digests(self, community: Community) -> int:
        return await self._db.execute(
            "UPDATE digest_schedules SET enabled = false"
            " WHERE platform = :platform AND community_id = :community AND enabled = true",
            _community(community),
        )

    async def advance_digest_schedule(
        self, community: Community, channel_id: str, last_run_at: datetime, next_run_at: datetime
    ) -> None:
        await self._db.execute(
            "UPDATE digest_schedules SET last_run_at = :last, next_run_at = :next"
            " WHERE platform = :platform AND community_id = :community AND channel_id = :channel",
            _community(community, channel=channel_id, last=last_run_at, next=next_run_at),
        )

    async def due_digest_schedules(self, now: datetime) -> list[DigestSchedule]:
        rows = await self._db.fetch(_DUE_SCHEDULES, {"now": now})
        return [self._rows.schedule(r) for r in rows]

    # -- claims -----------------------------------------------------------------------------------
    async def claim_digest(
        self,
        community: Community,
        channel_id: str,
        period_start: datetime,
        period_end: datetime,
        now: datetime,
    ) -> bool:
        changed = await self._db.execute(
            "INSERT INTO digests (platform, community_id, channel_id, period_start, period_end, state,"
            " created_at) VALUES (:platform, :community, :channel, :start, :end, 'claimed', :now)"
            " ON CONFLICT DO NOTHING",
            _community(community, channel=channel_id, start=period_start, end=period_end, now=now),
        )
        return changed > 0

    async def confirm_digest(
        self, community: Community, channel_id: str, period_end: datetime, message_ids: Sequence[str]
    ) -> None:
        await self._db.execute(
            f"UPDATE digests SET state = 'posted', message_ids = :ids WHERE {_CLAIM}",
            _community(community, channel=channel_id, end=period_end, ids=",".join(message_ids)),
        )

    async def release_digest(self, community: Community, channel_id: str, period_end: datetime) -> None:
        await self._db.execute(
            f"DELETE FROM digests WHERE {_CLAIM} AND state = 'claimed'",
            _community(community, channel=channel_id, end=period_end),
        )

    async def record_digest_messages(
        self, community: Community, channel_id: str, period_end: datetime, message_ids: Sequence[str]
    ) -> None:
        await self._db.execute(
            f"UPDATE digests SET message_ids = :ids WHERE {_CLAIM} AND state = 'claimed'",
            _community(community, channel=channel_id, end=period_end, ids=",".join(message_ids)),
        )

    async def unfinished_digests(self, before: datetime) -> list[DigestClaim]:
        rows = await self._db.fetch(
            "SELECT platform, community_id, channel_id, period_start, period_end, message_ids, created_at"
            " FROM digests WHERE state = 'claimed' AND created_at < :before ORDER BY created_at, period_end",
            {"before": before},
        )
        return [
            DigestClaim(
                Community(r[0], r[1]), r[2], self._at(r[3]), self._at(r[4]),
                tuple(i for i in r[5].split(",") if i), self._at(r[6]),
            )
            for r in rows
        ]  # fmt: skip

    def _at(self, value: object) -> datetime:
        moment = self._db.when(value)
        assert moment is not None, "a NOT NULL time column was NULL"
        return moment

    # -- what a digest is built from ----------------------------------------------------------------
    async def activity(
        self, community: Community, start: datetime, end: datetime
    ) -> list[DiscussionActivity]:
        params = _community(community, start=start, end=end)
        # The period's replies first: they name the discussions with replies, which then are
        # read by id rather than by probing every discussion of the community for one.
        marks = await self._db.fetch(
            f"SELECT r.discussion_id, {MARK_COLS}, coalesce(p.opted_out, false),"
            " coalesce(p.anonymous, false) FROM replies r JOIN discussions d ON d.id = r.discussion_id"
            " LEFT JOIN member_prefs p ON p.platform = d.platform AND p.user_id = r.author_id"
            " WHERE d.platform = :platform AND d.community_id = :community AND d.state = 'posted'"
            " AND r.created_at >= :start AND r.created_at < :end ORDER BY r.created_at, r.id",
            params,
        )
        by_discussion = self._rows.marks(marks)
        discussions = await self._db.fetch(
            _PERIODS_DISCUSSIONS,
            {**params, "ids": list(by_discussion)},
        )
        return [
            DiscussionActivity(
                discussion=self._rows.discussion(row[:13]),
                article=self._rows.article(row[13:21]),
                marks=by_discussion.get(row[0], []),
                replies_ever=row[21],
            )
            for row in discussions
        ]

    async def period_activity(
        self, community: Community, start: datetime, end: datetime, midnights: Sequence[datetime]
    ) -> PeriodActivity:
        params = _community(community, start=start, end=end)
        tallies: dict[int, tuple[int, int, int]] = {}
        replies = [0] * (len(midnights) + 1)
        repliers = [0] * (len(midnights) + 1)
        authors: set[str] = set()
        anonymous: set[str] = set()
        counted = await self._db.fetch(
            _activity_sql(len(midnights)), params | {f"m{i}": m for i, m in enumerate(midnights)}
        )
        for discussion, author, is_anonymous, day, count, participants, reactions in counted:
            if discussion is not None:
                tallies[discussion] = (count, participants, int(reactions))
                continue
            replies[day] += count
            repliers[day] += 1
            authors.add(author)
            if is_anonymous:
                anonymous.add(author)
        discussions = await self._db.fetch(
            _PERIODS_DISCUSSIONS,
            {**params, "ids": list(tallies)},
        )
        return PeriodActivity(
            [
                DiscussionTally(
                    self._rows.discussion(row[:13]),
                    self._rows.article(row[13:21]),
                    *tallies.get(row[0], (0, 0, 0)),
                    replies_ever=row[21],
                )
                for row in discussions
            ],
            tuple(zip(replies, repliers, strict=True)),
            frozenset(authors),
            frozenset(anonymous),
        )

    async def period_names(
        self, community: Community, start: datetime, end: datetime, author_ids: Iterable[str]
    ) -> dict[str, str]:
        wanted = sorted(set(author_ids))
        if not wanted:
            return {}
        rows = await self._db.fetch(_NAMES, _community(community, start=start, end=end, ids=wanted))
        return {r[0]: r[1] for r in rows}

    async def period_replies(
        self, discussion_ids: Collection[int], start: datetime, end: datetime
    ) -> dict[int, list[ReplyView]]:
        if not discussion_ids:
            return {}
        return await reply_views(
            self._db,
            self._rows,
            "r.discussion_id = ANY(:ids::bigint[]) AND r.created_at >= :start AND r.created_at < :end",
            {"ids": sorted(discussion_ids), "start": start, "end": end},
        )

    async def period_counts(self, community: Community, start: datetime, end: datetime) -> PeriodCounts:
        params = _community(community, start=start, end=end)
        articles = await self._db.fetch_value(
            "SELECT count(*) FROM discussions WHERE platform = :platform AND community_id = :community"
            " AND state = 'posted' AND posted_at >= :start AND posted_at < :end",
            params,
        )
        replies = await self._db.fetch_one(f"SELECT count(*), count(DISTINCT r.author_id){_COUNTED}", params)
        assert replies is not None
        return PeriodCounts(articles=int(articles), replies=replies[0], participants=replies[1])

    async def first_reply_times(
        self, community: Community, author_ids: Iterable[str], since: datetime | None = None
    ) -> dict[str, datetime]:
        wanted = sorted(set(author_ids))
        if not wanted:
            return {}
        if since is None:
            rows = await self._db.fetch(_FIRST_REPLIES, _community(community, ids=wanted))
        else:
            rows = await self._db.fetch(_FIRST_REPLIES_SINCE, _community(community, ids=wanted, since=since))
        return {r[0]: self._at(r[1]) for r in rows if r[1] is not None}
