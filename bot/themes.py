"""Key themes of a busy discussion, found locally: phrases several members use.

A theme is a phrase taken from the replies, and it must read as one:
- two or three words written together inside one clause (never across a sentence end or a
  comma), the same words (by stem, so "night shifts" and "night shift" are one phrase) in
  replies of at least two members;
- its first and last words carry a topic: never a function word, a vague word ("people",
  "thing"), a number word ("parts for ten", "twice in eighteen") or a low-value word;
  inside it only linking words ("right to repair", "Recht auf Reparatur");
- not a person's name (words written capitalised mid-sentence in most uses, except in
  German, where every noun is);
- a single word only when many members use it and it is no everyday word of the language
  ("memcached", not "work" or "site"); two- and three-word phrases are preferred.

Longer phrases win over the words inside them when they are nearly as common. Each theme
comes with the sentence that uses it, from the replies in order of preference.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.language import Language

MIN_REPLIES = 5  # a discussion with fewer replies has no themes worth naming
MIN_MEMBERS = 2
MAX_THEMES = 3
MAX_WORDS = 3
SINGLE_WORD_MEMBERS = 4  # a lone word must be shared by at least this many members…
SINGLE_WORD_SHARE = 0.05  # …and this share of the discussion's members
SINGLE_WORD_WEIGHT = 0.4  # a lone word counts less than half a member against a phrase
SINGLE_WORD_YIELDS = 0.3  # …and gives way to a phrase with it that this share of its members use
BOILERPLATE_MIN_DISCUSSIONS = 3
BOILERPLATE_SHARE = 0.3  # of the busy discussions in one digest
_SPACES = re.compile(r"\s+")
_LINK = re.compile(r"\]\([^)\s]*\)|https?://\S+|www\.\S+|\S+\.(?:com|org|net|io)\S*", re.IGNORECASE)
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
# Where `_SENTENCE` cuts (the next sentence's start is the end of a match), without its
# look-behind: the end mark is matched instead.
_SENTENCE_END = re.compile(r"[.!?]\s+|\n+")
_CLAUSE = re.compile(r"[,;:()\[\]{}\"“”«»„*_~|/>]+|\s[-–—]+\s|[.!?]+(?=\s|$)")

Gram = tuple[str, ...]
Phrases = dict[Gram, tuple[str, bool]]  # stems → as written, mid-sentence
Memo = dict[str, tuple[Phrases, "Usage", list[str]]]


@dataclass(frozen=True, slots=True)
class Usage:
    """How a reply uses its words: for each stem, uses in mid-sentence and how many of them
    capitalised (a name's mark)."""

    mid: dict[str, int]
    capital: dict[str, int]


@dataclass(frozen=True, slots=True, eq=False)
class Voice:
    """One reply as the theme finder sees it (already allowed to be quoted). Its phrases
    are found once: the background of a digest and each discussion's themes both need them."""

    author_id: str
    text: str
    reactions: int
    phrases: Phrases = field(repr=False)
    usage: Usage = field(repr=False)
    said: list[str] = field(repr=False)  # its words, as `Language.words` gives them

    @classmethod
    def of(
        cls, language: Language, author_id: str, text: str, reactions: int = 0, memo: Memo | None = None
    ) -> Voice:
        """`memo`: the phrases of texts already read in this digest (the same words twice,
        such as a copied reply, are read once)."""
        found = memo.get(text) if memo is not None else None
        if found is None:
            found = _phrases(language, text)
            if memo is not None:
                memo[text] = found
        return cls(author_id, text, reactions, *found)


@dataclass(frozen=True, slots=True)
class Found:
    phrase: str
    replies: int
    members: int
    voices: tuple[Voice, ...]  # the replies that use it, the best to quote first
    gram: Gram

    @property
    def voice(self) -> Voice:
        return self.voices[0]


def _phrases(language: Language, text: str) -> tuple[Phrases, Usage, list[str]]:
    """Every candidate phrase of a reply (as stems) with the words it was written as, and
    whether it was written mid-sentence (where its capitals are its own); how it uses its
    words; and its words in lower case (`Language.words`).

    The reply is read in one pass: its words are found once over the whole text, and each
    word's sentence and clause told by what stands between it and the word before (no
    clause mark or sentence end is part of a word, so the words of the whole text are the
    words of its sentences and clauses)."""
    found: Phrases = {}
    mid: dict[str, int] = {}
    capital: dict[str, int] = {}
    keep_case = language.code == "de"
    linked = _may_link(text)
    read = _LINK.sub(" ", text) if linked else text  # before clauses are cut: a link's pieces are no words
    tokens = language.tokens(read)
    lower = [t[0].lower() for t in tokens]
    # Without a link, the words the phrases are made of are the reply's words. (`_may_link`
    # also holds back "İ", whose lower case is longer than itself; French words are cut at
    # elisions before they are put in lower case, which can tell "σ" from "ς" otherwise.)
    said = lower if not linked and language.code != "fr" else language.words(text)
    n = len(tokens)
    if not n:
        return found, Usage(mid, capital), said
    kinds = language.kinds(lower)
    plain = read.isprintable() and "  " not in read  # then so is every piece of it
    # Between two words, a sentence may end or a clause mark stand: looked for in what lies
    # between them (no sentence end or clause mark is part of a word, nor reaches past one),
    # and not at all where that is a single space, as between most words. The next word's
    # first letter is in the search: a "." right before it ends no clause ("e.g").
    a = 0  # the current clause's first word
    first = True  # the current clause is its sentence's first
    for b in range(1, n + 1):
        sentence = False  # word b starts a sentence
        if b < n:
            after = tokens[b - 1][2]
            at = tokens[b][1]
            if at == after + 1 and read[after] == " ":
                continue  # word b is in word b-1's clause
            if _SENTENCE_END.search(read, after, at):
                sentence = True
            elif not _CLAUSE.search(read, after, at + 1):
                continue
        # The clause of words a … b-1 is complete.
        for i in range(a, b):
            stem, edge, _, alone, _ = kinds[i]
            if not edge:
                continue
            initial = first and i == a
            if not initial:  # a use in mid-sentence
                mid[stem] = mid.get(stem, 0) + 1
                w = tokens[i][0]
                if w[:1].isupper() and not w.isupper():
                    capital[stem] = capital.get(stem, 0) + 1
            start = tokens[i][1]
            gram: Gram = ()
            for j in range(i, min(b, i + MAX_WORDS)):
                kind = kinds[j]
                if not kind[2]:
                    break
                gram += (kind[0],)
                if not (alone if i == j else kind[4]):
                    continue
                had = found.get(gram)
                if had is not None and (had[1] or initial):
                    continue
                shown = read[start : tokens[j][2]]
                if not plain and (not shown.isprintable() or "  " in shown):  # single ASCII spaces only
                    shown = _SPACES.sub(" ", shown)
                if initial and not keep_case and shown[1:] == shown[1:].lower():
                    shown = shown[0].lower() + shown[1:]  # "Night shift" at a sentence's start
                found[gram] = (shown, not initial)
        a = b
        first = sentence
    return found, Usage(mid, capital), said


def _may_link(text: str) -> bool:
    """False when `_LINK` cannot match (most replies): its search costs more than the rest
    of a short reply's reading. ("ı" and "İ" match "i" in a pattern that ignores case.)"""
    lowered = text.lower()
    return (
        "://" in text
        or "](" in text
        or "www." in lowered
        or ".com" in lowered
        or ".org" in lowered
        or ".net" in lowered
        or ".io" in lowered
        or "ı" in text
        or "İ" in text
    )


def _contains(longer: Gram, shorter: Gram) -> bool:
    n = len(shorter)
    return any(longer[i : i + n] == shorter for i in range(len(longer) - n + 1))


def _overlaps(gram: Gram, chosen: Gram, these: list[Voice], those: list[Voice]) -> bool:
    """One theme said two ways: one phrase inside the other, nearly the same replies,
    or a word in common and half the replies ("night trains", "trains are lovely")."""
    if _contains(chosen, gram) or _contains(gram, chosen):
        return True
    shared = len({id(v) for v in these} & {id(v) for v in those})
    return shared >= 0.8 * len(these) or (bool(set(gram) & set(chosen)) and shared >= 0.5 * len(these))


def sentence_of(text: str, gram: Gram, language: Language) -> str:
    """The sentence of `text` that uses the phrase (the whole text when none does)."""
    for sentence in _SENTENCE.split(text):
        if _contains(tuple(language.stem(w) for w in language.words(sentence)), gram):
            return sentence.strip()
    return text.strip()


def boilerplate(discussions: Sequence[Sequence[Voice]]) -> frozenset[Gram]:
    """Phrases that turn up in many discussions ("just my two cents", "this hits home")
    say how people write, not what a discussion is about: they are never themes."""
    busy = [d for d in discussions if len(d) >= MIN_REPLIES]
    if len(busy) < BOILERPLATE_MIN_DISCUSSIONS:
        return frozenset()
    spread: Counter[Gram] = Counter()
    for voices in busy:
        spread.update({gram for voice in voices for gram in voice.phrases})
    floor = max(BOILERPLATE_MIN_DISCUSSIONS, BOILERPLATE_SHARE * len(busy))
    return frozenset(gram for gram, n in spread.items() if n >= floor)


def _names(voices: Sequence[Voice]) -> frozenset[str]:
    """Stems written capitalised mid-sentence in most of their uses: people's names."""
    mid: Counter[str] = Counter()
    capital: Counter[str] = Counter()
    for voice in voices:
        mid.update(voice.usage.mid)
        capital.update(voice.usage.capital)
    return frozenset(s for s, n in capital.items() if n > 0.5 * mid[s])


def find_themes(
    voices: Sequence[Voice],
    language: Language,
    *,
    limit: int = MAX_THEMES,
    ignore: frozenset[Gram] = frozenset(),
    minimum: int = MIN_REPLIES,
) -> list[Found]:
    """The discussion's themes, most shared first (see the module's rules)."""
    if len(voices) < minimum:
        return []
    uses: dict[Gram, list[Voice]] = defaultdict(list)
    for voice in voices:
        for gram in voice.phrases:
            if gram not in ignore:
                uses[gram].append(voice)
    everyone = len({v.author_id for v in voices})
    # Only a phrase of two replies or more can be a theme: its members are counted, and its
    # spellings and the discussion's names when first needed (most phrases are one reply's).
    members = {gram: len({v.author_id for v in said}) for gram, said in uses.items() if len(said) > 1}
    lone_floor = max(SINGLE_WORD_MEMBERS, SINGLE_WORD_SHARE * everyone)
    known_names: list[frozenset[str]] = []

    def names() -> frozenset[str]:
        if not known_names:
            known_names.append(_names(voices) if language.code != "de" else frozenset())
        return known_names[0]

    def spelling(gram: Gram) -> Counter[str]:
        """How the phrase was written, in the order of its replies."""
        written: Counter[str] = Counter()
        for voice in uses[gram]:
            shown, mid = voice.phrases[gram]
            written[shown] += 100 if mid else 1  # its own capitals weigh more
        return written

    def allowed(gram: Gram) -> bool:
        if len(uses[gram]) < 2 or members[gram] < MIN_MEMBERS:
            return False
        if len(gram) == 1 and gram[0] in names():
            return False  # a name ("Chris"); "Jurassic Park" or "Flat Earth" name a topic
        if len(gram) > 1:
            return True
        return members[gram] >= lone_floor and not language.is_common(
            spelling(gram).most_common(1)[0][0].lower()
        )

    common = {gram: said for gram, said in uses.items() if allowed(gram)}

    def worth(gram: Gram) -> float:
        return members[gram] * (SINGLE_WORD_WEIGHT if len(gram) == 1 else 1 + 0.1 * (len(gram) - 2))

    ranked = sorted(common, key=lambda g: (worth(g), len(g), g), reverse=True)
    chosen: list[Gram] = []
    for gram in ranked:
        if any(_overlaps(gram, c, common[gram], common[c]) for c in chosen):
            continue
        wider = [g for g in common if len(g) > len(gram) and _contains(g, gram)]
        share = SINGLE_WORD_YIELDS if len(gram) == 1 else 0.6
        if any(members[g] >= share * members[gram] for g in wider):
            continue  # the longer phrase says it better
        chosen.append(gram)
        if len(chosen) == limit:
            break
    themes = []
    for gram in chosen:
        # The most reacted replies first, then those of a readable length.
        ordered = sorted(common[gram], key=lambda v: (-v.reactions, abs(len(v.text) - 200)))
        themes.append(
            Found(
                phrase=spelling(gram).most_common(1)[0][0],
                replies=len(common[gram]),
                members=members[gram],
                voices=tuple(ordered),
                gram=gram,
            )
        )
    return themes
