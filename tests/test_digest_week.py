"""A digest of a realistic week (bot/demo/week.py: 32 articles, 520 replies, 60 members):
figures that match a direct count of what was written, every platform's limits, privacy,
and a console preview a person can read."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from collections import defaultdict
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from adapters.console.platform import COMMUNITY, ConsolePlatform
from bot.demo.week import (
    BEFORE_EDIT,
    DELETED,
    HIDDEN,
    PlannedArticle,
    PlannedReply,
    Week,
    plan_week,
    populate_week,
)
from bot.digest import Digest, DigestBuilder
from bot.models import DigestSchedule
from storage.store import SQLiteStore
from tests.test_digest_properties import (
    archive_pages,
    assert_within_limits,
    exports,
    leaks,
    live_mentions,
    render_all,
)

END = datetime(2026, 11, 9, 9, tzinfo=UTC)  # a Monday morning
TIMEZONE = "Europe/Berlin"
Engagement = tuple[int, int, int]


def counted(week: Week, reply: PlannedReply, start: datetime, end: datetime) -> bool:
    """What the digest's figures count: written in the period, not deleted, not opted out
    (hidden replies count; they are only not quoted)."""
    return start <= reply.created_at < end and not reply.deleted and not reply.author.opted_out


def engagement(week: Week, article: PlannedArticle) -> Engagement:
    shown = [r for r in article.replies if counted(week, r, week.start, week.end)]
    return (len(shown), len({r.author.user_id for r in shown}), sum(len(r.reactions) for r in shown))


@pytest.fixture
def week() -> Week:
    return plan_week(END)


@pytest.fixture
async def digest(store: SQLiteStore) -> Digest:
    await populate_week(store, COMMUNITY, "general", end=END)
    builder = DigestBuilder(store, {COMMUNITY.platform: ConsolePlatform(io.StringIO())})
    return await builder.build(COMMUNITY, END - timedelta(days=7), END, timezone=TIMEZONE)


def test_the_week_is_as_big_and_varied_as_promised(week: Week) -> None:
    fresh = [a for a in week.articles if a.posted_at >= week.start]
    written = [r for _, r in week.replies if r.created_at >= week.start]
    assert len(fresh) >= 30 and len(written) >= 500
    assert all(r.created_at < week.end for r in written)  # none piled up at the very end
    assert len({r.author.user_id for r in written}) >= 55
    assert len({a.draft.title for a in fresh}) == len(fresh)
    assert sum(1 for a in fresh if not a.replies) >= 3
    texts = [r.text for r in written]
    assert max(map(len, texts)) == 5000 and sum(len(t) < 12 for t in texts) >= 20
    for phrase in ("@everyone", "<!channel>", "<script>", "javascript:", "\u202e"):
        assert any(phrase in t for t in texts), phrase
    assert all(any(getattr(r, flag) for r in written) for flag in ("deleted", "hidden", "featured"))
    assert any(r.edited for r in written) and any(a.unstored_replies for a in week.articles)
    assert plan_week(END) == week and plan_week(END, seed=2) != week  # seeded, and only by the seed


async def test_figures_match_a_direct_count_of_what_was_written(digest: Digest, week: Week) -> None:
    start, end = week.start, week.end
    now = [r for _, r in week.replies if counted(week, r, start, end)]
    before = [r for _, r in week.replies if counted(week, r, start - (end - start), start)]
    first: dict[str, datetime] = {}
    for _, r in week.replies:
        if not r.deleted:
            first[r.author.user_id] = min(first.get(r.author.user_id, r.created_at), r.created_at)
    newcomers = {r.author.user_id for r in now if first[r.author.user_id] >= start}

    f = digest.figures
    assert (f.articles, f.replies, f.participants) == (32, len(now), len({r.author.user_id for r in now}))
    assert (f.previous.articles, f.previous.replies) == (8, len(before))
    assert f.newcomers == len(newcomers) > 0
    assert f.replies < 520  # deleted and opted-out replies are not counted

    # Per local day (Berlin), quiet days included; the days add up to the week.
    per_day: dict[object, int] = defaultdict(int)
    for r in now:
        per_day[r.created_at.astimezone(ZoneInfo(TIMEZONE)).date()] += 1
    assert {d.day: d.replies for d in digest.days if d.replies} == dict(per_day)
    assert sum(d.replies for d in digest.days) == f.replies


async def test_discussions_rank_by_engagement_with_the_counts_written(digest: Digest, week: Week) -> None:
    fresh = [a for a in week.articles if a.posted_at >= week.start]
    talked = {a.draft.title: engagement(week, a) for a in fresh if engagement(week, a)[0]}
    expected = sorted(talked.values(), reverse=True)
    shown = [(s.replies, s.participants, s.reactions) for s in digest.discussions]
    assert shown == expected[: len(shown)] and len(shown) == 10
    assert all(talked[s.title] == (s.replies, s.participants, s.reactions) for s in digest.discussions)
    assert digest.more_discussions == len(talked) - 10
    assert all(1 <= len(s.highlights) <= 3 for s in digest.discussions)

    # Waiting: nothing stored at all (a deleted reply leaves nothing; an opted-out one is counted).
    silent = [a.draft.title for a in fresh if all(r.deleted for r in a.replies) and not a.unstored_replies]
    assert sorted(w.title for w in digest.waiting) == sorted(silent)
    older = [a for a in week.articles if a.posted_at < week.start]
    late = {a.draft.title: engagement(week, a)[0] for a in older if engagement(week, a)[0]}
    assert {s.title: s.replies for s in digest.late} == late and 0 < len(late) <= 5


async def test_every_platform_gets_it_within_limits_and_private(
    digest: Digest, week: Week, store: SQLiteStore, tmp_path: Path
) -> None:
    out = render_all(digest)
    assert_within_limits(out)
    # A busy week is split, not cut (Slack now holds it in one message: fewer repeated quotes).
    assert len(out.discord) > 1
    assert live_mentions(out) == []
    hidden_names = [m.name for m in week.members if m.opted_out or m.anonymous]
    gone = [t[:40] for t in (*HIDDEN, *DELETED, *BEFORE_EDIT)]
    pages = await archive_pages(store, tmp_path / "site", END)
    shown = [*out.all_texts(), *await exports(store), *pages]
    assert leaks(shown, hidden_names) == [] and leaks(shown, gone) == []
    assert len(pages) > 30 and not any("@everyone" in p or "<script>alert" in p for p in pages)
    # Markup members wrote stays text: no raw tag in Markdown, none in Slack's mrkdwn.
    assert "<script" not in out.markdown and not any("<script" in t for t in out.slack_texts())


def threadcast(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("THREADCAST_", "DISCORD_", "SLACK_"))}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


async def test_the_console_preview_is_readable(tmp_path: Path) -> None:
    # The CLI runs on the real clock: the week ends a minute ago, and a schedule
    # that last ran seven days before pins where the previewed period starts.
    end = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    db = tmp_path / "week.db"
    store = SQLiteStore(db)
    await store.open()
    try:
        await populate_week(store, COMMUNITY, "general", end=end)
        await store.set_digest_schedule(
            DigestSchedule(COMMUNITY, "digest", end.weekday(), time(9), TIMEZONE, True,
                           next_run_at=end + timedelta(days=7), last_run_at=end - timedelta(days=7))
        )  # fmt: skip
    finally:
        await store.close()
    week = plan_week(end)

    result = threadcast("digest", "--preview", "--style", "full", "--db", str(db), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert text.startswith("Digest preview for #digest:")
    for section in ("## Top discussions", "## Still talking about", "## Waiting for a first reply"):
        assert section in text
    replies = sum(counted(week, r, week.start, week.end) for _, r in week.replies)
    assert "32 articles posted" in text and f"{replies} replies" in text
    ranks = re.findall(r"^(\d+)\. \*\*", text, flags=re.MULTILINE)
    assert ranks == [str(i) for i in range(1, 11)]
    assert "…and " in text and "more discussions" in text
    assert max(map(len, text.splitlines())) <= 600  # excerpts are cut, the 5,000-character reply too
    assert "Quentin Marchal" not in text and "Wiebke Hansen" not in text  # opted out; anonymous
