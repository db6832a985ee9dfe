"""Articles and digests as Discord messages, within every limit Discord sets.

Limits: content 2,000; embed title 256, description 4,096, 25 fields of
1,024, footer 2,048; 6,000 characters across a message's embeds; 10 embeds
per message. Text is cut at word boundaries, and a digest that does not fit
one message is split into several.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import discord

from bot.layout import Closing, Discussion, Facts, Heading, Layout, Line, Listing, Subheading, join_spans
from bot.models import Article
from bot.post_layout import STANDARD, Part, PostLayout
from bot.text import chunk_lines, neutralize_mentions, shorten

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


def article_embed(article: Article, layout: PostLayout = STANDARD) -> discord.Embed:
    """The article card: the title (linked) on top and the source with the date in the footer,
    where Discord places them; the excerpt and the link fill its text in the layout's order."""
    paragraphs = []
    for part in layout.parts:
        if part is Part.EXCERPT and (excerpt := shorten(md(article.summary), 1000)):
            paragraphs.append(excerpt)
        elif part is Part.LINK and article.url and (target := link_target(article.url)):
            paragraphs.append(f"<{target}>")
    titled = layout.shows(Part.TITLE)
    embed = discord.Embed(
        title=shorten(neutralize_mentions(article.title), TITLE_LIMIT) if titled else None,
        url=(article.url or None) if titled else None,
        description="\n\n".join(paragraphs) or None,
        colour=ACCENT,
        timestamp=article.published_at if layout.shows(Part.SOURCE) else None,
    )
    if layout.shows(Part.SOURCE):
        embed.set_footer(text=shorten(neutralize_mentions(article.source), 200))
    return embed


def article_content(prompt: str, layout: PostLayout = STANDARD) -> str | None:
    """The message above the card: the prompt, when the layout shows it."""
    return shorten(md(prompt), CONTENT_LIMIT) if layout.shows(Part.PROMPT) and prompt.strip() else None


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


def link_target(url: str) -> str | None:
    """A web address safe inside `[label](…)`: nothing in it can end the link early or
    read as a mention; None when it is not a web address."""
    if not url.startswith(("https://", "http://")):
        return None
    for char, code in ((" ", "%20"), ("(", "%28"), (")", "%29"), ("<", "%3C"), (">", "%3E")):
        url = url.replace(char, code)
    return url


def _linked(label: str, url: str) -> str:
    target = link_target(url)
    return f"[{label}]({target})" if target else label


def _line(spans: Line) -> str:
    return join_spans(spans, text=md, link=_linked, strong=lambda shown: f"**{shown}**")


def _discussion_text(block: Discussion) -> str:
    lines = [md(block.counts)]
    if block.gist:
        lines.append(md(block.gist))
    for quote in block.quotes:
        star = "★ " if quote.featured else ""
        lines.append(f"> {star}{md(quote.text)}\n> — *{md(quote.author)}*")
    if block.themes:
        lines.append(f"**{md(block.themes_heading)}**")
        lines += [f"• {_line(theme)}" for theme in block.themes]
    if block.thread:
        lines.append(_line((block.thread,)))
    return "\n".join(lines)


def digest_embeds(layout: Layout) -> list[discord.Embed]:
    """One embed for the heading and figures, one per discussion, one per listing; the
    closing lines end the last embed (a footer cannot hold links)."""
    embeds: list[discord.Embed] = []
    closing: list[str] = []
    for block in layout.blocks:
        match block:
            case Heading():
                head = [f"*{md(block.period)}*"]
                if block.note:
                    head.append(f"*{md(block.note)}*")
                embeds.append(discord.Embed(title=shorten(block.title, TITLE_LIMIT), colour=ACCENT))
                embeds[-1].description = "\n".join(head)
            case Facts():
                text = "\n".join([embeds[-1].description or "", "", *(_line(s) for s in block.lines)])
                embeds[-1].description = shorten(text, DESCRIPTION_LIMIT)
            case Subheading():
                pass  # the ranks in the embeds' titles say it
            case Discussion():
                embeds.append(
                    discord.Embed(
                        title=shorten(f"{block.rank}. {neutralize_mentions(block.title)}", TITLE_LIMIT),
                        url=block.url or None,
                        description=shorten(_discussion_text(block), DESCRIPTION_LIMIT),
                        colour=ACCENT,
                    )
                )
            case Listing():
                lines = [f"• {_line(item)}" for item in block.items]
                for part in chunk_lines(lines, DESCRIPTION_LIMIT):
                    embeds.append(
                        discord.Embed(
                            title=shorten(block.heading, TITLE_LIMIT), description=part, colour=ACCENT
                        )
                    )
            case Closing():
                closing += [_line(s) for s in block.lines]
    if closing:
        last = embeds[-1]
        text = "\n".join([last.description or "", "", *closing]).strip()
        if len(text) <= DESCRIPTION_LIMIT:
            last.description = text
        else:
            embeds.append(
                discord.Embed(description=shorten("\n".join(closing), DESCRIPTION_LIMIT), colour=ACCENT)
            )
    return embeds


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
