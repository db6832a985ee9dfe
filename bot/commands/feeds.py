"""feed add / remove / list."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.commands.common import ago, channel_label, checked_prompt, require_web_url
from bot.commands.feed_controls import feed_name, held_back_note, matching_feeds, no_feed
from bot.commands.feed_io import discovery_lines, following
from bot.commands.registry import Answer, CommandContext, CommandRegistry, Kind, Option
from bot.i18n import N_
from bot.identity import normalize_url
from bot.redact import mask_url
from bot.sources.discovery import discover_feed
from bot.sources.errors import SourceError
from bot.store import DuplicateError
from bot.text import safe

if TYPE_CHECKING:
    from bot.services import Services

MAX_BACKLOG = 50


def register(registry: CommandRegistry, services: Services) -> None:
    store, poller, clock = services.store, services.poller, services.clock

    async def feed_add(ctx: CommandContext) -> Answer:
        url = require_web_url(str(ctx.options["url"]))
        prompt = checked_prompt(ctx.options.get("prompt"))
        backlog = int(ctx.options.get("backlog", 0))
        words = ctx.words
        target = normalize_url(url)
        for existing in await store.list_feeds(ctx.community):
            if existing.channel_id == ctx.channel_id and normalize_url(existing.url) == target:
                return Answer(
                    words.gettext(
                        "{channel} already follows {url} (feed {feed}).",
                        channel=channel_label(ctx.channel_id), url=mask_url(existing.url), feed=existing.id,
                    ),
                    ok=False,
                )  # fmt: skip
        # Fetch before subscribing: a URL that is not a feed changes nothing.
        try:
            found = await discover_feed(services.fetcher, url)  # a page: the feed it links to
        except SourceError as exc:
            return Answer(words.gettext("Could not subscribe: {problem}", problem=exc), ok=False)
        result, discovered = found.feed, discovery_lines(found, words)
        if found.page is not None:
            url = found.feed_url
            if already := await following(store, ctx.community, ctx.channel_id, url):
                return Answer(
                    "\n".join([*discovered, words.gettext(
                        "{channel} already follows {url} (feed {feed}).",
                        channel=channel_label(ctx.channel_id), url=mask_url(already.url), feed=already.id,
                    )]),
                    ok=False,
                )  # fmt: skip
        try:
            feed = await store.add_feed(
                ctx.community, ctx.channel_id, url, prompt=prompt, backlog=backlog,
                interval_seconds=services.settings.poll_interval, now=clock.now(),
            )  # fmt: skip
        except DuplicateError:
            return Answer(
                words.gettext(
                    "{channel} already follows {url}.",
                    channel=channel_label(ctx.channel_id),
                    url=mask_url(url),
                ),
                ok=False,
            )
        report = await poller.poll(feed, prefetched=result)
        title = safe(result.title or mask_url(url), 120)
        first_poll = {"posted": report.posted, "remembered": report.remembered, "waiting": report.waiting}
        lines = [
            *discovered,
            words.gettext(
                "Subscribed {channel} to {title} (feed {feed}).",
                channel=channel_label(ctx.channel_id),
                title=title,
                feed=feed.id,
            ),
            words.gettext(
                "First poll: posted {posted}, remembered {remembered} older items as seen,"
                " {waiting} more to post next poll.",
                **first_poll,
            )
            if report.waiting
            else words.gettext(
                "First poll: posted {posted}, remembered {remembered} older items as seen.", **first_poll
            ),
            words.gettext("Checking every {minutes} min.", minutes=feed.interval_seconds // 60),
        ]
        if report.error:
            lines.append(words.gettext("Posting failed: {problem}", problem=report.error))
        return Answer("\n".join(lines), ok=report.error is None)

    async def feed_remove(ctx: CommandContext) -> Answer:
        wanted = str(ctx.options["feed"])
        match = matching_feeds(await store.list_feeds(ctx.community), wanted)
        if not match:
            return no_feed(ctx.words, wanted)
        for feed in match:
            await store.remove_feed(feed.id)
        names = ", ".join(feed_name(f) for f in match)
        return Answer(ctx.words.gettext("Removed feed {feeds}. Posted discussions stay.", feeds=names))

    async def feed_list(ctx: CommandContext) -> Answer:
        feeds = await store.list_feeds(ctx.community)
        words = ctx.words
        if not feeds:
            return Answer(words.gettext("No feeds yet. Add one with `feed add <url> [#channel]`."))
        now = clock.now()
        lines = [words.gettext("Feeds:")]
        for f in feeds:
            shown_url = mask_url(f.url)  # a private feed's password or token is never shown
            health = (
                words.gettext("ok")
                if f.failures == 0
                else words.ngettext("failing ({n} in a row)", "failing ({n} in a row)", f.failures)
            )
            lines.append(
                f"{f.id}. {safe(f.title or shown_url, 80)} → {channel_label(f.channel_id)} · {health} · "
                + words.gettext(
                    "last success {when} · {posted} posted",
                    when=ago(f.last_success_at, now, words), posted=f.items_posted,
                )
            )  # fmt: skip
            lines.append(f"    {shown_url}")
            if held := held_back_note(f, words):
                lines.append(f"    {held}")
            if f.last_error:
                lines.append(
                    "    "
                    + words.gettext(
                        "last error {when}: {problem}",
                        when=ago(f.last_error_at, now, words), problem=safe(f.last_error, 200),
                    )
                )  # fmt: skip
        return Answer("\n".join(lines))

    registry.add(
        "feed add", feed_add, help=N_("subscribe a channel to an RSS/Atom feed"),
        options=(
            Option("url", Kind.WORD, N_("the feed's http(s) URL")),
            Option("channel", Kind.CHANNEL, N_("channel to post in (default: this one)"), required=False,
                   posted_in=True),
            Option("prompt", Kind.TEXT, N_("prompt for this feed's posts"), required=False, max_length=500),
            Option("backlog", Kind.INTEGER, N_("existing items to post now (default 0)"), required=False,
                   keyword=True, minimum=0, maximum=MAX_BACKLOG),
        ),
    )  # fmt: skip
    registry.add(
        "feed remove", feed_remove, help=N_("unsubscribe a feed"),
        options=(Option("feed", Kind.WORD, N_("feed id (from feed list) or URL")),),
    )  # fmt: skip
    registry.add("feed list", feed_list, help=N_("feeds with their health"))
