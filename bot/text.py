"""Text hygiene shared by every output: bounded, printable, and unable to ping."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

ELLIPSIS = "…"

# Bidi overrides and isolates can reorder what a reader sees; zero-width joiners
# are kept because emoji sequences need them.
_BIDI = dict.fromkeys(map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f"))
_SPACES = re.compile(r"[ \t\f\v\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_ZWSP = "\u200b"

# Mass pings and raw mention markup of the platforms threadcast speaks to.
# Neutralised by a zero-width space so the text still reads the same.
_MASS_PING = re.compile(r"@(everyone|here|channel)", re.IGNORECASE)  # even inside a word
_MARKUP_MENTION = re.compile(r"<([@#!])")


def clean(text: str, *, keep_newlines: bool = True) -> str:
    """Drop control and bidi-override characters; collapse runs of spaces."""
    if text.isprintable():
        # No control, format or separator character but the plain space: nothing to drop or
        # translate, only runs of spaces to collapse. Most replies, and a flood's worth of time.
        return (_SPACES.sub(" ", text) if "  " in text else text).strip()
    return _clean_any(text, keep_newlines=keep_newlines)


def _clean_any(text: str, *, keep_newlines: bool) -> str:
    text = text.translate(_BIDI)
    kept = []
    for ch in text:
        if ch == "\n" and keep_newlines:
            kept.append(ch)
        elif ch in "\r\n\t":
            kept.append(" ")
        elif unicodedata.category(ch) in ("Cc", "Cs", "Co", "Cn") and ch not in "\n":
            continue
        else:
            kept.append(ch)
    lines = (_SPACES.sub(" ", line).strip() for line in "".join(kept).split("\n"))
    if keep_newlines:
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return " ".join(line for line in lines if line)


def neutralize_mentions(text: str) -> str:
    """Make @everyone/@here/@channel and <@…>, <#…>, <!…> markup inert."""
    text = _MASS_PING.sub(lambda m: "@" + _ZWSP + m.group(1), text)
    return _MARKUP_MENTION.sub(lambda m: "<" + _ZWSP + m.group(1), text)


def shorten(text: str, limit: int) -> str:
    """Cut `text` to at most `limit` characters at a word boundary, marking the cut."""
    if limit < 1:
        return ""
    if len(text) <= limit:
        return text
    cut = text[: limit - len(ELLIPSIS) + 1]
    space = cut.rfind(" ")
    # Keep whole words unless that would throw away most of the room.
    cut = cut[:space] if space >= (limit - len(ELLIPSIS)) // 2 else cut[: limit - len(ELLIPSIS)]
    return cut.rstrip(" ,;:.-–—") + ELLIPSIS


def safe(text: str, limit: int, *, keep_newlines: bool = False) -> str:
    """Everything a piece of untrusted text needs before the bot writes it."""
    return shorten(neutralize_mentions(clean(text, keep_newlines=keep_newlines)), limit)


def count(n: int, one: str, many: str | None = None) -> str:
    """'1 reply', '2 replies'."""
    return f"{n} {one if n == 1 else (many or one + 's')}"


def _pieces(line: str, limit: int) -> list[str]:
    """A line longer than `limit` in pieces cut at spaces (or hard, for one huge word)."""
    pieces = []
    while len(line) > limit:
        cut = line.rfind(" ", 0, limit + 1)
        cut = cut if cut > limit // 2 else limit
        pieces.append(line[:cut].rstrip())
        line = line[cut:].lstrip()
    return [*pieces, line]


def chunk_lines(lines: Iterable[str], limit: int) -> list[str]:
    """Lines joined into chunks of at most `limit` characters, for platforms that cap a
    message or a block; only a line that is itself too long is split (at spaces)."""
    chunks: list[str] = []
    current = ""
    for line in (piece for whole in lines for piece in _pieces(whole, limit)):
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit and current:
            chunks.append(current)
            candidate = line
        current = candidate
    if current:
        chunks.append(current)
    return chunks
