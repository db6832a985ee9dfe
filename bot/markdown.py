"""The digest as Markdown: for `digest --markdown`, exports and the console."""

from __future__ import annotations

import re
from collections.abc import Callable
from zoneinfo import ZoneInfo

from bot.digest import Digest, DiscussionSummary, Figures
from bot.text import count

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")


def escape(text: str) -> str:
    """Make untrusted text literal in Markdown (no links, emphasis or HTML)."""
    return _MD_SPECIAL.sub(r"\\\1", text)


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
    counts = " · ".join((
        count(summary.replies, "reply", "replies"),
        count(summary.participants, "participant"),
        count(summary.reactions, "reaction"),
    ))  # fmt: skip
    lines = [f"{head}**{_title(summary)}** — {counts}"]
    if summary.thread_link:
        lines.append(f"   [Join the thread]({link_target(summary.thread_link)})")
    for h in summary.highlights:
        star = "★ " if h.featured else ""
        lines.append(f"   > {star}{escape(h.excerpt)} — *{escape(h.author)}*")
    return lines


def figure_lines(figures: Figures, strong: Callable[[str], str] = str) -> list[str]:
    """The headline figures in words, the counts passed through `strong` (each
    platform's bold); shared by every rendering so they all say the same."""
    f = figures
    lines = [
        f"{strong(count(f.articles, 'article'))} posted ({change(f.articles, f.previous.articles)})",
        f"{strong(count(f.replies, 'reply', 'replies'))} ({change(f.replies, f.previous.replies)})",
        f"{strong(count(f.participants, 'participant'))} ({change(f.participants, f.previous.participants)})",
    ]
    if f.newcomers:
        lines.append(f"{count(f.newcomers, 'member')} joined the conversation for the first time — welcome!")
    return lines


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
