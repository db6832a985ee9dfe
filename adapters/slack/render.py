"""Articles and digests as Slack Block Kit, within Slack's limits.

Limits: 50 blocks a message, 3,000 characters a section, 150 a header, 40,000
of message text (Slack refuses block payloads well below the documented sums,
so a digest message is kept far smaller). Untrusted text is escaped (`&`, `<`,
`>`), so it cannot ping (`<!channel>`, `<@U…>`) or make a link.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC
from typing import Any

from bot.layout import (
    Closing,
    DigestPost,
    Discussion,
    Facts,
    Heading,
    Layout,
    Line,
    Listing,
    Subheading,
    join_spans,
)
from bot.models import Article
from bot.post_layout import STANDARD, Part, PostLayout
from bot.text import chunk_lines, neutralize_mentions, shorten

Block = dict[str, Any]

SECTION_LIMIT = 3000
HEADER_LIMIT = 150
BLOCKS_PER_MESSAGE = 50
MESSAGE_CHARS = 12000  # generous margin under what Slack accepts in one message's blocks
FALLBACK_LIMIT = 3000

_CHANNEL_LABEL = re.compile(r"#([CGD][A-Z0-9]{6,})\b")


def escape(text: str) -> str:
    """Untrusted text made literal in Slack mrkdwn: no mentions, no links."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def fit(text: str, limit: int) -> str:
    """`text` escaped, cut at a word boundary so the escaped form stays within `limit`."""
    size = limit
    while True:
        shown = escape(shorten(text, size))
        if len(shown) <= limit or size <= 1:
            return shown[:limit] if len(shown) > limit else shown
        size -= len(shown) - limit


def link_target(url: str) -> str | None:
    """A URL safe inside `<url|label>`, or None when it is not a web address."""
    if not url.startswith(("https://", "http://")):
        return None
    return url.replace("&", "&amp;").replace("|", "%7C").replace("<", "%3C").replace(">", "%3E")


def linked(label: str, url: str | None) -> str:
    """`label` (already escaped) as a link when there is a usable URL."""
    target = link_target(url) if url else None
    return f"<{target}|{label}>" if target else label


def channel_links(text: str) -> str:
    """Our own answers name channels as `#C…`: Slack shows `<#C…>` as a channel link."""
    return _CHANNEL_LABEL.sub(r"<#\1>", text)


def answer_text(text: str) -> str:
    """The bot's own words (which may quote members' or articles' text) for Slack."""
    return channel_links(escape(neutralize_mentions(text)))


def section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def article_blocks(article: Article, prompt: str, layout: PostLayout = STANDARD) -> tuple[list[Block], str]:
    """The discussion post, a block per part of the layout in its order (title, excerpt,
    link, source and time, prompt); and the fallback text."""
    blocks: list[Block] = []
    title = " ".join(article.title.split()) or "Untitled"
    target = link_target(article.url) if article.url else None
    for part in layout.parts:
        if part is Part.TITLE:
            if target:
                blocks.append(
                    section(f"*{linked(fit(title, SECTION_LIMIT - len(target) - 10), article.url)}*")
                )
            else:
                header = fit(title, HEADER_LIMIT)
                blocks.append(
                    {"type": "header", "text": {"type": "plain_text", "text": header, "emoji": True}}
                )
        elif part is Part.EXCERPT:
            if article.summary.strip():
                blocks.append(section(fit(article.summary, SECTION_LIMIT)))
        elif part is Part.LINK:
            if target:
                blocks.append(section(f"<{target}>"))
        elif part is Part.SOURCE:
            context = [fit(article.source, 500)] if article.source else []
            if article.published_at is not None:
                context.append(f"{article.published_at.astimezone(UTC):%d %b %Y %H:%M} UTC")
            if context:
                blocks.append(
                    {"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(context)}]}
                )
        elif prompt.strip():
            blocks.append(section(fit(prompt, SECTION_LIMIT)))
    shown_prompt = prompt.strip() and layout.shows(Part.PROMPT)
    fallback = fit(f"{title} — {prompt}" if shown_prompt else title, FALLBACK_LIMIT)
    return blocks, fallback


def sections(lines: Sequence[str], limit: int = SECTION_LIMIT) -> list[Block]:
    """Lines (already escaped) joined into sections of at most `limit` characters."""
    return [section(chunk) for chunk in chunk_lines(lines, limit)]


def _line(spans: Line) -> str:
    return join_spans(spans, text=_inline, link=linked, strong=lambda shown: f"*{shown}*")


def _discussion_lines(block: Discussion) -> list[str]:
    lines = [f"*{block.rank}. {linked(fit(block.title, 500), block.url)}*", escape(block.counts)]
    if block.gist:
        lines.append(_inline(block.gist))
    for quote in block.quotes:
        star = "★ " if quote.featured else ""
        lines.append(f"> {star}{_inline(quote.text)}\n> — _{escape(quote.author)}_")
    if block.themes:
        lines.append(f"*{escape(block.themes_heading)}*")
        lines += [f"• {_line(theme)}" for theme in block.themes]
    if block.thread:
        lines.append(_line((block.thread,)))
    return lines


def _inline(text: str) -> str:
    """Member text on one line of mrkdwn, escaped."""
    return " ".join(escape(text).split())


def digest_blocks(layout: Layout) -> list[Block]:
    blocks: list[Block] = []
    for block in layout.blocks:
        match block:
            case Heading():
                blocks.append(
                    {
                        "type": "header",
                        "text": {"type": "plain_text", "text": fit(block.title, HEADER_LIMIT), "emoji": True},
                    }
                )
                head = [f"_{escape(block.period)}_"]
                if block.note:
                    head.append(f"_{escape(block.note)}_")
                blocks += sections(head)
            case Facts():
                blocks += sections([_line(s) for s in block.lines])
            case Subheading():
                pass  # the ranks say it
            case Discussion():
                blocks.append({"type": "divider"})
                blocks += sections(_discussion_lines(block))
            case Listing():
                blocks.append({"type": "divider"})
                blocks += sections(
                    [f"*{escape(block.heading)}*", *(f"• {_line(item)}" for item in block.items)]
                )
            case Closing():
                blocks += sections([_line(s) for s in block.lines])
    return blocks


def _size(block: Block) -> int:
    text = block.get("text")
    return len(text["text"]) if isinstance(text, dict) else 0


def pack(blocks: Sequence[Block]) -> list[list[Block]]:
    """Blocks in messages of at most 50 blocks and `MESSAGE_CHARS` characters; a divider
    never starts or ends a message."""
    messages: list[list[Block]] = [[]]
    size = 0
    for block in blocks:
        current = messages[-1]
        if current and (len(current) >= BLOCKS_PER_MESSAGE or size + _size(block) > MESSAGE_CHARS):
            messages.append([])
            size = 0
        if block["type"] == "divider" and not messages[-1]:
            continue
        messages[-1].append(block)
        size += _size(block)
    for message in messages:
        while message and message[-1]["type"] == "divider":
            message.pop()
    return [m for m in messages if m]


def digest_messages(post: DigestPost) -> list[list[Block]]:
    """The digest's messages; a compact digest is one, its layout tightened until it fits."""
    layout = post.fitted(lambda layout: len(pack(digest_blocks(layout))) == 1)
    return pack(digest_blocks(layout))


def plain(blocks: Sequence[Block], limit: int = FALLBACK_LIMIT) -> str:
    """The fallback text of a message: its sections' text, cut to `limit`."""
    texts = [b["text"]["text"] for b in blocks if isinstance(b.get("text"), dict)]
    text = "\n".join(texts)
    return text if len(text) <= limit else text[: limit - 1] + "…"
