"""Slash-command descriptions in our catalogs' languages, as the fake Discord receives them.

The real discord.py syncs the command tree through its `Translator` (adapters/discord/commands.py)
to the fake Discord on 127.0.0.1; these tests read the synced payload (PUT …/commands).
"""

from __future__ import annotations

from typing import Any

from bot.i18n import Languages
from tests.test_discord_e2e import Bot, bot  # noqa: F401 (the fixture)

Json = dict[str, Any]
LOCALES = {"de": "de", "fr": "fr", "es-ES": "es", "pt-BR": "pt"}


async def synced(bot: Bot) -> dict[tuple[str, int], Json]:  # noqa: F811
    fake = bot.fake
    await bot.start()
    (put,) = fake.requests_to("PUT", f"/applications/{fake.app_id}/guilds/{fake.guild_id}/commands")
    return {(c["name"], c.get("type", 1)): c for c in put.json}


def every_description(node: Json) -> list[Json]:
    """The command, its subcommands and their options: everything with a description."""
    found = [node]
    for option in node.get("options", []):
        if "description" in option:
            found += every_description(option)
    return found


async def test_commands_and_options_carry_descriptions_in_our_languages(bot: Bot) -> None:  # noqa: F811
    commands = await synced(bot)
    languages = Languages()
    digest = commands[("digest", 1)]
    assert digest["description"] == "threadcast digest commands"
    assert digest["description_localizations"]["de"] == "threadcast-Befehle: digest"
    style = next(o for o in digest["options"] if o["name"] == "style")
    assert style["description"] == "compact (top discussions, one message) or full detail"
    for locale, language in LOCALES.items():
        words = languages.words(language)
        assert style["description_localizations"][locale] == words.gettext(style["description"])
    option = next(o for o in style["options"] if o["name"] == "style")
    assert [c["value"] for c in option["choices"]] == ["compact", "full"]
    assert option["description_localizations"]["pt-BR"] == "compact (compacto) ou full (completo)"
    language = next(o for o in digest["options"] if o["name"] == "language")
    assert language["description_localizations"]["fr"].startswith("la langue des digests")


async def test_every_description_is_localised_within_discords_limits(bot: Bot) -> None:  # noqa: F811
    commands = await synced(bot)
    checked = 0
    for (name, kind), command in commands.items():
        if kind != 1:  # context menus have names only
            assert not command.get("name_localizations"), name
            continue
        for node in every_description(command):
            localised = node.get("description_localizations") or {}
            assert set(localised) == set(LOCALES), (node["name"], localised)
            for locale, text in localised.items():
                assert 1 <= len(text) <= 100, (node["name"], locale, text)
                assert not text.endswith("…"), (node["name"], locale, text)  # written to fit, not cut
                assert text != node["description"], (node["name"], locale)
            assert not node.get("name_localizations"), node["name"]  # names are typed as in English
            checked += 1
    assert checked > 50
