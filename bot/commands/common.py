"""Small helpers the command handlers share."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from bot.commands.registry import UsageError
from bot.i18n import N_, Words
from bot.prompts import check_template, tidy_template


def channel_label(channel_id: str) -> str:
    return f"#{channel_id}"


def require_web_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(N_("{url} is not an http(s) URL"), url=repr(url[:80]))
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
