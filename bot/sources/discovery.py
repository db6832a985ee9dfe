"""Feed discovery: the feed a web page links to, for `feed add https://site.example`.

A page names its feeds in ``<link rel="alternate" type="application/rss+xml" href="…">``
(or atom+xml, or feed+json for JSON Feed). The first readable one in document order is
taken; the others are named so a moderator can pick another. Every URL found goes through
the same Fetcher as any other, so a page cannot point the bot at a private address: the
fetcher refuses it at each hop, as it refuses a URL typed by hand.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from bot.redact import mask_url

from .errors import FeedError, SourceError
from .feeds import FeedResult, fetch_feed, parse_feed
from .http import Fetcher, HttpResponse, parse_url
from .pages import decode_html, response_kind
from .plaintext import URL_LIMIT, collapse, normalize_text

_log = logging.getLogger(__name__)

# Feed types first, a page accepted too: a site's address answers with its home page.
_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, application/xml;q=0.8,"
    " text/xml;q=0.8, text/html;q=0.7, */*;q=0.5"
)
# What a <link rel="alternate"> may name. Not plain application/json: WordPress links its REST
# API that way from every page, and that is no feed.
READABLE_TYPES = frozenset({"application/rss+xml", "application/atom+xml", "application/rdf+xml"})
JSON_FEED_TYPE = "application/feed+json"  # JSON Feed: found and named, but feedparser cannot read it
MAX_LINKS = 50  # links looked at on one page; the rest are ignored


@dataclass(frozen=True, slots=True)
class FeedLink:
    url: str
    type: str
    title: str | None

    @property
    def readable(self) -> bool:
        return self.type in READABLE_TYPES


@dataclass(frozen=True, slots=True)
class Discovered:
    """A feed read at a URL: directly (``page`` is None) or found on the page at ``page``."""

    feed: FeedResult
    feed_url: str  # the URL to subscribe to
    page: str | None = None
    others: tuple[FeedLink, ...] = ()  # the page's other feeds, in document order


def is_html(response: HttpResponse) -> bool:
    """True when the response is a web page rather than a feed: judged as `post` judges it (a
    feed served as text/html, as some servers do, is still a feed)."""
    return response_kind(response) == "html"


def feed_links(html: bytes | str, page_url: str, charset: str | None = None) -> list[FeedLink]:
    """The feeds a page links to, in document order, each URL once, resolved against the page
    (or its ``<base href>``). Blocking: call it in a thread."""
    text = decode_html(html, charset) if isinstance(html, bytes) else html
    import trafilatura  # loaded at the first page read: importing the core stays light

    tree = trafilatura.load_html(text)  # lxml's HTML parser, as for articles
    if tree is None:  # an empty or unreadable document
        return []
    base = page_url
    for element in tree.iter("base"):
        href = element.get("href")
        if href and href.strip():
            base = urljoin(page_url, href.strip())
            break
    found: list[FeedLink] = []
    seen: set[str] = set()
    for element in tree.iter("link"):
        link = _feed_link(element, base)
        if link is None or link.url in seen:
            continue
        seen.add(link.url)
        found.append(link)
        if len(found) >= MAX_LINKS:
            break
    return found


def _feed_link(element: Any, base: str) -> FeedLink | None:  # an lxml HtmlElement
    rels = (element.get("rel") or "").lower().split()
    kind = (element.get("type") or "").split(";", 1)[0].strip().lower()
    href = collapse(normalize_text(element.get("href") or ""))
    if "alternate" not in rels or not href or (kind not in READABLE_TYPES and kind != JSON_FEED_TYPE):
        return None
    url = urljoin(base, href.replace(" ", "%20"))
    if urlsplit(url).scheme not in ("http", "https") or len(url) > URL_LIMIT:
        return None
    try:
        parse_url(url)
    except SourceError:
        return None
    title = collapse(normalize_text(element.get("title") or "")) or None
    return FeedLink(url, kind, title[:120] if title else None)


async def discover_feed(fetcher: Fetcher, url: str) -> Discovered:
    """The feed at ``url``, or the one the page at ``url`` links to.

    Raises FetchError when a URL cannot be fetched (or is refused) and FeedError when the
    document is neither a feed nor a page that links to one.
    """
    response = await fetcher.get(url, {"Accept": _ACCEPT})
    if not is_html(response):
        result = await asyncio.to_thread(parse_feed, response.body, response.url, headers=response.headers)
        return Discovered(result, url)
    page = response.url
    links = await asyncio.to_thread(feed_links, response.body, page, response.charset)
    readable = [link for link in links if link.readable]
    if not readable:
        if links:  # only JSON Feed
            raise FeedError(
                f"{mask_url(page)}: that page links only to a JSON Feed ({mask_url(links[0].url)}),"
                " which threadcast cannot read yet; look for an RSS or Atom feed on the site"
            )
        raise FeedError(
            f"{mask_url(page)}: no feed found on that page (it links to no RSS or Atom feed);"
            " give the feed's own address"
        )
    chosen = readable[0]
    _log.debug("found the feed %s on %s", mask_url(chosen.url), mask_url(page))
    # Through the fetcher like any URL: a page cannot lead the bot to a private address.
    result = await fetch_feed(fetcher, chosen.url)
    others = tuple(link for link in links if link is not chosen)
    return Discovered(result, chosen.url, page=page, others=others)
