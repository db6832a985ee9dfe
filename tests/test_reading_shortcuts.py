"""The digest's reading skips work it can prove needless (bot/themes.py, bot/wording.py):
the link searches where no link can be, and each clause's words read from one pass over its
sentence. These tests hold the shortcuts to the long way: the same words, links and phrases."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import builtin_gist, themes, wording
from bot.builtin_gist import gist_of
from bot.i18n import Languages
from bot.language import language

# Pieces that make links, clause marks, odd white space and the letters a case-blind
# pattern matches beyond ASCII ("ı" and "İ" match "i"), mixed with ordinary words.
PIECES = st.sampled_from(
    [
        "night shift", "Night", "WWW.", "www.", "example", ".COM", ".io", ".ıo", ".İO", "://", "https",
        "](", ")", "[", "l'eau", "d’été", "don’t", " - ", " — ", ", ", "; ", ". ", "! ", "\n", "\t",
        "\u00a0", "  ", "«", "»", "/", "_", "*", "reddit.com/r/x", "4,000", "self-driving", "İstanbul",
        "e.g.", "?!", "x", "-", ".",
    ]
)  # fmt: skip
TEXTS = st.lists(PIECES, max_size=12).map("".join)

LINKED = [
    "see [this](https://x.com/a) now",
    "go to WWW.Example.ORG please",
    "docs at foo.İo and bar.ıo",
    "](x)https://y and the night shift",
]


def _phrases_the_long_way(code: str, text: str) -> dict[themes.Gram, tuple[str, bool]]:
    """Each clause tokenised on its own, every link search run, as before the shortcuts."""
    return _read_the_long_way(code, text)[0]


def _read_the_long_way(
    code: str, text: str
) -> tuple[dict[themes.Gram, tuple[str, bool]], dict[str, int], dict[str, int]]:
    """The phrases, and the uses of each stem in mid-sentence and how many of them are
    capitalised: each sentence and clause cut and tokenised on its own."""
    lang = language(code)
    found: dict[themes.Gram, tuple[str, bool]] = {}
    mid: dict[str, int] = {}
    capital: dict[str, int] = {}
    for sentence in themes._SENTENCE.split(themes._LINK.sub(" ", text)):
        first = True
        for clause in themes._CLAUSE.split(sentence):
            blank = wording._URL.sub(lambda m: " " * len(m.group()), clause)
            tokens = [
                (m.group().replace("’", "'"), m.start(), m.end()) for m in wording._WORD.finditer(blank)
            ]
            if code == "fr":
                tokens = lang.tokens(clause)
            if not tokens:
                continue
            lower = [w.lower() for w, _, _ in tokens]
            kinds = [lang.kind(w) for w in lower]
            for k, (w, _, _) in enumerate(tokens):
                if kinds[k][1] and not (first and k == 0):
                    mid[kinds[k][0]] = mid.get(kinds[k][0], 0) + 1
                    if w[:1].isupper() and not w.isupper():
                        capital[kinds[k][0]] = capital.get(kinds[k][0], 0) + 1
            for i in range(len(lower)):
                if not kinds[i][1]:
                    continue
                for j in range(i, min(len(lower), i + themes.MAX_WORDS)):
                    if not kinds[j][2]:
                        break
                    if not kinds[j][1] or (i == j and len(lower[i]) < 4):
                        continue
                    if j > i and lang.ends_badly(lower[j]):
                        continue
                    gram = tuple(k[0] for k in kinds[i : j + 1])
                    initial = first and i == 0
                    had = found.get(gram)
                    if had is not None and (had[1] or initial):
                        continue
                    shown = re.sub(r"\s+", " ", clause[tokens[i][1] : tokens[j][2]])
                    if initial and code != "de" and shown[1:] == shown[1:].lower():
                        shown = shown[0].lower() + shown[1:]
                    found[gram] = (shown, not initial)
            first = False
    return found, mid, capital


@pytest.mark.parametrize("text", LINKED)
def test_a_reply_with_a_link_is_searched_for_it(text: str) -> None:
    assert themes._LINK.search(text) and themes._may_link(text)
    assert wording._may_link(text) or not wording._URL.search(text)


@settings(max_examples=300, deadline=None)
@given(TEXTS)
def test_the_link_searches_are_skipped_only_where_no_link_can_be(text: str) -> None:
    if themes._LINK.search(text):
        assert themes._may_link(text)
    if wording._URL.search(text):
        assert wording._may_link(text)


@settings(max_examples=300, deadline=None)
@given(TEXTS)
def test_words_read_with_the_shortcuts_are_the_words_read_the_long_way(text: str) -> None:
    bare = wording._URL.sub(" ", text)
    assert wording.words(text) == [w.lower().replace("’", "'") for w in wording._WORD.findall(bare)]
    blank = wording._URL.sub(lambda m: " " * len(m.group()), text)
    assert wording.written_words(text) == [
        (m.group().replace("’", "'"), m.start(), m.end()) for m in wording._WORD.finditer(blank)
    ]


@pytest.mark.parametrize("code", ["en", "de", "fr"])
@settings(max_examples=150, deadline=None)
@given(text=TEXTS)
def test_phrases_read_in_one_pass_are_the_phrases_read_clause_by_clause(code: str, text: str) -> None:
    found, usage, said = themes._phrases(language(code), text)
    assert (found, usage.mid, usage.capital) == _read_the_long_way(code, text)
    assert said == language(code).words(text)


@pytest.mark.parametrize("code", ["en", "fr"])
@settings(max_examples=150, deadline=None)
@given(
    text=st.lists(st.sampled_from(["L'", "ΟΔΟΣ", "Σ", "İ", "l’", "eau", " ", ". ", "Été"]), max_size=8).map(
        "".join
    )
)
def test_a_reply_s_words_read_with_its_phrases_are_its_words(code: str, text: str) -> None:
    """Where the words of the phrases are the reply's words (no link, no "İ"; French cut at
    elisions before lower case: "σ" or "ς")."""
    assert themes._phrases(language(code), text)[2] == language(code).words(text)


def test_a_theme_is_written_with_single_spaces_whatever_the_reply_used() -> None:
    found, _, _ = themes._phrases(language("en"), "We talk about the night\u00a0 \tshift every day.")
    assert found[("night", "shift")] == ("night shift", True)


# Capitals and letters beyond ASCII: "Ⓐ" is a capital but no letter, "ǅ" a letter and no capital.
SHOUTS = st.lists(
    st.sampled_from(
        [
            "NIGHT SHIFT",
            "night",
            "A",
            "b",
            "Ⓐ",
            "ǅ",
            "İ",
            "ß",
            " ",
            "!",
            "12",
            "ÉTÉ",
            "x",
            "https",
            "www",
            "hahahahaha",
        ]
    ),
    max_size=40,
).map("".join)


def _junk_the_long_way(text: str, said: list[str]) -> bool:
    """`wording.is_junk` with every letter counted, as before its shortcut."""
    if not said:
        return True
    bare = wording._URL.sub(" ", text)
    if wording._REPEATED.search(bare.replace("...", "")):
        return True
    if any(len(t) > wording.MAX_WORD and not t.startswith(("http", "www")) for t in bare.split()):
        return True
    letters = sum(map(str.isalpha, bare))
    if letters >= 12 and sum(map(str.isupper, bare)) > 0.7 * letters:
        return True
    return any(len(w) >= 8 and len(set(w)) <= 3 for w in said)


@settings(max_examples=300, deadline=None)
@given(SHOUTS)
def test_shouting_counted_capitals_first_is_shouting_counted_the_long_way(text: str) -> None:
    said = wording.words(text)
    assert wording.is_junk(text, said) == _junk_the_long_way(text, said)


def test_a_reply_of_capitals_but_few_letters_is_no_shouting() -> None:
    text = "ⒶⒶⒶⒶ ⒷⒷⒷⒷ ⒸⒸⒸ hello there friend"  # 11 capitals, none of them letters
    assert not wording.is_junk(text, wording.words(text))
    shout = "NIGHT SHIFT FOREVER friends"
    assert wording.is_junk(shout, wording.words(shout))


@pytest.mark.parametrize("many", [2, 4, 5, 9])
def test_a_gist_told_no_themes_were_found_is_the_gist_that_looks_again(many: int) -> None:
    """The digest passes the gist the themes it found (none here: each reply its own
    topic); the gist looks again only where the digest did not look (under five replies)."""
    lang = language("en")
    english = Languages().words("en")
    texts = [
        "Memcached saved our launch week.",
        "Night trains are lovely in winter.",
        "My tractor dealer resets codes for money.",
        "Repair cafés fix bicycles on Saturdays.",
        "Solar panels paid back after nine years.",
        "Library cards open museum doors too.",
        "Sourdough starters need feeding daily.",
        "Ferries beat flights for short hops.",
        "Heat pumps hum quietly outside.",
    ][:many]
    voices = [themes.Voice.of(lang, f"m{n}", text) for n, text in enumerate(texts)]
    found = themes.find_themes(voices, lang, limit=6)
    assert found == []
    told = gist_of(
        voices, texts=texts, participants=many, experiences=0, words=english, language=lang, found=found
    )
    looked = gist_of(voices, texts=texts, participants=many, experiences=0, words=english, language=lang)
    assert told == looked and told.text


def test_a_small_discussion_s_gist_finds_its_themes_though_the_digest_names_none() -> None:
    lang = language("en")
    texts = [
        "Night trains are the best way to cross Europe.",
        "I took night trains to Vienna twice last year.",
        "Sleeping on night trains beats any airport queue.",
    ]
    voices = [themes.Voice.of(lang, f"m{n}", text) for n, text in enumerate(texts)]
    found = themes.find_themes(voices, lang, limit=6)  # too few replies for the digest's themes
    assert found == []
    gist = gist_of(
        voices,
        texts=texts,
        participants=3,
        experiences=0,
        words=Languages().words("en"),
        language=lang,
        found=found,
    )
    assert "night trains" in gist.text.lower()


@settings(max_examples=300, deadline=None)
@given(TEXTS)
def test_a_sentence_normalised_without_its_space_search_is_normalised_the_long_way(text: str) -> None:
    assert builtin_gist._normal(text) == re.sub(r"\s+", " ", text.strip().strip(".!?…").lower())


@settings(max_examples=300, deadline=None)
@given(TEXTS)
def test_sentence_ends_found_without_the_look_behind_are_where_sentences_are_cut(text: str) -> None:
    assert [m.end() for m in themes._SENTENCE_END.finditer(text)] == [
        m.end() for m in themes._SENTENCE.finditer(text)
    ]


def test_a_theme_is_written_as_most_of_its_replies_write_it() -> None:
    """Spellings are counted only for phrases several replies share (when first needed):
    every reply using the phrase counts, one written mid-sentence a hundred times more."""
    lang = language("en")
    texts = [
        "NIGHT SHIFT is brutal.",
        "NIGHT SHIFT again, every week.",
        "NIGHT SHIFT forever, it seems.",
        "I hated the night shift at the plant.",
        "My dad did the night shift for years.",
    ]
    voices = [themes.Voice.of(lang, f"m{n}", text) for n, text in enumerate(texts)]
    found = themes.find_themes(voices, lang, limit=6)
    night = next(theme for theme in found if theme.gram == ("night", "shift"))
    assert (night.phrase, night.replies, night.members) == ("night shift", 5, 5)


def test_a_name_is_no_theme_alone_but_a_rare_word_is() -> None:
    """The discussion's names are found only when a lone word could be a theme."""
    lang = language("en")
    texts = [f"Member {n} says Quarnby was right about memcached here." for n in range(8)]
    voices = [themes.Voice.of(lang, f"m{n}", text) for n, text in enumerate(texts)]
    lone = {theme.gram for theme in themes.find_themes(voices, lang, limit=6) if len(theme.gram) == 1}
    assert ("quarnbi",) not in lone and ("memcach",) in lone
