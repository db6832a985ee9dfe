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

import gettext
import io
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent

_log = logging.getLogger(__name__)

DOMAIN = "threadcast"
DEFAULT_LANGUAGE = "en"
LANGUAGES: Mapping[str, str] = {
    "en": "English",
    "de": "Deutsch",
    "fr": "Français",
    "es": "Español",
    "pt": "Português",
}
CATALOGS = Path(__file__).parent / "locale"


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
        return Locale.parse(self.language)

    def gettext(self, message: str, /, **values: object) -> str:
        text = self.translations.gettext(message)
        return text.format(**values) if values else text

    def ngettext(self, singular: str, plural: str, n: int, /, **values: object) -> str:
        """The form for `n`; `{n}` in the text is `n` written for the locale."""
        text = self.translations.ngettext(singular, plural, n)
        return text.format(n=self.number(n), **values)

    def number(self, n: float) -> str:
        return format_decimal(n, locale=self.language)

    def percent(self, fraction: float) -> str:
        return format_percent(fraction, locale=self.language)

    def date(self, day: date, form: str = "medium") -> str:
        return format_date(day, form, locale=self.language)

    def datetime(self, moment: datetime, form: str = "medium") -> str:
        """`moment` as the locale writes it, in the moment's own timezone."""
        return format_datetime(moment, form, tzinfo=moment.tzinfo, locale=self.language)


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

    def _translations(self, code: str) -> gettext.NullTranslations:
        path = self._directory / code / "LC_MESSAGES" / f"{DOMAIN}.po"
        if code == DEFAULT_LANGUAGE or not path.exists():
            if code != DEFAULT_LANGUAGE:
                _log.warning("no catalog for language %s: using English", code)
            return gettext.NullTranslations()
        with path.open("rb") as po:
            catalog = read_po(po, locale=code, domain=DOMAIN)
        compiled = io.BytesIO()
        write_mo(compiled, catalog, use_fuzzy=False)
        compiled.seek(0)
        return gettext.GNUTranslations(compiled)
