"""A small community history for the archive tests, written through the core
(commands, replies, edits, deletes, reactions, privacy choices) into a real
SQLite file, plus a few records written to the store directly where no command
can make them (an article whose URL is `javascript:`).

Weeks (digest schedule Friday 18:00 Europe/Paris, so periods start Fri 17:00 UTC):
  A  Fri 30 Oct – Fri 6 Nov: article 1 with replies Mon 2, Tue 3, Wed 4; article 2 (javascript: URL,
     one reply) and article 3 (no replies: waiting);
  B  Fri 6 – Fri 13 Nov: article 4 with replies, a late reply on article 1;
  C  Fri 13 – Fri 20 Nov: nothing (a quiet week);
  D  Fri 20 Nov – now (Wed 25 Nov 12:00 UTC): article 5 with one reply, still open.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from adapters.console.platform import COMMUNITY, ConsolePlatform
from bot.archive import write_archive
from bot.config import Settings
from bot.digest import DigestBuilder
from bot.events import ReactionChanged, ReplyDeleted, ReplyEdited
from bot.models import ArticleDraft
from bot.platform import ChatPlatform
from bot.services import build_core
from bot.sources.http import AiohttpFetcher
from storage.store import SQLiteStore
from tests.conftest import FakeClock, Harness

START = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)  # Monday, in week A
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # Wednesday, in week D
TIMEZONE = "Europe/Paris"

HOSTILE_TITLE = "Night trains <script>alert(1)</script> return to the Alps after a decade"
HOSTILE_REPLY = 'I took the night train in 2012 "><img src=x onerror=alert(1)> @everyone loved it'
JS_URL = "javascript:alert(document.cookie)"
JS_TITLE = "Click here for the <b>full</b> story"

# Words and names that must never reach a page.
NEVER_SHOWN = (
    "ZED-OPTED-OUT",  # an opted-out member's reply
    "zed_optout",  # and their name
    "HIDDEN-REPLY",  # hidden by a moderator
    "DELETED-REPLY",  # deleted by its author
    "OLD-EDIT-TEXT",  # what a reply said before its edit
    "eve_anonymous",  # an anonymous member's name
)
ANONYMOUS_WORDS = "the couchettes are cramped but cheap"

# Replies per local (Paris) day of week A, as daily_counts counts them: every stored
# reply of a member who has not opted out, hidden ones included (they are only not quoted).
WEEK_A_DAYS = ("2026-10-30", "2026-10-31", "2026-11-01", "2026-11-02", "2026-11-03", "2026-11-04",
               "2026-11-05", "2026-11-06")  # fmt: skip
WEEK_A_REPLIES = (0, 0, 0, 2, 5, 2, 0, 0)


@dataclass(frozen=True, slots=True)
class History:
    db: Path
    now: datetime


async def _thread(h: Harness, text: str) -> str:
    answer = await h.command(f'post "{text}" #news')
    assert answer.ok, answer.text
    found = await h.store.recent_discussions(COMMUNITY, h.clock.now() - timedelta(minutes=1))
    thread = found[0].thread_id
    assert thread
    return thread


async def write_history(db: Path) -> History:
    store = SQLiteStore(db)
    await store.open()
    clock = FakeClock(START)
    platform = ConsolePlatform(io.StringIO())
    platforms: dict[str, ChatPlatform] = {platform.name: platform}
    fetcher = AiohttpFetcher(allow_private=True, timeout=5)
    app, services = build_core(Settings(), store, clock, fetcher, platforms)
    h = Harness(app, services, store, platform, clock, io.StringIO())
    try:
        answer = await h.command(f"digest schedule friday 18:00 {TIMEZONE} #digest")
        assert answer.ok, answer.text

        # Week A, Monday: article 1, two replies.
        first = await _thread(h, f"{HOSTILE_TITLE}. Tickets go on sale on Monday for the winter season.")
        loved = await h.reply(first, "ana", HOSTILE_REPLY)
        await h.reply(first, "ben", "+1")
        # Tuesday: five replies that stay stored (one hidden) and two that leave.
        clock.advance(timedelta(days=1))
        await h.reply(
            first, "cat", "The sleeper cars were cold, but waking up to the mountains was worth it."
        )
        await h.reply(first, "zed_optout", "ZED-OPTED-OUT my words about the trains")
        await h.reply(first, "eve_anonymous", f"Honestly {ANONYMOUS_WORDS}, and I sleep fine.")
        hidden = await h.reply(first, "dan", "HIDDEN-REPLY buy cheap tickets at my site")
        deleted = await h.reply(first, "fay", "DELETED-REPLY oops wrong thread")
        edited = await h.reply(first, "gus", "OLD-EDIT-TEXT the timetable is awful")
        await h.reply(first, "hal", "The new timetable finally connects with the morning ferry.")
        await app.dispatch(ReplyDeleted(COMMUNITY, deleted, first))
        await app.dispatch(
            ReplyEdited(COMMUNITY, first, edited, "Edited: the timetable got better this year.", clock.now())
        )
        assert (await h.command(f"reply hide {hidden}")).ok
        assert (await h.command(f"reply feature {loved}")).ok
        await app.dispatch(ReactionChanged(COMMUNITY, loved, "cat", "👍", True))
        assert (await h.command("privacy optout", user="zed_optout")).ok
        assert (await h.command("privacy anonymous", user="eve_anonymous")).ok
        # Wednesday: one more.
        clock.advance(timedelta(days=1))
        await h.reply(first, "ana", "Booked mine for December, the couchette is sold out already.")

        # Articles no command could post: a javascript: URL (one reply) and one nobody answers.
        hostile = await store.save_article(
            "hostile-url",
            ArticleDraft(JS_TITLE, JS_URL, "A summary of the story.", "untrusted feed"),
            clock.now(),
        )
        waiting = await store.save_article(
            "waiting",
            ArticleDraft(
                "Ferries add a night crossing", "https://news.example.org/ferries", "Summary.", "feed"
            ),
            clock.now(),
        )
        for n, article in enumerate((hostile, waiting), start=1):
            pending = await store.begin_discussion(
                article.id,
                COMMUNITY,
                "news",
                prompt="What do you think of {title}?",
                feed_id=None,
                now=clock.now(),
            )
            assert pending is not None
            await store.confirm_discussion(pending.id, f"x{n}", f"x{n}", clock.now())
        await h.reply("x1", "ben", "Do not click that link, it is not an article.")

        # Week B: article 4, and a late reply on article 1.
        clock.current = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)
        bikes = await _thread(
            h, "The city opens twelve new protected bike lanes before winter. Cyclists cheer."
        )
        await h.reply(bikes, "ana", "My commute is ten minutes shorter and a lot less scary.")
        await h.reply(bikes, "ivy", "Drivers near the bridge still park in the lane every morning.")
        await h.reply(first, "cat", "Still thinking about those night trains: I booked one for March.")

        # Week C is quiet. Week D: article 5 with one reply, and the week still running.
        clock.current = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
        library = await _thread(
            h, "The old library reopens as a repair café on Saturdays. Bring your toaster."
        )
        await h.reply(library, "jon", "I fixed my lamp there last weekend, lovely volunteers.")
    finally:
        await app.shutdown()
        await fetcher.close()
        await store.close()
    return History(db, NOW)


async def write_site(history: History, directory: Path) -> None:
    """The archive of the history, with the console's thread links as a platform would give them."""
    store = SQLiteStore(history.db)
    await store.open()
    try:
        console = ConsolePlatform(io.StringIO())
        platforms: dict[str, ChatPlatform] = {console.name: console}
        await write_archive(store, DigestBuilder(store, platforms), platforms, directory, history.now)
    finally:
        await store.close()
