"""Small helpers the command handlers share."""

from __future__ import annotations

from datetime import datetime

from bot.commands.registry import UsageError
from bot.i18n import N_, Words
from bot.prompts import check_template, tidy_template
from bot.redact import mask_url
from bot.sources.http import InvalidURL, parse_url


def channel_label(channel_id: str) -> str:
    return f"#{channel_id}"


def require_web_url(url: str) -> str:
    """`url` if it is a well-formed http(s) URL with a host; else a usage answer."""
    try:
        parts = parse_url(url)
    except InvalidURL:
        raise UsageError(N_("{url} is not a valid URL"), url=repr(mask_url(url)[:80])) from None
    if parts.scheme not in ("http", "https") or not parts.raw_host:
        raise UsageError(N_("{url} is not an http(s) URL"), url=repr(mask_url(url)[:80]))
    return url


def checked_prompt(template: object) -> str | None:
    if template is None:
        return None
    text = tidy_template(str(template))
    problem = check_template(text)
    if problem:
        raise UsageError(problem)  # bot.prompts writes it (English)
    return text


def ago(moment: datetime | None, now: datetime, words: Words) -> str:
    if moment is None:
        return words.gettext("never")
    seconds = int((now - moment).total_seconds())
    if seconds < 90:
        return words.gettext("just now")
    if seconds < 5400:
        return words.gettext("{minutes} min ago", minutes=seconds // 60)
    if seconds < 2 * 86400:
        return words.gettext("{hours} h ago", hours=seconds // 3600)
    return words.ngettext("{n} day ago", "{n} days ago", seconds // 86400)
