"""Article identity: the key that makes a feed item, a link or a pasted text post once."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from types import MappingProxyType
from urllib.parse import SplitResult, urlsplit, urlunsplit

_DEFAULT_PORTS = MappingProxyType({"http": 80, "https": 443})


def normalize_url(url: str) -> str:
    """Return ``url`` in the form used to recognise the same article twice.

    Scheme and host are lower-cased, default ports, the fragment and ``utm_*``
    tracking parameters are dropped (other parameters keep their order and
    their exact spelling), and an empty path becomes "/". Anything that is not
    an absolute URL is returned stripped and otherwise unchanged.
    """
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unbalanced "[" in the host
        return url
    if not parts.scheme or not parts.netloc:
        return url
    scheme = parts.scheme.lower()
    netloc = _normalize_netloc(parts, scheme)
    query = "&".join(pair for pair in parts.query.split("&") if pair and not pair.lower().startswith("utm_"))
    return urlunsplit((scheme, netloc, parts.path or "/", query, ""))


def _normalize_netloc(parts: SplitResult, scheme: str) -> str:
    userinfo = parts.netloc.rpartition("@")[0]
    try:
        port = parts.port
    except ValueError:  # a port that is not a number: leave the host part alone
        return parts.netloc
    host = (parts.hostname or "").lower()
    if ":" in host:  # IPv6 literals keep their brackets
        host = f"[{host}]"
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        host = f"{host}:{port}"
    return f"{userinfo}@{host}" if userinfo else host


def article_link(url: str | None) -> str | None:
    """The normalized form of an absolute http(s) link, else None (nothing to know an article
    by: a missing, relative or other-scheme link)."""
    if not url or not url.strip():
        return None
    link = normalize_url(url)
    parts = urlsplit(link)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return link


def article_key(guid: str | None, url: str | None, text: str | Callable[[], str]) -> str:
    """The identity of an article: its feed GUID, else its normalized URL, else a content hash.
    `text` may be given as a function, called only when neither GUID nor URL is there."""
    if guid and guid.strip():
        return f"guid:{guid.strip()}"
    if url and url.strip():
        return f"url:{normalize_url(url)}"
    if callable(text):
        text = text()
    normalized = " ".join(text.split())
    return "sha256:" + hashlib.sha256(normalized.encode("utf-8", "surrogatepass")).hexdigest()
