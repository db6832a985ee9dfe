"""A web page as an article: OpenGraph and <head> metadata first, trafilatura's main text as backup."""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from bot.models import ArticleDraft
from bot.redact import mask_url
from bot.text import shorten

from .errors import SourceError
from .http import Fetcher, HttpResponse, host_label
from .plaintext import (
    EXPLICIT_TITLE_LIMIT,
    SOURCE_LIMIT,
    SUMMARY_LIMIT,
    TITLE_LIMIT,
    URL_LIMIT,
    article_from_text,
    clean_paragraphs,
    collapse,
    decode_bytes,
    excerpt,
    first_sentence,
    normalize_text,
    parse_iso_datetime,
    shorten_title,
)

_log = logging.getLogger(__name__)

_ACCEPT = "text/html, application/xhtml+xml;q=0.9, text/plain;q=0.5, */*;q=0.1"
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_FEED_TYPES = frozenset(
    {"application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/feed+json"}
)
_SNIFFED_TYPES = frozenset({"text/xml", "application/xml", "text/plain", "application/octet-stream"})
_FEED_ROOT = re.compile(rb"<(rss|feed|rdf:rdf)[\s>]", re.IGNORECASE)
_HTML_ROOT = re.compile(
    rb"^\s*(<\?xml[^>]*>\s*)?(<!--.*?-->\s*)*<(!doctype html|html|head|body)[\s>]", re.IGNORECASE | re.DOTALL
)
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([a-z0-9._:-]+)", re.IGNORECASE)
_TITLE_SEPARATORS = (" | ", " - ", " – ", " — ", " · ", " :: ")
_PUBLISHED_KEYS = (
    "article:published_time", "og:published_time", "datepublished", "dc.date.issued", "dc.date", "date",
    "pubdate",
)  # fmt: skip


async def fetch_page(fetcher: Fetcher, url: str) -> ArticleDraft:
    """Fetch a web page and describe it as an article.

    Raises FetchError when it cannot be fetched and SourceError when it is
    not a page (a feed gets its own advice: subscribe with ``feed add``).
    """
    response = await fetcher.get(url, {"Accept": _ACCEPT})
    where = mask_url(response.url)
    if not response.body.strip():
        raise SourceError(f"{where}: the page is empty")
    kind = response_kind(response)
    if kind == "feed":
        raise SourceError(
            f"{where}: this is an RSS or Atom feed, not an article; use feed add to subscribe to it"
        )
    if kind == "other":
        raise SourceError(f"{where}: not a web page ({response.media_type or 'no content type'})")
    # Decoding (with charset detection) and extraction are CPU work: off the event loop.
    return await asyncio.to_thread(_article_from_response, response, kind)


def _article_from_response(response: HttpResponse, kind: str) -> ArticleDraft:
    source = host_label(response.url)
    if kind == "html":
        html = decode_html(response.body, response.charset)
        return article_from_html(html, url=response.url, fallback_source=source)
    try:
        text = decode_bytes(response.body, response.charset)
        return article_from_text(text, source=source, url=response.url)
    except SourceError as exc:
        raise SourceError(f"{mask_url(response.url)}: {exc}") from None


def response_kind(response: HttpResponse) -> str:
    """What the response holds ("html", "feed", "text", "other"): the Content-Type, or the bytes if vague."""
    media_type = response.media_type
    opening = response.body[:2048]
    if media_type in _FEED_TYPES:
        return "feed"
    if media_type in _HTML_TYPES or media_type is None or media_type in _SNIFFED_TYPES:
        # Servers label feeds text/html or text/plain often enough to look.
        if _FEED_ROOT.search(opening) and not _HTML_ROOT.match(opening):
            return "feed"
        if media_type in _HTML_TYPES or _HTML_ROOT.match(opening):
            return "html"
        return "text" if media_type == "text/plain" else "other"
    return "other"


def decode_html(data: bytes, header_charset: str | None = None) -> str:
    """HTML bytes as text: the HTTP charset, else a <meta charset> in the opening bytes, else detection."""
    declared = header_charset
    if not declared and (match := _META_CHARSET.search(data[:4096])):
        declared = match.group(1).decode("ascii")
    return decode_bytes(data, declared)


@dataclass(frozen=True, slots=True)
class _Head:
    title: str | None
    description: str | None
    site_name: str | None
    canonical: str | None
    published: datetime | None


def _read_head(tree: Any) -> _Head:  # an lxml HtmlElement (lxml ships no type hints)
    meta: dict[str, str] = {}
    for element in tree.iter("meta"):
        key = element.get("property") or element.get("name") or element.get("itemprop")
        content = element.get("content")
        if key and content and content.strip():
            meta.setdefault(key.strip().lower(), collapse(normalize_text(content)))
    title_element = tree.find(".//title")
    title_tag = collapse(normalize_text(title_element.text_content())) if title_element is not None else ""
    canonical = None
    for link in tree.iter("link"):
        if "canonical" in (link.get("rel") or "").lower().split() and link.get("href"):
            canonical = link.get("href", "").strip()
            break
    site_name = meta.get("og:site_name")
    title = meta.get("og:title") or _without_site_suffix(title_tag, site_name) or None
    return _Head(
        title=title,
        description=meta.get("og:description") or meta.get("description") or meta.get("twitter:description"),
        site_name=site_name,
        canonical=canonical or meta.get("og:url"),
        published=next((d for key in _PUBLISHED_KEYS if (d := parse_iso_datetime(meta.get(key)))), None),
    )


def _without_site_suffix(title: str, site_name: str | None) -> str:
    """The title without a " | Example News" suffix when the page says its site is "Example News"."""
    for separator in _TITLE_SEPARATORS:
        head, found, tail = title.rpartition(separator)
        if found and head and site_name and tail.casefold() == site_name.casefold():
            return head
    return title


def article_from_html(html: str, *, url: str | None, fallback_source: str) -> ArticleDraft:
    """An article from an HTML document (blocking: call it in a thread).

    ``url`` is where the page was read from (None for a local file);
    ``fallback_source`` names the source when the page names no site and
    ``url`` gives no host.
    """
    # Loaded at the first page read (in a worker thread): importing the core stays light.
    import trafilatura
    from trafilatura.settings import Document

    where = mask_url(url) if url else fallback_source
    tree = trafilatura.load_html(html)
    if tree is None:
        raise SourceError(f"{where}: no readable HTML in the page")
    head = _read_head(tree)
    extracted = trafilatura.bare_extraction(
        tree,
        url=url,
        with_metadata=True,
        include_comments=False,
        include_tables=False,
        date_extraction_params={"extensive_search": False, "original_date": True},
    )
    document = extracted if isinstance(extracted, Document) else None
    paragraphs = clean_paragraphs(document.text or "") if document else []

    title = head.title or (document.title if document else None)
    if title:
        title = shorten_title(collapse(normalize_text(title)), EXPLICIT_TITLE_LIMIT)
    elif paragraphs:
        title = shorten_title(first_sentence(paragraphs[0]), TITLE_LIMIT)
    else:
        raise SourceError(f"{where}: the page has neither a title nor any text")
    description = head.description or (document.description if document else None)
    if description:
        summary = shorten(collapse(normalize_text(description)), SUMMARY_LIMIT)
    else:
        summary = excerpt(paragraphs)
    source = head.site_name or (host_label(url) if url else "") or fallback_source
    return ArticleDraft(
        title=title,
        url=_article_url(head.canonical, url),
        summary=summary,
        source=shorten(collapse(normalize_text(source)), SOURCE_LIMIT),
        published_at=head.published or parse_iso_datetime(document.date if document else None),
    )


def _article_url(canonical: str | None, fetched: str | None) -> str | None:
    """The canonical URL when it stays on the fetched site, else the URL the page came from."""
    if canonical:
        candidate = urljoin(fetched or "", canonical)
        parts = urlsplit(candidate)
        usable = parts.scheme in ("http", "https") and parts.hostname and len(candidate) <= URL_LIMIT
        if usable and (fetched is None or _same_site(parts.hostname or "", urlsplit(fetched).hostname or "")):
            return candidate
    return fetched


def _same_site(a: str, b: str) -> bool:
    """One host equals or is a subdomain of the other, ignoring "www."."""
    a, b = a.lower().removeprefix("www."), b.lower().removeprefix("www.")
    return a == b or a.endswith("." + b) or b.endswith("." + a)
