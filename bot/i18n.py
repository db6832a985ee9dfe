"""The bot's fixed words in the community's language: gettext catalogs read with Babel.

Every sentence the bot writes itself (digest headings, figures, command answers) goes
through `Words.gettext` / `Words.ngettext`, so `pybabel extract` finds it
(`python -m bot.catalogs` refreshes the catalogs). Catalogs are the `.po` files in
`bot/locale/<language>/LC_MESSAGES/threadcast.po`, compiled in memory when a language
is first used: there is no `.mo` file to forget to rebuild.

Placeholders are named and written `{name}`; numbers passed to them are formatted for
the locale (`Words.number`) by the caller when they should be.
"""

from __future__ import annotations

import asyncio
import gettext
import io
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from babel import Locale

    from bot.models import Community, CommunitySettings

# Babel is imported where it formats or reads a catalog (loaded once, then a dict lookup):
# a command that writes no number or date does not load it.

_log = logging.getLogger(__name__)

DOMAIN = "threadcast"
DEFAULT_LANGUAGE = "en"
LANGUAGES: Mapping[str, str] = MappingProxyType(
    {
        "en": "English",
        "de": "Deutsch",
        "fr": "Français",
        "es": "Español",
        "pt": "Português",
    }
)
CATALOGS = Path(__file__).parent / "locale"


def N_(message: str) -> str:
    """Mark a message for the catalogs where it is written, to be translated where it is
    shown (`Words.gettext(message, ...)`): help lines, option descriptions, usage problems."""
    return message


def language_code(value: str) -> str | None:
    """The supported language a user means by `value` ("de", "DE", "de_AT", "pt-BR",
    "Deutsch"), or None."""
    text = value.strip().lower().replace("-", "_")
    base = text.split("_", 1)[0]
    if base in LANGUAGES:
        return base
    for code, name in LANGUAGES.items():
        if text == name.lower():
            return code
    return None


@dataclass(frozen=True, slots=True)
class Words:
    """The fixed words of one language, with its number and date formats."""

    language: str
    translations: gettext.NullTranslations = field(repr=False)

    @property
    def locale(self) -> Locale:
        from babel import Locale

        return Locale.parse(self.language)

    def gettext(self, message: str, /, **values: object) -> str:
        text = self.translations.gettext(message)
        return text.format(**values) if values else text

    def ngettext(self, singular: str, plural: str, n: int, /, **values: object) -> str:
        """The form for `n`; `{n}` in the text is `n` written for the locale."""
        text = self.translations.ngettext(singular, plural, n)
        return text.format(n=self.number(n), **values)

    def number(self, n: float) -> str:
        from babel.numbers import format_decimal

        return format_decimal(n, locale=self.language)

    def decimal(self, n: float) -> str:
        """`n` with exactly one decimal, as the locale writes it ("2.5", "2,5")."""
        from babel.numbers import format_decimal

        return format_decimal(n, "#,##0.0", locale=self.language)

    def weekday(self, index: int) -> str:
        """The weekday's name (0 = Monday), as the locale writes it."""
        return str(self.locale.days["format"]["wide"][index])

    def percent(self, fraction: float) -> str:
        from babel.numbers import format_percent

        return format_percent(fraction, locale=self.language)

    def date(self, day: date, form: str = "medium") -> str:
        from babel.dates import format_date

        return format_date(day, form, locale=self.language)

    def datetime(self, moment: datetime, form: str = "medium") -> str:
        """`moment` as the locale writes it, in the moment's own timezone."""
        from babel.dates import format_datetime

        return format_datetime(moment, form, tzinfo=moment.tzinfo, locale=self.language)


def english() -> Words:
    """The source language, which needs no catalog."""
    return Words(DEFAULT_LANGUAGE, gettext.NullTranslations())


class Languages:
    """The catalogs, each read once when first asked for. Built by the composition root
    and passed in (no module-level cache)."""

    def __init__(self, directory: Path = CATALOGS) -> None:
        self._directory = directory
        self._loaded: dict[str, Words] = {}

    def words(self, language: str | None) -> Words:
        code = language_code(language or DEFAULT_LANGUAGE) or DEFAULT_LANGUAGE
        found = self._loaded.get(code)
        if found is None:
            found = self._loaded[code] = Words(code, self._translations(code))
        return found

    async def words_async(self, language: str | None) -> Words:
        """`words`, reading a catalog not read yet in a worker thread (off the event loop)."""
        code = language_code(language or DEFAULT_LANGUAGE) or DEFAULT_LANGUAGE
        found = self._loaded.get(code)
        return found if found is not None else await asyncio.to_thread(self.words, code)

    def _translations(self, code: str) -> gettext.NullTranslations:
        path = self._directory / code / "LC_MESSAGES" / f"{DOMAIN}.po"
        if code == DEFAULT_LANGUAGE or not path.exists():
            if code != DEFAULT_LANGUAGE:
                _log.warning("no catalog for language %s: using English", code)
            return gettext.NullTranslations()
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        with path.open("rb") as po:
            catalog = read_po(po, locale=code, domain=DOMAIN)
        compiled = io.BytesIO()
        write_mo(compiled, catalog, use_fuzzy=False)
        compiled.seek(0)
        return gettext.GNUTranslations(compiled)


class _SettingsSource(Protocol):
    async def get_community_settings(self, community: Community) -> CommunitySettings: ...


class CommunityWords:
    """Each community's words: the language it chose (`digest language`), else the
    operator's default (THREADCAST_LANGUAGE), else English."""

    def __init__(self, languages: Languages, store: _SettingsSource, default: str = DEFAULT_LANGUAGE) -> None:
        self.languages = languages
        self._store = store
        self.default = language_code(default) or DEFAULT_LANGUAGE

    async def language(self, community: Community) -> str:
        settings = await self._store.get_community_settings(community)
        return language_code(settings.language or "") or self.default

    async def words(self, community: Community) -> Words:
        return await self.languages.words_async(await self.language(community))
