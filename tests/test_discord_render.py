"""Discord rendering stays within every limit, whatever the digest holds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.discord.render import (
    DESCRIPTION_LIMIT,
    EMBEDS_PER_MESSAGE,
    MESSAGE_EMBED_CHARS,
    TITLE_LIMIT,
    digest_embeds,
    pack,
    split_content,
    thread_name,
)
from bot.digest import Digest, DiscussionSummary, Figures, Highlight, WaitingArticle
from bot.models import Community, PeriodCounts
from tests.digest_views import layout_of

words = st.lists(
    st.one_of(
        st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=80),
        st.sampled_from(["@everyone", "@here", "<@123>", "<@&9>", "**bold**", "x" * 300]),
    ),
    max_size=12,
).map(" ".join)
highlights = st.builds(
    Highlight, author=words, excerpt=words, reactions=st.integers(0, 99), featured=st.booleans()
)
summaries = st.builds(
    DiscussionSummary,
    title=words,
    article_url=st.just("https://example.org/a"),
    thread_link=st.just("https://discord.com/channels/1/2"),
    replies=st.integers(0, 500),
    participants=st.integers(0, 99),
    reactions=st.integers(0, 999),
    highlights=st.lists(highlights, max_size=3).map(tuple),
)
END = datetime(2026, 11, 9, 9, tzinfo=UTC)


@settings(max_examples=60, deadline=None)
@given(
    discussions=st.lists(summaries, max_size=10),
    late=st.lists(summaries, max_size=5),
    waiting=st.lists(
        st.builds(WaitingArticle, title=words, article_url=st.none(), thread_link=st.none()), max_size=10
    ),
    note=st.none() | words,
)
def test_every_digest_fits_discords_limits(
    discussions: list[DiscussionSummary],
    late: list[DiscussionSummary],
    waiting: list[WaitingArticle],
    note: str | None,
) -> None:
    digest = Digest(
        community=Community("discord", "1"),
        period_start=END - timedelta(days=7),
        period_end=END,
        timezone="Europe/Berlin",
        figures=Figures(3, 40, 12, 2, PeriodCounts(1, 10, 5)),
        discussions=tuple(discussions),
        late=tuple(late),
        waiting=tuple(waiting),
        note=note,
    )
    embeds = digest_embeds(layout_of(digest))
    parts = pack(embeds)
    assert sum(len(p.embeds) for p in parts) == len(embeds)  # nothing dropped
    for part in parts:
        assert len(part.embeds) <= EMBEDS_PER_MESSAGE
        assert sum(len(e) for e in part.embeds) <= MESSAGE_EMBED_CHARS
        for embed in part.embeds:
            assert len(embed.title or "") <= TITLE_LIMIT
            assert len(embed.description or "") <= DESCRIPTION_LIMIT
            shown = (embed.description or "") + (embed.title or "") + (embed.footer.text or "")
            assert "@everyone" not in shown and "@here" not in shown and "<@" not in shown


@given(st.text(max_size=5000))
def test_plain_text_is_split_into_messages_of_at_most_2000(text: str) -> None:
    assert all(len(part) <= 2000 for part in split_content(text))


@given(st.text(max_size=300))
def test_thread_names_are_one_to_a_hundred_characters(title: str) -> None:
    assert 1 <= len(thread_name(title)) <= 100
