"""`threadcast` on the command line (also `python -m threadcast`, and `python -m bot`).

The module's top imports click and light things only, so `threadcast --help` starts fast:
each command imports what it uses (the core, the stores, the platforms) when it runs."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import signal
import sqlite3
import sys
import tempfile
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Iterator
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from threadcast import logs

if TYPE_CHECKING:
    from bot.checkup import CheckLine
    from bot.clock import Clock
    from bot.config import Settings
    from bot.models import Community

T = TypeVar("T")

_log = logging.getLogger(__name__)

LONG_RUNNING = ("run", "console")  # log at INFO by default; every other command at WARNING


def _settings(ctx: click.Context, **overrides: str) -> Settings:
    from bot.config import ConfigError, load_env, settings_from

    env = load_env(ctx.obj["env_file"])
    env.update({k: v for k, v in overrides.items() if v})
    try:
        settings = settings_from(env)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    root = ctx.find_root()
    options = root.obj or {}
    # --log-level, else THREADCAST_LOG_LEVEL when set, else INFO for the commands that keep
    # running (their log is how an operator follows them) and WARNING for one-shot commands.
    level = options.get("log_level") or (
        settings.log_level
        if env.get("THREADCAST_LOG_LEVEL", "").strip()
        else "INFO"
        if root.invoked_subcommand in LONG_RUNNING
        else "WARNING"
    )
    form = options.get("log_format") or settings.log_format
    settings = dataclasses.replace(settings, log_level=level.upper(), log_format=form)
    logs.setup(settings.log_level, settings.log_format)
    return settings


def _run(coro: Coroutine[Any, Any, T], *, stop_ok: bool = False) -> T | None:
    """Run `coro`; interrupted, a one-shot command exits 130 (it did not finish), while
    `run` and `console` (`stop_ok`), which are meant to be stopped, exit 0."""
    import asyncio

    from bot.store import StoreError

    try:
        return asyncio.run(coro)
    except KeyboardInterrupt:
        click.echo("stopped", err=True)
        if not stop_ok:
            sys.exit(130)
        return None
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None


@contextlib.contextmanager
def _stoppable() -> Iterator[None]:
    """Until the bot's own handlers are installed (`bot.shutdown`), SIGTERM interrupts like
    SIGINT does: a stop while importing or reading settings ends the process cleanly,
    instead of the default that kills it mid-start."""
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        yield
    except KeyboardInterrupt:
        click.echo("stopped", err=True)


async def _lines(lines: Iterable[str]) -> AsyncIterator[str]:
    for line in lines:
        yield line


def _db_override(db: str | None) -> dict[str, str]:
    return {"THREADCAST_DATABASE_URL": f"sqlite:///{db}"} if db else {}


def _existing_db(settings: Settings) -> Settings:
    """A command that only reads the database refuses one that does not exist: opening it would
    create an empty file, and a mistyped --db would then read as "a quiet week"."""
    path = settings.sqlite_path
    if path is not None and path != ":memory:" and not Path(path).is_file():
        raise click.ClickException(
            f"{path} does not exist: check --db or THREADCAST_DATABASE_URL (nothing was created)"
        )
    return settings


def _reading_clock(settings: Settings) -> Clock:
    """The clock of every command that reads the database: the time the console recorded
    beside it (`.advance` moves the console's time ahead, and the replies with it), else
    the real time. Commands that read the database take their clock from here only."""
    from adapters.console.clock import recorded_clock
    from threadcast.wiring import console_state_file

    return recorded_clock(console_state_file(settings))


db_option = click.option(
    "--db", type=click.Path(dir_okay=False), help="SQLite file (overrides THREADCAST_DATABASE_URL)."
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--env-file", default=".env", show_default=True, help="File with settings (python-dotenv format)."
)
@click.option(
    "--log-level",
    type=click.Choice([level.lower() for level in logs.LEVELS], case_sensitive=False),
    help="Log this and above to stderr (THREADCAST_LOG_LEVEL; default: info for run and console,"
    " warning for other commands).",
)
@click.option(
    "--log-format",
    type=click.Choice(logs.FORMATS, case_sensitive=False),
    help="text, or json: one JSON object a line (THREADCAST_LOG_FORMAT; default: text).",
)
@click.version_option(package_name="threadcast")
@click.pass_context
def main(ctx: click.Context, env_file: str, log_level: str | None, log_format: str | None) -> None:
    """threadcast: articles into community conversations, and a weekly digest of them."""
    ctx.obj = {
        "env_file": env_file,
        "log_level": log_level.upper() if log_level else None,
        "log_format": log_format.lower() if log_format else None,
    }


@main.command()
@click.pass_context
def run(ctx: click.Context) -> None:
    """Start every configured platform over one store."""
    with _stoppable():
        # The platform libraries load here, where a stop while they load ends the process cleanly
        # (inside the event loop, one landing mid-import ended it as if killed by SIGINT).
        import adapters.discord.platform
        import adapters.slack.platform  # noqa: F401
        from threadcast.wiring import NothingRunning, run_platforms

        settings = _settings(ctx)
        if not settings.platforms:
            raise click.ClickException(
                "No platform is configured: set DISCORD_TOKEN, or SLACK_BOT_TOKEN with SLACK_APP_TOKEN or"
                " SLACK_SIGNING_SECRET (see .env.example).\nTo try threadcast without accounts, run"
                " `threadcast console` or `threadcast demo`."
            )
        try:
            _run(run_platforms(settings), stop_ok=True)
        except NothingRunning as exc:
            raise click.ClickException(str(exc)) from None


@main.command()
@db_option
@click.option("--script", type=click.File("r", encoding="utf-8"), help="Read console lines from this file.")
@click.pass_context
def console(ctx: click.Context, db: str | None, script: Any) -> None:
    """The bot on a local console platform. Reads a script from stdin when it is not a terminal."""
    with _stoppable():
        from threadcast.wiring import run_console

        settings = _settings(ctx, **_db_override(db))
        interactive = script is None and sys.stdin.isatty()
        lines = _lines(script) if script is not None else None
        _run(run_console(settings, lines, sys.stdout, interactive=interactive), stop_ok=True)


@main.command()
@click.option(
    "--week", is_flag=True,
    help="Instead: fill a database with a generated, realistic community week (32 articles,"
    " 520 replies from 60 members) and print its digest as Markdown.",
)  # fmt: skip
@db_option
@click.pass_context
def demo(ctx: click.Context, week: bool, db: str | None) -> None:
    """Show the whole job with no accounts: an article, replies, a digest.

    With --db the demo's database is kept in that (new) file, for `digest`, `archive` or `console`."""
    from threadcast.wiring import run_console

    if week:
        _demo_week(ctx, db)
        return

    if db and Path(db).exists():
        raise click.ClickException(f"{db} exists already: give --db a new file for the demo")
    demo_files = resources.files("bot").joinpath("demo")
    article = demo_files.joinpath("article.txt").read_text(encoding="utf-8")
    script = demo_files.joinpath("script.txt").read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="threadcast-demo-") as tmp:
        article_path = Path(tmp) / "marrowby-garden.txt"
        article_path.write_text(article, encoding="utf-8")
        settings = _settings(
            ctx,
            THREADCAST_DATABASE_URL=f"sqlite:///{db or Path(tmp) / 'demo.db'}",
            THREADCAST_LOG_LEVEL="WARNING",
        )
        lines = script.replace("{article}", str(article_path)).splitlines(keepends=True)
        _run(run_console(settings, _lines(lines), sys.stdout, interactive=False))
    if db:
        click.echo(f"\nThe demo is in {db}: try `threadcast archive site --db {db}`.", err=True)


def _demo_week(ctx: click.Context, db: str | None) -> None:
    """The generated week in a database of its own (kept with --db, for `archive` or `console`)."""
    from adapters.console.platform import COMMUNITY
    from bot.demo.week import populate_week
    from bot.markdown import render
    from threadcast.wiring import runtime

    async def fill(settings: Settings) -> None:
        async with runtime(settings, _reading_clock(settings)) as rt:
            store = rt.services.store
            if await store.recent_discussions(COMMUNITY, datetime(1970, 1, 1, tzinfo=UTC)):
                raise click.ClickException("that database has discussions already; give --db a new file")
            now = rt.services.clock.now()
            await populate_week(store, COMMUNITY, "general", end=now - timedelta(minutes=1))
            built, _ = await rt.services.digests.current(COMMUNITY)
            shaped = await rt.services.digests.shaped(built, "general")
            click.echo(render(shaped.layout()), nl=False)

    if db:
        _demo_week_into(ctx, Path(db), fill)
        click.echo(f"\nThe week is in {db}: try `threadcast archive site --db {db}`.", err=True)
        return
    with tempfile.TemporaryDirectory(prefix="threadcast-week-") as tmp:
        _run(fill(_settings(ctx, THREADCAST_DATABASE_URL=f"sqlite:///{tmp}/week.db")))


def _demo_week_into(
    ctx: click.Context, target: Path, fill: Callable[[Settings], Coroutine[Any, Any, None]]
) -> None:
    """Fill the week into a new file beside `target`, moved into place only once complete: an
    interrupted fill leaves no half-filled `target` for the next run to refuse."""
    if target.exists():
        raise click.ClickException(f"{target} exists already: give --db a new file for the week")
    folder = target.parent
    if not folder.is_dir():
        raise click.ClickException(f"{folder} is not a folder: give --db a file in an existing folder")
    # Named for this process and created by SQLite itself (so with the usual file mode).
    partial = folder / f".{target.name}.{os.getpid()}.partial"
    try:
        _run(fill(_settings(ctx, THREADCAST_DATABASE_URL=f"sqlite:///{partial}")))
        try:
            os.link(partial, target)  # never over a file made meanwhile, unlike a rename
        except FileExistsError:
            raise click.ClickException(f"{target} appeared meanwhile: the week was not kept") from None
    finally:
        for leftover in (partial, *(Path(f"{partial}{end}") for end in ("-wal", "-shm", "-journal"))):
            leftover.unlink(missing_ok=True)


@main.command()
@click.argument("article")
@click.option("--channel", default="general", show_default=True, help="Console channel to post in.")
@click.option("--prompt", help="Prompt for this post ({title}, {url}, {source}).")
@db_option
@click.pass_context
def post(ctx: click.Context, article: str, channel: str, prompt: str | None, db: str | None) -> None:
    """Post one article (a file or a URL) on the console platform now."""
    from threadcast.wiring import run_console_command

    settings = _settings(ctx, **_db_override(db))
    options: dict[str, object] = {"article": article, "channel": channel.lstrip("#")}
    if prompt:
        options["prompt"] = prompt
    if not _run(run_console_command(settings, ("post",), options, sys.stdout)):
        sys.exit(1)


def _at_time(value: str | None) -> datetime | None:
    """`--at`: an ISO date or date and time; naive values are read in the schedule's timezone."""
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value.strip())
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a date or time: give an ISO date or date and time, such as"
            " 2026-11-23, '2026-11-23 09:00' or 2026-11-23T09:00+01:00",
            param_hint="--at",
        ) from None


@main.command()
@click.option("--preview", "mode", flag_value="preview", default=True, help="Show the digest (default).")
@click.option("--markdown", "mode", flag_value="markdown", help="Print the digest as Markdown only.")
@click.option(
    "--json", "mode", flag_value="json",
    help="Print the digest as JSON (period, figures, discussions with gist, quotes and themes).",
)  # fmt: skip
@click.option(
    "--at", "at", metavar="TIME",
    help="The digest of the period that ends at TIME (ISO date or date and time, such as 2026-11-23"
    " or '2026-11-23 09:00', in the digest schedule's timezone, else UTC) instead of the one up to now.",
)  # fmt: skip
@click.option(
    "--chart", type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Also write its participation chart (the image Discord and Slack get) as a PNG file.",
)  # fmt: skip
@click.option(
    "--style", type=click.Choice(["compact", "full"]),
    help="Lay it out in this style (default: the digest channel's, compact unless set).",
)  # fmt: skip
@db_option
@click.pass_context
def digest(
    ctx: click.Context, mode: str, at: str | None, chart: Path | None, style: str | None, db: str | None
) -> None:
    """Show the digest the console community would get now (or the one ending at --at)."""
    import asyncio

    from adapters.console.platform import COMMUNITY
    from bot.digest_json import digest_json
    from bot.layout import Style
    from bot.markdown import render
    from threadcast.wiring import runtime

    end = _at_time(at)
    settings = _existing_db(_settings(ctx, **_db_override(db)))
    clock = _reading_clock(settings)

    async def show() -> None:
        async with runtime(settings, clock) as rt:
            if end is None:
                built, schedules = await rt.services.digests.current(COMMUNITY)
            else:
                built = await rt.services.digests.at(COMMUNITY, end)
                schedules = [s for s in await rt.services.store.digest_schedules(COMMUNITY) if s.enabled]
            if mode == "json":
                click.echo(digest_json(built), nl=False)
            else:
                if mode == "preview":
                    where = ", ".join("#" + s.channel_id for s in schedules) or "(no digest channel yet)"
                    click.echo(f"Digest preview for {where}:\n")
                shaped = await rt.services.digests.shaped(
                    built, schedules[0].channel_id if schedules else "general"
                )
                if style:
                    shaped = dataclasses.replace(shaped, style=Style(style))
                click.echo(render(shaped.layout()), nl=False)
            if chart is not None:
                from bot.chart import participation_png

                png = await asyncio.to_thread(participation_png, built.days)
                await asyncio.to_thread(chart.write_bytes, png)
                click.echo(f"Chart written to {chart}.", err=True)

    _run(show())


@main.command()
@click.option(
    "--offline", is_flag=True,
    help="Only validate the settings and print what each platform needs; contact nothing.",
)  # fmt: skip
@click.pass_context
def check(ctx: click.Context, offline: bool) -> None:
    """Ask each configured platform, the database and every subscribed feed whether threadcast
    can work with them: one line each, ✓ or ✗ with the fix. Exits 1 when any line fails."""
    settings = _settings(ctx)
    if offline:
        _check_offline(settings)
        return
    if not _run(_check_online(settings)):
        sys.exit(1)


def _check_offline(settings: Settings) -> None:
    from adapters.discord.setup import setup_text as discord_setup
    from adapters.slack.setup import setup_text as slack_setup
    from bot.config import describe

    click.echo("Configuration is valid. Effective settings (secrets masked):")
    for name, value in describe(settings):
        click.echo(f"  {name} = {value}")
    click.echo(f"\nPlatforms configured: {', '.join(settings.platforms) or 'none (console only)'}")
    click.echo(f"\n{discord_setup(settings.discord_token)}")
    click.echo(f"\n{slack_setup()}")


async def _check_online(settings: Settings) -> bool:
    """Every check at once, printed in a fixed order as each is done; True when all passed."""
    import asyncio

    from adapters.discord.setup import check as check_discord
    from adapters.slack.setup import check as check_slack
    from bot.checkup import passed
    from bot.text import count

    platforms = ", ".join(settings.platforms) or "none (console only)"
    sections = [
        asyncio.create_task(_check_section("database", _check_store_and_feeds(settings))),
        asyncio.create_task(_check_section("Discord", check_discord(settings))),
        asyncio.create_task(_check_section("Slack", check_slack(settings))),
    ]
    lines: list[CheckLine] = [passed(f"configuration is valid; platforms: {platforms}")]
    click.echo(lines[0])
    try:
        for section in sections:
            for line in await section:
                click.echo(line)
                lines.append(line)
    finally:
        for section in sections:
            section.cancel()
        await asyncio.gather(*sections, return_exceptions=True)
    problems = sum(not line.ok for line in lines)
    if problems:
        click.echo(f"\n{count(problems, 'problem')} to fix (the ✗ lines).", err=True)
    return problems == 0


async def _check_section(name: str, lines: Coroutine[Any, Any, list[CheckLine]]) -> list[CheckLine]:
    """One section's lines; a failure of the check itself is a line too, not the end of `check`."""
    from bot.checkup import failed

    try:
        return await lines
    except Exception as exc:
        _log.exception("checking %s failed", name)
        return [
            failed(
                f"{name}: the check itself failed ({type(exc).__name__})",
                "please report it with the log above (THREADCAST_LOG_LEVEL=DEBUG shows more).",
            )
        ]


async def _check_store_and_feeds(settings: Settings) -> list[CheckLine]:
    """The database's state (read, never changed or created), then each subscribed feed."""
    from bot.checkup import check_feeds, database_lines, failed
    from bot.sources.http import AiohttpFetcher
    from bot.store import StoreError
    from storage.state import database_state

    try:
        state = await database_state(settings.database_url, timeout=settings.http_timeout)
    except StoreError as exc:
        return [
            failed(
                str(exc),
                "check THREADCAST_DATABASE_URL, that the database server runs and that threadcast"
                " may read it.",
            )
        ]
    lines = database_lines(state)
    if state.version > state.known:
        return lines
    async with AiohttpFetcher(
        timeout=settings.http_timeout,
        max_bytes=settings.max_download_bytes,
        allow_private=settings.allow_private_urls,
    ) as fetcher:
        lines += await check_feeds(fetcher, state.feeds, budget=max(60.0, settings.http_timeout))
    return lines


@main.command()
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json", show_default=True)
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False, writable=True), help="File to write (default: stdout)."
)
@db_option
@click.pass_context
def export(ctx: click.Context, fmt: str, output: str | None, db: str | None) -> None:
    """Export discussions and replies (privacy rules applied) as JSON or CSV."""
    from bot.export import to_csv, to_json
    from threadcast.wiring import make_store

    settings = _existing_db(_settings(ctx, **_db_override(db)))

    async def dump() -> str:
        store = make_store(settings)
        await store.open()
        try:
            rows = await store.export(None)
        finally:
            await store.close()
        return to_json(rows) if fmt == "json" else to_csv(rows)

    text = _run(dump()) or ""
    if output:
        try:
            Path(output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise click.ClickException(f"cannot write {output}: {exc.strerror}") from None
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text, nl=False)


@main.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@db_option
@click.pass_context
def archive(ctx: click.Context, directory: Path, db: str | None) -> None:
    """Write every community's weekly digests and discussions as a static HTML site into DIRECTORY
    (no scripts, works offline). Rerun it to update the site: it rewrites its own pages."""
    from bot.archive import ArchiveError, Written, write_archive
    from bot.digest import DigestBuilder
    from bot.platform import ChatPlatform
    from bot.text import count
    from threadcast.wiring import make_store, use_recorded_time

    settings = _existing_db(_settings(ctx, **_db_override(db)))
    clock = _reading_clock(settings)

    async def write() -> Written:
        store = make_store(settings)
        await store.open()
        try:
            # No platform is connected here, so pages carry no thread links.
            platforms: dict[str, ChatPlatform] = {}
            builder = DigestBuilder(store, platforms)
            await use_recorded_time(store, clock)
            return await write_archive(store, builder, platforms, directory, clock.now())
        finally:
            await store.close()

    try:
        written = _run(write())
    except ArchiveError as exc:
        raise click.ClickException(str(exc)) from None
    if written is not None:
        click.echo(
            f"Wrote {count(written.pages, 'page')} to {directory} ({count(written.weeks, 'week')},"
            f" {count(written.discussions, 'discussion')}); open {directory / 'index.html'}"
        )


@main.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@db_option
@click.pass_context
def backup(ctx: click.Context, file: Path, db: str | None) -> None:
    """Copy the SQLite database to FILE, safely while threadcast runs (SQLite's online backup).

    Restore: stop threadcast and copy FILE over the database. For PostgreSQL use pg_dump.
    """
    from bot.redact import mask_url
    from threadcast.wiring import make_backup_store

    settings = _settings(ctx, **_db_override(db))
    store = make_backup_store(settings)
    if store is None:
        raise click.ClickException(
            f"{mask_url(settings.database_url)} is PostgreSQL: back it up with pg_dump"
            " (for example `pg_dump --format=custom --file=threadcast.dump DATABASE_URL`)."
        )
    if file.exists():
        raise click.ClickException(f"{file} exists already: choose a new file for the backup")
    if not file.parent.is_dir():
        raise click.ClickException(f"{file.parent} is not a folder: choose a file in an existing folder")
    if not Path(str(settings.sqlite_path)).is_file():
        raise click.ClickException(f"{settings.sqlite_path} does not exist: nothing to back up")

    async def copy() -> None:
        await store.open()
        try:
            await store.backup(file)
        finally:
            await store.close()

    try:
        _run(copy())
    except (OSError, sqlite3.Error) as exc:  # e.g. a folder we may not write in
        raise click.ClickException(f"cannot write the backup {file}: {exc}") from None
    click.echo(f"Backed up {settings.sqlite_path} to {file}; it passed its integrity check.")


@main.command("migrate-db")
@click.option(
    "--from",
    "source_url",
    required=True,
    metavar="URL",
    help="Copy from: sqlite:///file.db or postgresql://…",
)
@click.option(
    "--to",
    "target_url",
    required=True,
    metavar="URL",
    help="Copy into this empty database (its schema is created).",
)
def migrate_db(source_url: str, target_url: str) -> None:
    """Copy every table from one database to another, ids kept, and compare row counts.

    Stop threadcast first: replies written during the copy could be missed.
    """
    from bot.redact import mask_url
    from storage import store_for_url
    from storage.copy import TableCount, TargetNotEmpty, copy_tables, plan_copy

    shown_from, shown_to = mask_url(source_url), mask_url(target_url)
    if source_url == target_url:
        raise click.ClickException("--from and --to name the same database")
    if source_url.startswith("sqlite:///") and not Path(source_url.removeprefix("sqlite:///")).is_file():
        raise click.ClickException(f"{shown_from} does not exist: nothing to copy")
    try:
        source, target = store_for_url(source_url), store_for_url(target_url)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None

    async def migrate() -> list[TableCount]:
        await source.open()
        try:
            await target.open()
            try:
                try:
                    planned = await plan_copy(source, target)
                except TargetNotEmpty as exc:
                    raise click.ClickException(f"{shown_to}: {exc}") from None
                with click.progressbar(length=sum(planned.values()), label="Copying rows") as bar:
                    return await copy_tables(source, target, progress=bar.update)
            finally:
                await target.close()
        finally:
            await source.close()

    counts = _run(migrate())
    if counts is None:
        return
    width = max(len(c.table) for c in counts)
    click.echo(f"{'table':<{width}}  {'from':>9}  {'to':>9}")
    for c in counts:
        click.echo(f"{c.table:<{width}}  {c.source:>9}  {c.target:>9}{'' if c.matches else '  differs'}")
    if not all(c.matches for c in counts):
        raise click.ClickException(
            "the row counts differ: did threadcast write to the source during the copy?"
            " Empty the target and copy again with threadcast stopped."
        )
    total = sum(c.target for c in counts)
    click.echo(f"Copied {total} rows from {shown_from} to {shown_to}; every count matches.")


# -- feeds: OPML import and export ----------------------------------------------------------


def _community(value: str) -> Community:
    from bot.models import Community

    platform, sep, ident = value.partition(":")
    if not sep or not platform or not ident:
        raise click.BadParameter(
            f"{value!r} is not PLATFORM:ID (console:local, discord:<server id>, slack:<team id>)",
            param_hint="--community",
        )
    return Community(platform, ident)


community_option = click.option(
    "--community", default="console:local", show_default=True, metavar="PLATFORM:ID",
    help="Whose feeds: console:local, discord:<server id> or slack:<team id>.",
)  # fmt: skip


@main.group()
def feeds() -> None:
    """Subscriptions in bulk: OPML import and export."""


@feeds.command("import")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.argument("channel", required=False, default="general")
@community_option
@db_option
@click.pass_context
def feeds_import(ctx: click.Context, file: Path, channel: str, community: str, db: str | None) -> None:
    """Subscribe CHANNEL (default general) to every feed of the OPML FILE.

    Each feed is fetched first (a few at a time); one that cannot be read is reported, not
    subscribed. Nothing is posted: the feeds' current items are remembered as seen."""
    from bot.commands.feed_io import import_report_lines
    from bot.i18n import english
    from bot.sources.opml import MAX_OPML_BYTES, OpmlError, parse_opml
    from bot.subscriptions import Outcome, import_feeds
    from threadcast.wiring import runtime

    where = _community(community)
    channel = channel.lstrip("#")
    try:
        if file.stat().st_size > MAX_OPML_BYTES:
            raise OpmlError(f"it is larger than {MAX_OPML_BYTES // (1024 * 1024)} MB")
        document = parse_opml(file.read_bytes())
    except OpmlError as exc:
        raise click.ClickException(f"cannot import {file}: {exc}") from None
    except OSError as exc:
        raise click.ClickException(f"cannot read {file}: {exc.strerror}") from None
    if not document.feeds:
        raise click.ClickException(f"{file} lists no feeds (no outline has an xmlUrl)")
    settings = _settings(ctx, **_db_override(db))

    async def run() -> tuple[list[str], bool]:
        async with runtime(settings, _reading_clock(settings)) as rt:
            s = rt.services
            report = await import_feeds(
                s.store, s.poller, s.clock, where, channel, document.feeds,
                interval_seconds=settings.poll_interval,
            )  # fmt: skip
        lines = [f"Imported {file} into #{channel} of {where.key}.", *import_report_lines(report, english())]
        return lines, not report.of(Outcome.ADDED) and bool(report.of(Outcome.REFUSED))

    lines, failed = _run(run()) or ([], True)
    click.echo("\n".join(lines))
    if failed:
        sys.exit(1)


@feeds.command("export")
@community_option
@click.option(
    "--output", "-o", type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="File to write (default: stdout).",
)  # fmt: skip
@click.option(
    "--include-secrets", is_flag=True,
    help="Write passwords and tokens in feed addresses as they are (default: masked as ****).",
)  # fmt: skip
@db_option
@click.pass_context
def feeds_export(
    ctx: click.Context, community: str, output: Path | None, include_secrets: bool, db: str | None
) -> None:
    """Write the community's feeds as OPML 2.0, one folder per channel."""
    from bot.subscriptions import Export, export_feeds
    from threadcast.wiring import make_store

    where = _community(community)
    settings = _existing_db(_settings(ctx, **_db_override(db)))
    clock = _reading_clock(settings)

    async def dump() -> Export:
        store = make_store(settings)
        await store.open()
        try:
            listed = await store.list_feeds(where)
        finally:
            await store.close()
        return export_feeds(listed, where, now=clock.now(), include_secrets=include_secrets)

    exported = _run(dump())
    if exported is None:
        return
    if output:
        try:
            output.write_bytes(exported.opml)
        except OSError as exc:
            raise click.ClickException(f"cannot write {output}: {exc.strerror}") from None
        click.echo(f"wrote {exported.feeds} feeds of {exported.channels} channels to {output}", err=True)
    else:
        click.echo(exported.opml.decode("utf-8"), nl=False)
    if exported.masked:
        click.echo(
            f"warning: {exported.masked} feed addresses hold a password or token; they are written"
            " masked (****). Use --include-secrets to write them as they are.",
            err=True,
        )
    elif exported.secrets:
        click.echo(
            f"warning: {exported.secrets} feed addresses hold a password or token, written as they are:"
            " keep the file private.",
            err=True,
        )


def entry() -> None:
    """The console script: `main`, quiet when its reader goes away (`threadcast demo | head`)."""
    try:
        main()
    except BrokenPipeError:
        # Point stdout at nothing so the interpreter's final flush cannot fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
