"""Key themes of a busy discussion, found locally: phrases several members use.

A theme is a phrase of one to three words (not starting or ending with a
function word) that appears in replies by at least two different members.
Longer phrases win over the words inside them when they are nearly as common,
so "night shift" is one theme rather than "night" and "shift". Each theme
comes with the sentence that uses it from the most reacted reply.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import InitVar, dataclass, field

from bot.wording import STOPWORDS, stem, words

MIN_REPLIES = 5  # a discussion with fewer replies has no themes worth naming
MIN_MEMBERS = 2
MAX_THEMES = 3
MAX_WORDS = 3
BOILERPLATE_MIN_DISCUSSIONS = 3
BOILERPLATE_SHARE = 0.3  # of the busy discussions in one digest
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")


@dataclass(frozen=True, slots=True, eq=False)
class Voice:
    """One reply as the theme finder sees it (already allowed to be quoted). Its phrases
    are found once: the background of a digest and each discussion's themes both need them."""

    author_id: str
    text: str
    reactions: int = 0
    said: InitVar[list[str] | None] = None  # the text's `words`, when the caller has them
    phrases: dict[tuple[str, ...], str] = field(init=False, repr=False)

    def __post_init__(self, said: list[str] | None) -> None:
        object.__setattr__(self, "phrases", _phrases(words(self.text) if said is None else said))


@dataclass(frozen=True, slots=True)
class Found:
    phrase: str
    replies: int
    voice: Voice
    sentence: str


def _phrases(tokens: list[str]) -> dict[tuple[str, ...], str]:
    """Every candidate phrase of a reply's words (as stems) with the words it was written as."""
    # Per word once, not per phrase it is part of: this runs for every reply a digest shows.
    stems = [stem(w) for w in tokens]
    edge = [w not in STOPWORDS for w in tokens]  # may start or end a phrase
    tiny = [len(w) < 2 for w in tokens]
    found: dict[tuple[str, ...], str] = {}
    for size in range(1, MAX_WORDS + 1):
        for i in range(len(tokens) - size + 1):
            j = i + size
            if not (edge[i] and edge[j - 1]) or any(tiny[i:j]):
                continue
            if size == 1 and len(tokens[i]) < 4:
                continue
            found.setdefault(tuple(stems[i:j]), " ".join(tokens[i:j]))
    return found


def _contains(longer: tuple[str, ...], shorter: tuple[str, ...]) -> bool:
    n = len(shorter)
    return any(longer[i : i + n] == shorter for i in range(len(longer) - n + 1))


def _overlaps(gram: tuple[str, ...], chosen: tuple[str, ...], these: list[Voice], those: list[Voice]) -> bool:
    """One theme said two ways: one phrase inside the other, nearly the same replies,
    or a word in common and half the replies ("night trains", "trains are lovely")."""
    if _contains(chosen, gram) or _contains(gram, chosen):
        return True
    shared = len({id(v) for v in these} & {id(v) for v in those})
    return shared >= 0.8 * len(these) or (bool(set(gram) & set(chosen)) and shared >= 0.5 * len(these))


def _sentence(text: str, phrase: tuple[str, ...]) -> str:
    for sentence in _SENTENCE.split(text):
        if _contains(tuple(stem(w) for w in words(sentence)), phrase):
            return sentence.strip()
    return text.strip()


def boilerplate(discussions: Sequence[Sequence[Voice]]) -> frozenset[tuple[str, ...]]:
    """Phrases that turn up in many discussions ("just my two cents", "this hits home")
    say how people write, not what a discussion is about: they are never themes."""
    busy = [d for d in discussions if len(d) >= MIN_REPLIES]
    if len(busy) < BOILERPLATE_MIN_DISCUSSIONS:
        return frozenset()
    spread: Counter[tuple[str, ...]] = Counter()
    for voices in busy:
        spread.update({gram for voice in voices for gram in voice.phrases})
    floor = max(BOILERPLATE_MIN_DISCUSSIONS, BOILERPLATE_SHARE * len(busy))
    return frozenset(gram for gram, n in spread.items() if n >= floor)


def find_themes(
    voices: Sequence[Voice], *, limit: int = MAX_THEMES, ignore: frozenset[tuple[str, ...]] = frozenset()
) -> list[Found]:
    if len(voices) < MIN_REPLIES:
        return []
    uses: dict[tuple[str, ...], list[Voice]] = defaultdict(list)
    spelling: dict[tuple[str, ...], Counter[str]] = defaultdict(Counter)
    for voice in voices:
        for gram, written in voice.phrases.items():
            if gram in ignore:
                continue
            uses[gram].append(voice)
            spelling[gram][written] += 1
    common = {
        gram: said
        for gram, said in uses.items()
        if len(said) >= 2 and len({v.author_id for v in said}) >= MIN_MEMBERS
    }
    # A phrase is worth more the more replies use it, and a little more per word.
    ranked = sorted(common, key=lambda g: (len(common[g]) * (1 + 0.25 * (len(g) - 1)), len(g)), reverse=True)
    chosen: list[tuple[str, ...]] = []
    for gram in ranked:
        if any(_overlaps(gram, c, common[gram], common[c]) for c in chosen):
            continue
        wider = [g for g in common if len(g) > len(gram) and _contains(g, gram)]
        if any(len(common[g]) >= 0.6 * len(common[gram]) for g in wider):
            continue  # the longer phrase says it better
        chosen.append(gram)
        if len(chosen) == limit:
            break
    themes = []
    for gram in chosen:
        # The most reacted reply, then one of a readable length.
        best = max(common[gram], key=lambda v: (v.reactions, -abs(len(words(v.text)) - 30)))
        themes.append(
            Found(
                phrase=spelling[gram].most_common(1)[0][0],
                replies=len(common[gram]),
                voice=best,
                sentence=_sentence(best.text, gram),
            )
        )
    return themes
