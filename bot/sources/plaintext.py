"""Plain text to article: paragraphs, a title from the first sentence, an excerpt without boilerplate.

Also the text helpers the other sources share: decoding bytes of unknown
encoding, HTML to plain text, sentence and paragraph splitting. Output
hygiene (control characters, bidi overrides, cutting) is ``bot.text``'s job;
this module only adds what arriving text needs on top of it.
"""

from __future__ import annotations

import codecs
import logging
import re
import unicodedata
from collections.abc import Iterator
from datetime import UTC, datetime
from html.parser import HTMLParser
from types import MappingProxyType

from bot.models import ArticleDraft
from bot.text import ELLIPSIS, clean, shorten

from .errors import SourceError

_log = logging.getLogger(__name__)

TITLE_LIMIT = 100  # a title derived from the text
EXPLICIT_TITLE_LIMIT = 300  # a title the text came with (front matter, feeds, pages)
EXCERPT_LIMIT = 400  # derived from the text: whole sentences
SUMMARY_LIMIT = 500  # given by the source (feed summary, page description)
SOURCE_LIMIT = 200
URL_LIMIT = 2048

# Sentence and boilerplate checks only look this far: titles and excerpts come
# from the opening, and boilerplate paragraphs are short, so a megabyte of text
# costs no more than a page.
_SCAN_LIMIT = 3000
_BOILERPLATE_MAX_LEN = 700

# C1 control characters almost always come from windows-1252 bytes decoded as
# ISO-8859-1 (what browsers do too: the WHATWG Encoding standard maps the label
# to windows-1252). Map them back; the five bytes cp1252 leaves undefined go.
_C1_TO_CP1252 = MappingProxyType(
    {code: bytes([code]).decode("cp1252", errors="ignore") or None for code in range(0x80, 0xA0)}
)
# Invisible characters bot.text.clean keeps (format, not control, characters).
_INVISIBLE = re.compile("[\u00ad\u180e\u200b\u2060\ufeff]")
_MIN_HIGH_BYTES = 8
_CHAOS_TIE = 0.05
_HIGH_BYTES = bytes(range(0x80, 0x100))
_BLANK_LINE = re.compile(r"\n[^\S\n]*\n")
_WHITESPACE = re.compile(r"\s+")
_CLOSING_PUNCTUATION = (".", "!", "?", "…", ":", ";", '"', "”", "’", ")", "。", "！", "？")


def normalize_text(text: str) -> str:
    """Printable, NFC-normalised text with "\\n" line ends and at most one blank line in a row."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n\n")
    text = _INVISIBLE.sub("", text.translate(_C1_TO_CP1252))
    return clean(unicodedata.normalize("NFC", text), keep_newlines=True)


def collapse(text: str) -> str:
    """All whitespace runs, newlines included, as single spaces."""
    return " ".join(text.split())


def parse_iso_datetime(value: str | None) -> datetime | None:
    """An ISO 8601 date or date-time as aware UTC; a value without a zone is taken as UTC."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


# --- decoding -------------------------------------------------------------------


def decode_bytes(data: bytes, declared: str | None = None) -> str:
    """Decode text of uncertain encoding without ever failing.

    A byte-order mark wins; then valid UTF-8 (non-ASCII bytes that happen to be
    valid UTF-8 are almost never anything else, whatever a header claims);
    then the declared charset; then detection; windows-1252 as the last resort.
    """
    if data.startswith(codecs.BOM_UTF8):
        return data.decode("utf-8-sig", errors="replace")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if declared:
        try:
            return data.decode(declared)
        except (LookupError, UnicodeDecodeError):
            _log.debug("declared charset %r does not fit the bytes", declared)
    detected = _detect_charset(data)
    if detected:
        try:
            return data.decode(detected)
        except (LookupError, UnicodeDecodeError):
            pass
    # windows-1252, as browsers default to; via ISO-8859-1 so that no byte fails.
    return data.decode("iso-8859-1").translate(_C1_TO_CP1252)


def _detect_charset(data: bytes) -> str | None:
    """charset_normalizer's best reading, kept only when it is plausible.

    It needs a few high bytes to go on, and given some accented letters among
    ASCII it may read CJK: text that is mostly ASCII is not East Asian.
    Western text often reads the same in several code pages, so windows-1252
    wins when it reads nearly as clean and at least as coherent as the best.
    """
    sample = data[:65536]
    high = len(sample) - len(sample.translate(None, _HIGH_BYTES))
    if high < _MIN_HIGH_BYTES:
        return None
    import charset_normalizer  # loaded at the first undeclared encoding met

    matches = charset_normalizer.from_bytes(sample)
    best = matches.best()
    if best is None:
        return None
    western = next((match for match in matches if match.encoding == "cp1252"), None)
    if western and western.chaos <= best.chaos + _CHAOS_TIE and western.coherence >= best.coherence:
        return "cp1252"
    wide = any(unicodedata.east_asian_width(ch) in "WF" for ch in str(best))
    if wide and high < len(sample) * 0.3:
        return None
    return best.encoding


# --- HTML -----------------------------------------------------------------------

_SKIPPED_TAGS = frozenset(
    {"script", "style", "noscript", "template", "svg", "math", "head", "iframe", "object"}
)
_BLOCK_TAGS = frozenset(
    {
        "address", "article", "aside", "blockquote", "dd", "div", "dl", "dt", "figcaption", "figure",
        "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav",
        "ol", "p", "pre", "section", "table", "td", "th", "tr", "ul",
    }
)  # fmt: skip


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED_TAGS:
            self._skipping += 1
        elif tag == "br":
            self.parts.append("\n")
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _SKIPPED_TAGS:  # a self-closed <script/> opens nothing to skip
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_TAGS:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            # Source line breaks in HTML are just spaces.
            self.parts.append(_WHITESPACE.sub(" ", data))


def html_to_text(html: str) -> str:
    """Readable text of an HTML fragment: paragraphs separated by blank lines, no markup."""
    collector = _TextCollector()
    collector.feed(html)
    collector.close()
    return normalize_text("".join(collector.parts))


# --- paragraphs and sentences ---------------------------------------------------


def split_paragraphs(text: str) -> list[str]:
    """Paragraphs of ``text``, each on one line.

    Text with blank lines is read as blank-line separated (hard-wrapped lines
    are joined); text without any is read as one paragraph per line, the way
    copied news text usually arrives.
    """
    text = normalize_text(text)
    blocks = _BLANK_LINE.split(text) if _BLANK_LINE.search(text) else _unwrap(text.split("\n"))
    return [para for para in (collapse(block) for block in blocks) if para]


def _unwrap(lines: list[str]) -> list[str]:
    """Rejoin hard-wrapped lines: a line ending mid-sentence continues on the next when that one
    starts in lower case or the line ends on a small word ("… approved on" / "Tuesday")."""
    joined: list[str] = []
    for line in lines:
        stripped = line.strip()
        previous = joined[-1] if joined else ""
        open_ended = previous and not previous.endswith(_CLOSING_PUNCTUATION)
        if open_ended and (stripped[:1].islower() or previous.rsplit(" ", 1)[-1].lower() in _DANGLING):
            joined[-1] = f"{previous} {stripped}"
        else:
            joined.append(stripped)
    return joined


_ABBREVIATIONS = frozenset(
    {
        "mr", "mrs", "ms", "dr", "prof", "st", "sr", "jr", "inc", "ltd", "co", "corp", "vs", "etc",
        "e.g", "i.e", "u.s", "u.k", "no", "fig", "gen", "gov", "sen", "rep", "approx", "dept", "est",
    }
)  # fmt: skip
_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’»)\]]*(?=\s)|[。！？]")


def sentences(paragraph: str) -> Iterator[str]:
    """The sentences of one paragraph (of its first few thousand characters)."""
    text = paragraph[:_SCAN_LIMIT]
    start = 0
    for match in _SENTENCE_END.finditer(text):
        end = match.end()
        if match.group().startswith(".") and not _ends_sentence(text, match.start(), end):
            continue
        sentence = text[start:end].strip()
        if sentence:
            yield sentence
        start = end
    rest = text[start:].strip()
    if rest:
        yield rest


def _ends_sentence(text: str, dot: int, end: int) -> bool:
    """Whether the period at ``dot`` ends a sentence rather than an abbreviation or initial."""
    following = text[end : end + 40].lstrip().lstrip("\"'“‘«([")[:1]
    if following.islower():
        return False
    before = text[:dot].rsplit(None, 1)
    word = before[-1].lstrip("\"'“‘(").lower() if before else ""
    if len(word) == 1 and word.isalpha():  # an initial: "J. Smith"
        return False
    return word not in _ABBREVIATIONS


def first_sentence(text: str) -> str:
    return next(sentences(collapse(text[:_SCAN_LIMIT])), "")


# --- boilerplate ----------------------------------------------------------------

# Short lines that are never content, wherever they stand.
_MARKER = re.compile(
    r"^\W*(advertisements?|sponsored( content| post)?|paid (content|post)|partner content|promoted"
    r"|ad|story continues below( advertisement)?|skip advertisement|scroll to continue( with content)?)\W*$",
    re.IGNORECASE,
)
# Promotion, newsletters and feed furniture: boilerplate wherever they stand.
_PROMOTION = re.compile(
    r"\bsponsored by\b|\bthis (post|article|story|content) (is|was) (sponsored|brought to you)\b"
    r"|\bin partnership with\b|\baffiliate links?\b|\bwe may earn (a )?commission\b"
    r"|^(subscribe|sign up|follow us|join our (newsletter|mailing list)|download (our|the) app)\b"
    r"|\b(subscribe to|sign up for) (our|the) (newsletter|mailing list|podcast|channel)\b"
    r"|^the post .{1,300} appeared first on\b"
    r"|^(continue|keep) reading\b|^read (more|the (full|rest|original))\b"
    r"|^related( articles| stories| posts| content)?\s*:|\[\d+ comments?\]\s*$"
    r"|^(image|photo|picture|video) (credit|source|courtesy)\s*:|^(tags|filed under|topics|categories)\s*:"
    r"|^(©|\(c\)|copyright\b)|\ball rights reserved\b",
    re.IGNORECASE,
)
# Asking readers to comment: boilerplate only in the closing paragraphs, where
# it is the article signing off rather than quoting someone.
_CALL_FOR_COMMENTS = re.compile(
    r"\b(in|into|to|on) the comments?\b|\bcomments? (section )?below\b|\blet (us|me) know\b"
    r"|\bwhat (are|were) your thoughts\b|\bwhat do you (think|make of)\b"
    r"|\bjoin the (conversation|discussion)\b"
    r"|\bshare your (own )?(thoughts|experiences?|stories|story|views|opinions?|comments|take)\b"
    r"|\b(leave|drop|post) (us |me )?a comment\b|\b(we|i)['’]?d love to hear\b"
    r"|\bsound off\b|\btell us (what|about|how)\b",
    re.IGNORECASE,
)
# "<Name> is the leading/a trusted … provider": an about-the-company blurb,
# again only in the closing paragraphs (an article may well introduce a company).
_COMPANY_INTRO = re.compile(
    r"^(about [^.:]{1,60}[:.]\s*)?"  # an optional "About Acme:" lead-in
    r"[\w&.'’+-]+(\s+[\w&.'’+-]+){0,4}\s+(is|are)\s+(the|a|an|one of the)\s+([\w'’-]+\s+){0,3}?"
    r"(leading|world['’]s|premier|largest|top|trusted|award-winning|fastest-growing|global|innovative"
    r"|provider|platform)\b",
    re.IGNORECASE,
)
_PROMO_CUES = re.compile(
    r"\b(leading|provider|services?|solutions?|platform|free of charge|for free|customers"
    r"|founded|headquartered|learn more|visit|available (on|at|for|in|with|now)|download|sign up|try it)\b",
    re.IGNORECASE,
)
# Bylines and reading times that open scraped articles.
_OPENING_LINES = 3
_OPENING_FURNITURE = re.compile(
    r"^(by|written by|posted by|submitted by)\s+\S+(\s+\S+){0,3}(\s*[,|·•–—-].{0,60})?$"
    r"|^\d+\s*(min|minute)s?\s+read$"
    r"|^(published|updated|posted)( on)?\s*:?\s+\w.{0,40}$",
    re.IGNORECASE,
)


def _is_closing_boilerplate(paragraph: str) -> bool:
    if _CALL_FOR_COMMENTS.search(paragraph):
        return True
    return bool(_COMPANY_INTRO.search(paragraph)) and len(_PROMO_CUES.findall(paragraph)) >= 2


def is_boilerplate(paragraph: str, *, closing: bool = False) -> bool:
    """Whether a paragraph is furniture rather than article text.

    ``closing`` says the paragraph stands at the end of the text, where calls
    for comments and about-the-company blurbs are read as boilerplate too.
    """
    if len(paragraph) > _BOILERPLATE_MAX_LEN:
        return False
    if _MARKER.match(paragraph) or _PROMOTION.search(paragraph):
        return True
    return closing and _is_closing_boilerplate(paragraph)


def clean_paragraphs(text: str) -> list[str]:
    """The article's own paragraphs: markers, promotion, an opening byline, and the
    closing run of sponsor blurbs and calls for comments removed. May be empty."""
    paragraphs = [p for p in split_paragraphs(text) if not is_boilerplate(p)]
    # Bylines and reading times sit among the first lines, under a headline or above it.
    opening = paragraphs[:_OPENING_LINES]
    paragraphs[:_OPENING_LINES] = [p for p in opening if len(p) > 120 or not _OPENING_FURNITURE.match(p)]
    while paragraphs and is_boilerplate(paragraphs[-1], closing=True):
        paragraphs.pop()
    return paragraphs


# --- title and excerpt ----------------------------------------------------------

# Words a cut title should not end on ("… a renewed focus on…").
_DANGLING = frozenset(
    {
        "a", "an", "the", "of", "to", "and", "or", "for", "in", "on", "at", "by", "with", "from",
        "as", "but", "nor", "into", "onto", "than", "that", "its", "his", "her", "their",
    }
)  # fmt: skip


def shorten_title(text: str, limit: int = TITLE_LIMIT) -> str:
    """``text`` cut to ``limit`` characters at a word boundary, not ending on a dangling small word."""
    short = shorten(collapse(text), limit)
    if not short.endswith(ELLIPSIS) or short == collapse(text):
        return short
    words = short[: -len(ELLIPSIS)].split(" ")
    while len(words) > 3 and words[-1].lower() in _DANGLING:
        words.pop()
    return " ".join(words).rstrip(" ,;:.-–—") + ELLIPSIS


def _looks_like_title_line(paragraph: str, following: int) -> bool:
    """A short opening line without closing punctuation, followed by text, is a headline."""
    closed = paragraph.endswith((*_CLOSING_PUNCTUATION, ","))
    return following > 0 and len(paragraph) <= 150 and not closed


def excerpt(paragraphs: list[str], limit: int = EXCERPT_LIMIT) -> str:
    """Whole sentences from the opening paragraphs, up to ``limit`` characters.

    Headings opening the text are skipped; paragraphs stay on lines of their
    own; a first sentence longer than ``limit`` is cut at a word boundary.
    """
    while len(paragraphs) > 1 and _looks_like_title_line(paragraphs[0], len(paragraphs) - 1):
        paragraphs = paragraphs[1:]  # a heading opening the text is no excerpt
    picked: list[list[str]] = []
    size = 0
    for paragraph in paragraphs:
        picked.append([])
        for sentence in sentences(paragraph):
            added = len(sentence) + (1 if size else 0)
            if size + added > limit:
                return _join(picked) if size else shorten(sentence, limit)
            picked[-1].append(sentence)
            size += added
    return _join(picked)


def _join(paragraphs: list[list[str]]) -> str:
    return "\n".join(" ".join(sentences) for sentences in paragraphs if sentences)


def article_from_text(
    text: str,
    *,
    source: str,
    title: str | None = None,
    url: str | None = None,
) -> ArticleDraft:
    """An article from plain text that may have no title line.

    The title is the opening headline line if there is one, else the first
    sentence, cut at a word boundary to 100 characters; the excerpt is whole
    sentences of the opening paragraphs, leaving out boilerplate.
    """
    paragraphs = clean_paragraphs(text) or split_paragraphs(text)  # all boilerplate: still say something
    if not paragraphs:
        raise SourceError("the article text is empty")
    title = shorten_title(normalize_text(title), EXPLICIT_TITLE_LIMIT) if title else ""
    if not title:
        if _looks_like_title_line(paragraphs[0], len(paragraphs) - 1):
            title = paragraphs[0]  # a headline line; excerpt() skips it
        else:
            title = first_sentence(paragraphs[0])
        title = shorten_title(title, TITLE_LIMIT)
    return ArticleDraft(
        title=title,
        url=url,
        summary=excerpt(paragraphs),
        source=shorten(collapse(normalize_text(source)), SOURCE_LIMIT) or "unknown source",
    )
