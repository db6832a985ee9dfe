"""`load_article`: the article a moderator's reference names (a link, a file or the text itself)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from bot.models import ArticleDraft

from .errors import SourceError
from .http import Fetcher, parse_url

HAND_SOURCE = "posted by hand"

_HTTP_URL = re.compile(r"https?://\S+", re.IGNORECASE)
_OTHER_URL = re.compile(r"[a-z][a-z0-9+.-]*://\S*", re.IGNORECASE)
_MAX_PATH_LENGTH = 4096


async def load_article(fetcher: Fetcher, ref: str, *, allow_files: bool = True) -> ArticleDraft:
    """The article ``ref`` points to: an http(s) URL, a local file, or else the article's own text.

    Pass ``allow_files=False`` where ``ref`` comes from chat rather than the
    operator's shell, so a moderator cannot make the bot read its host's files.
    """
    ref = ref.strip()
    if not ref:
        raise SourceError("nothing to post: give a link, a file or the article's text")
    if _HTTP_URL.fullmatch(ref):
        parse_url(ref)  # InvalidURL: bad input, said before any fetcher sees it
        from .pages import fetch_page  # HTML extraction loads when a page is first posted

        return await fetch_page(fetcher, ref)
    if _OTHER_URL.fullmatch(ref):
        raise SourceError(f"{ref}: only http:// and https:// links can be posted")
    if allow_files and await asyncio.to_thread(_is_existing_path, ref):
        from .files import read_article_file

        return await read_article_file(ref)
    if allow_files and _PATH_LIKE.fullmatch(ref):
        # One word that looks like a path is a mistyped file, not an article.
        raise SourceError(f"{ref}: no such file")
    from .plaintext import article_from_text

    return await asyncio.to_thread(article_from_text, ref, source=HAND_SOURCE)


_PATH_LIKE = re.compile(r"(?:[~./]\S*|\S+\.(?:txt|md|markdown|html?))", re.IGNORECASE)


def _is_existing_path(ref: str) -> bool:
    if "\n" in ref or len(ref) > _MAX_PATH_LENGTH:
        return False
    try:
        return Path(ref).exists()
    except (OSError, ValueError):  # a name too long for the OS, or a NUL byte
        return False
