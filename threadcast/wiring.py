"""The composition root's wiring: the one place that picks concrete stores and platforms.

Everything in `bot/` sees protocols only; this module imports the adapters and
stores lazily, so a command that needs neither never loads a platform library.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from bot.app import App
from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.events import PlatformReady
from bot.gist import GistEngine
from bot.platform import ChatPlatform
from bot.services import Services, build_core
from bot.shutdown import handle_signals
from bot.store import ConsoleStore, Store

if TYPE_CHECKING:
    from adapters.console.shell import ConsoleShell
    from storage.store import SQLiteStore

_log = logging.getLogger(__name__)


def make_store(settings: Settings) -> Store:
    from storage import store_for_url

    return store_for_url(settings.database_url)  # settings_from has refused any other kind of URL


def make_backup_store(settings: Settings) -> SQLiteStore | None:
    """The store `backup` can copy file to file (SQLite's online backup), not yet opened;
    None for a server database (PostgreSQL: pg_dump's work)."""
    from storage.store import SQLiteStore

    store = make_store(settings)
    return store if isinstance(store, SQLiteStore) else None


@dataclass
class Runtime:
    app: App
    services: Services
    platforms: dict[str, ChatPlatform]


@contextlib.asynccontextmanager
async def runtime(settings: Settings, clock: Clock) -> AsyncIterator[Runtime]:
    """The core over an open store and a fetcher; closed in order on exit."""
    from bot.sources.http import AiohttpFetcher

    store = make_store(settings)
    await store.open()
    try:
        await use_recorded_time(store, clock)
    except BaseException:
        await store.close()
        raise
    fetcher = AiohttpFetcher(
        timeout=settings.http_timeout,
        max_bytes=settings.max_download_bytes,
        allow_private=settings.allow_private_urls,
    )
    platforms: dict[str, ChatPlatform] = {}
    async with contextlib.AsyncExitStack() as stack:
        model = await _model(settings, stack)
        app, services = build_core(settings, store, clock, fetcher, platforms, model=model)
        try:
            yield Runtime(app, services, platforms)
        finally:
            await app.shutdown()
            await fetcher.close()
            await store.close()


async def _model(settings: Settings, stack: contextlib.AsyncExitStack) -> GistEngine | None:
    """The language model that writes gists where a community asks for it, when one is
    configured: over an HTTP session of its own (the operator's address may be loopback,
    which the feed fetcher refuses), closed with the runtime."""
    if not settings.model_configured:
        return None
    import aiohttp

    from bot.model_gist import model_engine

    session = await stack.enter_async_context(aiohttp.ClientSession())
    return model_engine(settings, session)


async def use_recorded_time(store: Store, clock: Clock) -> None:
    """A clock made by `recorded_clock` (for a command that reads the database) takes the time
    the console recorded in the store, where there is one."""
    from adapters.console.clock import ConsoleClock

    if isinstance(clock, ConsoleClock) and clock.recorded and isinstance(store, ConsoleStore):
        offset = await store.console_time_offset()
        if offset is not None:
            clock.set_offset(timedelta(seconds=offset))


def console_state_file(settings: Settings) -> Path | None:
    """Where an older console kept its state (now in the store): taken in once if present."""
    path = settings.sqlite_path
    return None if path in (None, ":memory:") else Path(f"{path}.console.json")


@contextlib.asynccontextmanager
async def console(settings: Settings, out: TextIO) -> AsyncIterator[tuple[Runtime, ConsoleShell]]:
    """The core over the console platform: the runtime and the shell that drives it."""
    from adapters.console.clock import ConsoleClock
    from adapters.console.platform import ConsolePlatform
    from adapters.console.shell import ConsoleShell

    clock = ConsoleClock()
    async with runtime(settings, clock) as rt:
        store = rt.services.store
        if not isinstance(store, ConsoleStore):
            raise TypeError(f"{type(store).__name__} cannot keep the console's messages")
        platform = ConsolePlatform(out, store=store, clock=clock, state_file=console_state_file(settings))
        await platform.load()
        clock.set_offset(timedelta(seconds=platform.state.time_offset))
        rt.platforms[platform.name] = platform
        shell = ConsoleShell(
            rt.app, platform, clock, rt.services.scheduler.run_once, moderator=settings.console_moderator
        )
        yield rt, shell


async def run_console_command(
    settings: Settings, path: tuple[str, ...], options: dict[str, object], out: TextIO
) -> bool:
    """One command with typed options (from the CLI), as the console's moderator."""
    async with console(settings, out) as (_, shell):
        return await shell.invoke(path, options=options)


async def run_console(
    settings: Settings, lines: AsyncIterator[str] | None, out: TextIO, *, interactive: bool
) -> None:
    """The whole bot on the console platform, driven by `lines` (stdin when None).

    SIGTERM/SIGINT stop the reading of lines; the line under way is finished, pending
    replies are written and the store closed. A second signal forces (`bot.shutdown`)."""
    from adapters.console.shell import stdin_lines
    from adapters.console.terminal import terminal_output

    shown = terminal_output() if interactive else contextlib.nullcontext(out)
    with shown as out:
        await _console_session(settings, lines, out, interactive=interactive, stdin_lines=stdin_lines)


async def _console_session(
    settings: Settings,
    lines: AsyncIterator[str] | None,
    out: TextIO,
    *,
    interactive: bool,
    stdin_lines: Callable[[ConsoleShell, bool], AsyncIterator[str]],
) -> None:
    from adapters.console.platform import COMMUNITY

    async with handle_signals() as shutdown, console(settings, out) as (rt, shell):
        if shutdown.requested.is_set():
            return  # stopped while starting: nothing was taken in
        if interactive:
            shell.say("threadcast console — type .help for the console's commands, /help for the bot's.")
        # What the console showed but a stop cut off before it was written (its messages are in
        # the store): read back from its threads, as a platform's history is after a reconnect.
        await rt.app.dispatch(PlatformReady(COMMUNITY))
        await rt.app.drain(timeout=60)
        await rt.services.scheduler.run_once()  # feeds and digests that fell due while it was off
        stop = asyncio.Event()
        # Held here, not in the app's task set: `drain` waits for finite work only.
        ticker = asyncio.create_task(rt.services.scheduler.run(stop), name="scheduler")
        source = lines or stdin_lines(shell, interactive)
        try:
            await shell.run(_until(source, shutdown.requested), echo=not interactive)
            if shutdown.requested.is_set():
                shell.say("· stopping")
        finally:
            stop.set()
            await ticker


async def _until(lines: AsyncIterator[str], stop: asyncio.Event) -> AsyncIterator[str]:
    """`lines` until `stop` is set: a wait for the next line ends at once, and a line read
    is handed on whole (cancelling its handling could leave a post half-made)."""

    async def next_line() -> str:
        return await anext(lines)

    stopped = asyncio.create_task(stop.wait())
    try:
        while not stop.is_set():
            reading = asyncio.create_task(next_line())
            await asyncio.wait([reading, stopped], return_when=asyncio.FIRST_COMPLETED)
            if not reading.done():
                reading.cancel()
                with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
                    await reading
                return
            try:
                line = reading.result()
            except StopAsyncIteration:
                return
            yield line
    finally:
        stopped.cancel()


class NothingRunning(Exception):
    """Every configured platform stopped for good; the message gives each one's reason."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("No platform is running:\n" + "\n".join(f"- {r}" for r in reasons))
        self.reasons = reasons


FIRST_TRY_WAIT = 60.0  # due work waits this long at most for every platform's first try


async def run_platforms(settings: Settings, *, ready: asyncio.Event | None = None) -> None:
    """`threadcast run`: every configured platform in one process, over one store,
    until SIGTERM/SIGINT.

    A platform out of reach is tried again and again (its adapter's `supervise`); while it is
    down its due posts and digests stay due, and the others run. One that Slack or Discord
    refuses (a token, an intent, a scope) stops with a line saying what to change; the others
    keep running. Raises NothingRunning when no platform is left.

    The first signal (also one that comes while starting) stops intake: platforms still
    connecting are cancelled, the others close after the commands under way; then the due
    run under way finishes, pending writes are flushed and the store is closed. A second
    signal forces (`bot.shutdown`)."""
    from adapters.discord.platform import DiscordPlatform, DiscordStartError, supervise
    from adapters.slack.platform import SlackPlatform, SlackStartError
    from adapters.slack.platform import supervise as supervise_slack

    async with handle_signals() as shutdown, runtime(settings, SystemClock()) as rt:
        stop = asyncio.Event()
        shutdown.on_request(stop.set)
        if stop.is_set():
            return  # stopped while the store opened: nothing was connected
        connections: dict[asyncio.Task[None], str] = {}  # -> the platform's name
        readiness: list[asyncio.Event] = []
        tries: list[asyncio.Event] = []
        discord_platform = None
        slack_platform = None
        if settings.discord_token:
            marker = settings.sqlite_path
            discord_platform = DiscordPlatform(
                rt.app,
                moderator_role=settings.discord_moderator_role,
                guild_ids=settings.discord_guild_ids,
                sync_marker=Path(f"{marker}.discord-commands") if marker and marker != ":memory:" else None,
                shard_count=settings.discord_shard_count,
                shard_ids=settings.discord_shard_ids,
            )
            rt.platforms[discord_platform.name] = discord_platform
            readiness.append(discord_platform.ready)
            tries.append(asyncio.Event())
            keeping = supervise(discord_platform, settings.discord_token, stop, tried=tries[-1])
            connections[asyncio.create_task(keeping, name="discord")] = discord_platform.name
        if "slack" in settings.platforms:
            slack_platform = SlackPlatform(
                rt.app,
                bot_token=settings.slack_bot_token,
                signing_secret=settings.slack_signing_secret,
                app_token=settings.slack_app_token,
                moderators=settings.slack_moderators,
                base_url=settings.slack_api_url or None,
                http_port=settings.http_port,
            )
            rt.platforms[slack_platform.name] = slack_platform
            readiness.append(slack_platform.ready)
            tries.append(asyncio.Event())
            connections[
                asyncio.create_task(supervise_slack(slack_platform, stop, tried=tries[-1]), name="slack")
            ] = slack_platform.name
        waiter = asyncio.create_task(stop.wait(), name="stop")
        ticker: asyncio.Task[None] | None = None
        running = set(connections)
        refused: list[str] = []

        def settle(done: set[asyncio.Task[None]]) -> None:
            """Platforms whose supervision ended: refused ones are set aside, others re-raise."""
            for task in done & running:
                running.discard(task)
                error = None if task.cancelled() else task.exception()
                if error is None:
                    continue
                if not isinstance(error, (DiscordStartError, SlackStartError)):
                    raise error  # a bug: the operator's to see whole
                name = connections[task]
                rt.platforms.pop(name, None)
                refused.append(str(error))
                if running:
                    _log.error("%s stopped: %s", name.capitalize(), error)

        try:
            # Due posts and digests wait for each platform's first try (connected, refused or
            # out of reach), at most FIRST_TRY_WAIT: a platform still retrying does not hold
            # the others' due work back; its own goes out at the first tick after it connects.
            first_tries = asyncio.create_task(_first_tries(connections, tries))
            await asyncio.wait(
                [first_tries, waiter], timeout=FIRST_TRY_WAIT, return_when=asyncio.FIRST_COMPLETED
            )
            first_tries.cancel()
            await asyncio.gather(first_tries, return_exceptions=True)
            if stop.is_set():
                return  # stopped while connecting: start no due work
            settle({t for t in connections if t.done()})
            if not running:
                _nothing_running(refused)
                return
            # At once: feeds and digests that fell due while it was off (if this process holds the lease).
            ticker = asyncio.create_task(rt.services.scheduler.run(stop, at_once=True), name="scheduler")
            if ready is not None:
                ready.set()
            while running:
                await asyncio.wait([waiter, *running], return_when=asyncio.FIRST_COMPLETED)
                if waiter.done():
                    return
                settle({t for t in running if t.done()})
            _nothing_running(refused)
        finally:
            stop.set()
            waiter.cancel()
            for task, event in zip(connections, readiness, strict=True):
                if not event.is_set():
                    task.cancel()  # still connecting: a close now would not stop the connect under way
            if discord_platform is not None:
                await discord_platform.close()
            if slack_platform is not None:
                await slack_platform.close()
            await asyncio.gather(*connections, return_exceptions=True)
            if ticker is not None:
                await ticker


async def _first_tries(connections: Mapping[asyncio.Task[None], str], tries: list[asyncio.Event]) -> None:
    """Until each platform's first try ended: connected, out of reach, or refused."""
    for task, tried in zip(connections, tries, strict=True):
        waiting = asyncio.create_task(tried.wait())
        try:
            await asyncio.wait([waiting, task], return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiting.cancel()


def _nothing_running(refused: list[str]) -> None:
    """Every platform's supervision ended: refused ones make it an error (closed ones do not)."""
    if refused:
        raise NothingRunning(refused)
