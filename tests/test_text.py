"""Text hygiene: bounded, printable, unable to ping — for any input."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from bot.text import ELLIPSIS, clean, neutralize_mentions, safe, shorten

LIVE_MENTION = re.compile(r"@(everyone|here|channel)|<[@#!]", re.IGNORECASE)
pieces = st.sampled_from(
    ["@everyone", "@here", "@channel", "<@123>", "<@&9>", "<#C1|x>", "<!channel>", "<!here>", "@EveryOne"]
)
hostile = st.lists(st.one_of(pieces, st.text(max_size=30)), max_size=20).map("".join)


@given(hostile, st.integers(min_value=1, max_value=500))
def test_safe_text_never_pings_and_fits(text: str, limit: int) -> None:
    out = safe(text, limit)
    assert len(out) <= limit
    assert not LIVE_MENTION.search(out)


@given(hostile)
def test_neutralising_keeps_the_visible_text(text: str) -> None:
    assert neutralize_mentions(text).replace("\u200b", "") == text.replace("\u200b", "")


def test_control_and_bidi_characters_are_dropped() -> None:
    assert clean("a\x00b\x1bc\u202eevil\u2066d") == "abcevild"
    assert clean("one\r\ntwo\t three") == "one\ntwo three"
    assert clean("  lots   of\u00a0space ", keep_newlines=False) == "lots of space"


def test_shorten_cuts_at_a_word_boundary() -> None:
    text = "The quick brown fox jumps over the lazy dog"
    assert shorten(text, 100) == text
    cut = shorten(text, 20)
    assert cut == "The quick brown fox" + ELLIPSIS and len(cut) <= 20
    assert shorten("x" * 50, 10) == "x" * 9 + ELLIPSIS
    assert shorten("anything", 0) == ""


@given(
    st.one_of(st.text(), st.text(st.sampled_from(" ab\t\n\u00a0\u202e\u200d\x00é😀")), hostile), st.booleans()
)
def test_the_fast_path_of_clean_agrees_with_the_full_one(text: str, keep_newlines: bool) -> None:
    from bot.text import _clean_any

    assert clean(text, keep_newlines=keep_newlines) == _clean_any(text, keep_newlines=keep_newlines)
