"""One layout for every rendering: the compact style fits one Discord message and one Slack
message whatever the week held; the full style keeps the detail and splits within limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.discord import render as discord_render
from adapters.slack import render as slack_render
from bot import markdown
from bot.digest import Digest, DiscussionSummary, Figures, Highlight, Theme, WaitingArticle
from bot.gist import MAX_GIST_CHARS
from bot.layout import MAX_SQUEEZE, Discussion, Style
from bot.models import Community, PeriodCounts
from tests.digest_views import post_of

END = datetime(2026, 11, 9, 9, tzinfo=UTC)

words = st.lists(
    st.one_of(
        st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40),
        st.sampled_from(["@everyone", "<@123>", "<!channel>", "**bold**", "x" * 300, "word"]),
    ),
    max_size=60,
).map(" ".join)
highlights = st.builds(
    Highlight,
    author=words.map(lambda w: w[:80]),
    excerpt=words.map(lambda w: w[:280]),
    reactions=st.integers(0, 99),
    featured=st.booleans(),
)
themes = st.builds(
    Theme,
    phrase=words.map(lambda w: w[:60]),
    replies=st.integers(2, 99),
    excerpt=words,
    author=st.just("ana"),
)
summaries = st.builds(
    DiscussionSummary,
    title=words.map(lambda w: w[:256]),
    article_url=st.sampled_from(
        [None, "https://example.org/a?q=<@1>&x=(y)", "https://example.org/" + "p" * 400]
    ),
    thread_link=st.sampled_from([None, "https://discord.com/channels/1/2/3"]),
    replies=st.integers(1, 5000),
    participants=st.integers(1, 999),
    reactions=st.integers(0, 9999),
    highlights=st.lists(highlights, max_size=3).map(tuple),
    themes=st.lists(themes, max_size=3).map(tuple),
    gist=words.map(lambda w: w[:MAX_GIST_CHARS]),
)


def digest_of(
    discussions: list[DiscussionSummary],
    late: list[DiscussionSummary],
    waiting: int,
    names: list[str],
) -> Digest:
    return Digest(
        community=Community("discord", "1"),
        period_start=END - timedelta(days=7),
        period_end=END,
        timezone="Europe/Berlin",
        figures=Figures(40, 4000, 900, 300, PeriodCounts(10, 1000, 500), tuple(names)),
        discussions=tuple(discussions),
        more_discussions=17,
        late=tuple(late),
        waiting=tuple(
            WaitingArticle("Waiting " + "w" * 200, "https://example.org/w", None) for _ in range(waiting)
        ),
        more_waiting=3,
        note="Posted late: the bot was offline at the scheduled time.",
    )


def discord_messages(digest: Digest, style: Style) -> list[discord_render.MessagePart]:
    post = post_of(digest, style)
    layout = post.fitted(lambda layout: len(discord_render.pack(discord_render.digest_embeds(layout))) == 1)
    return discord_render.pack(discord_render.digest_embeds(layout))


def assert_discord_limits(parts: list[discord_render.MessagePart]) -> None:
    for part in parts:
        assert 1 <= len(part.embeds) <= discord_render.EMBEDS_PER_MESSAGE
        assert part.size <= discord_render.MESSAGE_EMBED_CHARS
        for embed in part.embeds:
            assert len(embed.title or "") <= discord_render.TITLE_LIMIT
            assert len(embed.description or "") <= discord_render.DESCRIPTION_LIMIT


def assert_slack_limits(messages: list[list[slack_render.Block]]) -> None:
    for blocks in messages:
        assert 1 <= len(blocks) <= slack_render.BLOCKS_PER_MESSAGE
        for block in blocks:
            text = block.get("text", {}).get("text", "")
            limit = slack_render.HEADER_LIMIT if block["type"] == "header" else slack_render.SECTION_LIMIT
            assert len(text) <= limit


@settings(max_examples=40, deadline=None)
@given(
    discussions=st.lists(summaries, min_size=0, max_size=10),
    late=st.lists(summaries, max_size=5),
    waiting=st.integers(0, 10),
    names=st.lists(words.map(lambda w: w[:80]), max_size=10),
)
def test_a_compact_digest_is_one_message_on_each_platform(
    discussions: list[DiscussionSummary], late: list[DiscussionSummary], waiting: int, names: list[str]
) -> None:
    digest = digest_of(discussions, late, waiting, names)
    parts = discord_messages(digest, Style.COMPACT)
    assert len(parts) == 1
    assert_discord_limits(parts)
    slack = slack_render.digest_messages(post_of(digest, Style.COMPACT))
    assert len(slack) == 1
    assert_slack_limits(slack)
    full_parts = discord_messages(digest, Style.FULL)
    assert_discord_limits(full_parts)
    assert_slack_limits(slack_render.digest_messages(post_of(digest, Style.FULL)))


def summary(n: int) -> DiscussionSummary:
    return DiscussionSummary(
        title=f"Article {n}",
        article_url=f"https://example.org/{n}",
        thread_link=f"https://discord.com/channels/1/2/{n}",
        replies=100 - n,
        participants=40,
        reactions=10,
        highlights=tuple(Highlight(f"m{i}", f"Quote {i} of {n} " + "said " * 50, 3, False) for i in range(3)),
        themes=(Theme("repair café", 12, "We fixed toasters at the repair café.", "ana"),),
        gist=f"Gist {n}: " + "members said " * 25,
    )


def test_compact_shows_five_discussions_with_their_gist_and_two_quotes_and_full_keeps_the_detail() -> None:
    digest = digest_of([summary(n) for n in range(1, 11)], [], 0, ["Ana"])
    compact = [b for b in post_of(digest, Style.COMPACT).layout().blocks if isinstance(b, Discussion)]
    assert [b.rank for b in compact] == [1, 2, 3, 4, 5]
    assert all(b.gist.startswith(f"Gist {b.rank}") and len(b.quotes) == 2 and not b.themes for b in compact)
    full = [b for b in post_of(digest, Style.FULL).layout().blocks if isinstance(b, Discussion)]
    assert len(full) == 10 and all(len(b.quotes) == 3 and b.themes for b in full)
    text = markdown.render(post_of(digest, Style.COMPACT).layout())
    assert "…and 22 more discussions." in text  # 5 not shown of the 10, and 17 beyond
    assert "Gist 1" in text and "Gist 6" not in text


def test_each_squeeze_gives_up_detail_and_the_last_still_names_the_top_discussion() -> None:
    digest = digest_of([summary(n) for n in range(1, 11)], [summary(20)], 5, ["Ana", "Ben"])
    post = post_of(digest, Style.COMPACT)
    sizes = [len(markdown.render(post.layout(squeeze))) for squeeze in range(MAX_SQUEEZE + 1)]
    assert sizes == sorted(sizes, reverse=True) and sizes[-1] < sizes[0] / 2
    last = markdown.render(post.layout(MAX_SQUEEZE))
    assert "Article 1" in last and "Gist 1" in last and "Article 2" not in last


def test_the_archive_link_closes_a_compact_digest_when_one_is_configured() -> None:
    digest = digest_of([summary(1)], [], 0, [])
    post = post_of(digest, Style.COMPACT)
    linked = type(post)(post.digest, post.words, post.style, "https://archive.example.org/")
    assert "(https://archive.example.org/)" in markdown.render(linked.layout())
    assert "archive.example.org" not in markdown.render(post.layout())
    [part] = discord_messages(digest, Style.COMPACT)
    embed_text = "\n".join(e.description or "" for e in part.embeds)
    assert "archive.example.org" not in embed_text
