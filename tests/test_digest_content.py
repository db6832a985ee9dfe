"""What the digest chooses to say: highlights, themes, newcomers and the days of the chart."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from adapters.console.platform import COMMUNITY
from bot.digest import Digest, DigestBuilder, DiscussionSummary
from bot.language import language
from bot.markdown import render
from bot.models import MemberPrefs
from bot.themes import Voice, boilerplate, find_themes
from bot.wording import is_substantive, near_duplicate
from tests.conftest import Harness
from tests.digest_views import layout_of
from tests.test_digest_jobs import start_discussion

ENGLISH = language("en")


async def current_digest(h: Harness) -> Digest:
    h.clock.advance(timedelta(minutes=1))  # the period ends now, after what was written
    digest, _ = await h.services.digests.current(COMMUNITY)
    return digest


def only_discussion(digest: Digest) -> DiscussionSummary:
    assert len(digest.discussions) == 1
    return digest.discussions[0]


def test_low_value_replies_are_not_substantive() -> None:
    for text in ("+1", "this", "This!!", "same", "👍", "🔥🔥", "https://example.com/a?b=c", "so true lol",
                 "Totally agree with this", "I think this is right", "<@123> +1"):  # fmt: skip
        assert not is_substantive(text, ENGLISH), text
    for text in ("Night shifts wrecked my sleep", "Blackout curtains helped me a lot",
                 "My town closed its library in 2019, see https://example.com"):  # fmt: skip
        assert is_substantive(text, ENGLISH), text


def test_near_duplicates_are_found_by_words_not_by_punctuation() -> None:
    assert near_duplicate("Night shifts wrecked my sleep too.", "night shift wrecked my sleep, too!", ENGLISH)
    assert not near_duplicate(
        "Night shifts wrecked my sleep.", "Day shifts gave me my evenings back.", ENGLISH
    )


async def test_highlights_skip_low_value_and_near_duplicates_but_keep_featured(harness: Harness) -> None:
    h = harness
    thread = await start_discussion(h)
    plus_one = await h.reply(thread, "ana", "+1")
    emoji = await h.reply(thread, "ben", "👍")
    link = await h.reply(thread, "cy", "https://example.com/bridge")
    first = await h.reply(thread, "dee", "I cross the bridge every day on my bike, the new lane is wide.")
    echo = await h.reply(thread, "eli", "I cross the bridge every day on my bike; the new lane is wide!")
    other = await h.reply(thread, "fay", "The toll made my commute twice as expensive as before the works.")
    for member, message in (("u1", plus_one), ("u2", plus_one), ("u3", echo), ("u4", echo), ("u5", link)):
        assert await h.store.set_reaction(COMMUNITY, message, member, "👍", True)
    assert await h.store.set_reaction(COMMUNITY, emoji, "u1", "🔥", True)
    assert (await h.command(f"reply feature {emoji}")).ok

    quoted = [x.excerpt for x in only_discussion(await current_digest(h)).highlights]
    # Featured first even when it is an emoji; then the most reacted substantive
    # reply; its near-copy is never quoted beside it; "+1" and the bare link are
    # not quoted at all, however many reactions they have.
    assert quoted == [
        "👍",
        "I cross the bridge every day on my bike; the new lane is wide!",
        "The toll made my commute twice as expensive as before the works.",
    ]
    assert first and other  # first is the near-copy left out


async def test_themes_name_phrases_several_members_share(harness: Harness) -> None:
    h = harness
    thread = await start_discussion(h)
    said = {
        "ana": "I work the night shift and the bridge closure added an hour to my way home.",
        "ben": "Night shift here too. The detour through the industrial park is dark and unsafe.",
        "cy": "The night shifts at the hospital start at ten, buses never matched that.",
        "dee": "The detour through the industrial park doubled my commute.",
        "eli": "A ferry would have been cheaper than the detour through the industrial park.",
        "fay": "I liked the quiet while it was closed.",
    }
    for author, text in said.items():
        await h.reply(thread, author, text)
    hidden = await h.reply(thread, "gus", "Secret words: night shift detour industrial park.")
    assert (await h.command(f"reply hide {hidden}")).ok

    summary = only_discussion(await current_digest(h))
    themes = summary.themes
    # "detour" is left out: the same replies say "industrial park", one theme. "night shift"
    # is one too, but its three replies are all quoted as highlights already, and a digest
    # never quotes the same words twice: a theme without a fresh sentence is left out.
    assert [(t.phrase, t.replies, t.author) for t in themes] == [("industrial park", 3, "eli")]
    assert [h.author for h in summary.highlights] == ["ana", "ben", "cy"]
    # Each theme quotes the sentence that uses it, never the hidden reply.
    assert themes[0].excerpt == "A ferry would have been cheaper than the detour through the industrial park."
    assert all("Secret" not in t.excerpt for t in themes)
    # The gist names both, with how many members wrote about each.
    assert summary.gist.startswith("3 members wrote about “night shift”, 3 about “industrial park”.")


def test_no_themes_in_a_small_discussion_or_from_one_member() -> None:
    english = language("en")
    few = [Voice.of(english, a, "remote work is great for remote work") for a in "abcd"]
    assert find_themes(few, english) == []
    one_member = [Voice.of(english, "a", f"remote work story number {i}") for i in range(8)]
    assert find_themes(one_member, english) == []


async def test_newcomers_are_welcomed_by_name_unless_anonymous_or_opted_out(harness: Harness) -> None:
    h = harness
    thread = await start_discussion(h)
    await h.reply(thread, "ana", "I was here before this week, crossing daily.")
    h.clock.advance(timedelta(days=8))
    thread2 = await start_discussion_again(h)
    await h.reply(thread2, "ana", "Back again with more bridge stories.")
    await h.reply(thread2, "ben", "First time writing here, hello from the north bank.")
    await h.reply(thread2, "cy", "First time too, I only read until now.")
    await h.reply(thread2, "dee", "Also new, and I would rather not be named.")
    await h.reply(thread2, "eli", "New here, but I will opt out afterwards.")
    hidden = await h.reply(thread2, "fay", "New, and a moderator will hide this.")
    assert (await h.command(f"reply hide {hidden}")).ok
    await h.store.set_prefs(MemberPrefs("console", "dee", anonymous=True))
    await h.store.set_prefs(MemberPrefs("console", "eli", opted_out=True))

    figures = (await current_digest(h)).figures
    # ben, cy, dee, fay; not ana (seen before), not eli (opted out). Named: neither the
    # anonymous dee nor fay, whose only reply is hidden.
    assert figures.newcomers == 4
    assert figures.newcomer_names == ("ben", "cy")
    text = render(layout_of(await current_digest(h)))
    assert "Welcome to ben, cy and 2 more, who joined the conversation for the first time!" in text
    assert "dee" not in text and "eli" not in text and "fay" not in text


async def start_discussion_again(h: Harness) -> str:
    answer = await h.command('post "A second bridge opened downstream this spring. Tell us more." #news')
    assert answer.ok, answer.text
    discussions = await h.store.recent_discussions(COMMUNITY, h.clock.now() - timedelta(hours=1))
    thread = discussions[0].thread_id
    assert thread
    return thread


async def test_days_count_replies_and_members_per_local_day(harness: Harness) -> None:
    h = harness
    thread = await start_discussion(h)
    start = h.clock.now()  # Monday 2 Nov 2026, 12:00 UTC
    await h.reply(thread, "ana", "Morning words about the bridge.")
    await h.reply(thread, "ben", "Morning words from ben.")
    h.clock.advance(timedelta(hours=13))  # 01:00 UTC on the 3rd, still the 2nd in New York
    await h.reply(thread, "ana", "Night words, a day later.")
    await h.reply(thread, "ana", "More night words, same day.")
    h.clock.advance(timedelta(days=2))
    builder = DigestBuilder(h.store, {h.platform.name: h.platform})

    utc = await builder.build(COMMUNITY, start, h.clock.now(), timezone="UTC")
    assert [(d.day.isoformat(), d.replies, d.participants) for d in utc.days] == [
        ("2026-11-02", 2, 2), ("2026-11-03", 2, 1), ("2026-11-04", 0, 0), ("2026-11-05", 0, 0),
    ]  # fmt: skip
    new_york = await builder.build(COMMUNITY, start, h.clock.now(), timezone="America/New_York")
    assert [(d.day.isoformat(), d.replies, d.participants) for d in new_york.days] == [
        ("2026-11-02", 4, 2), ("2026-11-03", 0, 0), ("2026-11-04", 0, 0),
    ]  # fmt: skip


def test_a_turn_of_phrase_used_in_every_discussion_is_not_a_theme() -> None:
    topics = ("night shift", "bike lane", "rent cap", "school meals")
    endings = ("changed my year", "cost me sleep", "is all anyone discusses", "surprised everyone")
    others = ("Different story for me entirely.", "Nobody asked me about it.")
    english = language("en")

    def discussion(topic: str) -> list[Voice]:
        said = [f"The {topic} {end}." for end in endings] + list(others)
        # The turn of phrase closes replies 2 to 5: not the same replies as the topic's.
        return [
            Voice.of(english, f"{topic}-{n}", text + (" Just my two cents." if n >= 2 else ""))
            for n, text in enumerate(said)
        ]

    discussions = [discussion(topic) for topic in topics]
    common = boilerplate(discussions)
    assert ("cent",) in common  # "two" is a function word, so the phrase is "cents"
    for topic, voices in zip(topics, discussions, strict=True):
        phrases = [t.phrase for t in find_themes(voices, english, ignore=common)]
        assert phrases == [topic]
    # Alone, a discussion would call "cents" a theme: the filter is what leaves it out.
    assert "cents" in [t.phrase for t in find_themes(discussions[0], english)]


async def test_days_follow_local_midnight_across_a_dst_change_and_odd_offsets(harness: Harness) -> None:
    """Replies a minute either side of local midnight, in a week with Berlin's autumn change
    (25 October 2026) and in Kolkata (UTC+5:30), counted by the store: each lands on its own
    local day, in every zone's chart of the same replies."""
    h = harness
    start, end = datetime(2026, 10, 19, tzinfo=UTC), datetime(2026, 10, 26, tzinfo=UTC)
    zones = ("Europe/Berlin", "Asia/Kolkata", "America/St_Johns")
    midnights = [
        datetime.combine(date(2026, 10, day), time(), ZoneInfo(z)) for z in zones for day in (21, 25, 26)
    ]
    moments = sorted((m + timedelta(minutes=offset)).astimezone(UTC) for m in midnights for offset in (-1, 0))
    inside = [m for m in moments if start <= m < end]
    h.clock.current = start
    thread = await start_discussion(h)
    for n, moment in enumerate(inside):
        h.clock.current = moment
        await h.reply(thread, f"u{n}", f"Words written at {moment.isoformat()}.")
    builder = DigestBuilder(h.store, {h.platform.name: h.platform})
    for zone in zones:
        local = ZoneInfo(zone)
        days = (await builder.build(COMMUNITY, start, end, timezone=zone)).days
        expected: dict[date, int] = {}
        for m in inside:
            expected[m.astimezone(local).date()] = expected.get(m.astimezone(local).date(), 0) + 1
        assert {d.day: d.replies for d in days if d.replies} == expected, zone
        assert {d.day: d.participants for d in days if d.replies} == expected, zone  # one reply each
        assert (
            days[0].day == start.astimezone(local).date()
            and days[-1].day == (end - timedelta(seconds=1)).astimezone(local).date()
        )
