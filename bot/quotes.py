"""What a digest quotes, which themes it names and the built-in gist, per discussion.

`DigestReader` is built once per digest with the replies of the discussions it shows. It
reads them in the community's language (`bot.language`) and keeps the digest-wide rules:
a quote is never repeated, and no two quotes of one digest (highlights and theme excerpts,
across all discussions) share 80% or more of their words. Everything here works on replies
that may be quoted (not hidden, not an opted-out member's, not empty).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from bot.builtin_gist import gist_of
from bot.digest_model import Highlight, Theme, author_label
from bot.gist import Gist, GistReply, GistRequest
from bot.i18n import Words
from bot.language import Language, language
from bot.models import ReplyView
from bot.text import safe
from bot.themes import Gram, Memo, Voice, boilerplate, find_themes, sentence_of
from bot.wording import NEAR_DUPLICATE, is_junk, overlap

EXCERPT_LENGTH = 280
HIGHLIGHTS_PER_DISCUSSION = 3
THEME_EXCERPT_LENGTH = 200
SUBSTANCE_WORDS = 60  # beyond this, a longer reply is not a better highlight
ONE_LINER_WORDS = 10  # fewer words: a one-liner, quoted only when nothing says more
EXPERIENCE_WEIGHT = 1.5  # a first-hand experience weighs like ~4.5 times the reactions
SENTENCE_WORDS = 8  # a theme's sentence of fewer words only when no longer one is left
THEME_CANDIDATES = 6  # themes looked at to find three with a quote not yet shown


@dataclass(frozen=True, slots=True, eq=False)
class Heard:
    """One quotable reply, read once: its words, its phrases, what kind of reply it is."""

    view: ReplyView
    said: list[str]
    voice: Voice
    junk: bool
    substantive: bool
    experience: bool


@dataclass(frozen=True, slots=True)
class Reading:
    """What a digest says about one discussion, beside its counts."""

    highlights: tuple[Highlight, ...]
    themes: tuple[Theme, ...]
    gist: Gist  # the built-in one
    request: GistRequest  # for the optional model engine: only what the digest may show
    experiences: int  # members who told a first-hand experience


class DigestReader:
    """Reads the discussions one digest shows; `read` each of them in the order shown (the
    first discussion has the first pick of quotes). Building it reads every reply word by
    word and may load the language's word list: do it off the event loop."""

    def __init__(self, words: Words, replies_by_discussion: Mapping[int, list[ReplyView]]) -> None:
        self.words = words
        self.language: Language = language(words.language)
        self._heard = {key: self._hear(views) for key, views in replies_by_discussion.items()}
        self._common = boilerplate([[h.voice for h in heard] for heard in self._heard.values()])
        self._quoted: list[frozenset[str]] = []  # the stems of every quote shown so far

    def read(
        self,
        discussion_id: int,
        *,
        title: str,
        prompt: str = "",
        site: str = "",
        quotes: int = HIGHLIGHTS_PER_DISCUSSION,
    ) -> Reading:
        """`site`: the article's link, whose site's name is no theme either (a thread under
        a Reddit post names "reddit" everywhere)."""
        heard = self._heard.get(discussion_id, [])
        chosen = self._highlights(heard, quotes)
        ignore = self._common | self._echoes(title, heard) | self._echoes(site_name(site), heard)
        found = find_themes([h.voice for h in heard], self.language, limit=THEME_CANDIDATES, ignore=ignore)
        by_voice = {id(h.voice): h for h in heard}
        themes: list[Theme] = []
        for theme in found:
            if len(themes) == 3:
                break
            excerpt = self._theme_quote(theme.voices, theme.gram, by_voice)
            if excerpt is None:
                continue
            text, h = excerpt
            themes.append(
                Theme(
                    phrase=safe(theme.phrase, 60),
                    replies=theme.replies,
                    excerpt=text,
                    author=author_label(h.view),
                )
            )
        experiences = len({h.view.reply.author_id for h in heard if h.experience})
        participants = len({h.view.reply.author_id for h in heard})
        request = GistRequest(
            title=title,
            prompt=prompt,
            replies=tuple(
                GistReply(author_label(h.view), h.view.reply.text, h.view.reply.reactions) for h in heard
            ),
            participants=participants,
            words=self.words,
        )
        gist = gist_of(
            [h.voice for h in heard],
            texts=[h.view.reply.text for h in heard],
            participants=participants,
            experiences=experiences,
            words=self.words,
            language=self.language,
            ignore=ignore,
            found=found,
        )
        return Reading(tuple(chosen), tuple(themes), gist, request, experiences)

    def _hear(self, views: list[ReplyView]) -> list[Heard]:
        lang = self.language
        heard = []
        memo: Memo = {}
        for view in _quotable(views):
            text = view.reply.text
            voice = Voice.of(lang, view.reply.author_id, text, view.reply.reactions, memo)
            said = voice.said  # the words its phrases were read from
            heard.append(
                Heard(
                    view=view,
                    said=said,
                    voice=voice,
                    junk=is_junk(text, said),
                    substantive=lang.says_something(said),
                    experience=lang.tells_experience(said),
                )
            )
        return heard

    def _echoes(self, title: str, heard: list[Heard]) -> frozenset[Gram]:
        """Phrases of the discussion's title ("conspiracy theory" under "Which conspiracy theory
        makes you cringe?"): replies repeat them, and as a theme they say nothing new."""
        stems = tuple(self.language.stem(w) for w in self.language.words(title))
        if not stems:
            return frozenset()
        runs = {stems[i:j] for i in range(len(stems)) for j in range(i + 1, len(stems) + 1)}
        echoed: set[Gram] = set()
        for h in heard:
            echoed.update(runs.intersection(h.voice.phrases))
        return frozenset(echoed)

    def _stems(self, text: str) -> frozenset[str]:
        return self._stems_of(self.language.words(text))

    def _stems_of(self, said: list[str]) -> frozenset[str]:
        return frozenset(map(self.language.stem, said))

    def _fresh(self, stems: frozenset[str]) -> bool:
        """Not nearly the same as any quote this digest already shows."""
        return not any(overlap(stems, seen) >= NEAR_DUPLICATE for seen in self._quoted)

    def _highlights(self, heard: list[Heard], limit: int) -> list[Highlight]:
        """Featured replies first; then substantive replies, first-hand experiences and the
        most reacted preferred, one-liners only when nothing says more; "+1", a lone emoji,
        a bare link or keyboard mash only when a moderator featured it."""

        def value(h: Heard) -> tuple[bool, bool, float, object]:
            reply = h.view.reply
            worth = (
                math.log1p(max(reply.reactions, 0))
                + EXPERIENCE_WEIGHT * h.experience
                + min(len(h.said), SUBSTANCE_WORDS) / SUBSTANCE_WORDS
            )
            return (not reply.featured, len(h.said) < ONE_LINER_WORDS, -worth, reply.created_at)

        candidates = [h for h in heard if h.view.reply.featured or (h.substantive and not h.junk)]
        candidates.sort(key=value)
        chosen: list[Highlight] = []
        for h in candidates:
            if len(chosen) == limit:
                break
            excerpt = safe(h.view.reply.text, EXCERPT_LENGTH)
            # The reply's own words when the excerpt is the whole reply (it mostly is).
            stems = self._stems(excerpt) if excerpt != h.view.reply.text else self._stems_of(h.said)
            if not self._fresh(stems):
                continue
            self._quoted.append(stems)
            reply = h.view.reply
            chosen.append(Highlight(author_label(h.view), excerpt, reply.reactions, reply.featured))
        return chosen

    def _theme_quote(
        self, voices: tuple[Voice, ...], gram: Gram, by_voice: Mapping[int, Heard]
    ) -> tuple[str, Heard] | None:
        """The first sentence using the theme, among its replies in order, that is no
        repeat of a quote the digest already shows."""
        for least in (SENTENCE_WORDS, 3):  # a sentence that says something, else a short one
            for voice in voices:
                h = by_voice[id(voice)]
                if h.junk:
                    continue
                excerpt = safe(sentence_of(voice.text, gram, self.language), THEME_EXCERPT_LENGTH)
                if len(self.language.words(excerpt)) < least:
                    continue
                stems = self._stems(excerpt)
                if not self._fresh(stems):
                    continue
                self._quoted.append(stems)
                return excerpt, h
        return None


def site_name(url: str) -> str:
    """The name a site goes by in conversation: "reddit" for https://www.reddit.com/r/…,
    "bbc" for news.bbc.co.uk ("" without a host). The label left of the registered suffix
    is taken by a rule of thumb: the last label, or the one before it when the last two are
    short (co.uk, com.au)."""
    host = (urlsplit(url).hostname or "").rstrip(".")
    labels = [label for label in host.split(".") if label]
    if len(labels) < 2 or all(c.isdigit() for c in labels[-1]):
        return ""  # no name in an address
    suffix = 2 if len(labels) > 2 and len(labels[-1]) == 2 and len(labels[-2]) <= 3 else 1
    return labels[-suffix - 1]


def _quotable(replies: list[ReplyView]) -> list[ReplyView]:
    """Replies a digest may quote: not hidden, not an opted-out member's, not empty."""
    return [v for v in replies if not v.opted_out and not v.reply.hidden and v.reply.text.strip()]
