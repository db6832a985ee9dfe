"""The digest as Markdown: for `digest --markdown`, exports and the console."""

from __future__ import annotations

import re
from collections.abc import Callable
from zoneinfo import ZoneInfo

from bot.digest import Digest, DiscussionSummary, Figures, Theme
from bot.text import count, neutralize_mentions

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


def change(now: int, before: int) -> str:
    if before == 0:
        return "new" if now else "same"
    delta = now - before
    if delta == 0:
        return "same as the week before"
    percent = round(100 * delta / before)
    return f"{'+' if delta > 0 else ''}{percent}%"


def period_label(digest: Digest) -> str:
    zone = ZoneInfo(digest.timezone)
    start = digest.period_start.astimezone(zone)
    end = digest.period_end.astimezone(zone)
    return f"{start:%a %d %b %Y %H:%M} – {end:%a %d %b %Y %H:%M} ({digest.timezone})"


def _title(summary: DiscussionSummary) -> str:
    title = escape(summary.title)
    return f"[{title}]({link_target(summary.article_url)})" if summary.article_url else title


def _discussion(summary: DiscussionSummary, rank: int | None) -> list[str]:
    head = f"{rank}. " if rank is not None else "- "
    lines = [f"{head}**{_title(summary)}** — {counts_line(summary)}"]
    if summary.thread_link:
        lines.append(f"   [Join the thread]({link_target(summary.thread_link)})")
    for h in summary.highlights:
        star = "★ " if h.featured else ""
        lines.append(f"   > {star}{escape(h.excerpt)} — *{escape(h.author)}*")
    if summary.themes:
        lines.append("   Themes:")
        lines += [f"   - {theme_line(t, lambda s: f'**{s}**', escape)}" for t in summary.themes]
    return lines


def counts_line(summary: DiscussionSummary) -> str:
    """ "12 replies · 5 participants · 30 reactions", the same words on every platform."""
    return " · ".join((
        count(summary.replies, "reply", "replies"),
        count(summary.participants, "participant"),
        count(summary.reactions, "reaction"),
    ))  # fmt: skip


def names(shown: tuple[str, ...], total: int) -> str:
    """ "Ana, Ben and 2 more" — names already made literal for the platform."""
    rest = total - len(shown)
    parts = [*shown, f"{rest} more"] if rest > 0 else list(shown)
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def figure_lines(
    figures: Figures, strong: Callable[[str], str] = str, literal: Callable[[str], str] = escape
) -> list[str]:
    """The headline figures in words, the counts passed through `strong` (each
    platform's bold) and member names through `literal` (its escaping); shared by
    every rendering so they all say the same."""
    f = figures
    lines = [
        f"{strong(count(f.articles, 'article'))} posted ({change(f.articles, f.previous.articles)})",
        f"{strong(count(f.replies, 'reply', 'replies'))} ({change(f.replies, f.previous.replies)})",
        f"{strong(count(f.participants, 'participant'))} ({change(f.participants, f.previous.participants)})",
    ]
    if f.newcomers and f.newcomer_names:
        welcome = names(tuple(literal(n) for n in f.newcomer_names), f.newcomers)
        lines.append(f"Welcome to {welcome}, who joined the conversation for the first time!")
    elif f.newcomers:
        lines.append(f"{count(f.newcomers, 'member')} joined the conversation for the first time — welcome!")
    return lines


def theme_line(theme: Theme, strong: Callable[[str], str], literal: Callable[[str], str]) -> str:
    """One key theme: the phrase, how many replies use it, and where it was said best."""
    uses = count(theme.replies, "reply", "replies")
    return f"{strong(literal(theme.phrase))} ({uses}): “{literal(theme.excerpt)}” — {literal(theme.author)}"


def render(digest: Digest) -> str:
    out = ["# Community digest", "", f"_{period_label(digest)}_", ""]
    if digest.note:
        out += [f"_{escape(digest.note)}_", ""]
    out += [f"- {line}" for line in figure_lines(digest.figures)]
    if digest.discussions:
        out += ["", "## Top discussions", ""]
        for rank, summary in enumerate(digest.discussions, start=1):
            out += _discussion(summary, rank)
        if digest.more_discussions:
            out.append(f"…and {digest.more_discussions} more discussions.")
    if digest.late:
        out += ["", "## Still talking about", ""]
        for summary in digest.late:
            out += _discussion(summary, None)
    if digest.waiting:
        out += ["", "## Waiting for a first reply", ""]
        for item in digest.waiting:
            title = escape(item.title)
            title = f"[{title}]({link_target(item.article_url)})" if item.article_url else title
            first = f" — [be the first]({link_target(item.thread_link)})" if item.thread_link else ""
            out.append(f"- {title}{first}")
        if digest.more_waiting:
            out.append(f"…and {digest.more_waiting} more.")
    if digest.empty:
        out += ["", "A quiet week: no new articles or replies."]
    return "\n".join(out) + "\n"
