"""What the digest makes of replies in the community's language: stems and function words per
language, well-formed themes, quotes that are never junk nor repeated, and the built-in gist."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.builtin_gist import BuiltinGist
from bot.gist import MAX_GIST_CHARS, GistReply, GistRequest
from bot.i18n import Languages
from bot.language import language
from bot.models import Reply, ReplyView
from bot.quotes import DigestReader, Reading, site_name
from bot.text import neutralize_mentions
from bot.themes import Voice, find_themes
from bot.wording import is_junk, overlap, words

T0 = datetime(2026, 11, 2, 12, tzinfo=UTC)

GERMAN = {
    "anna": "Ich habe im Repair Café meinen Toaster repariert, die Reparatur dauerte zehn Minuten.",
    "bernd": "Im Repair Café bei uns gibt es jeden Samstag Reparaturen für Fahrräder und Lampen.",
    "clara": "Die Ersatzteile sind das Problem. Viele Hersteller liefern keine Ersatzteile mehr.",
    "dieter": "Ohne Ersatzteile hilft auch das beste Repair Café nichts.",
    "elke": "Das Recht auf Reparatur muss auch für Software gelten, sonst bleibt alles beim Alten.",
    "frank": "Wir brauchen endlich ein Recht auf Reparatur wie in Frankreich.",
    "gabi": "Reparaturen sind oft teurer als ein neues Gerät, das ist das eigentliche Problem.",
}
PORTUGUESE = {
    "ana": "Eu já levei meu liquidificador ao café de reparos do bairro e saiu funcionando.",
    "bruno": "O café de reparos da minha cidade conserta bicicletas todo sábado.",
    "carla": "As peças de reposição custam caro demais, às vezes mais que um aparelho novo.",
    "davi": "Sem peças de reposição não há conserto possível.",
    "elisa": "Consertei meu celular sozinha com um vídeo, foi fácil e barato.",
    "fábio": "Acho que o governo deveria exigir peças de reposição por dez anos.",
    "gil": "O café de reparos é uma ótima ideia para ensinar os jovens a consertar.",
}
ENGLISH = {
    "ana": "I volunteer at a repair café and we fix about thirty toasters a month.",
    "ben": "The repair café in our town taught me to solder, I fixed my kid's headphones.",
    "cy": "Spare parts for ten years is great if the parts don't cost more than the appliance.",
    "dee": "Spare parts are the real problem, the manufacturers stop making them.",
    "eli": "A repair café only works when there are spare parts to be had.",
    "fay": "The right to repair should include software locks, my tractor needs the dealer.",
    "gus": "Without a right to repair, the repair café can only fix the simple stuff.",
}


def views(
    said: dict[str, str], discussion: int = 1, reactions: dict[str, int] | None = None
) -> list[ReplyView]:
    return [
        ReplyView(
            Reply(
                id=discussion * 1000 + n,
                discussion_id=discussion,
                message_id=f"m{discussion}-{n}",
                author_id=author,
                author_name=author,
                text=text,
                created_at=T0 + timedelta(minutes=n),
                edited_at=None,
                featured=False,
                hidden=False,
                reactions=(reactions or {}).get(author, 0),
            ),
            opted_out=False,
            anonymous=False,
        )
        for n, (author, text) in enumerate(said.items())
    ]


def read(
    code: str, said: dict[str, str], title: str = "Repair", reactions: dict[str, int] | None = None
) -> Reading:
    reader = DigestReader(Languages().words(code), {1: views(said, reactions=reactions)})
    return reader.read(1, title=title)


def sentences(texts: list[str]) -> list[str]:
    found = (s.strip(" .!?").lower() for t in texts for s in re.split(r"[.!?]\s+|\n", t))
    return [s for s in found if len(s.split()) >= 2]


def assert_not_a_copy(gist: str, texts: list[str]) -> None:
    lowered = gist.lower()
    for sentence in sentences(texts):
        if " " in sentence:  # a one-word reply is a topic, not a sentence to copy
            assert sentence not in lowered, sentence


def assert_well_formed(code: str, phrase: str) -> None:
    lang = language(code)
    said = lang.words(phrase)
    assert said, phrase
    for edge in (said[0], said[-1]):
        assert not lang.is_function_word(edge) and not lang.is_number(edge), phrase


def test_stems_and_function_words_are_per_language() -> None:
    german, english, portuguese = language("de"), language("en"), language("pt")
    assert german.stem("reparatur") == german.stem("reparaturen")
    assert german.stem("ersatzteil") == german.stem("ersatzteile")
    assert portuguese.stem("conserto") == portuguese.stem("consertos")
    # "die" is grammar in German and a word with a meaning in English; "the" is nothing in German.
    assert german.is_function_word("die") and not english.is_function_word("die")
    assert english.is_function_word("the") and not german.is_function_word("the")
    assert german.is_low_value("genau") and portuguese.is_low_value("kkkk") and english.is_low_value("lol")
    assert language("fr").words("L'eau d'ici") == ["l'", "eau", "d'", "ici"]


def test_first_hand_experiences_in_each_language() -> None:
    told = {
        "en": ("I volunteer at the repair café every second Saturday of the month.",
               "We fixed the old washing machine ourselves with a part from the dealer.",
               "My tractor needs the dealer to reset a code after every single repair."),
        "de": ("Ich habe meinen Toaster im Repair Café reparieren lassen, das ging schnell.",),
        "fr": ("J'ai réparé mon grille-pain au café de réparation le mois dernier.",),
        "es": ("Reparé mi tostadora en el café de reparación del barrio el mes pasado.",),
        "pt": ("Eu já levei meu liquidificador ao café de reparos do bairro no mês passado.",),
    }  # fmt: skip
    opinions = {
        "en": ("I think the right to repair should include software locks for everyone.",
               "In my opinion the right to repair should include software locks too."),
        "de": ("Ich denke, das Recht auf Reparatur sollte auch für Software gelten.",),
        "pt": ("Acho que o governo deveria exigir peças de reposição por muitos anos.",),
    }  # fmt: skip
    for code, texts in told.items():
        lang = language(code)
        for text in texts:
            assert lang.tells_experience(lang.words(text)), (code, text)
    for code, texts in opinions.items():
        lang = language(code)
        for text in texts:
            assert not lang.tells_experience(lang.words(text)), (code, text)


def test_german_themes_are_german_phrases() -> None:
    reading = read("de", GERMAN)
    phrases = [t.phrase for t in reading.themes]
    assert "Repair Café" in phrases and "Recht auf Reparatur" in phrases, phrases
    for phrase in phrases:
        assert_well_formed("de", phrase)
    assert_not_a_copy(reading.gist.text, list(GERMAN.values()))
    assert "Repair Café" in reading.gist.text and reading.experiences >= 1


def test_portuguese_themes_are_portuguese_phrases() -> None:
    reading = read("pt", PORTUGUESE)
    phrases = [t.phrase for t in reading.themes]
    assert "café de reparos" in phrases and "peças de reposição" in phrases, phrases
    for phrase in phrases:
        assert_well_formed("pt", phrase)
    assert_not_a_copy(reading.gist.text, list(PORTUGUESE.values()))
    assert reading.experiences >= 2  # "Eu já levei…", "Consertei…"


def test_english_themes_are_phrases_not_fragments() -> None:
    reading = read("en", ENGLISH)
    phrases = [t.phrase for t in reading.themes]
    assert phrases[:2] == ["repair café", "spare parts"], phrases
    assert "parts for ten" not in phrases and all(p != "ten" for p in phrases)
    for phrase in phrases:
        assert_well_formed("en", phrase)
    assert reading.gist.text.startswith("4 members wrote about “repair café”, 3 about “spare parts”")
    assert_not_a_copy(reading.gist.text, list(ENGLISH.values()))


def test_the_site_of_the_article_is_no_theme() -> None:
    """Under a Reddit post every other reply says "reddit": the gist named it as what the most
    members wrote about. The site's name is left out like the title's words."""
    said = {
        "ana": "I read reddit every morning and the repair café thread was the best one.",
        "bo": "Half of reddit fixes toasters now; our repair café has a waiting list.",
        "cy": "Found the repair café through reddit, brought a lamp and spare parts.",
        "di": "reddit told me to bring spare parts, so I did and the repair café fixed it.",
        "ed": "Honestly reddit is where I learned the basics before the repair café.",
        "fa": "My kettle works again. Someone on reddit had the same model.",
        "gu": "Posted my broken radio on reddit and got three answers in an hour.",
    }
    views_of = {1: views(said)}
    plain = DigestReader(Languages().words("en"), views_of).read(1, title="Repair")
    assert "reddit" in [t.phrase for t in plain.themes]
    reading = DigestReader(Languages().words("en"), views_of).read(
        1, title="Repair", site="https://www.reddit.com/r/fixit/comments/abc/repair/"
    )
    phrases = [t.phrase for t in reading.themes]
    assert "reddit" not in phrases and "repair café" in phrases, phrases
    assert "reddit" not in reading.gist.text, reading.gist.text


def test_site_names() -> None:
    assert site_name("https://www.reddit.com/r/x") == "reddit"
    assert site_name("https://news.bbc.co.uk/a") == "bbc"
    assert site_name("https://example.org") == "example"
    assert site_name("http://127.0.0.1:8080/feed") == ""
    assert site_name("http://[::1]/feed") == ""
    assert site_name("") == "" and site_name("localhost") == ""


def test_english_function_words_are_not_german_content() -> None:
    """An English community's "the", "and", "with" are grammar; a German community's "the"
    would be a word (and "die", "und", "mit" grammar)."""
    german = language("de")
    texts = [
        f"Die Reparatur mit dem Lötkolben und {w} war gut."
        for w in ("Geduld", "Zeit", "Hilfe", "Ruhe", "Licht")
    ]
    voices = [Voice.of(german, f"m{n}", text) for n, text in enumerate(texts)]
    for found in find_themes(voices, german):
        assert_well_formed("de", found.phrase)
        assert found.phrase.split()[0].lower() not in ("die", "mit", "und", "dem")


def test_keyboard_mash_shouting_and_one_liners_never_win_a_quote() -> None:
    said = {
        "mash": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA longword0",
        "shout": "THIS IS THE BEST THING THAT HAS EVER HAPPENED TO THIS TOWN",
        "lol": "lol same",
        "link": "https://example.com/repair",
        "short": "Repair cafés rock",
        "ana": "I volunteer at a repair café and we fix about thirty toasters a month.",
        "ben": "Spare parts for ten years is great if the parts don't cost more than the appliance.",
    }
    reading = read("en", said, reactions={"mash": 500, "shout": 300, "lol": 200, "link": 100, "short": 90})
    quoted = [h.author for h in reading.highlights]
    assert quoted[:2] == ["ana", "ben"]  # the experience first, then the other substantive reply
    assert not {"mash", "shout", "lol", "link"} & set(quoted)
    assert is_junk(said["mash"], words(said["mash"])) and is_junk(said["shout"], words(said["shout"]))
    assert not is_junk(said["ana"], words(said["ana"]))


def test_no_two_quotes_of_one_digest_say_nearly_the_same() -> None:
    first = dict(ENGLISH)
    second = {
        f"{author}2": text.replace("repair café", "repair shop").replace(".", "!")
        for author, text in ENGLISH.items()
    }
    reader = DigestReader(Languages().words("en"), {1: views(first, 1), 2: views(second, 2)})
    readings = [reader.read(1, title="Repair"), reader.read(2, title="Repair again")]
    quotes = [
        q for r in readings for q in (*(h.excerpt for h in r.highlights), *(t.excerpt for t in r.themes))
    ]
    assert len(quotes) >= 4
    lang = language("en")
    stems = [frozenset(lang.stem(w) for w in lang.words(q)) for q in quotes]
    for i, mine in enumerate(stems):
        for theirs in stems[i + 1 :]:
            assert overlap(mine, theirs) < 0.8


async def test_builtin_gist_engine_is_safe_bounded_and_never_a_copy() -> None:
    engine = BuiltinGist()
    english = Languages().words("en")
    cases = [
        ["Repair café."],
        ["I fixed my bike at the repair café @everyone should go <@123>"],
        list(ENGLISH.values()),
        [
            f"Spare parts story {n}: my tractor needs the dealer to reset a code, said member {n}."
            for n in range(3000)
        ],
    ]
    for texts in cases:
        request = GistRequest(
            title="Repair",
            prompt="What did you repair?",
            replies=tuple(GistReply(f"m{n}", text) for n, text in enumerate(texts)),
            participants=len(texts),
            words=english,
        )
        gist = await engine.gist(request)
        assert gist.engine == "builtin" and gist.text and len(gist.text) <= MAX_GIST_CHARS
        assert neutralize_mentions(gist.text) == gist.text
        assert_not_a_copy(gist.text, texts)
    german = await engine.gist(
        GistRequest(
            "Reparatur",
            "",
            tuple(GistReply(a, t) for a, t in GERMAN.items()),
            len(GERMAN),
            Languages().words("de"),
        )
    )
    assert "Repair Café" in german.text and german.experiences >= 1


_VOCABULARY = {
    "en": "the a of and to in night shift bridge repair café spare parts ten eighteen second I we my our",
    "de": "der die das und mit von zum Recht auf Reparatur Ersatzteile zehn ich habe wir Lötkolben",
    "pt": "o a de da do e em café reparos peças reposição dez eu já meu consertei",
}


@settings(max_examples=40, deadline=None)
@given(
    code=st.sampled_from(sorted(_VOCABULARY)),
    picks=st.lists(st.lists(st.integers(0, 30), min_size=2, max_size=14), min_size=5, max_size=12),
    marks=st.lists(st.sampled_from([" ", " ", " ", ", ", ". "]), min_size=14, max_size=14),
)
def test_theme_labels_never_start_or_end_with_a_function_word(
    code: str, picks: list[list[int]], marks: list[str]
) -> None:
    vocabulary = _VOCABULARY[code].split()
    lang = language(code)
    voices = []
    for n, reply in enumerate(picks):
        text = "".join(vocabulary[i % len(vocabulary)] + marks[k] for k, i in enumerate(reply))
        voices.append(Voice.of(lang, f"m{n % 4}", text))
    for found in find_themes(voices, lang, minimum=2):
        said = lang.words(found.phrase)
        for edge in (said[0], said[-1]):
            assert lang.is_content(edge), found.phrase
        assert not any(mark in found.phrase for mark in ",.")
