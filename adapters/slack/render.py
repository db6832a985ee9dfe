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

from bot.digest import Digest, DiscussionSummary
from bot.markdown import counts_line, figure_lines, period_label, theme_line
from bot.models import Article
from bot.text import chunk_lines, count, neutralize_mentions, shorten

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


def article_blocks(article: Article, prompt: str) -> tuple[list[Block], str]:
    """The discussion post: title, excerpt, source and time, the prompt; and the fallback text."""
    blocks: list[Block] = []
    title = " ".join(article.title.split()) or "Untitled"
    target = link_target(article.url) if article.url else None
    if target:
        blocks.append(section(f"*{linked(fit(title, SECTION_LIMIT - len(target) - 10), article.url)}*"))
    else:
        header = fit(title, HEADER_LIMIT)
        blocks.append({"type": "header", "text": {"type": "plain_text", "text": header, "emoji": True}})
    if article.summary.strip():
        blocks.append(section(fit(article.summary, SECTION_LIMIT)))
    context = [fit(article.source, 500)] if article.source else []
    if article.published_at is not None:
        context.append(f"{article.published_at.astimezone(UTC):%d %b %Y %H:%M} UTC")
    if context:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(context)}]})
    if prompt.strip():
        blocks.append(section(fit(prompt, SECTION_LIMIT)))
    fallback = fit(f"{title} — {prompt}" if prompt.strip() else title, FALLBACK_LIMIT)
    return blocks, fallback


def sections(lines: Sequence[str], limit: int = SECTION_LIMIT) -> list[Block]:
    """Lines (already escaped) joined into sections of at most `limit` characters."""
    return [section(chunk) for chunk in chunk_lines(lines, limit)]


def _discussion_lines(rank: int, summary: DiscussionSummary) -> list[str]:
    title = f"*{rank}. {linked(fit(summary.title, 500), summary.article_url)}*"
    lines = [title, counts_line(summary)]
    if summary.thread_link:
        lines.append(linked("Join the thread", summary.thread_link))
    for h in summary.highlights:
        star = "★ " if h.featured else ""
        excerpt = " ".join(escape(h.excerpt).split())
        lines.append(f"> {star}{excerpt}\n> — _{escape(h.author)}_")
    if summary.themes:
        lines.append("*Themes*")
        lines += [f"• {theme_line(t, lambda s: f'*{s}*', _inline)}" for t in summary.themes]
    return lines


def _inline(text: str) -> str:
    """Member text on one line of mrkdwn, escaped."""
    return " ".join(escape(text).split())


def digest_blocks(digest: Digest) -> list[Block]:
    head = [
        f"_{escape(period_label(digest))}_",
        *figure_lines(digest.figures, lambda s: f"*{s}*", escape),
    ]
    if digest.note:
        head.append(f"_{escape(digest.note)}_")
    if digest.empty:
        head.append("A quiet week: no new articles or replies.")
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Community digest", "emoji": True}},
        *sections(head),
    ]
    for rank, summary in enumerate(digest.discussions, start=1):
        blocks.append({"type": "divider"})
        blocks += sections(_discussion_lines(rank, summary))
    if digest.more_discussions:
        blocks.append(section(f"…and {count(digest.more_discussions, 'more discussion')}."))
    late = [
        f"• {linked(fit(s.title, 500), s.thread_link)} — {count(s.replies, 'new reply', 'new replies')}"
        for s in digest.late
    ]
    waiting = [f"• {linked(fit(w.title, 500), w.thread_link or w.article_url)}" for w in digest.waiting]
    if digest.more_waiting:
        waiting.append(f"…and {digest.more_waiting} more.")
    for title, lines in (("Still talking about", late), ("Waiting for a first reply", waiting)):
        if lines:
            blocks.append({"type": "divider"})
            blocks += sections([f"*{title}*", *lines])
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


def plain(blocks: Sequence[Block], limit: int = FALLBACK_LIMIT) -> str:
    """The fallback text of a message: its sections' text, cut to `limit`."""
    texts = [b["text"]["text"] for b in blocks if isinstance(b.get("text"), dict)]
    text = "\n".join(texts)
    return text if len(text) <= limit else text[: limit - 1] + "…"
