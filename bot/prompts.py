"""Discussion prompts: templates with {title}, {url} and {source}.

Substitution is by plain replacement, not `str.format`, so a moderator's
template can never reach attributes of the values it names.
"""

from __future__ import annotations

import re

from bot.models import Article
from bot.text import safe

DEFAULT_PROMPT = "What do you make of “{title}”? Share your own experience in the thread."
PLACEHOLDERS = ("title", "url", "source")
MAX_PROMPT_LENGTH = 500
_FIELD = re.compile(r"\{([^{}]*)\}")


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
