"""The built-in gist: offline and deterministic, in the community's language.

It says what members wrote about and how many of them: the replies are grouped by the key
phrases they share (the theme finder's phrases: members' own words, in their language),
the largest groups are named with their member counts, and a second sentence says how many
members told a first-hand experience. A discussion too small for shared phrases is named by
the most telling phrase of its replies. The fixed words are a handful of sentence templates
read through the catalogs; the gist is never a copy of a reply (a phrase that would make it
one is left out).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.gist import MAX_GIST_CHARS, Gist, GistRequest
from bot.i18n import Words
from bot.language import Language, language
from bot.text import safe
from bot.themes import MIN_REPLIES, Found, Gram, Voice, find_themes

NAME = "builtin"
GROUPS = 3
PHRASE_CHARS = 60
_SPACE = re.compile(r"\s+")
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")


class BuiltinGist:
    """`GistEngine` without a network: see the module. Holds the word knowledge of the
    languages it has been asked for (one small object per engine, not per module)."""

    name = NAME

    def __init__(self) -> None:
        self._languages: dict[str, Language] = {}

    def _language(self, code: str) -> Language:
        found = self._languages.get(code)
        if found is None:
            found = self._languages[code] = language(code)
        return found

    async def gist(self, request: GistRequest) -> Gist:
        return self.gist_now(request)

    def gist_now(self, request: GistRequest) -> Gist:
        lang = self._language(request.language)
        voices = []
        authors: list[str] = []
        for n, reply in enumerate(request.replies):
            # Anonymous members all read "a member": each of their replies counts as one member.
            author = reply.author if reply.author != "a member" else f"\x00{n}"
            authors.append(author)
            voices.append(Voice.of(lang, author, reply.text, reply.reactions))
        experiences = len(
            {
                a
                for a, r in zip(authors, request.replies, strict=True)
                if lang.tells_experience(lang.words(r.text))
            }
        )
        return gist_of(
            voices,
            texts=[r.text for r in request.replies],
            participants=request.participants,
            experiences=experiences,
            words=request.words,
            language=lang,
        )


def gist_of(
    voices: Sequence[Voice],
    *,
    texts: Sequence[str],
    participants: int,
    experiences: int,
    words: Words,
    language: Language,
    ignore: frozenset[Gram] = frozenset(),
    found: Sequence[Found] | None = None,
) -> Gist:
    """The gist of one discussion's quotable replies (`voices`, with their `texts`);
    `found`: their themes when the caller looked for them (at least `GROUPS`, ignoring
    `ignore`) among replies enough for themes (`bot.themes.MIN_REPLIES`); else they are
    found here, for small discussions too. None found among enough replies is an answer:
    looking again would find none either."""
    if not voices:
        return Gist("", NAME, 0)
    copies = _sentences(texts)
    if found is None or (not found and len(voices) < MIN_REPLIES):
        found = find_themes(voices, language, limit=GROUPS, ignore=ignore, minimum=2)
    groups = [(theme.members, phrase) for theme in found if (phrase := _phrase(theme.phrase, copies))][
        :GROUPS
    ]
    groups.sort(key=lambda group: -group[0])  # the largest first, as the sentence reads
    sentences: list[str] = []
    if groups:
        sentences.append(_groups(words, groups))
    else:
        topic = _topic(voices, copies)
        if topic:
            sentences.append(
                words.ngettext(
                    "{n} member replied, writing about “{topic}”.",
                    "{n} members replied, writing among other things about “{topic}”.",
                    participants,
                    topic=topic,
                )
            )
        else:
            sentences.append(words.ngettext("{n} member replied.", "{n} members replied.", participants))
    if experiences:
        sentences.append(
            words.ngettext(
                "{n} of {total} members told a first-hand experience.",
                "{n} of {total} members told first-hand experiences.",
                experiences,
                total=words.number(participants),
            )
            if participants > 1
            else words.gettext("It tells a first-hand experience.")
        )
    text = " ".join(sentences)
    if len(text) > MAX_GIST_CHARS:
        text = sentences[0]
    return Gist(safe(text, MAX_GIST_CHARS), NAME, experiences)


def _groups(words: Words, groups: list[tuple[int, str]]) -> str:
    (n, topic), rest = groups[0], groups[1:]
    if not rest:
        return words.ngettext(
            "{n} member wrote about “{topic}”.", "{n} members wrote about “{topic}”.", n, topic=topic
        )
    if len(rest) == 1:
        return words.ngettext(
            "{n} member wrote about “{topic}”, {m} about “{other}”.",
            "{n} members wrote about “{topic}”, {m} about “{other}”.",
            n,
            topic=topic,
            m=words.number(rest[0][0]),
            other=rest[0][1],
        )
    return words.ngettext(
        "{n} member wrote about “{topic}”, {m} about “{other}” and {k} about “{third}”.",
        "{n} members wrote about “{topic}”, {m} about “{other}” and {k} about “{third}”.",
        n,
        topic=topic,
        m=words.number(rest[0][0]),
        other=rest[0][1],
        k=words.number(rest[1][0]),
        third=rest[1][1],
    )


def _normal(text: str) -> str:
    bare = text.strip().strip(".!?…").lower()
    if bare.isprintable() and "  " not in bare:  # only single ASCII spaces: nothing to join
        return bare
    return _SPACE.sub(" ", bare)


def _sentences(texts: Sequence[str]) -> frozenset[str]:
    """Every sentence of the replies, normalised: what the gist may not be or contain."""
    return frozenset(n for text in texts for s in _SENTENCE.split(text) if (n := _normal(s)))


def _phrase(phrase: str, copies: frozenset[str]) -> str:
    """The phrase, unless quoting it would copy a whole sentence of a reply (a reply of one
    word, "Memcached?", is a topic, not a sentence worth keeping from the gist)."""
    shown = safe(phrase, PHRASE_CHARS)
    said = _normal(shown)
    if any(" " in c and c in said for c in copies if len(c) <= len(said)):
        return ""
    return shown


def _topic(voices: Sequence[Voice], copies: frozenset[str]) -> str:
    """The most telling phrase of a small discussion: the longest phrase of two or three
    words (by letters), from the most reacted reply first."""
    for voice in sorted(voices, key=lambda v: -v.reactions):
        phrases = [p for gram, (p, _) in voice.phrases.items() if len(gram) > 1]
        for candidate in sorted(phrases, key=lambda p: (-len(p.replace(" ", "")), p)):
            if shown := _phrase(candidate, copies):
                return shown
    return ""
