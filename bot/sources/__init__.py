"""Where articles come from: feeds, web pages, local files and text typed by hand.

Every source returns ``ArticleDraft`` records and raises ``SourceError`` (or a
subclass) with a message fit to show a moderator. Network access goes through
an injected ``Fetcher``.

The names below load their submodule on first use (feed parsing, HTML extraction
and HTTP are heavy): import from the submodules in the core.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .articles import HAND_SOURCE, load_article
    from .errors import FeedError, SourceError
    from .feeds import FeedResult, fetch_feed, parse_feed
    from .files import read_article_file
    from .http import AiohttpFetcher, Fetcher, FetchError, HttpResponse, InvalidURL, parse_url
    from .pages import fetch_page
    from .plaintext import article_from_text

__all__ = (
    "HAND_SOURCE",
    "AiohttpFetcher",
    "FeedError",
    "FeedResult",
    "FetchError",
    "Fetcher",
    "HttpResponse",
    "InvalidURL",
    "SourceError",
    "article_from_text",
    "fetch_feed",
    "fetch_page",
    "load_article",
    "parse_feed",
    "parse_url",
    "read_article_file",
)

_WHERE = (
    ("articles", ("HAND_SOURCE", "load_article")),
    ("errors", ("FeedError", "SourceError")),
    ("feeds", ("FeedResult", "fetch_feed", "parse_feed")),
    ("files", ("read_article_file",)),
    ("http", ("AiohttpFetcher", "Fetcher", "FetchError", "HttpResponse", "InvalidURL", "parse_url")),
    ("pages", ("fetch_page",)),
    ("plaintext", ("article_from_text",)),
)


def __getattr__(name: str) -> object:
    for module, names in _WHERE:
        if name in names:
            return getattr(importlib.import_module(f"{__name__}.{module}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
