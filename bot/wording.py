"""What replies say, word by word: tokens, substance and likeness.

Shared by the highlight choice and the themes, so both agree on what a word
is, what counts as saying something, and when two replies say the same.
"""

from __future__ import annotations

import re

# Replies made only of these words say nothing a digest should quote.
_LOW_VALUE = (
    "this that same agreed agree yes yep yeah yup true so very much totally exactly indeed "
    "lol haha lmao nice great good cool awesome wow thanks thank you love it me too also "
    "plus one interesting wild crazy omg oh ok okay sure right"
)
LOW_VALUE = frozenset(_LOW_VALUE.split())

# Function words left out of key phrases (English; a phrase may not start or
# end with one, so "the night shift" and "night shift" are one phrase).
_STOPWORDS = """
    a about above after again against all almost also although always am an and any are aren't as at
    be because been before being below between both but by can can't cannot could couldn't did didn't
    do does doesn't doing don't down during each either else even ever every few for from further get
    gets getting got had hadn't has hasn't have haven't having he he'd he'll he's her here here's hers
    herself him himself his how how's however i i'd i'll i'm i've if in into is isn't it it's its itself
    just let's like lot lots made make makes many may maybe me might mine more most much must mustn't my
    myself need never no nor not now of off often on once one only or other others ought our ours
    ourselves out over own perhaps quite rather really said same say says see seem seems shan't she
    she'd she'll she's should shouldn't since so some something still such than that that's the their
    theirs them themselves then there there's these they they'd they'll they're they've thing things
    think this those though through thus to too under until up upon us use used using very via was
    wasn't way we we'd we'll we're we've well were weren't what what's when when's where where's whether
    which while who who's whom why why's will with within without won't would wouldn't yes yet you
    you'd you'll you're you've your yours yourself yourselves also actually anyone anything back bit
    come doesnt dont done feel felt getting go going gone good great im ive know lot new now one ones
    pretty put same sure take thats time times two want went yeah years year day days week
    hmm oh ah wow lol haha omg ok okay yep yup
"""
STOPWORDS = frozenset(_STOPWORDS.split())

_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_WORD = re.compile(r"[^\W\d_](?:[^\W_]|['’-](?=[^\W\d_]))*")
MIN_SUBSTANTIVE_WORDS = 3
MIN_CONTENT_WORDS = 1


def words(text: str) -> list[str]:
    """Lower-case words of `text`, links left out; apostrophes unified."""
    return [w.lower().replace("’", "'") for w in _WORD.findall(_URL.sub(" ", text))]


def stem(word: str) -> str:
    """A light plural fold, so "shifts" and "shift" count as one word."""
    if len(word) > 4 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def is_substantive(text: str) -> bool:
    """True when a reply says something: not "+1", "this", an emoji or a link alone."""
    return says_something(words(text))


def says_something(said: list[str]) -> bool:
    """`is_substantive` for a reply's words, when they are already at hand."""
    content = [w for w in said if w not in LOW_VALUE and w not in STOPWORDS]
    return len(said) >= MIN_SUBSTANTIVE_WORDS and len(content) >= MIN_CONTENT_WORDS


def near_duplicate(a: str, b: str) -> bool:
    """Two replies that say nearly the same thing, word for word."""
    return alike(stems(words(a)), stems(words(b)))


def stems(said: list[str]) -> frozenset[str]:
    return frozenset(stem(w) for w in said)


def alike(left: frozenset[str], right: frozenset[str], threshold: float = 0.75) -> bool:
    """`near_duplicate` for two replies' stems (see `stems`)."""
    if not left or not right:
        return left == right
    return len(left & right) / len(left | right) >= threshold
