"""Which replies a digest quotes and which themes it names, per discussion.

Only the discussions a digest shows are read word by word; everything here works on
replies that may be quoted (not hidden, not an opted-out member's, not empty).
"""

from __future__ import annotations

from bot.digest_model import Highlight, Theme, author_label
from bot.models import ReplyView
from bot.text import safe
from bot.themes import Voice, find_themes
from bot.wording import alike, says_something, stems, words

EXCERPT_LENGTH = 280
HIGHLIGHTS_PER_DISCUSSION = 3
THEME_EXCERPT_LENGTH = 200
SUBSTANCE_WORDS = 60  # beyond this, a longer reply is not a better highlight


Heard = list[tuple[ReplyView, list[str]]]


def hear(replies: list[ReplyView]) -> Heard:
    """The replies a digest may quote, with their words: found once, for the highlights
    and the themes of a discussion both."""
    return [(v, words(v.reply.text)) for v in _quotable(replies)]


def highlights(heard: Heard) -> tuple[Highlight, ...]:
    """Featured replies first, then the most reacted, then the most substantive;
    "+1", a lone emoji or a bare link only when a moderator featured it, and never
    two replies that say nearly the same."""
    candidates = [(v, said) for v, said in heard if v.reply.featured or says_something(said)]
    candidates.sort(
        key=lambda pair: (
            not pair[0].reply.featured,
            -pair[0].reply.reactions,
            -min(len(pair[1]), SUBSTANCE_WORDS),
            pair[0].reply.created_at,
        )
    )
    chosen: list[tuple[ReplyView, frozenset[str]]] = []
    for view, said in candidates:
        mine = stems(said)
        if any(alike(mine, theirs) for _, theirs in chosen):
            continue
        chosen.append((view, mine))
        if len(chosen) == HIGHLIGHTS_PER_DISCUSSION:
            break
    return tuple(
        Highlight(
            author=author_label(v),
            excerpt=safe(v.reply.text, EXCERPT_LENGTH),
            reactions=v.reply.reactions,
            featured=v.reply.featured,
        )
        for v, _ in chosen
    )


Voices = list[tuple[Voice, ReplyView]]


def voices(heard: Heard) -> Voices:
    """The quotable replies as the theme finder sees them (their phrases found once)."""
    return [(Voice(v.reply.author_id, v.reply.text, v.reply.reactions, said), v) for v, said in heard]


def themes(pairs: Voices, common: frozenset[tuple[str, ...]] = frozenset()) -> tuple[Theme, ...]:
    """Key phrases that several members' quotable replies share, leaving out `common`
    phrases (the community's turns of phrase, see `themes.boilerplate`)."""
    by_voice = {id(voice): view for voice, view in pairs}
    return tuple(
        Theme(
            phrase=safe(found.phrase, 60),
            replies=found.replies,
            excerpt=safe(found.sentence, THEME_EXCERPT_LENGTH),
            author=author_label(by_voice[id(found.voice)]),
        )
        for found in find_themes([voice for voice, _ in pairs], ignore=common)
    )


def _quotable(replies: list[ReplyView]) -> list[ReplyView]:
    """Replies a digest may quote: not hidden, not an opted-out member's, not empty."""
    return [v for v in replies if not v.opted_out and not v.reply.hidden and v.reply.text.strip()]
