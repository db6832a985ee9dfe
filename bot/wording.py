"""What replies say, word by word: tokens, junk and likeness.

Shared by the highlight choice, the themes and the gist, so all agree on what a word
is, what is not worth quoting, and when two texts say the same. What a word means in
the community's language (stems, function words) is `bot.language`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.language import Language

_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_WORD = re.compile(r"[^\W\d_](?:[^\W_]|['’-](?=[^\W\d_]))*")
NEAR_DUPLICATE = 0.8  # share of the shorter text's words


def _may_link(text: str) -> bool:
    """False when `_URL` cannot match (most replies): the search for links is skipped."""
    return "://" in text or "www." in text.lower()


def words(text: str) -> list[str]:
    """Lower-case words of `text`, links left out; apostrophes unified."""
    if _may_link(text):
        text = _URL.sub(" ", text)
    found = _WORD.findall(text)
    if "’" not in text:
        return [w.lower() for w in found]
    return [w.lower().replace("’", "'") for w in found]


def written_words(text: str) -> list[tuple[str, int, int]]:
    """The words of `text` as written (case kept, apostrophes unified), links left out,
    each with where it starts and ends in `text`."""
    if _may_link(text):
        text = _URL.sub(lambda m: " " * len(m.group()), text)
    if "’" not in text:
        return [(m[0], m.start(), m.end()) for m in _WORD.finditer(text)]
    return [(m[0].replace("’", "'"), m.start(), m.end()) for m in _WORD.finditer(text)]


def is_substantive(text: str, language: Language) -> bool:
    """True when a reply says something: not "+1", "this", an emoji or a link alone."""
    said = language.words(text)
    return language.says_something(said) and not is_junk(text, said)


def near_duplicate(a: str, b: str, language: Language) -> bool:
    """Two replies that say nearly the same thing, word for word (see `overlap`)."""
    return overlap(stems(language, words(a)), stems(language, words(b))) >= NEAR_DUPLICATE


def stems(language: Language, said: list[str]) -> frozenset[str]:
    return frozenset(language.stem(w) for w in said)


def overlap(left: frozenset[str], right: frozenset[str]) -> float:
    """How much of the shorter text the other one says too: 1.0 when one is inside the other."""
    if not left or not right:
        return 1.0 if left == right else 0.0
    return len(left & right) / min(len(left), len(right))


_REPEATED = re.compile(r"(.)\1{4,}")  # "AAAAA", "!!!!!", "hahahahaha" is caught below
MAX_WORD = 24  # longer "words" are keyboard mash or glued text ("AAAAAAAAAA…longword0")


def is_junk(text: str, said: list[str]) -> bool:
    """Nothing a digest should quote, however many reactions: keyboard mash, a character
    repeated, very long tokens, a link alone, shouting in capitals, emoji alone."""
    if not said:
        return True  # emoji, punctuation or a link alone
    bare = _URL.sub(" ", text) if _may_link(text) else text
    if _REPEATED.search(bare.replace("...", "")):
        return True
    tokens = bare.split()
    if max(map(len, tokens), default=0) > MAX_WORD and any(
        len(t) > MAX_WORD and not t.startswith(("http", "www")) for t in tokens
    ):
        return True
    # Shouting: over 70% of 12 or more letters in capitals, so 9 capitals at least (the
    # capitals are counted first: most replies have fewer, and their letters go uncounted).
    upper = sum(map(str.isupper, bare))
    if upper >= 9:
        letters = sum(map(str.isalpha, bare))
        if letters >= 12 and upper > 0.7 * letters:
            return True
    # Few distinct letters for many ("asdfasdfasdf", "hahahahaha", "jjjjjkkkk"), looked for
    # only when a word is long enough.
    return max(map(len, said)) >= 8 and any(len(set(w)) <= 3 for w in said if len(w) >= 8)
