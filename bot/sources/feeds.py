"""RSS and Atom feeds: a conditional GET, then feedparser, then one ArticleDraft per entry."""

from __future__ import annotations

import asyncio
import io
import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import PurePosixPath
from types import MappingProxyType
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

from bot.models import ArticleDraft
from bot.redact import mask_url
from bot.text import ELLIPSIS, shorten

from .errors import FeedError
from .http import Fetcher, host_label
from .plaintext import (
    EXPLICIT_TITLE_LIMIT,
    SOURCE_LIMIT,
    SUMMARY_LIMIT,
    TITLE_LIMIT,
    URL_LIMIT,
    clean_paragraphs,
    collapse,
    first_sentence,
    html_to_text,
    normalize_text,
    shorten_title,
)

_log = logging.getLogger(__name__)

GUID_LIMIT = 1000
# Entries of one feed that a poll looks at: the newest ones (by date when every entry has one,
# else the first in the document, where nearly every feed lists its newest). A feed of 160,000
# entries (5 MB) would otherwise cost a key, a lookup and a row each at every poll; the older
# ones are neither posted nor remembered, as if the feed ended there. A thousand, not less:
# podcast feeds carry their whole archive (the corpus' Giant Bombcast has 730 episodes).
MAX_FEED_ENTRIES = 1000
# A feed body up to this size is parsed on the event loop (a 20-item feed of 8 KB takes about
# 2 ms); larger ones in a thread, so a big feed never holds up the loop.
PARSE_ON_THE_LOOP = 16_384
# Entry HTML beyond this cannot reach a 500-character summary; skip parsing it.
_HTML_INPUT_LIMIT = 100_000

_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.8, text/xml;q=0.8, */*;q=0.5"
)
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_CUT_MARK = re.compile(r"\s*\[(\.\.\.|…)\]$")
_PAGE_SUFFIX = re.compile(r"\.(s?html?|php|aspx?|jsp)$", re.IGNORECASE)
_SLUG_SEPARATORS = re.compile(r"[-_+]+")
_MIN_DATE = datetime.min.replace(tzinfo=UTC)


class FeedEntry:
    """One entry of a parsed feed. What identifies it (GUID, link, feed label) is read at
    once; its draft, whose summary is text extracted from the entry's HTML, only when asked:
    most entries of a feed read again were seen before, and a poll never needs their text."""

    __slots__ = ("_draft", "_feed_url", "_raw", "categories", "guid", "source", "url")

    def __init__(self, raw: Any, feed_url: str, source: str) -> None:
        self._raw = raw
        self._feed_url = feed_url
        self._draft: ArticleDraft | None = None
        self.guid = _entry_guid(raw)
        self.url = _entry_url(raw, feed_url)
        self.source = source
        self.categories = _entry_categories(raw)  # what feed filters may look at

    def draft(self) -> ArticleDraft:
        if self._draft is None:
            self._draft = _draft(self._raw, self.url, self.guid, self.source)
            self._raw = None  # feedparser's entry is no longer needed
        return self._draft


@dataclass(frozen=True, slots=True)
class FeedResult:
    url: str  # where the feed was finally read from, after redirects
    title: str | None
    entries: list[FeedEntry]  # in feed order, newest first as the feed lists them
    etag: str | None
    last_modified: str | None
    not_modified: bool = False
    skipped: int = 0  # older entries past MAX_FEED_ENTRIES, left unread

    @property
    def items(self) -> list[ArticleDraft]:
        """Every entry's draft (each made on first use)."""
        return [entry.draft() for entry in self.entries]


async def fetch_feed(
    fetcher: Fetcher,
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
) -> FeedResult:
    """Fetch and parse a feed, conditionally when validators from the last poll are given.

    Raises FetchError (a SourceError) when the URL cannot be fetched and
    FeedError when the document is not an RSS or Atom feed.
    """
    headers = {"Accept": _ACCEPT}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    response = await fetcher.get(url, headers)
    if response.status == 304:
        return FeedResult(
            url=response.url,
            title=None,
            entries=[],
            etag=response.headers.get("etag") or etag,
            last_modified=response.headers.get("last-modified") or last_modified,
            not_modified=True,
        )
    if len(response.body) <= PARSE_ON_THE_LOOP:
        # A few milliseconds at most: less than a thread's hand-over and wake-up costs.
        return parse_feed(response.body, response.url, headers=response.headers)
    return await asyncio.to_thread(parse_feed, response.body, response.url, headers=response.headers)


def parse_feed(
    data: bytes, url: str, *, headers: Mapping[str, str] | None = None, max_entries: int = MAX_FEED_ENTRIES
) -> FeedResult:
    """Parse feed bytes read from ``url`` (blocking: call it in a thread unless they are few).

    ``headers`` are the response headers with lower-case names; Content-Type
    decides the encoding when the document does not, and ETag/Last-Modified
    become the result's validators. Only the newest `max_entries` entries are kept
    (`newest_entries`).
    """
    headers = headers or {}
    if not data.strip():
        raise FeedError(f"{mask_url(url)}: the response is empty, not an RSS or Atom feed")
    # No Content-Location: feedparser would resolve relative "permalink" GUIDs
    # against it, and an item's identity must not change when its feed moves.
    # Links are resolved against the feed URL here instead.
    response_headers = {"content-type": headers["content-type"]} if headers.get("content-type") else {}
    # A BytesIO, never raw bytes or str: feedparser would treat a string as a URL or path to open.
    # Entry HTML only ever becomes plain text here (`html_to_text` drops scripts and styles),
    # so feedparser's sanitizing and link rewriting inside it would be work for nothing.
    import feedparser  # loaded at the first feed read: importing the core stays light

    parsed = feedparser.parse(
        io.BytesIO(data), response_headers=response_headers, sanitize_html=False, resolve_relative_uris=False
    )
    if not parsed.get("version") and not parsed.entries:
        raise FeedError(_not_a_feed_message(url, data, headers, parsed))
    if parsed.get("bozo"):
        _log.debug("feed %s is malformed but readable: %s", mask_url(url), parsed.get("bozo_exception"))
    title = _plain(parsed.feed.get("title"), parsed.feed.get("title_detail"))
    label = shorten(title, SOURCE_LIMIT) if title else (host_label(url) or "unknown feed")
    kept = newest_entries(parsed.entries, max_entries)
    if skipped := len(parsed.entries) - len(kept):
        _log.info(
            "feed %s has %d entries: the newest %d are read", mask_url(url), len(parsed.entries), len(kept)
        )
    return FeedResult(
        url=url,
        title=shorten(title, EXPLICIT_TITLE_LIMIT) if title else None,
        entries=[FeedEntry(entry, url, label) for entry in kept],
        etag=headers.get("etag"),
        last_modified=headers.get("last-modified"),
        not_modified=False,
        skipped=skipped,
    )


def newest_entries(entries: list[Any], limit: int) -> list[Any]:
    """At most `limit` (feedparser) entries, the newest, in document order.

    With a date on every entry, the `limit` latest (some feeds list oldest first); else the
    first `limit`. Not both ends of an undated feed: in the usual feed, newest first and dropping
    its oldest, the window at the end slides onto old entries never looked at, which would be
    posted as new. An undated feed listing oldest first past `limit` entries shows nothing new."""
    if len(entries) <= limit:
        return entries
    dates = [_entry_date(entry) for entry in entries]
    if all(date is not None for date in dates):
        order = sorted(range(len(entries)), key=lambda i: dates[i] or _MIN_DATE, reverse=True)
        return [entries[i] for i in sorted(order[:limit])]
    return entries[:limit]


def _not_a_feed_message(url: str, data: bytes, headers: Mapping[str, str], parsed: Any) -> str:
    message = f"{mask_url(url)}: this isn't an RSS or Atom feed"
    media_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    opening = data[:1024].lstrip().lower()
    if media_type in _HTML_TYPES or opening.startswith((b"<!doctype html", b"<html", b"<head")):
        return message + " (it is a web page; the site may link to its feed from there)"
    error = parsed.get("bozo_exception")
    return message + (f" ({_describe_parse_error(error)})" if error else "")


def _describe_parse_error(error: object) -> str:
    text = collapse(str(error))
    return shorten(text, 120) if text else type(error).__name__


# --- entries --------------------------------------------------------------------


def _draft(entry: Any, url: str | None, guid: str | None, feed_label: str) -> ArticleDraft:
    summary_paragraphs = clean_paragraphs(_entry_body(entry))
    # "[...]" is how feeds mark a cut summary; say it the way the bot does.
    summary = _CUT_MARK.sub(ELLIPSIS, shorten("\n".join(summary_paragraphs), SUMMARY_LIMIT))
    return ArticleDraft(
        title=_entry_title(entry, summary_paragraphs, url, feed_label),
        url=url,
        summary=summary,
        source=feed_label,
        published_at=_entry_date(entry),
        guid=guid,
    )


def _plain(value: object, detail: object) -> str:
    """A feed text construct as one line of plain text."""
    if not isinstance(value, str) or not value.strip():
        return ""
    kind = detail.get("type", "") if isinstance(detail, Mapping) else ""
    if kind in ("text/html", "application/xhtml+xml") or (not kind and "<" in value):
        return collapse(html_to_text(value[:_HTML_INPUT_LIMIT]))
    return collapse(normalize_text(value[:_HTML_INPUT_LIMIT]))


def _entry_body(entry: Any) -> str:
    """The entry's summary, else its content, as text with paragraph breaks."""
    candidates = [(entry.get("summary"), entry.get("summary_detail"))]
    candidates += [(c.get("value"), c) for c in entry.get("content") or [] if isinstance(c, Mapping)]
    for value, detail in candidates:
        if not isinstance(value, str) or not value.strip():
            continue
        kind = detail.get("type", "") if isinstance(detail, Mapping) else ""
        value = value[:_HTML_INPUT_LIMIT]
        text = normalize_text(value) if kind == "text/plain" else html_to_text(value)
        if text:
            return text
    return ""


def _entry_title(entry: Any, summary_paragraphs: list[str], url: str | None, feed_label: str) -> str:
    title = _plain(entry.get("title"), entry.get("title_detail"))
    if title:
        return shorten_title(title, EXPLICIT_TITLE_LIMIT)
    # No title (allowed in RSS, common in broken Atom): say what the item is about.
    if summary_paragraphs:
        return shorten_title(first_sentence(summary_paragraphs[0]), TITLE_LIMIT)
    if url and (from_link := _title_from_link(url)):
        return from_link
    return shorten(f"Untitled item from {feed_label}", EXPLICIT_TITLE_LIMIT)


def _title_from_link(url: str) -> str:
    """The last path segment of a link, as words: "/2024/03/new-release.html" → "new release"."""
    parts = urlsplit(url)
    segments = [unquote(s) for s in parts.path.split("/") if s]
    for segment in reversed(segments):
        stem = PurePosixPath(segment).stem if _PAGE_SUFFIX.search(segment) else segment
        words = collapse(normalize_text(_SLUG_SEPARATORS.sub(" ", stem)))
        if any(ch.isalpha() for ch in words):
            return shorten_title(words, TITLE_LIMIT)
    return shorten_title(f"{parts.netloc}{parts.path}", TITLE_LIMIT) if parts.netloc else ""


def _entry_url(entry: Any, feed_url: str) -> str | None:
    candidates = [entry.get("link")]
    for link in entry.get("links") or []:
        if link.get("rel", "alternate") == "alternate":
            candidates.append(link.get("href"))
    for candidate in candidates:
        if not isinstance(candidate, str) or not candidate.strip():
            continue
        url = urljoin(feed_url, collapse(normalize_text(candidate)).replace(" ", "%20"))
        if urlsplit(url).scheme in ("http", "https") and len(url) <= URL_LIMIT:
            return url
    return None  # e.g. Atom ids like "tag:…" that feedparser offers as a link


def _entry_guid(entry: Any) -> str | None:
    guid = entry.get("id")
    if not isinstance(guid, str):
        return None
    guid = collapse(normalize_text(guid))
    # Truncating could make two entries one; an absurd id is kept whole by the URL key instead.
    return guid if guid and len(guid) <= GUID_LIMIT else None


def _entry_categories(entry: Any) -> tuple[str, ...]:
    """The entry's categories (RSS <category>, Atom <category term>), at most 20 of 100 characters."""
    found = []
    for tag in entry.get("tags") or ():
        term = (tag.get("term") or tag.get("label")) if isinstance(tag, dict) else None
        if isinstance(term, str) and (term := collapse(normalize_text(term))[:100]):
            found.append(term)
    return tuple(found[:20])


def _entry_date(entry: Any) -> datetime | None:
    # Membership first: reading a missing "updated" makes feedparser fall back
    # to "published" with a DeprecationWarning.
    for key in ("published", "updated", "created"):
        parsed_key = f"{key}_parsed"
        if parsed_key in entry and isinstance(parsed := entry[parsed_key], time.struct_time):
            try:
                return datetime(*parsed[:6], tzinfo=UTC)  # feedparser gives UTC
            except ValueError:
                continue
        if key in entry and isinstance(raw := entry[key], str) and (loose := parse_loose_date(raw)):
            return loose
    return None


# feedparser reads RFC 822 dates with English names only; feeds in other
# languages (UOL's "Seg, 24 Set 2018 19:42:40 -0300") localise them.
_MONTHS = MappingProxyType({
    "jan": 1, "ene": 1, "gen": 1, "feb": 2, "fev": 2, "fév": 2, "mar": 3, "mär": 3, "mrz": 3,
    "apr": 4, "abr": 4, "avr": 4, "may": 5, "mai": 5, "mag": 5, "mei": 5, "jun": 6, "giu": 6,
    "jul": 7, "lug": 7, "aug": 8, "ago": 8, "aoû": 8, "sep": 9, "set": 9, "oct": 10, "out": 10,
    "okt": 10, "ott": 10, "nov": 11, "dec": 12, "dez": 12, "déc": 12, "dic": 12,
})  # fmt: skip
_LOOSE_DATE = re.compile(
    r"(\d{1,2})\.?\s+([^\W\d_]{3,})\.?,?\s+(\d{4})"
    r"(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?)?\s*(?:([+-])(\d{2}):?(\d{2})|(?:GMT|UTC|UT|Z)\b)?"
)


def parse_loose_date(text: str) -> datetime | None:
    """A "day month year [hh:mm[:ss]] [±hhmm]" date whose month may be in a Romance or Germanic language."""
    match = _LOOSE_DATE.search(text)
    if not match:
        return None
    day, month_name, year, hour, minute, second, sign, off_h, off_m = match.groups()
    name = month_name.lower()
    month = {"juin": 6, "juil": 7}.get(name[:4]) or _MONTHS.get(name[:3])
    if month is None:
        return None
    offset = timedelta(hours=int(off_h), minutes=int(off_m)) if sign else timedelta()
    try:
        moment = datetime(
            int(year),
            month,
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            tzinfo=timezone(-offset if sign == "-" else offset),
        )
    except ValueError:
        return None
    return moment.astimezone(UTC)
