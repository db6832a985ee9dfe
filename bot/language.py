"""What words mean to the digest, per language: stems, function words, low-value words.

Themes, highlights and the built-in gist read replies in the community's language
(English, German, French, Spanish or Portuguese). A `Language` is built once per digest
by the caller and passed along; it holds a small cache of the stems it has seen, so it
belongs to one digest, not to the module.

Stemming is Snowball's (the `snowballstemmer` package, one algorithm per language:
"Reparaturen" and "Reparatur" are one stem). It runs the C build of the same algorithms
(PyStemmer) when installed: about 70 times faster, which a thread of thousands of replies
needs (0.4 ms per new word in pure Python). Function words are curated here
rather than taken from a stop-word package: the packages' lists mix in content words
("work", "problem", "trabajo", "tiempo", "trabalho", "Zeit", "Jahr"), which would throw
away exactly the words a theme is made of. How common a word is in the language at large
comes from `wordfreq`: a lone word names a theme only when it is not an everyday word.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Protocol

from bot.i18n import DEFAULT_LANGUAGE, language_code
from bot.wording import MAX_WORD, written_words
from bot.wording import words as _words

_SNOWBALL = MappingProxyType(
    {"en": "english", "de": "german", "fr": "french", "es": "spanish", "pt": "portuguese"}
)

# Grammar: articles, pronouns, prepositions, conjunctions, auxiliaries and modals, and the
# adverbs every sentence uses. Never the edge of a theme, never a reply's substance.
_FUNCTION = MappingProxyType(
    {
        "en": """
        a about above after again against all almost also although always am an and any are aren't as at
        be because been before being below between both but by can can't cannot could couldn't did didn't
        do does doesn't doing don't down during each either else even ever every few for from further
        had hadn't has hasn't have haven't having he he'd he'll he's her here here's hers herself him
        himself his how how's however i i'd i'll i'm i've if in into is isn't it it'd it'll it's its
        itself just let's me might mine more most much must mustn't my myself never no nor not now of off
        often on once only or other others ought our ours ourselves out over own perhaps quite rather
        really shan't she she'd she'll she's should shouldn't since so some such than that that's the
        their theirs them themselves then there there's these they they'd they'll they're they've this
        those though through thus to too under until up upon us very via was wasn't we we'd we'll we're
        we've were weren't what what's when when's where where's whether which while who who's whom why
        why's will with within without won't would wouldn't yet you you'd you'll you're you've your yours
        yourself yourselves also actually anyone anything anybody everyone everything someone something
        nothing nobody doesnt dont im ive youre thats isnt cant wont didnt its id ill whats theres
        already still almost maybe again back away around because cause cuz gonna wanna gotta
        ones one's
    """,
        "de": """
        aber alle allem allen aller alles als also am an ander andere anderem anderen anderer anderes
        anders auch auf aus bei beim bin bis bist da dabei dadurch dafür dagegen daher damit danach dann
        daran darauf darin darum darüber das dass daß dem demselben den denen denn der deren derer des
        deshalb dessen dich die dies diese diesem diesen dieser dieses dir doch dort du durch ein eine
        einem einen einer eines einig einige einigem einigen einiger einiges einmal er es etwas euch
        euer eure eurem euren eurer eures für gegen gewesen hab habe haben hast hat hatte hatten hätte
        hätten hier hin hinter ich ihm ihn ihnen ihr ihre ihrem ihren ihrer ihres im in indem ins ist
        ja jede jedem jeden jeder jedes jene jenem jenen jener jenes jetzt kann kannst kein keine keinem
        keinen keiner keines können könnte könnten man manche manchem manchen mancher manches mein meine
        meinem meinen meiner meines mich mir mit muss musste müssen nach nicht nichts noch nun nur ob
        oder ohne schon sehr sein seine seinem seinen seiner seines selbst sich sie sind so solche
        solchem solchen solcher solches soll sollte sollten sondern sonst um und uns unser unsere unserem
        unseren unserer unseres unter viel vom von vor wann war waren warst warum was weil weiter welche
        welchem welchen welcher welches wenn wer werde werden wie wieder will wir wird wirst wo wollen
        wollte würde würden zu zum zur zwar zwischen über eben halt mal eigentlich wohl gar immer nie
        oft bereits dort da's gibt geht gab ging wurde wurden worden bisschen
    """,
        "fr": """
        a à ai aie ainsi alors as au aucun aura aurai auraient aurais aurait aussi autre autres aux avaient
        avais avait avant avec avez aviez avions avoir avons ayant c' ça car ce ceci cela celle celles
        celui ces cet cette ceux chaque chez comme comment d' dans de depuis des donc dont du elle elles
        en encore es est et étaient étais était été êtes étions être eu eux fait faire fais font fut j'
        je jamais l' la le les leur leurs lui m' ma mais me même mes moi mon n' ne ni non nos notre
        nous on ont ou où par parce pas peu peut peuvent plus pour pourquoi qu' quand que quel quelle
        quelles quels qui quoi s' sa sans se sera serait ses si sien soi soit sommes son sont sous suis
        sur t' ta te tes toi ton toujours tous tout toute toutes très tu un une vers vos votre vous y
        déjà aussi bien ici là voilà
    """,
        "es": """
        a al algo algunas algunos ante antes aquel aquella aquellas aquellos aquí así aunque cada casi
        como con contra cual cuales cuando cuánto de del desde donde dos el él ella ellas ello ellos en
        entre era erais éramos eran eras es esa esas ese eso esos esta está estaba estaban estado
        estamos están estar estas este esto estos estoy fue fuera fueron fui fuimos ha había habían
        han has hasta hay he hemos hoy la las le les lo los me mi mí mis mucho muchos muy más nada ni
        no nos nosotros nuestra nuestras nuestro nuestros o os otra otras otro otros para pero poco por
        porque que qué quien quienes se sea ser si sí siempre sin sino sobre son su sus también tan
        tanto te tener tengo ti tiene tienen todo todos tu tú tus un una unas uno unos usted ustedes
        vosotros y ya yo ahí allí entonces donde luego pues cómo
    """,
        "pt": """
        a à ao aos aquela aquelas aquele aqueles aquilo as às até com como da das de dela delas dele
        deles depois do dos e é ela elas ele eles em entre era eram essa essas esse esses esta está
        estamos estão estas estava estavam este estes estou eu foi fomos for foram fosse fui há isso
        isto já la lá lhe lhes lo mais mas me mesmo meu meus minha minhas muito muitos na nas não nem
        no nos nós nossa nossas nosso nossos num numa o os ou para pela pelas pelo pelos por porque
        quando que quem se sem ser seu seus só sua suas também te tem têm tenho ter teu teus tu tua
        tuas um uma umas uns você vocês vos ainda assim bem aqui ali então onde pois sempre nunca tão
        tudo todo todos toda todas era estar sido sendo tinha tinham fez faz
    """,
    }
)

# Words that carry no topic of their own: vague nouns and verbs, opinions, fillers. They count
# as little as function words for substance and may not be the edge of a theme.
_VAGUE = MappingProxyType(
    {
        "en": """
        thing things stuff way ways lot lots bit kind sort people person guy guys man time times day days
        week weeks year years today yesterday tomorrow part place point fact case idea question answer
        reason example number end start get gets getting got gotten go goes going gone went come came
        make makes made making take took taken say says said saying tell told know knew known think
        thought see saw seen look looks looked want wanted need needs needed seem seems seemed feel
        felt use used using try tried give gave put let like likes liked love mean means meant guess
        hope wish agree believe probably sure pretty literally basically definitely seriously
        honestly totally good great bad best better worse worst nice big small little new old many
        much lot right wrong real true same different whole long first last next own able
        well yes yeah yep yup nope oh ah hmm wow lol haha omg ok okay post comment reply thread
        edit edited update call called happen happens happened talk talking live lived heard hear
        watch watched read mention mentioned claim claims shit fuck fucking fucked damn hell crap
        bullshit https http www com org
    """,
        "de": """
        ding dinge sache sachen leute mensch menschen mann frau zeit tag tage woche jahr jahre heute
        gestern morgen teil art weise fall frage antwort grund beispiel ende anfang machen macht
        gemacht sagen sagt gesagt sehen sieht gesehen finde finden denke denken glaube glauben meine
        meinen wissen weiß gut gute guter gutes schlecht besser neu neue alt alte groß klein viele
        wirklich echt total genau klar richtig falsch ganz gleich erste letzte einfach natürlich
        vielleicht wahrscheinlich beitrag kommentar edit scheiße mist
    """,
        "fr": """
        chose choses truc gens personne personnes temps jour jours semaine an ans année années
        aujourd'hui hier demain partie façon fois question réponse raison exemple fin début dit dire
        disent voir vu pense penser crois croire trouve sais savoir bon bonne mauvais mieux nouveau
        nouvelle vieux grand petit beaucoup vraiment vrai faux juste premier dernier simplement peut-être
        probablement sûr commentaire message
    """,
        "es": """
        cosa cosas gente persona personas tiempo día días semana año años hoy ayer mañana parte forma
        vez veces pregunta respuesta razón ejemplo fin principio decir dice dicho ver visto creo creer
        pienso pensar sé saber bueno buena malo mejor peor nuevo nueva viejo grande pequeño mucho
        realmente verdad cierto falso igual primero último simplemente quizás probablemente seguro
        comentario mensaje
    """,
        "pt": """
        coisa coisas gente pessoa pessoas tempo dia dias semana ano anos hoje ontem amanhã parte forma
        vez vezes pergunta resposta razão exemplo fim começo dizer diz disse ver visto acho achar penso
        pensar sei saber bom boa mau melhor pior novo nova velho grande pequeno realmente verdade certo
        errado igual primeiro último simplesmente talvez provavelmente claro comentário mensagem
    """,
    }
)

# Number words: "parts for ten", "twice in eighteen" are cut fragments, not themes.
_NUMBERS = MappingProxyType(
    {
        "en": """
        zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen
        sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety
        hundred hundreds thousand thousands million millions billion first second third fourth fifth
        sixth seventh eighth ninth tenth once twice half dozen dozens couple several
    """,
        "de": """
        null eins zwei drei vier fünf sechs sieben acht neun zehn elf zwölf zwanzig dreißig vierzig
        fünfzig hundert tausend million millionen erste ersten erster zweite zweiten dritte dritten
        einmal zweimal halb hälfte dutzend paar
    """,
        "fr": """
        zéro un deux trois quatre cinq six sept huit neuf dix onze douze vingt trente quarante
        cinquante cent cents mille million millions premier première deuxième second seconde
        troisième fois moitié douzaine
    """,
        "es": """
        cero uno dos tres cuatro cinco seis siete ocho nueve diez once doce veinte treinta cuarenta
        cincuenta cien ciento mil millón millones primero primera segundo segunda tercero tercera
        mitad docena
    """,
        "pt": """
        zero um dois duas três quatro cinco seis sete oito nove dez onze doze vinte trinta quarenta
        cinquenta cem cento mil milhão milhões primeiro primeira segundo segunda terceiro terceira
        metade dúzia
    """,
    }
)

# Replies made only of these (and function words) say nothing a digest should quote.
_LOW_VALUE = MappingProxyType(
    {
        "en": """
        this that same agreed agree yes yep yeah yup true so very much totally exactly indeed lol haha
        lmao rofl nice great good cool awesome wow thanks thank you love it me too also plus one
        interesting wild crazy omg oh ok okay sure right ha hah hahaha lmfao xd
    """,
        "de": """
        genau stimmt ja jep jo danke super toll cool krass wow lol haha gut richtig echt auch ich
        sehe ok okay nice geil mega top wahr
    """,
        "fr": """
        oui ouais exactement exact merci pareil mdr ptdr lol haha top génial cool super vrai bien
        d'accord accord moi aussi ok okay trop
    """,
        "es": """
        sí si exacto exactamente gracias igual jaja jajaja jajajaja lol genial cierto verdad bueno
        vale ok okay yo también total buenísimo
    """,
        "pt": """
        sim exato exatamente obrigado obrigada kkk kkkk kkkkk rs lol haha verdade top concordo isso
        também ok okay legal massa show boa eu
    """,
    }
)

# Function words a theme may have inside it ("right to repair", "Recht auf Reparatur").
_LINKS = MappingProxyType(
    {
        "en": "of to for and on in the a at with",
        "de": "der die das des dem den von vom zum zur für und mit auf im am",
        "fr": "de du des la le les à au aux et en d' l' pour sur",
        "es": "de del la el los las a al en y con para por",
        "pt": "de do da dos das a o em no na e com para por ao",
    }
)

# First-person words: the subject or owner of a first-hand experience.
_FIRST_PERSON = MappingProxyType(
    {
        "en": "i we i've we've i'm we're i'd we'd i was",
        "de": "ich wir",
        "fr": "je j' nous",
        "es": "yo nosotros nosotras",
        "pt": "eu nós",
    }
)
_MINE = MappingProxyType(
    {
        "en": "my our",
        "de": "mein meine meinem meinen meiner meines unser unsere unserem unseren unserer",
        "fr": "mon ma mes notre nos",
        "es": "mi mis nuestro nuestra nuestros nuestras",
        "pt": "meu minha meus minhas nosso nossa nossos nossas",
    }
)
# After "I"/"we": an opinion, a wish or a hypothetical, not something that happened.
_NOT_EXPERIENCE = MappingProxyType(
    {
        "en": """
        think thought believe guess agree disagree feel hope wish wonder would could should might
        can can't will won't mean suppose love hate like prefer want doubt bet imagine just also
        really honestly personally totally completely am know see bet need 'd 'll
    """,
        "de": """
        denke glaube finde meine hoffe wünsche würde würden könnte könnten sollte sollten will
        möchte wollen stimme frage vermute mag liebe hasse auch
    """,
        "fr": "pense crois trouve espère souhaite voudrais pourrais devrais veux aime préfère suis d'accord",
        "es": "creo pienso opino espero quisiera podría debería quiero prefiero amo odio supongo",
        "pt": "acho penso acredito concordo espero queria gostaria poderia deveria quero prefiro amo odeio",
    }
)
# "My two cents", "in my opinion": the owner words used for an opinion.
_NOT_MINE = MappingProxyType(
    {
        "en": "opinion view guess two cents experience knowledge understanding bad point take",
        "de": "meinung ansicht erachtens sicht",
        "fr": "avis opinion sens",
        "es": "opinión parecer",
        "pt": "opinião ver",
    }
)

COMMON_ZIPF = 4.5  # a word used more than ~30 times per million ("work", "site", "Leute")
EXPERIENCE_WORDS = 8  # fewer words tell no experience
_ELISION = re.compile(r"^(l|d|j|qu|n|s|c|m|t)'(?=\w)")


# A word's stem and what it may be in a theme: first or last word, inside, alone, last of
# several words (see `Language.kind`).
Kind = tuple[str, bool, bool, bool, bool]


class _Stemmer(Protocol):
    def stemWord(self, word: str) -> str: ...  # the library's name


def _set(text: str) -> frozenset[str]:
    return frozenset(text.split())


@dataclass(slots=True)
class Language:
    """One language's word knowledge, built once per digest (see `language`)."""

    code: str
    function_words: frozenset[str]
    vague: frozenset[str]
    numbers: frozenset[str]
    low_value: frozenset[str]
    links: frozenset[str]
    first_person: frozenset[str]
    mine: frozenset[str]
    not_experience: frozenset[str]
    not_mine: frozenset[str]
    _stemmer: _Stemmer = field(repr=False)
    _stems: dict[str, str] = field(default_factory=dict, repr=False)
    _kinds: dict[str, Kind] = field(default_factory=dict, repr=False)
    _common: dict[str, bool] = field(default_factory=dict, repr=False)

    def words(self, text: str) -> list[str]:
        """`bot.wording.words`, with French elisions split off ("l'eau" is "l'", "eau")."""
        return self.split_elisions(_words(text))

    def tokens(self, text: str) -> list[tuple[str, int, int]]:
        """The words of `text` as written (case kept, links left out, elisions split), each
        with where it starts and ends in `text`."""
        found = written_words(text)
        if self.code != "fr":
            return found
        split: list[tuple[str, int, int]] = []
        for w, start, end in found:
            m = _ELISION.match(w.lower())
            if m:
                split.extend(((w[: m.end()], start, start + m.end()), (w[m.end() :], start + m.end(), end)))
            else:
                split.append((w, start, end))
        return split

    def split_elisions(self, found: list[str]) -> list[str]:
        if self.code != "fr":
            return found
        split: list[str] = []
        for w in found:
            m = _ELISION.match(w.lower())
            if m:
                split.extend((w[: m.end()], w[m.end() :]))
            else:
                split.append(w)
        return split

    def kind(self, word: str) -> Kind:
        """A lower-case word's stem; whether it may be a theme's first or last word; whether
        it may be inside one; whether it may be a theme alone (four letters at least); and
        whether it may end one of several words (not `ends_badly`): found once per word and
        digest."""
        found = self._kinds.get(word)
        if found is None:
            edge = self.is_content(word) and len(word) <= MAX_WORD and not any(c.isdigit() for c in word)
            found = self._kinds[word] = (
                self.stem(word),
                edge,
                edge or word in self.links,
                edge and len(word) >= 4,
                edge and not self.ends_badly(word),
            )
        return found

    def kinds(self, words: list[str]) -> list[Kind]:
        """`kind` of each word (those already known without a call each)."""
        known = self._kinds.get
        return [known(w) or self.kind(w) for w in words]

    def is_common(self, word: str) -> bool:
        """A word of everyday language, too general to be a theme alone (wordfreq's Zipf
        scale: "work" 6.0, "moon" 4.7 are common; "memcached" 1.3, "Reparatur" 3.9 are not)."""
        found = self._common.get(word)
        if found is None:
            from wordfreq import zipf_frequency  # loaded by `language` already: a dict lookup

            found = self._common[word] = zipf_frequency(word, self.code) >= COMMON_ZIPF
        return found

    def stem(self, word: str) -> str:
        found = self._stems.get(word)
        if found is None:
            found = self._stems[word] = self._stemmer.stemWord(word)
        return found

    def is_function_word(self, word: str) -> bool:
        return word in self.function_words

    def is_number(self, word: str) -> bool:
        return word in self.numbers

    def is_low_value(self, word: str) -> bool:
        return word in self.low_value

    def is_weak(self, word: str) -> bool:
        """No topic of its own: a function, vague, number or low-value word, or too short."""
        return (
            len(word) < 2
            or word in self.function_words
            or word in self.vague
            or word in self.numbers
            or word in self.low_value
        )

    def ends_badly(self, word: str) -> bool:
        """A likely verb as a phrase's last word ("baby died", "daughter deserved"): English
        past forms end a clause's subject and verb, not a noun phrase."""
        return self.code == "en" and len(word) > 4 and word.endswith("ed") and not word.endswith("eed")

    def is_content(self, word: str) -> bool:
        return not self.is_weak(word)

    def says_something(self, said: list[str]) -> bool:
        """A reply's words say something: at least three words, one of them neither grammar,
        nor low-value, nor an opinion word ("I think this is right" says nothing)."""
        return len(said) >= 3 and any(
            w not in self.low_value and w not in self.function_words and w not in self.not_experience
            for w in said
        )

    def tells_experience(self, said: list[str]) -> bool:
        """First-hand words: "I volunteer…", "we fixed…", "my tractor…", "ich habe…", "eu já…";
        not "I think…", "I would…", "in my opinion", nor a one-liner ("My sides!")."""
        if len(said) < EXPERIENCE_WORDS:
            return False
        for i, w in enumerate(said):
            nxt = said[i + 1] if i + 1 < len(said) else ""
            if w in self.first_person and nxt and nxt not in self.not_experience:
                if self.code == "en" and w in ("i'd", "we'd"):
                    continue
                return True
            if w in self.mine and nxt and nxt not in self.not_mine and nxt not in self.function_words:
                return True
        return self.code in ("es", "pt") and _pro_drop_past(self.code, said)


def _pro_drop_past(code: str, said: list[str]) -> bool:
    """Spanish and Portuguese drop the subject: "trabajé", "he vivido", "trabalhei", "tive"."""
    if code == "es":
        for i, w in enumerate(said):
            if w in ("he", "hemos") and i + 1 < len(said) and said[i + 1].endswith(("ado", "ido")):
                return True
            if w in ("fui", "tuve", "estuve", "hice", "vi", "viví") or (len(w) > 4 and w.endswith("é")):
                return True
        return False
    return any(
        w in ("tive", "fui", "fiz", "estive", "vi", "vivi") or (len(w) > 4 and w.endswith("ei")) for w in said
    )


def language(code: str | None) -> Language:
    """The word knowledge of a supported language (English when unknown). Reads wordfreq's
    list from disk the first time a process asks for the language: build it off the event
    loop (`DigestReader` is built in a thread)."""
    import snowballstemmer  # both loaded here, at the first digest: importing the core stays light
    from wordfreq import zipf_frequency

    key = language_code(code or DEFAULT_LANGUAGE) or DEFAULT_LANGUAGE
    zipf_frequency("a", key)  # loads the language's word list now, not in the middle of a read
    return Language(
        code=key,
        function_words=_set(_FUNCTION[key]),
        vague=_set(_VAGUE[key]),
        numbers=_set(_NUMBERS[key]),
        low_value=_set(_LOW_VALUE[key]),
        links=_set(_LINKS[key]),
        first_person=_set(_FIRST_PERSON[key]),
        mine=_set(_MINE[key]),
        not_experience=_set(_NOT_EXPERIENCE[key]),
        not_mine=_set(_NOT_MINE[key]),
        _stemmer=snowballstemmer.stemmer(_SNOWBALL[key]),
    )
