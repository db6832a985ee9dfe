"""What an article post shows and in which order: a feed's post template.

A template is an ordered choice among five parts:

- `title`: the article's title, a link to the article where the platform links titles;
- `excerpt`: the start of the article's text;
- `link`: the article's address on a line of its own;
- `source`: the site's name and the article's date;
- `prompt`: the discussion prompt.

The decision (which parts, which order) is made here, once; each adapter only translates
the parts into its markup (Discord: the prompt is the message above the article card, the
card's title and footer have fixed places and the other parts fill its text in order;
Slack: one block per part, in order; the console: lines, in order). A template shows the
title or the link, so that members know which article the thread is about, and each part
at most once.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from bot.i18n import N_
from bot.models import Article

MAX_TEMPLATE_LENGTH = 100


class Part(enum.StrEnum):
    TITLE = "title"
    EXCERPT = "excerpt"
    LINK = "link"
    SOURCE = "source"
    PROMPT = "prompt"


@dataclass(frozen=True, slots=True)
class PostLayout:
    parts: tuple[Part, ...]

    def shows(self, part: Part) -> bool:
        return part in self.parts

    @property
    def text(self) -> str:
        """The template as typed and stored: `title,excerpt,source,prompt`."""
        return ",".join(self.parts)


# The post as threadcast has always made it: a feed without a template gets this.
STANDARD = PostLayout((Part.TITLE, Part.EXCERPT, Part.SOURCE, Part.PROMPT))


class TemplateError(ValueError):
    """A template that cannot be used. `message` is an English msgid with {placeholders}."""

    def __init__(self, message: str, /, **values: object) -> None:
        super().__init__(message.format(**values) if values else message)
        self.message = message
        self.values = values


def parse_template(text: str) -> PostLayout:
    """`title,excerpt,link,prompt` (commas and/or spaces) → a layout; TemplateError if wrong."""
    if len(text) > MAX_TEMPLATE_LENGTH:
        raise TemplateError(N_("a template is at most {limit} characters"), limit=MAX_TEMPLATE_LENGTH)
    names = [n for n in text.replace(",", " ").lower().split() if n]
    allowed = ", ".join(p.value for p in Part)
    if not names:
        raise TemplateError(N_("name the parts to show, in order, from: {allowed}"), allowed=allowed)
    parts: list[Part] = []
    for name in names:
        try:
            part = Part(name)
        except ValueError:
            raise TemplateError(
                N_("unknown part {part}; use {allowed}"), part=repr(name[:30]), allowed=allowed
            ) from None
        if part in parts:
            raise TemplateError(N_("{part} is named twice"), part=name)
        parts.append(part)
    if Part.TITLE not in parts and Part.LINK not in parts:
        raise TemplateError(N_("a template shows the title or the link, so members know the article"))
    return PostLayout(tuple(parts))


def stored_layout(text: str | None) -> PostLayout:
    """A feed's stored template as a layout; STANDARD when none is set (or it no longer reads)."""
    if not text:
        return STANDARD
    try:
        return parse_template(text)
    except TemplateError:
        return STANDARD


@dataclass(frozen=True, slots=True)
class PostPreview:
    """An article post as its channel would get it, shown to the caller instead of posted."""

    article: Article
    prompt: str
    layout: PostLayout
