"""The core's working parts, built once by the composition root and passed in."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from bot.app import App
from bot.catchup import CatchUp
from bot.clock import Clock
from bot.collector import Collector
from bot.commands.registry import CommandRegistry
from bot.config import Settings
from bot.digest import DigestBuilder
from bot.digest_jobs import DigestJobs
from bot.gist import GistEngine
from bot.i18n import CommunityWords, Languages
from bot.lease import Lease
from bot.platform import ChatPlatform
from bot.poller import FeedPoller
from bot.publisher import Publisher
from bot.scheduler import LEASE_NAME, LEASE_TICKS, Scheduler
from bot.sources.http import Fetcher
from bot.store import Store


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    store: Store
    clock: Clock
    fetcher: Fetcher
    platforms: Mapping[str, ChatPlatform]
    publisher: Publisher
    poller: FeedPoller
    digests: DigestJobs
    scheduler: Scheduler
    languages: Languages  # the catalogs, read once each
    words: CommunityWords  # each community's language (its setting, else THREADCAST_LANGUAGE)


def build_core(
    settings: Settings,
    store: Store,
    clock: Clock,
    fetcher: Fetcher,
    platforms: Mapping[str, ChatPlatform],
    *,
    model: GistEngine | None = None,
) -> tuple[App, Services]:
    """Wire the core over a store, a fetcher and the platforms (which may be
    added to `platforms` after this call: adapters often need the app first)."""
    from bot.commands.all import register_all

    languages = Languages()
    words = CommunityWords(languages, store, settings.language)
    app = App(CommandRegistry(clock.now, words_for=words.words, languages=languages))
    collector = Collector(store)
    catch_up = CatchUp(app, store, platforms, clock, failures=collector.failures)
    publisher = Publisher(
        store, platforms, clock, default_prompt=settings.default_prompt, recovered=catch_up.recovered
    )
    poller = FeedPoller(store, fetcher, publisher, clock, platforms, mod_channels=settings.mod_channels)
    digests = DigestJobs(
        store,
        DigestBuilder(store, platforms, words=words, model=model),
        platforms,
        clock,
        languages,
        archive_url=settings.archive_url or None,
    )
    # Several processes may share the store: the scheduled jobs run in the one holding this lease.
    lease = Lease(store, LEASE_NAME, ttl=timedelta(seconds=settings.tick_seconds * LEASE_TICKS))
    scheduler = Scheduler(
        store, publisher, poller, digests, clock, platforms, tick_seconds=settings.tick_seconds, lease=lease
    )
    services = Services(
        settings, store, clock, fetcher, platforms, publisher, poller, digests, scheduler, languages, words
    )
    collector.register(app)
    catch_up.register(app)
    register_all(app.commands, services)
    return app, services
