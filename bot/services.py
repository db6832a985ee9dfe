"""The core's working parts, built once by the composition root and passed in."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.app import App
from bot.catchup import CatchUp
from bot.clock import Clock
from bot.collector import Collector
from bot.config import Settings
from bot.digest import DigestBuilder
from bot.digest_jobs import DigestJobs
from bot.platform import ChatPlatform
from bot.poller import FeedPoller
from bot.publisher import Publisher
from bot.scheduler import Scheduler
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


def build_core(
    settings: Settings,
    store: Store,
    clock: Clock,
    fetcher: Fetcher,
    platforms: Mapping[str, ChatPlatform],
) -> tuple[App, Services]:
    """Wire the core over a store, a fetcher and the platforms (which may be
    added to `platforms` after this call: adapters often need the app first)."""
    from bot.commands import register_all

    publisher = Publisher(store, platforms, clock, default_prompt=settings.default_prompt)
    poller = FeedPoller(store, fetcher, publisher, clock, platforms)
    digests = DigestJobs(store, DigestBuilder(store, platforms), platforms, clock)
    scheduler = Scheduler(
        store, publisher, poller, digests, clock, platforms, tick_seconds=settings.tick_seconds
    )
    services = Services(settings, store, clock, fetcher, platforms, publisher, poller, digests, scheduler)
    app = App()
    Collector(store).register(app)
    CatchUp(app, store, platforms, clock).register(app)
    register_all(app.commands, services)
    return app, services
