"""Feeds in bulk and by page: `feed import` / `feed export` (OPML), and the words of feed
discovery that `feed add` uses when it is given a web page instead of a feed."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import TYPE_CHECKING

from bot.commands.common import channel_label, require_web_url
from bot.commands.limits import COMMUNITY_DATA, Limit
from bot.commands.registry import Answer, Attachment, CommandContext, CommandRegistry, Kind, Option
from bot.i18n import N_, Words
from bot.identity import normalize_url
from bot.models import Community, Feed
from bot.redact import mask_url
from bot.sources.discovery import Discovered
from bot.sources.errors import SourceError
from bot.sources.opml import MAX_OPML_BYTES, OpmlError, parse_opml
from bot.store import Store
from bot.subscriptions import ImportReport, Outcome, export_feeds, import_feeds
from bot.text import safe

if TYPE_CHECKING:
    from bot.services import Services

# An import fetches up to MAX_FEEDS feeds: a few per moderator and hour.
IMPORT_LIMIT = Limit(6, timedelta(hours=1))
EXPORT_FILE = "threadcast-feeds.opml"
SHOWN_PER_SECTION = 25  # lines of each part of an import report; the rest are counted
_OPML_ACCEPT = "text/x-opml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"


async def following(store: Store, community: Community, channel_id: str, url: str) -> Feed | None:
    """The feed of ``channel_id`` at ``url`` (normalized: a fragment or utm_* differ not)."""
    target = normalize_url(url)
    for existing in await store.list_feeds(community):
        if existing.channel_id == channel_id and normalize_url(existing.url) == target:
            return existing
    return None


def discovery_lines(found: Discovered, words: Words) -> list[str]:
    """What `feed add` says when it found the feed on a page (nothing when given a feed)."""
    if found.page is None:
        return []
    lines = [
        words.gettext(
            "Found the feed {url} on {page}.", url=mask_url(found.feed_url), page=mask_url(found.page)
        )
    ]
    if found.others:
        names = ", ".join(
            f"{mask_url(link.url)}" + (f" ({safe(link.title, 60)})" if link.title else "")
            for link in found.others[:5]
        )
        more = len(found.others) - 5
        lines.append(
            words.gettext("The page also links to: {feeds}", feeds=names)
            + (" " + words.gettext("and {n} more", n=more) if more > 0 else "")
        )
    return lines


def import_report_lines(report: ImportReport, words: Words) -> list[str]:
    added, skipped, refused = (report.of(o) for o in (Outcome.ADDED, Outcome.DUPLICATE, Outcome.REFUSED))
    lines = [
        words.gettext(
            "Added {added}, skipped {skipped} as duplicates, refused {refused}.",
            added=len(added), skipped=len(skipped), refused=len(refused),
        )
    ]  # fmt: skip
    if added:
        lines.append(words.gettext("Added (feed id, title, address):"))
        lines += [
            f"  {line.feed_id}. {safe(line.title or mask_url(line.url), 80)} · {mask_url(line.url)}"
            for line in added[:SHOWN_PER_SECTION]
        ]
    if skipped:
        lines.append(words.gettext("Skipped as duplicates:"))
        for line in skipped[:SHOWN_PER_SECTION]:
            why = (
                words.gettext("listed twice in the file")
                if line.twice_in_file
                else words.gettext("already followed here (feed {feed})", feed=line.feed_id)
                if line.feed_id is not None
                else words.gettext("already followed here")
            )
            lines.append(f"  {safe(mask_url(line.url), 200)} · {why}")
    if refused:
        lines.append(words.gettext("Refused (not subscribed):"))
        lines += [f"  {safe(line.reason, 300)}" for line in refused[:SHOWN_PER_SECTION]]
    hidden = sum(max(0, len(part) - SHOWN_PER_SECTION) for part in (added, skipped, refused))
    if hidden:
        lines.append(words.gettext("…and {n} more lines; `feed list` shows every feed.", n=hidden))
    if added:
        lines.append(words.gettext("Nothing was posted: what these feeds hold now is remembered as seen."))
    return lines


def register(registry: CommandRegistry, services: Services) -> None:
    store, poller, clock, fetcher = services.store, services.poller, services.clock, services.fetcher

    async def feed_import(ctx: CommandContext) -> Answer:
        url = require_web_url(str(ctx.options["url"]))
        words = ctx.words
        try:
            response = await fetcher.get(url, {"Accept": _OPML_ACCEPT})  # the safe fetcher: no private hosts
            if len(response.body) > MAX_OPML_BYTES:
                raise OpmlError(f"it is larger than {MAX_OPML_BYTES // (1024 * 1024)} MB")
            document = await asyncio.to_thread(parse_opml, response.body)
        except OpmlError as exc:
            return Answer(
                words.gettext("Cannot import {url}: {problem}", url=mask_url(url), problem=exc), ok=False
            )
        except SourceError as exc:
            return Answer(words.gettext("Could not read the OPML file: {problem}", problem=exc), ok=False)
        if not document.feeds:
            problem = words.gettext("{url} lists no feeds (no outline has an xmlUrl).", url=mask_url(url))
            return Answer(problem, ok=False)
        report = await import_feeds(
            store, poller, clock, ctx.community, ctx.channel_id, document.feeds,
            interval_seconds=services.settings.poll_interval,
        )  # fmt: skip
        head = words.gettext(
            "Imported {url} into {channel}.", url=mask_url(url), channel=channel_label(ctx.channel_id)
        )
        ok = bool(report.of(Outcome.ADDED)) or not report.of(Outcome.REFUSED)
        return Answer("\n".join([head, *import_report_lines(report, words)]), ok=ok)

    async def feed_export(ctx: CommandContext) -> Answer:
        feeds = await store.list_feeds(ctx.community)
        words = ctx.words
        if not feeds:
            return Answer(words.gettext("No feeds yet. Add one with `feed add <url> [#channel]`."))
        exported = export_feeds(feeds, ctx.community, now=clock.now())
        lines = [
            words.ngettext(
                "{n} feed of {channels} channel(s) as OPML 2.0, one folder per channel: {file}",
                "{n} feeds of {channels} channel(s) as OPML 2.0, one folder per channel: {file}",
                exported.feeds, channels=exported.channels, file=EXPORT_FILE,
            )
        ]  # fmt: skip
        if exported.masked:
            lines.append(
                words.gettext(
                    "⚠️ {n} feed addresses hold a password or token: they are written masked (****);"
                    " give them again after importing elsewhere.",
                    n=exported.masked,
                )
            )
        return Answer("\n".join(lines), attachment=Attachment(EXPORT_FILE, exported.opml))

    registry.add(
        "feed import", feed_import, help=N_("subscribe a channel to every feed of an OPML file"),
        options=(
            Option("url", Kind.WORD, N_("the OPML file's http(s) URL")),
            Option("channel", Kind.CHANNEL, N_("channel to post in (default: this one)"), required=False),
        ),
        limit=IMPORT_LIMIT,
    )  # fmt: skip
    registry.add(
        "feed export", feed_export, help=N_("this community's feeds as an OPML file"), limit=COMMUNITY_DATA
    )
