"""`threadcast archive`: the static site read back as HTML — links that resolve,
charts that match the numbers, hostile text made inert, and nothing a member
took back (hidden, deleted, opted out, anonymous names) on any page."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import lxml.html
import pytest

from bot.archive import http_url, write_archive
from bot.archive.chart import Point, bar_chart
from bot.archive.periods import DEFAULT_CADENCE, Cadence, weekly_periods
from bot.digest import DigestBuilder
from bot.models import ArticleDraft, Community, MemberPrefs
from storage.store import SQLiteStore
from tests.archive_data import (
    ANONYMOUS_WORDS,
    HOSTILE_TITLE,
    JS_TITLE,
    JS_URL,
    NEVER_SHOWN,
    WEEK_A_DAYS,
    WEEK_A_REPLIES,
    History,
    write_history,
    write_site,
)
from tests.test_cli import empty_database, threadcast

WEEK_A = "digests/console-local-2026-10-30.html"
WEEK_B = "digests/console-local-2026-11-06.html"
WEEK_D = "digests/console-local-2026-11-20.html"


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> History:
    return asyncio.run(write_history(tmp_path_factory.mktemp("history") / "threadcast.db"))


@pytest.fixture(scope="module")
def site(history: History, tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("archive") / "site"
    asyncio.run(write_site(history, directory))
    return directory


def pages(site: Path) -> Iterator[tuple[str, lxml.html.HtmlElement]]:
    for path in sorted(site.rglob("*.html")):
        yield path.relative_to(site).as_posix(), lxml.html.fromstring(path.read_bytes())


def page(site: Path, name: str) -> lxml.html.HtmlElement:
    return lxml.html.fromstring((site / name).read_bytes())


def text(element: lxml.html.HtmlElement) -> str:
    return " ".join(element.text_content().split())


# -- the site as a whole ----------------------------------------------------------------------------


def test_the_site_has_an_index_a_page_per_shown_week_and_per_discussion(site: Path) -> None:
    names = sorted(p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file())
    assert names == sorted([
        ".threadcast-archive", "index.html", "style.css", WEEK_A, WEEK_B, WEEK_D,
        *(f"discussions/{n}.html" for n in range(1, 6)),
    ])  # fmt: skip


def test_every_relative_link_resolves_to_a_file_and_its_fragment(site: Path) -> None:
    checked = 0
    for name, doc in pages(site):
        for element, attribute, link, _ in doc.iterlinks():
            parts = urlsplit(link)
            if parts.scheme:
                assert parts.scheme in ("http", "https"), f"{name}: {attribute}={link!r}"
                assert element.tag == "a", f"{name}: only links may point elsewhere, not <{element.tag}>"
                continue
            target = (site / name).parent.joinpath(parts.path).resolve() if parts.path else site / name
            assert target.is_file(), f"{name}: {link!r} points at nothing"
            assert site.resolve() in target.parents, f"{name}: {link!r} leaves the site"
            if parts.fragment:
                assert (
                    page(site, target.relative_to(site.resolve()).as_posix()).get_element_by_id(
                        parts.fragment, None
                    )
                    is not None
                ), f"{name}: no #{parts.fragment} in {parts.path}"
            checked += 1
    assert checked > 30


def test_pages_are_static_accessible_and_self_contained(site: Path) -> None:
    for name, doc in pages(site):
        assert doc.get("lang") == "en", name
        assert doc.findtext(".//title").strip(), name
        assert doc.xpath("//meta[@name='viewport']"), name
        assert not doc.xpath("//script | //iframe | //object | //embed | //img | //form | //base"), name
        for element in doc.iter():
            for attribute, value in element.attrib.items():
                assert not attribute.lower().startswith("on"), f"{name}: {element.tag} has {attribute}"
                assert "javascript:" not in value.lower(), f"{name}: {element.tag} {attribute}={value!r}"
            assert element.get("src") is None, f"{name}: {element.tag} loads {element.get('src')}"
        sheets = doc.xpath("//link/@href")
        assert len(sheets) == 1 and sheets[0].endswith("style.css") and "//" not in sheets[0], name
        assert doc.xpath("//h1"), name
    css = (site / "style.css").read_text()
    assert "@import" not in css and "url(" not in css  # no fonts or images from anywhere


def test_hostile_text_is_shown_as_text_and_cannot_ping(site: Path) -> None:
    week = page(site, WEEK_A)
    raw = (site / WEEK_A).read_text()
    assert "<script>" not in raw and "<img" not in raw  # no element, no attribute: see the test above
    shown = text(week)
    assert HOSTILE_TITLE.split(" return")[0] in shown  # "<script>alert(1)</script>" as visible text
    assert "onerror=alert(1)>" in shown
    for name, doc in pages(site):
        assert "@everyone" not in doc.text_content(), name
    assert "@\u200beveryone" in shown
    # The javascript: article keeps its title as plain text, never as a link.
    discussion = next(d for n, d in pages(site) if n.startswith("discussions/") and JS_TITLE in text(d))
    assert not [a for a in discussion.iter("a") if JS_TITLE in text(a)]
    assert JS_URL not in (site / WEEK_A).read_text() + "".join(p.read_text() for p in site.rglob("*.html"))


def test_nothing_hidden_deleted_opted_out_or_anonymous_appears(site: Path) -> None:
    everything = "\n".join(p.read_text() for p in site.rglob("*") if p.is_file()).lower()
    for secret in NEVER_SHOWN:
        assert secret.lower() not in everything, secret
    # The anonymous member's words are kept, quoted as "a member".
    thread = page(site, "discussions/1.html")
    authors = {
        text(reply.find_class("author")[0]): text(reply.find_class("text")[0])
        for reply in thread.find_class("reply")
    }
    assert any(ANONYMOUS_WORDS in words for who, words in authors.items() if who == "a member")


# -- a digest page ---------------------------------------------------------------------------------


def test_the_chart_has_one_bar_per_day_proportional_to_the_replies(site: Path) -> None:
    week = page(site, WEEK_A)
    (svg,) = week.xpath("//svg[contains(@class, 'chart')]")
    assert svg.get("role") == "img" and svg.findtext("title") and svg.findtext("desc")
    bars = svg.xpath(".//rect[contains(@class, 'replies')]")
    assert [int(b.get("data-value")) for b in bars] == list(WEEK_A_REPLIES)
    heights = [float(b.get("height")) for b in bars]
    tallest = max(heights)
    assert tallest > 100
    for height, replies in zip(heights, WEEK_A_REPLIES, strict=True):
        assert height / tallest == pytest.approx(replies / max(WEEK_A_REPLIES), abs=0.01)
    # Participants per day beside them, and every bar says what it is.
    assert len(svg.xpath(".//rect[contains(@class, 'participants')]")) == len(WEEK_A_DAYS)
    assert all(b.findtext("title") for b in bars)
    labels = [t.text for t in svg.xpath(".//text[contains(@class, 'label')]")]
    assert labels == ["Fri 30", "Sat 31", "Sun 1", "Mon 2", "Tue 3", "Wed 4", "Thu 5", "Fri 6"]
    # The same numbers as a table, for readers who do not see the chart.
    rows = week.xpath("//details//tbody/tr")
    assert [int(r.xpath("td")[0].text) for r in rows] == list(WEEK_A_REPLIES)


def test_a_digest_page_shows_what_the_digest_says(site: Path) -> None:
    week = page(site, WEEK_A)
    assert text(week.xpath("//h1")[0]) == "Week of Fri 30 Oct 2026"
    assert "Fri 30 Oct 2026 18:00 – Fri 06 Nov 2026 18:00 (Europe/Paris)" in text(week)
    figures = [text(li) for li in week.xpath("//ul[@class='figures']/li")]
    assert figures == ["3 articles new", "9 replies new", "7 participants new"]  # hidden ones count
    headings = [text(h) for h in week.xpath("//main//h2")]
    assert headings[1:] == ["Replies per day", "Top discussions", "Waiting for a first reply"]
    ranked = week.xpath("//section[contains(@class, 'ranked')]/article")
    assert "Night trains" in text(ranked[0].find(".//h3"))
    quotes = [text(q) for q in ranked[0].xpath(".//blockquote")]
    assert quotes and "I took the night train in 2012" in quotes[0]  # featured first
    assert "featured" in text(ranked[0].xpath(".//figure")[0])
    assert ranked[0].xpath(".//a[text()='read the discussion']/@href") == ["../discussions/1.html"]
    assert "Ferries add a night crossing" in text(week.get_element_by_id("waiting").getparent())
    assert week.xpath("//p[@class='welcome']")  # first-time participants welcomed


def test_late_replies_and_the_open_week(site: Path) -> None:
    week_b = page(site, WEEK_B)
    late = week_b.get_element_by_id("late").getparent()
    assert "Night trains" in text(late) and "I booked one for March" in text(late)
    week_d = page(site, WEEK_D)
    assert "(so far)" in text(week_d.xpath("//h1")[0]) and "still running" in text(week_d)
    index = page(site, "index.html")
    listed = [a.get("href") for a in index.xpath("//ol[@class='weeks']//h3/a")]
    assert listed == [WEEK_D, WEEK_B, WEEK_A]  # newest first, the quiet week left out
    assert "1 quiet week" in text(index)
    (overview,) = index.xpath("//figure[@class='overview']/svg")
    assert len(overview.xpath(".//rect[contains(@class, 'replies')]")) == 4  # quiet week included


def test_a_discussion_page_has_the_article_prompt_and_visible_replies_in_order(site: Path) -> None:
    thread = page(site, "discussions/1.html")
    (title,) = thread.xpath("//h1")
    assert "Night trains" in text(title) and not title.xpath(".//a")  # posted as text: no article URL
    assert "What do you make of" in text(thread.xpath("//p[@class='prompt']")[0])
    replies = [text(r.find_class("text")[0]) for r in thread.find_class("reply")]
    assert replies[0].startswith("I took the night train") and replies[-1].startswith("Still thinking")
    assert "Edited: the timetable got better this year." in replies
    assert len(replies) == 8  # 11 written (the late one too): one deleted, one hidden, one opted out
    assert thread.xpath("//nav[@class='crumbs']/a/@href") == ["../index.html#console-local", "../" + WEEK_A]
    linked = page(site, "discussions/3.html")  # the waiting article, with its http URL
    assert linked.xpath("//h1/a/@href") == ["https://news.example.org/ferries"]
    assert "No replies yet" in text(linked)


# -- the command --------------------------------------------------------------------------------------


def test_the_command_writes_rewrites_and_refuses_clearly(history: History, tmp_path: Path) -> None:
    db = tmp_path / "copy.db"
    shutil.copy(history.db, db)
    out = tmp_path / "site"
    result = threadcast("archive", str(out), "--db", str(db))
    assert result.returncode == 0, result.stderr
    assert f"Wrote 9 pages to {out} (3 weeks, 5 discussions)" in result.stdout
    assert (out / "index.html").is_file() and (out / WEEK_A).is_file()
    assert "I took the night train" in (out / "discussions/1.html").read_text()

    # A member opts out later: the next run takes their words off every page.
    stale = out / "discussions" / "99.html"
    stale.write_text("an old page")
    asyncio.run(_opt_out(db, "ana"))
    again = threadcast("archive", str(out), "--db", str(db))
    assert again.returncode == 0, again.stderr
    assert not stale.exists()
    everything = "".join(p.read_text() for p in out.rglob("*.html"))
    assert "I took the night train" not in everything and ">ana<" not in everything

    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    for target, message in (
        (tmp_path / "busy", "is not empty and holds no earlier archive"),
        (tmp_path / "busy" / "notes.txt", "is a file"),
    ):
        refused = threadcast("archive", str(target), "--db", str(db))
        assert refused.returncode != 0 and message in refused.stderr, refused.stderr
        assert "Traceback" not in refused.stderr
    assert (tmp_path / "busy" / "notes.txt").read_text() == "mine"


async def _opt_out(db: Path, user: str) -> None:
    store = SQLiteStore(db)
    await store.open()
    await store.set_prefs(MemberPrefs("console", user, opted_out=True))
    await store.close()


def test_an_empty_store_gives_an_index_that_says_so(tmp_path: Path) -> None:
    result = threadcast("archive", str(tmp_path / "site"), "--db", str(empty_database(tmp_path / "empty.db")))
    assert result.returncode == 0, result.stderr
    assert "Wrote 1 page" in result.stdout
    assert "no article has been posted" in (tmp_path / "site" / "index.html").read_text()


# -- the parts -------------------------------------------------------------------------------------------


async def test_weeks_are_mondays_in_utc_without_a_schedule(store: SQLiteStore, tmp_path: Path) -> None:
    other = Community("slack", "T0<b>")
    article = await store.save_article(
        "k", ArticleDraft("Title", None, "S.", "src"), datetime(2026, 3, 4, tzinfo=UTC)
    )
    pending = await store.begin_discussion(
        article.id, other, "C1", prompt="p", feed_id=None, now=datetime(2026, 3, 4, 10, tzinfo=UTC)
    )
    assert pending is not None
    await store.confirm_discussion(pending.id, "C1-1.0", "C1-1.0", datetime(2026, 3, 4, 10, tzinfo=UTC))
    now = datetime(2026, 3, 18, 9, tzinfo=UTC)
    await write_archive(store, DigestBuilder(store, {}), {}, tmp_path / "s", now)
    weeks = sorted(p.name for p in (tmp_path / "s" / "digests").iterdir())
    assert weeks == ["slack-t0-b-2026-03-02.html"]  # the other two weeks are quiet
    assert (
        "Mon 02 Mar 2026 00:00 – Mon 09 Mar 2026 00:00 (UTC)"
        in (tmp_path / "s" / "digests" / weeks[0]).read_text()
    )
    assert "Slack · T0&lt;b&gt;" in (tmp_path / "s" / "index.html").read_text()


def test_periods_follow_the_schedule_across_a_clock_change() -> None:
    friday = Cadence(4, time(18, 0), "Europe/Paris")
    first = datetime(2026, 10, 20, 8, 0, tzinfo=UTC)
    periods = weekly_periods(friday, first, datetime(2026, 11, 4, 12, 0, tzinfo=UTC))
    assert [(p.start, p.end, p.open) for p in periods] == [
        (datetime(2026, 10, 16, 16, 0, tzinfo=UTC), datetime(2026, 10, 23, 16, 0, tzinfo=UTC), False),
        # Summer time ends on 25 October: this week is an hour longer.
        (datetime(2026, 10, 23, 16, 0, tzinfo=UTC), datetime(2026, 10, 30, 17, 0, tzinfo=UTC), False),
        (datetime(2026, 10, 30, 17, 0, tzinfo=UTC), datetime(2026, 11, 4, 12, 0, tzinfo=UTC), True),
    ]
    # A first discussion exactly at a period's start belongs to that period.
    monday = datetime(2026, 3, 2, tzinfo=UTC)
    assert weekly_periods(DEFAULT_CADENCE, monday, monday + timedelta(days=1))[0].start == monday


def test_bars_are_proportional_and_an_all_quiet_chart_is_flat() -> None:
    chart = bar_chart([Point("a", 3, "t", 1), Point("b", 12, "t", 4), Point("c", 0, "t", 0)])
    heights = [c.bar.height for c in chart.columns]
    assert heights[1] == max(heights) and heights[0] == pytest.approx(heights[1] / 4) and heights[2] == 0
    assert all(c.bar.y + c.bar.height == chart.baseline for c in chart.columns)
    flat = bar_chart([Point("a", 0, "t"), Point("b", 0, "t")])
    assert [c.bar.height for c in flat.columns] == [0, 0] and flat.peak == 0


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://example.org/a?b=c#d", True),
        ("http://example.org", True),
        ("HTTPS://EXAMPLE.ORG/", True),
        ("javascript:alert(1)", False),
        ("JavaScript:alert(1)", False),
        (" javascript:alert(1)", False),
        ("java\tscript:alert(1)", False),
        ("data:text/html,<script>", False),
        ("vbscript:x", False),
        ("file:///etc/passwd", False),
        ("console://news/m1", False),
        ("//evil.example/x", False),
        ("https:/no-host", False),
        ("http://[::1", False),
        ("", False),
        (None, False),
    ],
)
def test_only_http_links_are_links(url: str | None, allowed: bool) -> None:
    assert http_url(url) == (url if allowed else None)
