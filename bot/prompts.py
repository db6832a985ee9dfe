"""Discussion prompts: templates with {title}, {url} and {source}.

Substitution is by plain replacement, not `str.format`, so a moderator's
template can never reach attributes of the values it names.

A channel may rotate several prompts. They are kept in the channel's one
prompt value, joined by the ASCII record separator: typed templates are
cleaned of control characters first, so none can contain it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.models import Article
from bot.text import clean, safe

DEFAULT_PROMPT = "What do you make of “{title}”? Share your own experience in the thread."
PLACEHOLDERS = ("title", "url", "source")
MAX_PROMPT_LENGTH = 500
MAX_PROMPTS = 10
SEPARATOR = "\x1e"
_FIELD = re.compile(r"\{([^{}]*)\}")


def tidy_template(template: str) -> str:
    """A typed template as it is kept: printable, without stray spaces."""
    return clean(template, keep_newlines=True)


def check_template(template: str) -> str | None:
    """A message saying what is wrong with the template, or None if it is fine."""
    if len(template) > MAX_PROMPT_LENGTH:
        return f"a prompt is at most {MAX_PROMPT_LENGTH} characters"
    unknown = sorted({m[1] for m in _FIELD.finditer(template)} - set(PLACEHOLDERS))
    if unknown:
        allowed = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
        return f"unknown placeholder {{{unknown[0]}}}; use {allowed}"
    return None


def render_prompt(template: str, article: Article) -> str:
    values = {"title": article.title, "url": article.url or "", "source": article.source}
    filled = _FIELD.sub(lambda m: values.get(m[1], m[0]), template)
    return safe(filled, 1000, keep_newlines=True)


def split_prompts(value: str | None) -> tuple[str, ...]:
    """The templates kept in one stored prompt value, in rotation order."""
    return tuple(t for t in (value or "").split(SEPARATOR) if t.strip())


def join_prompts(templates: Sequence[str]) -> str | None:
    kept = [t.replace(SEPARATOR, " ") for t in templates if t.strip()]
    return SEPARATOR.join(kept) if kept else None


def next_prompt(templates: Sequence[str], last_used: str | None) -> str:
    """The template after the one used last, so every prompt gets its turn."""
    if last_used is None or last_used not in templates:
        return templates[0]
    return templates[(list(templates).index(last_used) + 1) % len(templates)]
