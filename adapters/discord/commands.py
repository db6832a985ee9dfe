"""The core's command table as Discord slash commands and message context menus.

Each registry command becomes an app command whose parameters are the
command's typed options; the callback turns them back into a
`CommandInvoked` and shows the `Answer`. Moderator commands are hidden by
default permissions, and checked again for every call (Discord lets server
admins change who sees a command).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import zoneinfo
from collections.abc import Awaitable, Callable
from typing import Any, Literal

import discord
from discord import app_commands

from bot.commands.registry import WEEKDAYS, Command, CommandRegistry, Kind, Option
from bot.i18n import N_, Languages

_log = logging.getLogger(__name__)

Invoke = Callable[[discord.Interaction, tuple[str, ...], dict[str, object]], Awaitable[None]]
MODERATOR_PERMISSIONS = discord.Permissions(manage_guild=True)
CONTEXT_MENUS = (("Feature in digest", ("reply", "feature")), ("Hide from digest", ("reply", "hide")))

# Discord's locales that have a catalog of ours; Discord shows the English text to the others.
DISCORD_LOCALES = {
    discord.Locale.german: "de",
    discord.Locale.french: "fr",
    discord.Locale.spain_spanish: "es",
    discord.Locale.brazil_portuguese: "pt",
}
DESCRIPTION_LIMIT = 100  # Discord's limit on command and option descriptions
GROUP_DESCRIPTION = N_("threadcast {group} commands")
_TRANSLATED = (
    app_commands.TranslationContextLocation.command_description,
    app_commands.TranslationContextLocation.group_description,
    app_commands.TranslationContextLocation.parameter_description,
)

Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
assert Weekday.__args__ == WEEKDAYS  # type: ignore[attr-defined]  # the two lists must agree


def _description(text: str, **values: str) -> app_commands.locale_str:
    """A description Discord shows (cut to its limit), with the English msgid it came from."""
    shown = text.format(**values) if values else text
    return app_commands.locale_str(shown[:DESCRIPTION_LIMIT] or "-", msgid=text, **values)


def _cut(text: str, limit: int = DESCRIPTION_LIMIT) -> str:
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:") + "…"


class CatalogTranslator(app_commands.Translator):
    """Command, group and option descriptions in the languages we have catalogs for
    (`description_localizations` in the synced payload). Names stay as typed everywhere."""

    def __init__(self, languages: Languages) -> None:
        self._languages = languages

    async def translate(
        self,
        string: app_commands.locale_str,
        locale: discord.Locale,
        context: app_commands.TranslationContextTypes,
    ) -> str | None:
        language = DISCORD_LOCALES.get(locale)
        if language is None or context.location not in _TRANSLATED:
            return None
        msgid = str(string.extras.get("msgid", string.message))
        values = {k: v for k, v in string.extras.items() if k != "msgid"}
        words = await self._languages.words_async(language)
        text = words.gettext(msgid, **values)
        english = msgid.format(**values) if values else msgid
        return None if text == english else _cut(text)


async def use_catalogs(tree: app_commands.CommandTree[Any], registry: CommandRegistry) -> None:
    """Let `tree.sync` send our catalogs' descriptions (set once, before the first sync)."""
    if tree.translator is None:
        await tree.set_translator(CatalogTranslator(registry.languages))


def _annotation(option: Option) -> Any:
    if option.choices:
        return Literal[option.choices]  # Discord offers them as choices
    if option.kind is Kind.INTEGER:
        low = option.minimum if option.minimum is not None else -(2**53)
        high = option.maximum if option.maximum is not None else 2**53
        return app_commands.Range[int, low, high]
    if option.kind is Kind.CHANNEL:
        # Not resolved through discord.py's cache: a channel it has not seen still works.
        return app_commands.AppCommandChannel
    if option.kind is Kind.WEEKDAY:
        return Weekday
    return app_commands.Range[str, 1, min(option.max_length, 6000)]


def _value(option: Option, raw: object) -> object:
    if isinstance(raw, discord.abc.Snowflake) and option.kind is Kind.CHANNEL:
        return str(raw.id)
    return raw


def _callback(command: Command, invoke: Invoke) -> Callable[..., Awaitable[None]]:
    async def callback(interaction: discord.Interaction, **given: object) -> None:
        options = {o.name: _value(o, given[o.name]) for o in command.options if given.get(o.name) is not None}
        await invoke(interaction, command.path, options)

    parameters = [
        inspect.Parameter(
            "interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=discord.Interaction
        )
    ]
    for option in command.options:
        parameters.append(
            inspect.Parameter(
                option.name,
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                annotation=_annotation(option),
                default=inspect.Parameter.empty if option.required else None,
            )
        )
    # discord.py reads the options from the callback's signature.
    callback.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    callback.__discord_app_commands_param_description__ = {  # type: ignore[attr-defined]
        o.name: _description(o.help) for o in command.options
    }
    # Name and qualname equal: discord.py takes a dotted qualname for a method and skips a "self".
    callback.__name__ = callback.__qualname__ = "threadcast_" + "_".join(command.path).replace("-", "_")
    return callback


class TimezoneChoices:
    """Autocomplete for IANA timezone options: Discord shows at most 25 choices."""

    def __init__(self) -> None:
        self._names: list[str] | None = None

    async def suggest(self, interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
        if self._names is None:  # read from the tz database once, off the event loop
            self._names = await asyncio.to_thread(lambda: sorted(zoneinfo.available_timezones()))
        wanted = current.strip().lower().replace(" ", "_")
        found = [n for n in self._names if wanted in n.lower()] if wanted else ["UTC", *self._names]
        found.sort(key=lambda n: (not n.lower().startswith(wanted), len(n), n))
        return [app_commands.Choice(name=n, value=n) for n in found[:25]]


def build_tree(tree: app_commands.CommandTree[Any], registry: CommandRegistry, invoke: Invoke) -> None:
    """Add every registry command to `tree`: groups for two-word commands."""
    groups: dict[str, app_commands.Group] = {}
    zones = TimezoneChoices()
    for command in registry:
        permissions = MODERATOR_PERMISSIONS if command.moderator else None
        slash: app_commands.Command[Any, ..., None] = app_commands.Command(
            name=command.path[-1],
            description=_description(command.help),
            callback=_callback(command, invoke),  # type: ignore[arg-type]  # its signature is built at run time
        )
        for option in command.options:
            if option.kind is Kind.TIMEZONE:
                slash.autocomplete(option.name)(zones.suggest)
        if len(command.path) == 1:
            slash.default_permissions = permissions
            slash.guild_only = True
            tree.add_command(slash)
            continue
        # Groups for the words before the last: `feed filter add` is /feed filter add.
        parent: app_commands.Group | None = None
        for depth in range(1, len(command.path)):
            key = " ".join(command.path[:depth])
            group = groups.get(key)
            if group is None:
                description = _description(GROUP_DESCRIPTION, group=key)
                if parent is None:
                    group = app_commands.Group(
                        name=command.path[0], description=description, guild_only=True,
                        default_permissions=permissions,
                    )  # fmt: skip
                    tree.add_command(group)
                else:
                    group = app_commands.Group(name=command.path[depth - 1], description=description)
                    parent.add_command(group)
                groups[key] = group
            parent = group
        assert parent is not None
        parent.add_command(slash)
    for name, path in CONTEXT_MENUS:
        tree.add_command(_context_menu(name, path, invoke))


def _context_menu(name: str, path: tuple[str, ...], invoke: Invoke) -> app_commands.ContextMenu:
    async def callback(interaction: discord.Interaction, message: discord.Message) -> None:
        await invoke(interaction, path, {"message": str(message.id)})

    menu = app_commands.ContextMenu(name=name, callback=callback)
    menu.default_permissions = MODERATOR_PERMISSIONS
    menu.guild_only = True
    return menu
