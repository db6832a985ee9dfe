"""`threadcast digest --json` and `--at`, and the console's recorded time in every command
that reads the database: real processes over real SQLite files."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from adapters.console.clock import recorded_clock
from bot.schedule import previous_run
from tests.test_cli import empty_database, threadcast


def recorded_now(db: Path) -> datetime:
    """The console's time as `.advance` recorded it in the store."""
    with contextlib.closing(sqlite3.connect(db)) as conn:
        row = conn.execute("SELECT value FROM console_state WHERE name = 'time_offset'").fetchone()
    return datetime.now(UTC) + timedelta(seconds=float(row[0]) if row else 0.0)


WEEK_ONE = """\
.channel news
/post "Night trains return to the Alps this winter after a decade away. Tickets go on sale Monday." #news
.thread
.user ana
I took the old night train to Zürich in 2012 and still remember waking up in the mountains.
.user ben
Hoping it is cheaper than flying this time @everyone
.user zed
/privacy optout
My words should never show up anywhere.
.user eve
/privacy anonymous
The couchettes were cramped but the breakfast at dawn made up for it.
.user cat
This one is a mistake
.delete m6
.user fay
Our conductor hid the best wine in the luggage rack, ask me about the vintage.
.user ben
.react m2 👍
.user eve
.react m2 👍
.user mod
/reply hide m7
"""

WEEK_TWO = """\
.advance 8d
.thread m1
.user dan
A week later: the first train sold out in an hour, which says something about demand.
"""

TOP_KEYS = [
    "format", "community", "period", "note", "figures", "discussions", "more_discussions",
    "late", "waiting", "more_waiting", "days",
]  # fmt: skip
DISCUSSION_KEYS = [
    "title", "article_url", "thread_link", "counts", "gist", "gist_engine", "experiences", "quotes", "themes",
]  # fmt: skip


def _digest_json(db: Path, *extra: str) -> Any:
    result = threadcast("digest", "--json", "--db", str(db), *extra)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return json.loads(result.stdout)


def _texts(data: object) -> str:
    return json.dumps(data, ensure_ascii=False)


def test_digest_json_is_the_digest_as_data(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    ran = threadcast("console", "--db", str(db), stdin=WEEK_ONE)
    assert ran.returncode == 0, ran.stderr
    result = threadcast("digest", "--json", "--db", str(db))
    assert result.returncode == 0, result.stderr
    assert "Zürich" in result.stdout  # UTF-8 as is, not \u escapes
    data = json.loads(result.stdout)
    assert list(data) == TOP_KEYS
    period = data["period"]
    assert list(period) == ["start", "end", "timezone", "language"]
    start, end = datetime.fromisoformat(period["start"]), datetime.fromisoformat(period["end"])
    assert end - start == timedelta(days=7) and end.tzinfo is not None
    assert period["timezone"] == "UTC" and period["language"] == "en"
    figures = data["figures"]
    assert (
        figures["articles"] == 1 and figures["replies"] == 4
    )  # ana, ben, eve, fay (hidden: counted, not quoted); not zed, not the deleted
    assert figures["previous"] == {"articles": 0, "replies": 0, "participants": 0}

    (discussion,) = data["discussions"]
    assert list(discussion) == DISCUSSION_KEYS
    assert discussion["title"].startswith("Night trains return to the Alps")
    assert discussion["counts"] == {"replies": 4, "participants": 4, "reactions": 2}
    quotes = {q["text"]: q for q in discussion["quotes"]}
    assert list(discussion["quotes"][0]) == ["author", "text", "reactions", "featured"]
    zurich = next(q for text, q in quotes.items() if "Zürich" in text)
    assert zurich["author"] == "ana" and zurich["reactions"] == 2
    couchettes = [q for text, q in quotes.items() if "couchettes" in text]
    assert all(q["author"] == "a member" for q in couchettes)
    for theme in discussion["themes"]:
        assert list(theme) == ["phrase", "replies", "quote", "author"]

    everything = _texts(data)
    assert "My words should never" not in everything and "zed" not in everything  # opted out
    assert "mistake" not in everything  # deleted
    assert "vintage" not in everything and "luggage" not in everything  # hidden by a moderator
    authors = [q["author"] for d in data["discussions"] for q in d["quotes"]]
    authors += [t["author"] for d in data["discussions"] for t in d["themes"]]
    assert "eve" not in authors + list(figures["newcomer_names"])  # anonymous: never named
    assert "a member" in authors
    assert "@everyone" not in everything


def test_digest_json_of_an_empty_database(tmp_path: Path) -> None:
    data = _digest_json(empty_database(tmp_path / "empty.db"))
    assert data["discussions"] == [] and data["waiting"] == [] and data["late"] == []
    assert data["figures"]["replies"] == 0


def test_digest_at_gives_the_period_that_ends_then(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    ran = threadcast("console", "--db", str(db), stdin=WEEK_ONE + WEEK_TWO)
    assert ran.returncode == 0, ran.stderr
    now = recorded_now(db)
    assert now - datetime.now(UTC) > timedelta(days=7, hours=23)  # the console's time, recorded

    # Now (in the console's time): week two's reply only, week one's discussion as a late one.
    current = _texts(_digest_json(db))
    assert "first train sold out" in current and "waking up in the mountains" not in current

    # Ending a day after week one began, in UTC without a schedule: week one only.
    end = (now - timedelta(days=7)).replace(second=0, microsecond=0, tzinfo=None)
    last_week = _digest_json(db, "--at", f"{end:%Y-%m-%d %H:%M}")
    assert last_week["period"]["end"] == end.replace(tzinfo=UTC).isoformat()
    assert last_week["period"]["start"] == (end - timedelta(days=7)).replace(tzinfo=UTC).isoformat()
    text = _texts(last_week)
    assert "waking up in the mountains" in text and "first train sold out" not in text

    markdown = threadcast("digest", "--markdown", "--at", end.isoformat(), "--db", str(db))
    assert markdown.returncode == 0, markdown.stderr
    assert (
        markdown.stdout.startswith("# Community digest") and "waking up in the mountains" in markdown.stdout
    )


def test_digest_at_reads_time_in_the_schedules_timezone(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    schedule = "/digest schedule monday 09:00 Europe/Berlin #digest\n"
    ran = threadcast("console", "--db", str(db), stdin=schedule)
    assert ran.returncode == 0, ran.stderr
    day = (datetime.now(UTC) - timedelta(days=3)).date()
    data = _digest_json(db, "--at", day.isoformat())
    berlin = ZoneInfo("Europe/Berlin")
    end = datetime(day.year, day.month, day.day, tzinfo=berlin).astimezone(UTC)
    period = data["period"]
    assert period["end"] == end.isoformat()
    assert (
        period["start"] == previous_run(0, datetime(2000, 1, 1, 9).time(), "Europe/Berlin", end).isoformat()
    )
    assert period["timezone"] == "Europe/Berlin"


def test_a_bad_time_for_at_is_refused_clearly(tmp_path: Path) -> None:
    for bad in ("2026-13-01", "next monday", ""):
        result = threadcast("digest", "--json", "--at", bad, "--db", str(tmp_path / "c.db"))
        assert result.returncode == 2
        assert "--at" in result.stderr and "is not a date or time" in result.stderr
        assert "Traceback" not in result.stderr and result.stdout == ""


def test_after_the_demo_reading_commands_use_the_demos_time(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    demo = threadcast("demo", "--db", str(db), cwd=tmp_path)
    assert demo.returncode == 0, demo.stderr
    assert f"The demo is in {db}" in demo.stderr

    site = tmp_path / "site"
    archive = threadcast("archive", str(site), "--db", str(db), cwd=tmp_path)
    assert archive.returncode == 0, archive.stderr
    assert "(1 week, 1 discussion)" in archive.stdout
    assert any("Marrowby" in p.read_text(encoding="utf-8") for p in site.rglob("*.html"))

    # The demo's digest went out at its scheduled time, during `.advance 7d`: now (the demo's
    # time, a week ahead of the real one) a new week runs, and the demo's week is the one
    # before, ending where it starts. (The current figures' "previous" is a window as long as
    # the current one, so it holds the demo's replies only late in the week: not asserted.)
    current = _digest_json(db)
    posted_at = current["period"]["start"]
    assert datetime.fromisoformat(posted_at) > datetime.now(UTC)
    assert current["figures"]["replies"] == 0
    demo_week = _digest_json(db, "--at", posted_at)
    assert demo_week["period"]["end"] == posted_at
    assert demo_week["figures"]["replies"] == 4
    (discussion,) = demo_week["discussions"]
    assert discussion["title"].startswith("The town council of Marrowby")
    assert "Speaking as someone who lives next to such a garden" in _texts(discussion)
    assert "toasters" not in _texts(demo_week) and "First!" not in _texts(demo_week)

    again = threadcast("demo", "--db", str(db), cwd=tmp_path)
    assert again.returncode != 0 and "exists already" in again.stderr


def test_recorded_clock_without_a_readable_state_is_real_time(tmp_path: Path) -> None:
    before = datetime.now(UTC)
    assert recorded_clock(None).now() >= before
    assert recorded_clock(tmp_path / "missing.json").now() >= before
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    assert before <= recorded_clock(broken).now() <= datetime.now(UTC)
    ahead = tmp_path / "ahead.json"
    ahead.write_text(json.dumps({"time_offset": 86400.0}), encoding="utf-8")
    assert recorded_clock(ahead).now() - before >= timedelta(days=1)
