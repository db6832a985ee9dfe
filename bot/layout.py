"""What a digest shows and in which order, decided once for every rendering.

`DigestPost.layout()` turns a `Digest` into a short list of blocks in the community's
language; Discord embeds, Slack blocks, Markdown and the console only translate the
blocks into their markup (and escape every text in them). Two styles:

- `compact` (the default): the headline figures on two lines, the top discussions each
  with its gist, at most two short quotes and its thread, a line on late replies and
  waiting articles, and the archive link when one is configured. It is meant to fit one
  message: a platform whose message it overflows asks for a tighter layout
  (`squeeze`), which drops detail in a fixed order until it fits.
- `full`: every figure, ten discussions with three quotes and their themes, the late
  discussions and the waiting articles.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from bot.digest_model import Digest, DiscussionSummary, Figures, Theme
from bot.i18n import Words
from bot.text import shorten


class Style(enum.StrEnum):
    COMPACT = "compact"
    FULL = "full"


@dataclass(frozen=True, slots=True)
class Span:
    """A piece of a line: plain words, or bold, or a link. Renderers escape `text`."""

    text: str
    strong: bool = False
    link: str | None = None


Line = tuple[Span, ...]


def join_spans(
    spans: Line,
    *,
    text: Callable[[str], str],
    link: Callable[[str, str], str],
    strong: Callable[[str], str],
) -> str:
    """A line in a platform's markup: each span's text made literal by `text`, linked by
    `link(shown, url)`, made bold by `strong`."""
    out = []
    for span in spans:
        shown = text(span.text)
        if span.link:
            shown = link(shown, span.link)
        out.append(strong(shown) if span.strong else shown)
    return "".join(out)


@dataclass(frozen=True, slots=True)
class Quote:
    text: str
    author: str
    featured: bool = False


@dataclass(frozen=True, slots=True)
class Heading:
    title: str
    period: str
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Subheading:
    """The title over the ranked discussions, for renderings that show section titles."""

    text: str


@dataclass(frozen=True, slots=True)
class Facts:
    """The headline figures, one line each."""

    lines: tuple[Line, ...]


@dataclass(frozen=True, slots=True)
class Discussion:
    rank: int
    title: str
    url: str | None
    counts: str
    gist: str
    quotes: tuple[Quote, ...] = ()
    themes_heading: str = ""
    themes: tuple[Line, ...] = ()
    thread: Span | None = None  # the link to join the thread


@dataclass(frozen=True, slots=True)
class Listing:
    """A titled list: late replies, articles waiting for a first reply, what follows."""

    heading: str
    items: tuple[Line, ...]


@dataclass(frozen=True, slots=True)
class Closing:
    lines: tuple[Line, ...]


Block = Heading | Facts | Subheading | Discussion | Listing | Closing


@dataclass(frozen=True, slots=True)
class Layout:
    blocks: tuple[Block, ...]
    style: Style


@dataclass(frozen=True, slots=True)
class _Shape:
    """How much of the digest a style shows."""

    discussions: int
    quotes: int
    quote_length: int
    gist_length: int
    themes: bool
    late: int
    waiting: int
    names: int
    late_quote: bool  # a late discussion's best new reply is quoted


_FULL = _Shape(
    discussions=10,
    quotes=3,
    quote_length=280,
    gist_length=400,
    themes=True,
    late=5,
    waiting=10,
    names=10,
    late_quote=True,
)
_COMPACT = _Shape(
    discussions=5,
    quotes=2,
    quote_length=200,
    gist_length=320,
    themes=False,
    late=3,
    waiting=3,
    names=5,
    late_quote=False,
)

# What a compact layout gives up, one step at a time, when a message cannot hold it.
_SQUEEZES: tuple[dict[str, int], ...] = (
    {"quote_length": 150},
    {"quotes": 1},
    {"quote_length": 110, "gist_length": 240},
    {"discussions": 4, "late": 2, "waiting": 2},
    {"quotes": 0},
    {"discussions": 3, "gist_length": 200, "names": 3},
    {"discussions": 2, "late": 1, "waiting": 1},
    {"discussions": 1, "gist_length": 160, "late": 0, "waiting": 0, "names": 0},
)
MAX_SQUEEZE = len(_SQUEEZES)


def _shape(style: Style, squeeze: int) -> _Shape:
    shape = _FULL if style is Style.FULL else _COMPACT
    values = {name: getattr(shape, name) for name in _Shape.__dataclass_fields__}
    for step in _SQUEEZES[: max(0, squeeze)]:
        values.update(step)
    return _Shape(**values)


@dataclass(frozen=True, slots=True)
class DigestPost:
    """A digest on its way to one channel: the digest, how that channel wants it, and the
    community's words. Platforms call `layout()` and translate what it gives."""

    digest: Digest
    words: Words
    style: Style = Style.COMPACT
    archive_url: str | None = None

    def layout(self, squeeze: int = 0) -> Layout:
        """The digest's blocks; `squeeze` > 0 (compact only) leaves out more detail, up to
        `MAX_SQUEEZE`, for a platform whose single message cannot hold the whole."""
        shape = _shape(self.style, squeeze if self.style is Style.COMPACT else 0)
        return Layout(_blocks(self, shape), self.style)

    def fitted(self, fits: Callable[[Layout], bool]) -> Layout:
        """The fullest layout that `fits` accepts: the full style as it is (platforms split
        it over several messages), the compact one squeezed until it fits."""
        if self.style is Style.FULL:
            return self.layout()
        for squeeze in range(MAX_SQUEEZE + 1):
            layout = self.layout(squeeze)
            if fits(layout):
                return layout
        return layout


def _blocks(post: DigestPost, shape: _Shape) -> tuple[Block, ...]:
    digest, w = post.digest, post.words
    blocks: list[Block] = [Heading(w.gettext("Community digest"), period_label(digest, w), digest.note)]
    blocks.append(Facts(_figures(digest.figures, w, shape, compact=post.style is Style.COMPACT)))
    shown = digest.discussions[: shape.discussions]
    if shown:
        blocks.append(Subheading(w.gettext("Top discussions")))
    for rank, summary in enumerate(shown, start=1):
        blocks.append(_discussion(rank, summary, w, shape))
    more = len(digest.discussions) - len(shown) + digest.more_discussions
    late = tuple(_late(s, w, shape) for s in digest.late[: shape.late])
    if late:
        blocks.append(Listing(w.gettext("Still talking about"), late))
    waiting = digest.waiting[: shape.waiting]
    if waiting:
        first = w.gettext("be the first")
        items: list[Line] = [
            (
                Span(item.title, link=item.article_url),
                *((Span(" — "), Span(first, link=item.thread_link)) if item.thread_link else ()),
            )
            for item in waiting
        ]
        left = len(digest.waiting) - len(waiting) + digest.more_waiting
        if left:
            items.append((Span(w.ngettext("…and {n} more", "…and {n} more", left)),))
        blocks.append(Listing(w.gettext("Waiting for a first reply"), tuple(items)))
    closing: list[Line] = []
    if more > 0:
        closing.append((Span(w.ngettext("…and {n} more discussion.", "…and {n} more discussions.", more)),))
    if post.archive_url:
        closing.append((Span(w.gettext("Every discussion in the archive"), link=post.archive_url),))
    if digest.empty:
        closing.append((Span(w.gettext("A quiet week: no new articles or replies.")),))
    if closing:
        blocks.append(Closing(tuple(closing)))
    return tuple(blocks)


def period_label(digest: Digest, words: Words) -> str:
    zone = ZoneInfo(digest.timezone)
    start = digest.period_start.astimezone(zone)
    end = digest.period_end.astimezone(zone)
    form = "EEE dd MMM y HH:mm"
    return f"{words.datetime(start, form)} – {words.datetime(end, form)} ({digest.timezone})"


def change(now: int, before: int, words: Words) -> str:
    """The change against the period before: "+25%", "new", "same as the week before"."""
    if before == 0:
        return words.gettext("new") if now else words.gettext("same")
    delta = now - before
    if delta == 0:
        return words.gettext("same as the week before")
    shown = words.percent(abs(delta) / before)
    return f"+{shown}" if delta > 0 else f"−{shown}"


def counts_text(summary: DiscussionSummary, words: Words) -> str:
    """ "12 replies · 5 participants · 30 reactions", the same words everywhere."""
    parts = [
        words.ngettext("{n} reply", "{n} replies", summary.replies),
        words.ngettext("{n} participant", "{n} participants", summary.participants),
    ]
    if summary.reactions:
        parts.append(words.ngettext("{n} reaction", "{n} reactions", summary.reactions))
    return " · ".join(parts)


def _figures(figures: Figures, w: Words, shape: _Shape, *, compact: bool) -> tuple[Line, ...]:
    f = figures
    counted = (
        (
            w.ngettext("{n} article posted", "{n} articles posted", f.articles),
            f.articles,
            f.previous.articles,
        ),
        (w.ngettext("{n} reply", "{n} replies", f.replies), f.replies, f.previous.replies),
        (
            w.ngettext("{n} participant", "{n} participants", f.participants),
            f.participants,
            f.previous.participants,
        ),
    )
    lines: list[Line]
    if compact:  # one line: "3 articles posted · 40 replies (+25%) · 12 participants (new)"
        spans: list[Span] = []
        for n, (text, now, before) in enumerate(counted):
            spans += [
                *([Span(" · ")] if n else []),
                Span(text, strong=True),
                Span(f" ({change(now, before, w)})"),
            ]
        lines = [tuple(spans)]
    else:
        lines = [
            (Span(text, strong=True), Span(f" ({change(now, before, w)})")) for text, now, before in counted
        ]
    names = f.newcomer_names[: shape.names]
    if f.newcomers and names:
        shown = list(names)
        rest = f.newcomers - len(shown)
        if rest > 0:
            shown.append(w.ngettext("{n} more", "{n} more", rest))
        listed = (
            shown[0]
            if len(shown) == 1
            else w.gettext("{names} and {last}", names=", ".join(shown[:-1]), last=shown[-1])
        )
        lines.append(
            (
                Span(
                    w.gettext(
                        "Welcome to {names}, who joined the conversation for the first time!", names=listed
                    )
                ),
            )
        )
    elif f.newcomers:
        lines.append(
            (
                Span(
                    w.ngettext(
                        "{n} member joined the conversation for the first time — welcome!",
                        "{n} members joined the conversation for the first time — welcome!",
                        f.newcomers,
                    )
                ),
            )
        )
    return tuple(lines)


def _discussion(rank: int, summary: DiscussionSummary, w: Words, shape: _Shape) -> Discussion:
    quotes = tuple(
        Quote(shorten(h.excerpt, shape.quote_length), h.author, h.featured)
        for h in summary.highlights[: shape.quotes]
    )
    themes = tuple(_theme(t, w) for t in summary.themes) if shape.themes else ()
    return Discussion(
        rank=rank,
        title=summary.title,
        url=summary.article_url,
        counts=counts_text(summary, w),
        gist=shorten(summary.gist, shape.gist_length),
        quotes=quotes,
        themes_heading=w.gettext("Themes") if themes else "",
        themes=themes,
        thread=Span(w.gettext("Join the thread"), link=summary.thread_link) if summary.thread_link else None,
    )


def _theme(theme: Theme, w: Words) -> Line:
    uses = w.ngettext("{n} reply", "{n} replies", theme.replies)
    return (Span(theme.phrase, strong=True), Span(f" ({uses}): “{theme.excerpt}” — {theme.author}"))


def _late(summary: DiscussionSummary, w: Words, shape: _Shape) -> Line:
    """An older discussion that is still going: its new replies, and in the full style the
    best of them."""
    new = w.ngettext("{n} new reply", "{n} new replies", summary.replies)
    line = (Span(summary.title, link=summary.thread_link or summary.article_url), Span(f" — {new}"))
    if not (shape.late_quote and summary.highlights):
        return line
    best = summary.highlights[0]
    return (*line, Span(f": “{shorten(best.excerpt, shape.quote_length)}” — {best.author}"))
