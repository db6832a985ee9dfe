"""`threadcast` on the command line (also `python -m bot`)."""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import sys
import tempfile
from collections.abc import AsyncIterator, Coroutine, Iterable
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

import click

from bot.config import ConfigError, Settings, describe, load_env, settings_from
from bot.store import StoreError

T = TypeVar("T")

_log = logging.getLogger(__name__)

DISCORD_PERMISSIONS = MappingProxyType(
    {
        "View Channel": 1 << 10,
        "Send Messages": 1 << 11,
        "Send Messages in Threads": 1 << 38,
        "Create Public Threads": 1 << 35,
        "Embed Links": 1 << 14,
        "Read Message History": 1 << 16,
        "Add Reactions": 1 << 6,
    }
)


def _settings(ctx: click.Context, **overrides: str) -> Settings:
    env = load_env(ctx.obj["env_file"])
    env.update({k: v for k, v in overrides.items() if v})
    try:
        settings = settings_from(env)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    logging.basicConfig(
        level=settings.log_level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    return settings


def _run(coro: Coroutine[Any, Any, T]) -> T | None:
    try:
        return asyncio.run(coro)
    except KeyboardInterrupt:
        click.echo("stopped", err=True)
        return None
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None


async def _lines(lines: Iterable[str]) -> AsyncIterator[str]:
    for line in lines:
        yield line


def _db_override(db: str | None) -> dict[str, str]:
    return {"THREADCAST_DATABASE_URL": f"sqlite:///{db}"} if db else {}


db_option = click.option(
    "--db", type=click.Path(dir_okay=False), help="SQLite file (overrides THREADCAST_DATABASE_URL)."
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--env-file", default=".env", show_default=True, help="File with settings (python-dotenv format)."
)
@click.version_option(package_name="threadcast")
@click.pass_context
def main(ctx: click.Context, env_file: str) -> None:
    """threadcast: articles into community conversations, and a weekly digest of them."""
    ctx.obj = {"env_file": env_file}


@main.command()
@click.pass_context
def run(ctx: click.Context) -> None:
    """Start every configured platform over one store."""
    from adapters.discord.platform import DiscordStartError
    from adapters.slack.platform import SlackStartError
    from bot.wiring import run_platforms

    settings = _settings(ctx)
    if not settings.platforms:
        raise click.ClickException(
            "No platform is configured: set DISCORD_TOKEN, or SLACK_BOT_TOKEN with SLACK_APP_TOKEN or"
            " SLACK_SIGNING_SECRET (see .env.example).\nTo try threadcast without accounts, run"
            " `threadcast console` or `threadcast demo`."
        )
    try:
        _run(run_platforms(settings))
    except (DiscordStartError, SlackStartError) as exc:
        raise click.ClickException(str(exc)) from None


@main.command()
@db_option
@click.option("--script", type=click.File("r", encoding="utf-8"), help="Read console lines from this file.")
@click.pass_context
def console(ctx: click.Context, db: str | None, script: Any) -> None:
    """The bot on a local console platform. Reads a script from stdin when it is not a terminal."""
    from bot.wiring import run_console

    settings = _settings(ctx, **_db_override(db))
    interactive = script is None and sys.stdin.isatty()
    lines = _lines(script) if script is not None else None
    _run(run_console(settings, lines, sys.stdout, interactive=interactive))


@main.command()
@click.pass_context
def demo(ctx: click.Context) -> None:
    """Show the whole job with no accounts: an article, replies, a digest."""
    from bot.wiring import run_console

    demo_files = resources.files("bot").joinpath("demo")
    article = demo_files.joinpath("article.txt").read_text(encoding="utf-8")
    script = demo_files.joinpath("script.txt").read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="threadcast-demo-") as tmp:
        article_path = Path(tmp) / "marrowby-garden.txt"
        article_path.write_text(article, encoding="utf-8")
        settings = _settings(
            ctx, THREADCAST_DATABASE_URL=f"sqlite:///{tmp}/demo.db", THREADCAST_LOG_LEVEL="WARNING"
        )
        lines = script.replace("{article}", str(article_path)).splitlines(keepends=True)
        _run(run_console(settings, _lines(lines), sys.stdout, interactive=False))


@main.command()
@click.argument("article")
@click.option("--channel", default="general", show_default=True, help="Console channel to post in.")
@click.option("--prompt", help="Prompt for this post ({title}, {url}, {source}).")
@db_option
@click.pass_context
def post(ctx: click.Context, article: str, channel: str, prompt: str | None, db: str | None) -> None:
    """Post one article (a file or a URL) on the console platform now."""
    from bot.wiring import run_console_command

    settings = _settings(ctx, **_db_override(db))
    options: dict[str, object] = {"article": article, "channel": channel.lstrip("#")}
    if prompt:
        options["prompt"] = prompt
    if not _run(run_console_command(settings, ("post",), options, sys.stdout)):
        sys.exit(1)


@main.command()
@click.option("--preview", "mode", flag_value="preview", default=True, help="Show the digest (default).")
@click.option("--markdown", "mode", flag_value="markdown", help="Print the digest as Markdown only.")
@db_option
@click.pass_context
def digest(ctx: click.Context, mode: str, db: str | None) -> None:
    """Show the digest the console community would get now."""
    from adapters.console.clock import ConsoleClock
    from adapters.console.platform import COMMUNITY
    from bot.markdown import render
    from bot.wiring import runtime

    settings = _settings(ctx, **_db_override(db))

    async def show() -> None:
        async with runtime(settings, ConsoleClock()) as rt:
            built, schedules = await rt.services.digests.current(COMMUNITY)
            if mode == "preview":
                where = ", ".join("#" + s.channel_id for s in schedules) or "(no digest channel yet)"
                click.echo(f"Digest preview for {where}:\n")
            click.echo(render(built), nl=False)

    _run(show())


@main.command()
@click.pass_context
def check(ctx: click.Context) -> None:
    """Validate the configuration and say what each platform needs."""
    settings = _settings(ctx)
    click.echo("Configuration is valid. Effective settings (secrets masked):")
    for name, value in describe(settings):
        click.echo(f"  {name} = {value}")
    click.echo(f"\nPlatforms configured: {', '.join(settings.platforms) or 'none (console only)'}")
    permissions = sum(DISCORD_PERMISSIONS.values())
    app_id = _discord_app_id(settings.discord_token) or "<your application id>"
    click.echo(
        "\nDiscord: invite the bot with\n"
        f"  https://discord.com/oauth2/authorize?client_id={app_id}&scope=bot+applications.commands"
        f"&permissions={permissions}\n"
        f"  permissions: {', '.join(DISCORD_PERMISSIONS)}\n"
        "  intents: enable MESSAGE CONTENT (privileged) under Bot → Privileged Gateway Intents;"
        " guilds, guild messages and reactions are standard."
    )
    click.echo(
        "\nSlack: bot scopes chat:write, commands, channels:history, groups:history, reactions:read,"
        " users:read; events message.channels, message.groups, reaction_added, reaction_removed;"
        " Socket Mode needs an app-level token with connections:write."
    )


def _discord_app_id(token: str) -> str | None:
    """A bot token starts with the bot's id in base64; for bots that id is the application's."""
    head = token.split(".", 1)[0]
    try:
        decoded = base64.b64decode(head + "=" * (-len(head) % 4)).decode()
    except ValueError:
        return None
    return decoded if decoded.isdigit() else None


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
    from bot.wiring import make_store

    settings = _settings(ctx, **_db_override(db))

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


def entry() -> None:
    """The console script: `main`, quiet when its reader goes away (`threadcast demo | head`)."""
    try:
        main()
    except BrokenPipeError:
        # Point stdout at nothing so the interpreter's final flush cannot fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
