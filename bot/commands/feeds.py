"""feed add / remove / list."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.commands.common import ago, channel_label, checked_prompt, require_web_url
from bot.commands.registry import Answer, CommandContext, CommandRegistry, Kind, Option
from bot.identity import normalize_url
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
        target = normalize_url(url)
        for existing in await store.list_feeds(ctx.community):
            if existing.channel_id == ctx.channel_id and normalize_url(existing.url) == target:
                return Answer(
                    f"{channel_label(ctx.channel_id)} already follows {existing.url} (feed {existing.id}).",
                    ok=False,
                )
        # Fetch before subscribing: a URL that is not a feed changes nothing.
        try:
            result = await poller.fetch(url)
        except SourceError as exc:
            return Answer(f"Could not subscribe: {exc}", ok=False)
        try:
            feed = await store.add_feed(
                ctx.community, ctx.channel_id, url, prompt=prompt, backlog=backlog,
                interval_seconds=services.settings.poll_interval, now=clock.now(),
            )  # fmt: skip
        except DuplicateError:
            return Answer(f"{channel_label(ctx.channel_id)} already follows {url}.", ok=False)
        report = await poller.poll(feed, prefetched=result)
        title = safe(result.title or url, 120)
        lines = [
            f"Subscribed {channel_label(ctx.channel_id)} to {title} (feed {feed.id}).",
            f"First poll: posted {report.posted}, remembered {report.remembered} older items as seen"
            + (f", {report.waiting} more to post next poll." if report.waiting else "."),
            f"Checking every {feed.interval_seconds // 60} min.",
        ]
        if report.error:
            lines.append(f"Posting failed: {report.error}")
        return Answer("\n".join(lines), ok=report.error is None)

    async def feed_remove(ctx: CommandContext) -> Answer:
        wanted = str(ctx.options["feed"])
        feeds = await store.list_feeds(ctx.community)
        match = [f for f in feeds if str(f.id) == wanted.lstrip("#")]
        if not match and "://" in wanted:
            target = normalize_url(wanted)
            match = [f for f in feeds if normalize_url(f.url) == target]
        if not match:
            return Answer(f"No feed {wanted[:80]!r} here. `feed list` shows the ids.", ok=False)
        for feed in match:
            await store.remove_feed(feed.id)
        names = ", ".join(f"{f.id} ({safe(f.title or f.url, 80)})" for f in match)
        return Answer(f"Removed feed {names}. Posted discussions stay.")

    async def feed_list(ctx: CommandContext) -> Answer:
        feeds = await store.list_feeds(ctx.community)
        if not feeds:
            return Answer("No feeds yet. Add one with `feed add <url> [#channel]`.")
        now = clock.now()
        lines = ["Feeds:"]
        for f in feeds:
            health = "ok" if f.failures == 0 else f"failing ({f.failures} in a row)"
            lines.append(
                f"{f.id}. {safe(f.title or f.url, 80)} → {channel_label(f.channel_id)} · {health}"
                f" · last success {ago(f.last_success_at, now)} · {f.items_posted} posted"
            )
            lines.append(f"    {f.url}")
            if f.last_error:
                lines.append(f"    last error {ago(f.last_error_at, now)}: {safe(f.last_error, 200)}")
        return Answer("\n".join(lines))

    registry.add(
        "feed add", feed_add, help="subscribe a channel to an RSS/Atom feed",
        options=(
            Option("url", Kind.WORD, "the feed's http(s) URL"),
            Option("channel", Kind.CHANNEL, "channel to post in (default: this one)", required=False),
            Option("prompt", Kind.TEXT, "prompt for this feed's posts", required=False, max_length=500),
            Option("backlog", Kind.INTEGER, "existing items to post now (default 0)", required=False,
                   keyword=True, minimum=0, maximum=MAX_BACKLOG),
        ),
    )  # fmt: skip
    registry.add(
        "feed remove", feed_remove, help="unsubscribe a feed",
        options=(Option("feed", Kind.WORD, "feed id (from feed list) or URL"),),
    )  # fmt: skip
    registry.add("feed list", feed_list, help="feeds with their health")
