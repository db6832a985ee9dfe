"""The digest as Markdown: for `digest --markdown`, exports and the console."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

from bot.digest import Digest, DiscussionSummary

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")


def escape(text: str) -> str:
    """Make untrusted text literal in Markdown (no links, emphasis or HTML)."""
    return _MD_SPECIAL.sub(r"\\\1", text)


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
    return f"[{title}]({summary.article_url})" if summary.article_url else title


def _discussion(summary: DiscussionSummary, rank: int | None) -> list[str]:
    head = f"{rank}. " if rank is not None else "- "
    counts = f"{summary.replies} replies · {summary.participants} participants · {summary.reactions} reactions"
    lines = [f"{head}**{_title(summary)}** — {counts}"]
    if summary.thread_link:
        lines.append(f"   [Join the thread]({summary.thread_link})")
    for h in summary.highlights:
        star = "★ " if h.featured else ""
        lines.append(f"   > {star}{escape(h.excerpt)} — *{escape(h.author)}*")
    return lines


def render(digest: Digest) -> str:
    f = digest.figures
    out = [f"# Community digest", "", f"_{period_label(digest)}_", ""]
    if digest.note:
        out += [f"_{escape(digest.note)}_", ""]
    out += [
        f"- **{f.articles}** articles posted ({change(f.articles, f.previous.articles)})",
        f"- **{f.replies}** replies ({change(f.replies, f.previous.replies)})",
        f"- **{f.participants}** participants ({change(f.participants, f.previous.participants)})",
    ]
    if f.newcomers:
        out.append(f"- **{f.newcomers}** joined the conversation for the first time — welcome!")
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
            title = f"[{title}]({item.article_url})" if item.article_url else title
            out.append(f"- {title}" + (f" — [be the first]({item.thread_link})" if item.thread_link else ""))
    if digest.empty:
        out += ["", "A quiet week: no new articles or replies."]
    return "\n".join(out) + "\n"
