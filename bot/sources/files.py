"""Articles from local files: plain text, Markdown (with optional front matter) and HTML."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from types import MappingProxyType

import frontmatter
import yaml

from bot.models import ArticleDraft

from .errors import SourceError
from .pages import article_from_html, decode_html
from .plaintext import article_from_text, decode_bytes, parse_iso_datetime

_log = logging.getLogger(__name__)

MAX_FILE_BYTES = 10 * 1024 * 1024


async def read_article_file(path: str | Path) -> ArticleDraft:
    """Read a .txt, .md or .html/.htm file as an article; SourceError names the path on any failure."""
    path = Path(path)
    reader = _READERS.get(path.suffix.lower())
    if reader is None:
        kinds = ", ".join(sorted(_READERS))
        raise SourceError(f"{path}: unsupported file type {path.suffix or '(none)'!r}; use one of {kinds}")
    # Reading and parsing both block: one trip to a worker thread.
    return await asyncio.to_thread(_read, path, reader)


def _read(path: Path, reader: Callable[[bytes, Path], ArticleDraft]) -> ArticleDraft:
    try:
        if not path.is_file():
            raise SourceError(f"{path}: {'not a file' if path.exists() else 'no such file'}")
        if path.stat().st_size > MAX_FILE_BYTES:
            raise SourceError(f"{path}: the file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")
        data = path.read_bytes()
    except OSError as exc:
        raise SourceError(f"{path}: cannot read the file ({exc.strerror or exc})") from None
    if not data.strip():
        raise SourceError(f"{path}: the file is empty")
    try:
        return reader(data, path)
    except SourceError as exc:
        raise SourceError(f"{path}: {exc}") from None


def _read_text(data: bytes, path: Path) -> ArticleDraft:
    return article_from_text(decode_bytes(data), source=path.name)


def _read_html(data: bytes, path: Path) -> ArticleDraft:
    return article_from_html(decode_html(data), url=None, fallback_source=path.name)


def _read_markdown(data: bytes, path: Path) -> ArticleDraft:
    text = decode_bytes(data)
    try:
        post = frontmatter.loads(text)
    except yaml.YAMLError as exc:
        problem = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SourceError(f"the front matter is not valid YAML ({problem})") from None
    meta: Mapping[str, object] = post.metadata if isinstance(post.metadata, Mapping) else {}
    body, heading = markdown_to_text(post.content)
    title = _string(meta.get("title")) or heading
    url = _string(meta.get("url")) or _string(meta.get("link"))
    draft = article_from_text(
        body or title or "",
        source=_string(meta.get("source")) or _string(meta.get("site")) or path.name,
        title=title,
        url=url if url and url.lower().startswith(("http://", "https://")) else None,
    )
    return dataclasses.replace(draft, published_at=_datetime(meta.get("published") or meta.get("date")))


_READERS: Mapping[str, Callable[[bytes, Path], ArticleDraft]] = MappingProxyType(
    {
        ".txt": _read_text,
        ".md": _read_markdown,
        ".markdown": _read_markdown,
        ".html": _read_html,
        ".htm": _read_html,
    }
)


def _string(value: object) -> str | None:
    if value is None or isinstance(value, (dict, list)):
        return None
    text = str(value).strip()
    return text or None


def _datetime(value: object) -> datetime | None:
    """A front-matter date: YAML gives datetime or date objects, or a string."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, str):
        return parse_iso_datetime(value)
    return None


# --- Markdown -------------------------------------------------------------------

_FENCE = re.compile(r"^ {0,3}(```|~~~)")
_ATX_HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_SETEXT_H1 = re.compile(r"^ {0,3}=+\s*$")
_SETEXT_H2 = re.compile(r"^ {0,3}-+\s*$")
_RULE = re.compile(r"^ {0,3}([-*_])(\s*\1){2,}\s*$")
_LINK_DEFINITION = re.compile(r"^ {0,3}\[[^\]]+\]:\s+\S+")
_BLOCK_PREFIX = re.compile(r"^ {0,3}(>\s?)+|^\s*([-*+]|\d{1,9}[.)])\s+")
_LIST_ITEM = re.compile(r"^\s*([-*+]|\d{1,9}[.)])\s+")
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)|!\[([^\]]*)\]\[[^\]]*\]")
_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)|\[([^\]]+)\]\[[^\]]*\]")
_AUTOLINK = re.compile(r"<((?:https?|mailto):[^>\s]+)>")
_HTML_TAG = re.compile(r"<!--.*?-->|</?[a-zA-Z][^>]*>", re.DOTALL)
_EMPHASIS = re.compile(
    r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1"  # **strong**, __strong__
    r"|(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*"  # *emphasis*
    r"|(?<![\w_])_(?=\S)(.+?)(?<=\S)_(?!\w)"  # _emphasis_, but not snake_case
)
_CODE_SPAN = re.compile(r"`+([^`]*)`+")


def markdown_to_text(markdown: str) -> tuple[str, str | None]:
    """Markdown as plain text, one paragraph a line with blank lines between, and its first
    level-1 heading (taken out of the text).

    Enough Markdown for an excerpt: headings, emphasis, links, images, lists,
    quotes and inline HTML lose their markup; code blocks are left out.
    """
    blocks: list[list[str]] = [[]]
    title: str | None = None
    in_fence = False

    def own_block(text: str) -> None:
        blocks.extend([[text], []])

    for line in markdown.splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
            blocks.append([])
        elif in_fence or _LINK_DEFINITION.match(line):
            continue
        elif not line.strip():
            blocks.append([])
        # "Text" underlined by === or --- is a heading, not a rule (CommonMark).
        elif blocks[-1] and (_SETEXT_H1.match(line) or _SETEXT_H2.match(line)):
            text = " ".join(blocks.pop())
            if title is None and _SETEXT_H1.match(line):
                title = text
                blocks.append([])
            else:
                own_block(text)
        elif _RULE.match(line):
            blocks.append([])
        elif heading := _ATX_HEADING.match(line):
            if title is None and len(heading.group(1)) == 1:
                title = _inline(heading.group(2))
            else:
                own_block(_inline(heading.group(2)))
        elif _LIST_ITEM.match(line):
            own_block(_inline(_BLOCK_PREFIX.sub("", line)))
        else:
            blocks[-1].append(_inline(_BLOCK_PREFIX.sub("", line)))
    paragraphs = (" ".join(part for part in block if part) for block in blocks)
    return "\n\n".join(p for p in paragraphs if p), title or None


def _inline(text: str) -> str:
    text = _IMAGE.sub("", text)
    text = _LINK.sub(lambda m: m.group(1) or m.group(2), text)
    text = _AUTOLINK.sub(r"\1", text)
    text = _HTML_TAG.sub("", text)
    text = _CODE_SPAN.sub(r"\1", text)
    text = _EMPHASIS.sub(lambda m: next(g for g in m.groups()[1:] if g is not None), text)
    return text.strip()
