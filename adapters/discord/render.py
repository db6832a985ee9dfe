"""Articles and digests as Discord messages, within every limit Discord sets.

Limits: content 2,000; embed title 256, description 4,096, 25 fields of
1,024, footer 2,048; 6,000 characters across a message's embeds; 10 embeds
per message. Text is cut at word boundaries, and a digest that does not fit
one message is split into several.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import discord

from bot.digest import Digest, DiscussionSummary
from bot.markdown import counts_line, figure_lines, period_label, theme_line
from bot.models import Article
from bot.text import chunk_lines, count, neutralize_mentions, shorten

CONTENT_LIMIT = 2000
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FOOTER_LIMIT = 2048
MESSAGE_EMBED_CHARS = 6000
EMBEDS_PER_MESSAGE = 10
THREAD_NAME_LIMIT = 100
ACCENT = discord.Colour(0x5865F2)


def md(text: str) -> str:
    """Untrusted text made literal in Discord markdown and unable to ping."""
    return discord.utils.escape_markdown(neutralize_mentions(text))


def thread_name(title: str) -> str:
    return shorten(" ".join(title.split()), THREAD_NAME_LIMIT) or "Discussion"


def article_embed(article: Article) -> discord.Embed:
    embed = discord.Embed(
        title=shorten(neutralize_mentions(article.title), TITLE_LIMIT),
        url=article.url or None,
        description=shorten(md(article.summary), 1000) or None,
        colour=ACCENT,
        timestamp=article.published_at,
    )
    embed.set_footer(text=shorten(neutralize_mentions(article.source), 200))
    return embed


def embed_size(embed: discord.Embed) -> int:
    return len(embed)


@dataclass
class MessagePart:
    """One Discord message of a split digest."""

    embeds: list[discord.Embed] = field(default_factory=list)

    @property
    def size(self) -> int:
        return sum(len(e) for e in self.embeds)

    def fits(self, embed: discord.Embed) -> bool:
        return len(self.embeds) < EMBEDS_PER_MESSAGE and self.size + len(embed) <= MESSAGE_EMBED_CHARS


def _discussion_text(summary: DiscussionSummary) -> str:
    lines = [counts_line(summary)]
    if summary.thread_link:
        lines.append(f"[Join the thread]({summary.thread_link})")
    for h in summary.highlights:
        star = "★ " if h.featured else ""
        lines.append(f"> {star}{md(h.excerpt)}\n> — *{md(h.author)}*")
    if summary.themes:
        lines.append("**Themes**")
        lines += [f"• {theme_line(t, lambda s: f'**{s}**', md)}" for t in summary.themes]
    return "\n".join(lines)


def digest_embeds(digest: Digest) -> list[discord.Embed]:
    head = [
        f"*{period_label(digest)}*",
        "",
        *figure_lines(digest.figures, lambda s: f"**{s}**", md),
    ]
    if digest.note:
        head += ["", f"*{md(digest.note)}*"]
    if digest.empty:
        head += ["", "A quiet week: no new articles or replies."]
    embeds = [discord.Embed(title="Community digest", description="\n".join(head), colour=ACCENT)]
    for rank, summary in enumerate(digest.discussions, start=1):
        embeds.append(
            discord.Embed(
                title=shorten(f"{rank}. {neutralize_mentions(summary.title)}", TITLE_LIMIT),
                url=summary.article_url or None,
                description=shorten(_discussion_text(summary), DESCRIPTION_LIMIT),
                colour=ACCENT,
            )
        )
    if digest.more_discussions:
        embeds[-1].set_footer(text=f"…and {count(digest.more_discussions, 'more discussion')}.")
    for title, lines in (
        ("Still talking about", [_late_line(s) for s in digest.late]),
        (
            "Waiting for a first reply",
            [_waiting_line(w.title, w.article_url, w.thread_link) for w in digest.waiting],
        ),
    ):
        if digest.more_waiting and title.startswith("Waiting"):
            lines.append(f"…and {digest.more_waiting} more.")
        for block in chunk_lines(lines, DESCRIPTION_LIMIT):
            embeds.append(discord.Embed(title=title, description=block, colour=ACCENT))
    return embeds


def _late_line(summary: DiscussionSummary) -> str:
    title = md(summary.title)
    linked = f"[{title}]({summary.thread_link})" if summary.thread_link else title
    return f"• {linked} — {count(summary.replies, 'new reply', 'new replies')}"


def _waiting_line(title: str, url: str | None, thread: str | None) -> str:
    shown = md(title)
    linked = f"[{shown}]({thread or url})" if (thread or url) else shown
    return f"• {linked}"


def pack(embeds: list[discord.Embed]) -> list[MessagePart]:
    """Group embeds into messages of at most 10 embeds and 6,000 characters."""
    parts = [MessagePart()]
    for embed in embeds:
        if not parts[-1].fits(embed):
            parts.append(MessagePart())
        parts[-1].embeds.append(embed)
    return [p for p in parts if p.embeds]


def split_content(text: str, limit: int = CONTENT_LIMIT) -> list[str]:
    """Plain text in messages of at most `limit`, split between lines where possible."""
    return chunk_lines(text.splitlines() or [""], limit) if text else []
