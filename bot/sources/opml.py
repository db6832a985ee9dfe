"""OPML subscription lists: read (untrusted XML) and written (OPML 2.0).

Reading uses the standard library's expat directly, the way defusedxml guards it: a file
that declares any entity is refused before anything is expanded (no billion laughs, no
external entities: expat is never given a handler to fetch one, and parameter entities are
not parsed). The outlines are read as they stream by, nested folders flattened, and the
count is bounded, so a hostile file costs little.
"""

from __future__ import annotations

import xml.parsers.expat
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from typing import NoReturn
from xml.sax.saxutils import quoteattr

from .errors import SourceError
from .plaintext import collapse

MAX_OPML_BYTES = 5 * 1024 * 1024
MAX_FEEDS = 300  # feeds in one file: each is fetched once when imported
MAX_OUTLINES = 20_000  # outlines of any kind read before the file is refused
MAX_DEPTH = 64  # folders inside folders
_TITLE_LIMIT = 200


class OpmlError(SourceError):
    """The document is not an OPML file that can be imported; the message says why."""


@dataclass(frozen=True, slots=True)
class OpmlFeed:
    url: str  # xmlUrl, as written (stripped)
    title: str | None  # title, else text
    html_url: str | None
    folder: str | None  # the innermost folder it was listed in


@dataclass(frozen=True, slots=True)
class OpmlDocument:
    title: str | None
    feeds: list[OpmlFeed]  # in document order, folders flattened


def _attr(attrs: dict[str, str], name: str) -> str | None:
    """An attribute by name, case-insensitively (some readers write "xmlurl")."""
    value = attrs.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in attrs.items() if k.lower() == lowered), None)
    value = collapse(value) if value else ""
    return value or None


class _Reader:
    def __init__(self) -> None:
        self.feeds: list[OpmlFeed] = []
        self.title: str | None = None
        self._path: list[str] = []
        self._folders: list[str | None] = []  # one per open outline
        self._outlines = 0
        self._title_text: list[str] = []

    def start(self, name: str, attrs: dict[str, str]) -> None:
        if not self._path and name != "opml":
            self._refuse(f"this is XML, but not OPML (its root is <{name[:40]}>, not <opml>)")
        self._path.append(name)
        if len(self._path) > MAX_DEPTH:
            self._refuse(f"outlines are nested more than {MAX_DEPTH} deep")
        if name != "outline":
            return
        self._outlines += 1
        if self._outlines > MAX_OUTLINES:
            self._refuse(f"it has more than {MAX_OUTLINES:,} outlines")
        label = _attr(attrs, "title") or _attr(attrs, "text")
        url = _attr(attrs, "xmlUrl")
        if url is None:  # a folder (category): its feeds are listed flat, the folder remembered
            self._folders.append(label)
            return
        self._folders.append(None)
        folder = next((f for f in reversed(self._folders[:-1]) if f), None)
        if len(self.feeds) >= MAX_FEEDS:
            self._refuse(f"it lists more than {MAX_FEEDS} feeds; import at most {MAX_FEEDS} at a time")
        self.feeds.append(
            OpmlFeed(
                url=url,
                title=label[:_TITLE_LIMIT] if label else None,
                html_url=_attr(attrs, "htmlUrl"),
                folder=folder[:_TITLE_LIMIT] if folder else None,
            )
        )

    def end(self, name: str) -> None:
        if name == "outline" and self._folders:
            self._folders.pop()
        if self._path[-2:] == ["head", "title"] and self.title is None:
            self.title = collapse("".join(self._title_text))[:_TITLE_LIMIT] or None
        self._path.pop()

    def text(self, data: str) -> None:
        if self._path[-2:] == ["head", "title"] and len(self._title_text) < 1000:
            self._title_text.append(data)

    @staticmethod
    def _refuse(reason: str) -> NoReturn:
        raise OpmlError(reason)


def _no_entities(*_: object) -> NoReturn:
    raise OpmlError("it declares XML entities, which threadcast does not accept in OPML")


def parse_opml(data: bytes) -> OpmlDocument:
    """The feeds of an OPML file (blocking: call it in a thread). Raises OpmlError, whose
    message completes "cannot import that file: …"."""
    if len(data) > MAX_OPML_BYTES:
        raise OpmlError(f"it is larger than {MAX_OPML_BYTES // (1024 * 1024)} MB")
    if not data.strip():
        raise OpmlError("it is empty")
    reader = _Reader()
    parser = xml.parsers.expat.ParserCreate()
    parser.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.EntityDeclHandler = _no_entities
    parser.UnparsedEntityDeclHandler = _no_entities
    parser.ExternalEntityRefHandler = _no_entities
    parser.StartElementHandler = reader.start
    parser.EndElementHandler = reader.end
    parser.CharacterDataHandler = reader.text
    try:
        parser.Parse(data, True)
    except xml.parsers.expat.ExpatError as exc:
        raise OpmlError(
            f"it is not well-formed XML ({xml.parsers.expat.ErrorString(exc.code)},"
            f" line {exc.lineno}, column {exc.offset})"
        ) from None
    except RecursionError:  # not expected (expat streams), but never a crash
        raise OpmlError("it is nested too deeply") from None
    return OpmlDocument(reader.title, reader.feeds)


# --- writing ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ExportFolder:
    name: str
    feeds: list[OpmlFeed]


def write_opml(title: str, folders: Iterable[ExportFolder], *, created: datetime) -> bytes:
    """An OPML 2.0 document: one folder outline per group, a ``type="rss"`` outline per feed."""
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<opml version="2.0">',
        "  <head>",
        f"    <title>{_text(title)}</title>",
        f"    <dateCreated>{format_datetime(created)}</dateCreated>",
        "    <docs>http://opml.org/spec2.opml</docs>",
        "  </head>",
        "  <body>",
    ]
    for folder in folders:
        lines.append(f"    <outline text={quoteattr(folder.name)} title={quoteattr(folder.name)}>")
        for feed in folder.feeds:
            name = feed.title or feed.url
            attrs = [
                'type="rss"',
                f"text={quoteattr(name)}",
                f"title={quoteattr(name)}",
                f"xmlUrl={quoteattr(feed.url)}",
            ]
            if feed.html_url:
                attrs.append(f"htmlUrl={quoteattr(feed.html_url)}")
            lines.append(f"      <outline {' '.join(attrs)}/>")
        lines.append("    </outline>")
    lines += ["  </body>", "</opml>", ""]
    return "\n".join(_xml_chars(line) for line in lines).encode("utf-8", "replace")


def _text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _xml_chars(text: str) -> str:
    """Without the control characters XML 1.0 cannot carry (a title could hold one)."""
    return "".join(ch for ch in text if ch in "\t\n\r" or ord(ch) >= 0x20)
