"""Small helpers the command handlers share."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlsplit

from bot.commands.registry import UsageError
from bot.prompts import check_template, tidy_template


def channel_label(channel_id: str) -> str:
    return f"#{channel_id}"


def require_web_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"{url[:80]!r} is not an http(s) URL")
    return url


def checked_prompt(template: object) -> str | None:
    if template is None:
        return None
    text = tidy_template(str(template))
    problem = check_template(text)
    if problem:
        raise UsageError(problem)
    return text


def ago(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return "never"
    seconds = int((now - moment).total_seconds())
    if seconds < 90:
        return "just now"
    if seconds < 5400:
        return f"{seconds // 60} min ago"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} days ago"
