"""A German and a Portuguese community get their digest in their own language: headings,
figures and dates from the catalogs, themes and the built-in gist from their members' words."""

from __future__ import annotations

from datetime import timedelta

import pytest

from adapters.console.platform import COMMUNITY
from bot import markdown
from bot.layout import Style
from tests.conftest import Harness
from tests.digest_views import layout_of
from tests.test_digest_content import current_digest
from tests.test_digest_language import GERMAN, PORTUGUESE

CASES = [
    pytest.param(
        "de",
        'post "Reparaturcafés im ganzen Land: Was habt ihr erlebt?" #news',
        GERMAN,
        ("Top-Diskussionen", "Antworten", "Recht auf Reparatur", "Repair Café"),
        id="German",
    ),
    pytest.param(
        "pt",
        'post "Cafés de reparos pelo país: o que vocês viveram?" #news',
        PORTUGUESE,
        ("respostas", "café de reparos", "peças de reposição"),
        id="Portuguese",
    ),
]


@pytest.mark.parametrize(("language", "post", "replies", "expected"), CASES)
async def test_a_community_gets_its_digest_in_its_language(
    harness: Harness, language: str, post: str, replies: dict[str, str], expected: tuple[str, ...]
) -> None:
    h = harness
    answer = await h.command(f"digest language {language}")
    assert answer.ok, answer.text
    assert (await h.command(post)).ok
    [discussion] = await h.store.recent_discussions(COMMUNITY, h.clock.now() - timedelta(days=1))
    assert discussion.thread_id
    for author, text in replies.items():
        await h.reply(discussion.thread_id, author, text)
    h.clock.advance(timedelta(minutes=1))

    digest = await current_digest(h)
    assert digest.language == language
    [shown] = digest.discussions
    assert shown.gist and not any(text in shown.gist for text in replies.values())
    full = markdown.render(layout_of(digest, Style.FULL))
    compact = markdown.render(layout_of(digest, Style.COMPACT))
    for word in expected:
        assert word in full, (word, full)
    # No English fixed word is left in either style.
    for english in ("Community digest", "Top discussions", "replies", "participants", "Join the thread"):
        assert english not in full and english not in compact, english
