"""The digest as Markdown: for `digest --markdown`, exports and the console.

It translates `bot.layout`'s blocks; what they hold and in which order is decided there.
"""

from __future__ import annotations

import re

from bot.layout import Closing, Discussion, Facts, Heading, Layout, Line, Listing, Subheading, join_spans
from bot.text import neutralize_mentions

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")


def escape(text: str) -> str:
    """Make untrusted text literal in Markdown (no links, emphasis or HTML) and unable
    to ping, even where a caller forgot to clean it first."""
    return _MD_SPECIAL.sub(r"\\\1", neutralize_mentions(text))


def link_target(url: str) -> str:
    """A URL that cannot end the Markdown link early or smuggle markup in."""
    return (
        url.replace(" ", "%20")
        .replace("(", "%28")
        .replace(")", "%29")
        .replace("<", "%3C")
        .replace(">", "%3E")
    )


def line(spans: Line) -> str:
    return join_spans(
        spans,
        text=escape,
        link=lambda shown, url: f"[{shown}]({link_target(url)})",
        strong=lambda shown: f"**{shown}**",
    )


def _discussion(block: Discussion) -> list[str]:
    title = escape(block.title)
    title = f"[{title}]({link_target(block.url)})" if block.url else title
    lines = [f"{block.rank}. **{title}** — {escape(block.counts)}"]
    if block.gist:
        lines.append(f"   {escape(block.gist)}")
    for quote in block.quotes:
        star = "★ " if quote.featured else ""
        lines.append(f"   > {star}{escape(quote.text)} — *{escape(quote.author)}*")
    if block.themes:
        lines.append(f"   {escape(block.themes_heading)}:")
        lines += [f"   - {line(theme)}" for theme in block.themes]
    if block.thread:
        lines.append(f"   {line((block.thread,))}")
    return lines


def render(layout: Layout) -> str:
    out: list[str] = []
    for block in layout.blocks:
        match block:
            case Heading():
                out += [f"# {escape(block.title)}", "", f"_{escape(block.period)}_", ""]
                if block.note:
                    out += [f"_{escape(block.note)}_", ""]
            case Facts():
                out += [f"- {line(spans)}" for spans in block.lines]
            case Subheading():
                out += ["", f"## {escape(block.text)}", ""]
            case Discussion():
                out += _discussion(block)
            case Listing():
                out += ["", f"## {escape(block.heading)}", ""]
                out += [f"- {line(spans)}" for spans in block.items]
            case Closing():
                out += ["", *(line(spans) for spans in block.lines)]
    return "\n".join(out) + "\n"
