"""The member commands of DESIGN's Privacy section, through `App.dispatch`, with their effect on digests.

optout, optin, anonymous, named, forget-me and my-data are for every member
(no moderator rights needed) and answer privately.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from adapters.console.platform import COMMUNITY
from bot.digest import Digest
from bot.events import ReactionChanged, ReplyEdited, ReplyPosted
from bot.markdown import render as render_markdown
from bot.models import MemberPrefs
from tests.conftest import Harness

BRIDGE = "The old stone bridge reopened after ten years of repairs. What do you remember of it?"
BAKERY = "The village bakery won the regional bread prize for the third year running."

PRIVACY_COMMANDS = ("optout", "optin", "anonymous", "named", "forget-me", "my-data")


async def start_discussion(h: Harness, text: str) -> str:
    before = {m.id for m in h.platform.state.messages.values() if m.opens_thread}
    answer = await h.command(f'post "{text}"')
    assert answer.ok, answer.text
    [thread] = [m.id for m in h.platform.state.messages.values() if m.opens_thread and m.id not in before]
    return thread


async def reply(h: Harness, thread: str, user: str, name: str, text: str) -> str:
    """A member writes in a thread (their id and display name differ, as on Discord and Slack)."""
    message = h.platform.add_message("general", user, text, thread)
    await h.app.dispatch(ReplyPosted(COMMUNITY, thread, message.id, user, name, text, h.clock.now()))
    await h.app.flush()  # written with its batch; the tests read the store right after
    return message.id


async def react(h: Harness, message: str, user: str, emoji: str = "👍") -> None:
    await h.app.dispatch(ReactionChanged(COMMUNITY, message, user, emoji, True))


async def preview(h: Harness) -> tuple[Digest, str]:
    h.clock.advance(timedelta(minutes=1))  # the digest period ends now: let the last reply fall inside it
    answer = await h.command("digest preview")
    assert answer.ok and answer.digest is not None, answer.text
    return answer.digest.digest, render_markdown(answer.digest.layout())


async def discussion_count(h: Harness, thread: str) -> int:
    discussion = await h.store.discussion_for_thread(COMMUNITY, thread)
    assert discussion is not None
    return discussion.anonymous_replies


def table(db: Path, name: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return sorted(conn.execute(f"SELECT * FROM {name}").fetchall(), key=repr)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "test.db"
    assert path.exists()
    return path


# -- optout / optin ---------------------------------------------------------------------------------


async def test_optout_stops_storing_replies_and_removes_earlier_ones_from_digests(harness: Harness) -> None:
    h = harness
    thread = await start_discussion(h, BRIDGE)
    before_optout = await reply(
        h, thread, "u-ana", "Ana Lindqvist", "I walked across it every day to school."
    )
    await reply(h, thread, "u-ben", "Ben Okafor", "My grandfather helped build the railing.")
    assert (await h.command(f"reply feature {before_optout}")).ok
    _, markdown = await preview(h)
    assert "every day to school" in markdown and "Ana Lindqvist" in markdown

    messages = len(h.platform.state.messages)
    answer = await h.command("privacy optout", user="u-ana")

    assert answer.ok and answer.private
    assert "opted out" in answer.text and "privacy optin" in answer.text
    assert await h.store.get_prefs("console", "u-ana") == MemberPrefs("console", "u-ana", opted_out=True)
    assert len(h.platform.state.messages) == messages

    # Later replies are not stored; only counted, anonymously.
    after_optout = await reply(h, thread, "u-ana", "Ana Lindqvist", "The new lamps are far too bright.")
    assert await h.store.get_reply(COMMUNITY, after_optout) is None
    assert await discussion_count(h, thread) == 1
    assert [r.text for r, _ in await h.store.member_replies("console", "u-ana")] == [
        "I walked across it every day to school."
    ]

    # Earlier ones leave the digest, featured or not, with their author's name and from the figures.
    digest, markdown = await preview(h)
    assert "every day to school" not in markdown and "lamps" not in markdown
    assert "Ana Lindqvist" not in markdown
    assert "My grandfather helped build the railing." in markdown
    assert (digest.figures.replies, digest.figures.participants) == (1, 1)
    assert [s.replies for s in digest.discussions] == [1]
    assert (await h.command("digest now")).ok
    posted = [m.text for m in h.platform.state.messages.values() if m.text.startswith("# Community digest")]
    assert posted == [markdown]
    printed_digest = h.out.getvalue().split("· digest\n", 1)[1]
    assert "every day to school" not in printed_digest and "railing" in printed_digest

    # Stats leave the member out as well.
    stats = await h.command("stats")
    assert "1 article, 1 reply, 1 participant" in stats.text


async def test_optin_keeps_replies_again(harness: Harness) -> None:
    h = harness
    thread = await start_discussion(h, BRIDGE)
    assert (await h.command("privacy optout", user="u-ana")).ok
    answer = await h.command("privacy optin", user="u-ana")
    assert answer.ok and answer.private and "opted in" in answer.text
    assert await h.store.get_prefs("console", "u-ana") == MemberPrefs("console", "u-ana", opted_out=False)

    message = await reply(h, thread, "u-ana", "Ana Lindqvist", "I walked across it every day to school.")
    stored = await h.store.get_reply(COMMUNITY, message)
    assert stored is not None and stored.author_name == "Ana Lindqvist"
    assert await discussion_count(h, thread) == 0
    _, markdown = await preview(h)
    assert "every day to school" in markdown


# -- anonymous / named -------------------------------------------------------------------------------


async def test_anonymous_members_are_quoted_as_a_member_and_named_undoes_it(harness: Harness) -> None:
    h = harness
    thread = await start_discussion(h, BRIDGE)
    await reply(h, thread, "u-ana", "Ana Lindqvist", "I walked across it every day to school.")
    await reply(h, thread, "u-ben", "Ben Okafor", "My grandfather helped build the railing.")

    answer = await h.command("privacy anonymous", user="u-ana")
    assert answer.ok and answer.private and "a member" in answer.text
    assert await h.store.get_prefs("console", "u-ana") == MemberPrefs("console", "u-ana", anonymous=True)

    digest, markdown = await preview(h)
    assert "> I walked across it every day to school. — *a member*" in markdown
    assert "Ana" not in markdown and "Lindqvist" not in markdown
    assert "> My grandfather helped build the railing. — *Ben Okafor*" in markdown
    # Still counted: anonymous is about the name, not the words.
    assert digest.figures.participants == 2

    answer = await h.command("privacy named", user="u-ana")
    assert answer.ok and answer.private and "display name" in answer.text
    assert await h.store.get_prefs("console", "u-ana") == MemberPrefs("console", "u-ana", anonymous=False)
    _, markdown = await preview(h)
    assert "> I walked across it every day to school. — *Ana Lindqvist*" in markdown


async def test_anonymous_and_optout_are_independent(harness: Harness) -> None:
    h = harness
    assert (await h.command("privacy anonymous", user="u-ana")).ok
    assert (await h.command("privacy optout", user="u-ana")).ok
    assert await h.store.get_prefs("console", "u-ana") == MemberPrefs(
        "console", "u-ana", opted_out=True, anonymous=True
    )
    assert (await h.command("privacy named", user="u-ana")).ok
    assert await h.store.get_prefs("console", "u-ana") == MemberPrefs("console", "u-ana", opted_out=True)


# -- forget-me ---------------------------------------------------------------------------------------


async def test_forget_me_deletes_replies_and_reactions_and_says_how_many(harness: Harness, db: Path) -> None:
    h = harness
    bridge = await start_discussion(h, BRIDGE)
    bakery = await start_discussion(h, BAKERY)
    ana_1 = await reply(h, bridge, "u-ana", "Ana Lindqvist", "I walked across it every day to school.")
    ana_2 = await reply(h, bakery, "u-ana", "Ana Lindqvist", "Their rye bread is the best.")
    ben = await reply(h, bridge, "u-ben", "Ben Okafor", "My grandfather helped build the railing.")
    await react(h, ben, "u-ana")  # Ana's own reaction
    await react(h, ana_1, "u-ben")  # others' reactions to Ana's reply
    await react(h, ana_1, "u-cy", "❤️")
    assert (await h.command("privacy anonymous", user="u-ana")).ok
    reacted = await h.store.get_reply(COMMUNITY, ben)
    assert reacted is not None and reacted.reactions == 1

    answer = await h.command("privacy forget-me", user="u-ana")

    assert answer.ok and answer.private
    assert answer.text == "Deleted 2 stored replies, 1 reaction and your preferences."
    assert await h.store.member_replies("console", "u-ana") == []
    for message in (ana_1, ana_2):
        assert await h.store.get_reply(COMMUNITY, message) is None
    kept = await h.store.get_reply(COMMUNITY, ben)
    assert (
        kept is not None and kept.text == "My grandfather helped build the railing." and kept.reactions == 0
    )
    # No row anywhere still names the member.
    assert all("u-ana" not in row for row in table(db, "reactions"))
    assert all("u-ana" not in row for row in table(db, "replies"))
    assert table(db, "member_prefs") == []
    assert await h.store.get_prefs("console", "u-ana") == MemberPrefs("console", "u-ana")
    _, markdown = await preview(h)
    assert "school" not in markdown and "rye" not in markdown and "railing" in markdown

    # Asking again finds nothing left.
    again = await h.command("privacy forget-me", user="u-ana")
    assert again.ok and again.text.startswith("Deleted 0 stored replies, 0 reactions")


async def test_forget_me_keeps_the_optout(harness: Harness) -> None:
    h = harness
    thread = await start_discussion(h, BRIDGE)
    await reply(h, thread, "u-ana", "Ana Lindqvist", "I walked across it every day to school.")
    assert (await h.command("privacy optout", user="u-ana")).ok

    answer = await h.command("privacy forget-me", user="u-ana")

    assert answer.ok
    assert "Deleted 1 stored reply" in answer.text and "Your opt-out stays" in answer.text
    assert await h.store.get_prefs("console", "u-ana") == MemberPrefs("console", "u-ana", opted_out=True)
    later = await reply(h, thread, "u-ana", "Ana Lindqvist", "The new lamps are far too bright.")
    assert await h.store.get_reply(COMMUNITY, later) is None


async def test_forget_me_leaves_other_members_alone(harness: Harness) -> None:
    h = harness
    thread = await start_discussion(h, BRIDGE)
    await reply(h, thread, "u-ben", "Ben Okafor", "My grandfather helped build the railing.")
    assert (await h.command("privacy anonymous", user="u-ben")).ok
    answer = await h.command("privacy forget-me", user="u-ana")
    assert answer.ok and answer.text.startswith("Deleted 0 stored replies, 0 reactions")
    assert len(await h.store.member_replies("console", "u-ben")) == 1
    assert (await h.store.get_prefs("console", "u-ben")).anonymous


# -- my-data -------------------------------------------------------------------------------------------


async def test_my_data_returns_the_members_replies_as_a_json_attachment(harness: Harness) -> None:
    h = harness
    bridge = await start_discussion(h, BRIDGE)
    bakery = await start_discussion(h, BAKERY)
    first = await reply(h, bridge, "u-ana", "Ana Lindqvist", "I walked across it every day to school.")
    h.clock.advance(timedelta(minutes=3))
    second = await reply(h, bakery, "u-ana", "Ana Lindqvist", "Their rye bread is teh best.")
    await reply(h, bridge, "u-ben", "Ben Okafor", "My grandfather helped build the railing.")
    await react(h, first, "u-ben")
    h.clock.advance(timedelta(minutes=1))
    await h.app.dispatch(
        ReplyEdited(COMMUNITY, bakery, second, "Their rye bread is the best.", h.clock.now())
    )
    assert (await h.command(f"reply feature {first}")).ok
    assert (await h.command("privacy anonymous", user="u-ana")).ok
    printed = h.out.getvalue()

    answer = await h.command("privacy my-data", user="u-ana")

    assert answer.ok and answer.private
    assert answer.text == "threadcast keeps 2 replies of yours; see the attached file."
    assert answer.attachment is not None
    assert answer.attachment.filename == "threadcast-my-data.json"
    assert h.out.getvalue() == printed, "my-data must not be posted in a channel"
    data = json.loads(answer.attachment.content.decode("utf-8"))
    assert data["platform"] == "console" and data["user_id"] == "u-ana"
    assert data["preferences"] == {"opted_out": False, "anonymous": True}
    replies = data["replies"]
    assert [r["message_id"] for r in replies] == [first, second]
    assert [r["text"] for r in replies] == [
        "I walked across it every day to school.",
        "Their rye bread is the best.",  # the edit replaced the old text
    ]
    assert "teh" not in answer.attachment.content.decode("utf-8")
    assert replies[0]["reactions"] == 1 and replies[0]["featured"] is True and replies[0]["hidden"] is False
    assert replies[0]["edited"] is None and replies[1]["edited"] is not None
    assert replies[0]["article"].startswith("The old stone bridge")
    assert all("railing" not in r["text"] for r in replies)


async def test_my_data_with_nothing_stored(harness: Harness) -> None:
    answer = await harness.command("privacy my-data", user="u-new")
    assert answer.ok and answer.attachment is not None
    assert answer.text.startswith("threadcast keeps 0 replies of yours")
    data = json.loads(answer.attachment.content)
    assert data["replies"] == [] and data["preferences"] == {"opted_out": False, "anonymous": False}


# -- every privacy command: for members, private, posts nothing ------------------------------------


@pytest.mark.parametrize("word", PRIVACY_COMMANDS)
async def test_privacy_commands_need_no_rights_answer_privately_and_post_nothing(
    harness: Harness, word: str
) -> None:
    h = harness
    printed, messages = h.out.getvalue(), len(h.platform.state.messages)
    answer = await h.command(f"privacy {word}", user="u-ana", moderator=False)
    assert answer.ok, answer.text
    assert answer.private
    assert h.out.getvalue() == printed and len(h.platform.state.messages) == messages
    # A moderator's choices are their own, too.
    assert (await h.command(f"privacy {word}")).ok


async def test_one_members_choice_does_not_touch_another(harness: Harness) -> None:
    h = harness
    assert (await h.command("privacy optout", user="u-ana")).ok
    assert (await h.command("privacy anonymous", user="u-ben")).ok
    assert await h.store.get_prefs("console", "u-ana") == MemberPrefs("console", "u-ana", opted_out=True)
    assert await h.store.get_prefs("console", "u-ben") == MemberPrefs("console", "u-ben", anonymous=True)
    assert await h.store.get_prefs("console", "mod") == MemberPrefs("console", "mod")


async def test_after_optout_an_edit_of_an_earlier_reply_does_not_store_the_new_words(
    harness: Harness,
) -> None:
    """DESIGN: from the opt-out on, the member's replies are not stored. Words written after
    opting out, even as an edit of an older reply, must not be kept."""
    h = harness
    thread = await start_discussion(h, BRIDGE)
    earlier = await reply(h, thread, "u-ana", "Ana Lindqvist", "I walked across it every day to school.")
    assert (await h.command("privacy optout", user="u-ana")).ok
    h.clock.advance(timedelta(minutes=1))
    await h.app.dispatch(
        ReplyEdited(COMMUNITY, thread, earlier, "My phone number is 555-0199, call me.", h.clock.now())
    )
    kept = [r.text for r, _ in await h.store.member_replies("console", "u-ana")]
    assert all("555-0199" not in text for text in kept), kept


async def test_data_commands_are_rate_limited_per_member(harness: Harness) -> None:
    h = harness
    for _ in range(3):
        assert (await h.command("privacy my-data", user="ana")).ok
    refused = await h.command("privacy my-data", user="ana")
    assert not refused.ok and refused.private
    assert refused.text == "`privacy my-data` can be used 3 times in 10 minutes; try again in 10 minutes."
    assert refused.attachment is None  # the command did not run
    # Another member is not held back by ana, and ana may forget-me (its own window)...
    assert (await h.command("privacy my-data", user="ben")).ok
    assert (await h.command("privacy forget-me", user="ana")).ok
    # ...and after the window ana may ask again.
    h.clock.advance(timedelta(minutes=4))
    assert "try again in 6 minutes" in (await h.command("privacy my-data", user="ana")).text
    h.clock.advance(timedelta(minutes=6))
    assert (await h.command("privacy my-data", user="ana")).ok


async def test_moderators_views_over_everyones_data_are_rate_limited_too(harness: Harness) -> None:
    h = harness
    for _ in range(10):
        assert (await h.command("stats")).text.startswith("No articles")
    refused = await h.command("stats")
    assert not refused.ok and "`stats` can be used 10 times in 10 minutes" in refused.text
    assert (await h.command("digest preview")).ok  # each command has its own window
