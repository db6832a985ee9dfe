"""A moderator's feed controls: feed filter add/remove/list, feed template, feed poll.

Filters (bot/feed_filters.py): an item is posted when it matches no exclude filter and, if
the feed has include filters, at least one of them; an item held back is remembered as
seen and is not posted later, whatever the filters become. Templates (bot/post_layout.py):
which parts of an article post a feed's posts show, and in which order.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bot.commands.common import channel_label
from bot.commands.registry import Answer, CommandContext, CommandRegistry, Kind, Option
from bot.feed_filters import MAX_FILTERS, MAX_PATTERN, FilterError, compile_pattern
from bot.i18n import N_, Words
from bot.identity import normalize_url
from bot.models import FILTER_ACTIONS, FILTER_FIELDS, Article, ArticleDraft, Community, Feed
from bot.post_layout import STANDARD, PostPreview, TemplateError, parse_template, stored_layout
from bot.prompts import render_prompt
from bot.publisher import shown
from bot.redact import mask_url
from bot.sources.errors import SourceError
from bot.store import Store
from bot.text import safe

if TYPE_CHECKING:
    from bot.services import Services

FEED_OPTION = Option("feed", Kind.WORD, N_("feed id (from feed list) or URL"))
TITLES_SHOWN = 10
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def matching_feeds(feeds: list[Feed], wanted: str) -> list[Feed]:
    """The feeds named by an id ("3" or "#3"), else by a URL (one per channel following it)."""
    match = [f for f in feeds if str(f.id) == wanted.lstrip("#")]
    if not match and "://" in wanted:
        target = normalize_url(wanted)
        match = [f for f in feeds if normalize_url(f.url) == target]
    return match


async def find_feed(store: Store, community: Community, wanted: str) -> Feed | None:
    """The community's feed named by its id or its URL (the first, when several follow it)."""
    match = matching_feeds(await store.list_feeds(community), wanted)
    return match[0] if match else None


def no_feed(words: Words, wanted: str) -> Answer:
    return Answer(
        words.gettext("No feed {feed} here. `feed list` shows the ids.", feed=repr(wanted[:80])), ok=False
    )


def feed_name(feed: Feed) -> str:
    return f"{feed.id} ({safe(feed.title or mask_url(feed.url), 80)})"


def held_back_note(feed: Feed, words: Words) -> str | None:
    """For `feed list`: how many items the feed's filters held back, if any."""
    if not feed.items_held_back:
        return None
    return words.ngettext(
        "{n} item held back by filters", "{n} items held back by filters", feed.items_held_back
    )


def _rule_text(words: Words) -> str:
    return words.gettext(
        "An item is posted when it matches no exclude filter and, if there are include filters,"
        " at least one of them. Held-back items are remembered as seen: they are not posted later,"
        " even if the filters change."
    )


def _field_label(field: str, words: Words) -> str:
    labels = {
        "all": words.gettext("title, summary or categories"),
        "title": words.gettext("title"),
        "summary": words.gettext("summary"),
        "categories": words.gettext("categories"),
    }
    return labels[field]


SAMPLE = ArticleDraft(
    title="Sample headline: the village library opens on Sundays",
    url="https://example.org/library-sundays",
    summary="From next month the library opens every Sunday afternoon, run by volunteers.",
    source="Sample feed",
)


def register(registry: CommandRegistry, services: Services) -> None:
    store, poller, publisher, clock = services.store, services.poller, services.publisher, services.clock

    async def named_feed(ctx: CommandContext) -> Feed | Answer:
        """The feed the command names, or the answer that there is none."""
        wanted = str(ctx.options["feed"])
        feed = await find_feed(store, ctx.community, wanted)
        return no_feed(ctx.words, wanted) if feed is None else feed

    # -- filters ----------------------------------------------------------------------
    async def filter_add(ctx: CommandContext) -> Answer:
        words = ctx.words
        feed = await named_feed(ctx)
        if isinstance(feed, Answer):
            return feed
        action = str(ctx.options["action"])
        pattern = str(ctx.options["pattern"]).strip()
        field = str(ctx.options.get("field") or "all")
        try:
            await asyncio.to_thread(compile_pattern, pattern)
        except FilterError as exc:
            return Answer(
                words.gettext("Nothing saved: {problem}", problem=words.gettext(exc.message, **exc.values)),
                ok=False,
            )
        if len(await store.list_feed_filters(feed.id)) >= MAX_FILTERS:
            return Answer(
                words.gettext(
                    "Feed {feed} has {limit} filters already; remove one first.",
                    feed=feed.id,
                    limit=MAX_FILTERS,
                ),
                ok=False,
            )
        added = await store.add_feed_filter(
            feed.id, action=action, pattern=pattern, field=field, now=clock.now()
        )
        if added is None:
            return no_feed(words, str(ctx.options["feed"]))  # removed meanwhile
        number = len(await store.list_feed_filters(feed.id))
        said = (
            words.gettext(
                "Feed {feed}: filter {n} added: include items whose {field} matches {pattern}.",
                feed=feed_name(feed),
                n=number,
                field=_field_label(field, words),
                pattern=pattern,
            )
            if action == "include"
            else words.gettext(
                "Feed {feed}: filter {n} added: exclude items whose {field} matches {pattern}.",
                feed=feed_name(feed),
                n=number,
                field=_field_label(field, words),
                pattern=pattern,
            )
        )
        return Answer(f"{said}\n{_rule_text(words)}")

    async def filter_remove(ctx: CommandContext) -> Answer:
        words = ctx.words
        feed = await named_feed(ctx)
        if isinstance(feed, Answer):
            return feed
        number = int(ctx.options["n"])
        filters = await store.list_feed_filters(feed.id)
        if not 1 <= number <= len(filters):
            return Answer(
                words.gettext(
                    "Feed {feed} has no filter {n}. `feed filter list {feed}` shows them.",
                    feed=feed.id,
                    n=number,
                ),
                ok=False,
            )
        gone = filters[number - 1]
        await store.remove_feed_filter(feed.id, gone.id)
        return Answer(
            words.gettext(
                "Feed {feed}: removed filter {n} ({action} {pattern}).",
                feed=feed_name(feed),
                n=number,
                action=gone.action,
                pattern=gone.pattern,
            )
        )

    async def filter_list(ctx: CommandContext) -> Answer:
        words = ctx.words
        feed = await named_feed(ctx)
        if isinstance(feed, Answer):
            return feed
        filters = await store.list_feed_filters(feed.id)
        if not filters:
            return Answer(
                words.gettext(
                    "Feed {feed} has no filters: every new item is posted."
                    " Add one with `feed filter add {id} include|exclude <pattern> [field]`.",
                    feed=feed_name(feed),
                    id=feed.id,
                )
            )
        lines = [words.gettext("Filters of feed {feed}:", feed=feed_name(feed))]
        for number, f in enumerate(filters, start=1):
            line = f"{number}. {f.action} {f.pattern} · {_field_label(f.field, words)}"
            if f.action == "exclude":
                line += " · " + words.ngettext("{n} held back", "{n} held back", f.held_back)
            lines.append(line)
        if any(f.action == "include" for f in filters):
            lines.append(
                words.ngettext(
                    "{n} item matched no include filter",
                    "{n} items matched no include filter",
                    feed.held_unmatched,
                )
            )
        lines.append(
            words.ngettext("Held back in all: {n} item", "Held back in all: {n} items", feed.items_held_back)
        )
        lines.append(_rule_text(words))
        return Answer("\n".join(lines))

    # -- template ---------------------------------------------------------------------
    async def template(ctx: CommandContext) -> Answer:
        words = ctx.words
        feed = await named_feed(ctx)
        if isinstance(feed, Answer):
            return feed
        choice = str(ctx.options.get("parts") or "").strip()
        if not choice:
            layout = stored_layout(feed.template)
            if feed.template is None:
                text = words.gettext(
                    "Feed {feed} posts the standard post: {parts}.", feed=feed_name(feed), parts=STANDARD.text
                )
            else:
                text = words.gettext("Feed {feed} posts: {parts}.", feed=feed_name(feed), parts=layout.text)
            return Answer(text)
        if choice.lower() == "preview":
            return await _preview(ctx, feed)
        if choice.lower() == "reset":
            await store.set_feed_template(feed.id, None)
            return Answer(
                words.gettext(
                    "Feed {feed} posts the standard post again: {parts}.",
                    feed=feed_name(feed),
                    parts=STANDARD.text,
                )
            )
        try:
            layout = parse_template(choice)
        except TemplateError as exc:
            return Answer(
                words.gettext("Nothing saved: {problem}", problem=words.gettext(exc.message, **exc.values)),
                ok=False,
            )
        await store.set_feed_template(feed.id, layout.text)
        return Answer(
            words.gettext(
                "Feed {feed} now posts: {parts}. `feed template {id} preview` shows one.",
                feed=feed_name(feed),
                parts=layout.text,
                id=feed.id,
            )
        )

    async def _preview(ctx: CommandContext, feed: Feed) -> Answer:
        """The feed's newest item (else a sample) as the channel would get it, not posted."""
        words = ctx.words
        draft, note = None, None
        try:
            result = await poller.fetch(feed.url)
            entries = result.entries[:20]
            drafts = await asyncio.to_thread(lambda: [e.draft() for e in entries])
            if drafts:
                dated = [d for d in drafts if d.published_at]
                draft = max(dated, key=lambda d: d.published_at or _EPOCH) if dated else drafts[0]
        except SourceError as exc:
            note = words.gettext("(The feed could not be read: {problem}. A sample is shown.)", problem=exc)
        if draft is None:
            draft = SAMPLE
            note = note or words.gettext("(The feed has no items now. A sample is shown.)")
        article = Article(
            id=0,
            key="preview",
            title=draft.title,
            url=draft.url,
            summary=draft.summary,
            source=draft.source,
            published_at=draft.published_at,
            created_at=clock.now(),
        )
        prompt_template = await publisher.prompt_for(ctx.community, feed.channel_id, feed.prompt)
        layout = stored_layout(feed.template)
        lines = [
            words.gettext(
                "Preview of feed {feed} in {channel} ({parts}), not posted:",
                feed=feed_name(feed),
                channel=channel_label(feed.channel_id),
                parts=layout.text,
            )
        ]
        if note:
            lines.append(note)
        preview = PostPreview(shown(article), render_prompt(prompt_template, article), layout)
        return Answer("\n".join(lines), post=preview)

    # -- poll -------------------------------------------------------------------------
    async def poll(ctx: CommandContext) -> Answer:
        words = ctx.words
        feed = await named_feed(ctx)
        if isinstance(feed, Answer):
            return feed
        report = await poller.poll(feed)
        name = feed_name(feed)
        if report.error is not None:
            after = await store.get_feed(feed.id)
            failures = after.failures if after else feed.failures + 1
            lines = [
                words.ngettext(
                    "Feed {feed} is failing ({n} in a row): {problem}",
                    "Feed {feed} is failing ({n} in a row): {problem}",
                    failures,
                    feed=name,
                    problem=safe(report.error, 300),
                )
            ]
            if after is not None:
                until = after.next_poll_at.astimezone(UTC)
                lines.append(
                    words.gettext("Backing off until {when} UTC.", when=until.strftime("%Y-%m-%d %H:%M"))
                )
            if report.posted:
                lines.append(_posted_text(report.titles, report.posted, words))
            return Answer("\n".join(lines), ok=False)
        if report.not_modified:
            return Answer(words.gettext("Feed {feed}: not modified since the last poll.", feed=name))
        lines = []
        if report.posted:
            lines.append(_posted_text(report.titles, report.posted, words, name))
        if report.held_back:
            lines.append(
                words.ngettext(
                    "{n} new item held back by filters (remembered as seen).",
                    "{n} new items held back by filters (remembered as seen).",
                    report.held_back,
                )
            )
        if report.remembered:
            lines.append(
                words.ngettext(
                    "{n} older item remembered as seen.",
                    "{n} older items remembered as seen.",
                    report.remembered,
                )
            )
        if report.waiting:
            lines.append(
                words.ngettext("{n} more to post next poll.", "{n} more to post next poll.", report.waiting)
            )
        if not report.posted:
            lines.insert(0, words.gettext("Feed {feed}: nothing posted.", feed=name))
            if not (report.held_back or report.remembered or report.waiting):
                lines[0] = words.gettext("Feed {feed}: no new items.", feed=name)
        return Answer("\n".join(lines))

    registry.add(
        "feed filter add",
        filter_add,
        help=N_("let through or hold back a feed's items by word, phrase or /regex/"),
        options=(
            FEED_OPTION,
            Option("action", Kind.WORD, N_("include or exclude"), choices=FILTER_ACTIONS),
            Option(
                "pattern",
                Kind.WORD,
                N_('a word, a "quoted phrase" or a /regular expression/'),
                max_length=MAX_PATTERN,
            ),
            Option(
                "field", Kind.WORD, N_("where to look (default all)"), required=False, choices=FILTER_FIELDS
            ),
        ),
    )
    registry.add(
        "feed filter remove",
        filter_remove,
        help=N_("remove one of a feed's filters"),
        options=(
            FEED_OPTION,
            Option("n", Kind.INTEGER, N_("the filter's number in feed filter list"), minimum=1),
        ),
    )
    registry.add(
        "feed filter list",
        filter_list,
        help=N_("a feed's filters and what they held back"),
        options=(FEED_OPTION,),
    )
    registry.add(
        "feed template",
        template,
        help=N_("which parts a feed's posts show, in order; or reset, or preview"),
        options=(
            FEED_OPTION,
            Option(
                "parts",
                Kind.WORD,
                N_("e.g. title,excerpt,link,prompt; reset; preview"),
                required=False,
                max_length=100,
            ),
        ),
    )
    registry.add(
        "feed poll", poll, help=N_("check a feed now and say what was posted"), options=(FEED_OPTION,)
    )


def _posted_text(titles: tuple[str, ...], posted: int, words: Words, name: str | None = None) -> str:
    head = (
        words.ngettext("Feed {feed}: posted {n} item:", "Feed {feed}: posted {n} items:", posted, feed=name)
        if name
        else words.ngettext("Posted {n} item:", "Posted {n} items:", posted)
    )
    shown_titles = [f"• {safe(t, 120)}" for t in titles[:TITLES_SHOWN]]
    if len(titles) > TITLES_SHOWN:
        shown_titles.append(words.gettext("… and {n} more", n=len(titles) - TITLES_SHOWN))
    return "\n".join([head, *shown_titles])
