"""Refresh the message catalogs: `python -m bot.catalogs [--check]`.

A maintainer's tool, never imported by the running bot. It extracts every fixed message
from `bot/` and `adapters/` with Babel's Python extractor (keywords `gettext`,
`ngettext:1,2` and the marker `N_`, see `bot.i18n.N_`), writes the template
`bot/locale/threadcast.pot`, and updates each `bot/locale/<language>/LC_MESSAGES/threadcast.po`
with `Catalog.update`: new messages arrive empty (or fuzzy, when Babel finds a close old
one), messages no longer in the code are dropped. Then it lists what still needs a
translator: per language, every message that is untranslated or fuzzy. With `--check` it
writes nothing and exits 1 when the catalogs are not complete (what CI and
tests/test_catalogs.py ask).
"""

from __future__ import annotations

import argparse
import io
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from bot.i18n import CATALOGS, DEFAULT_LANGUAGE, DOMAIN, LANGUAGES

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("bot", "adapters")
KEYWORDS: Mapping[str, tuple[int, ...] | None] = MappingProxyType(
    {"gettext": None, "ngettext": (1, 2), "N_": None}
)
TEMPLATE = CATALOGS / f"{DOMAIN}.pot"
TRANSLATED = tuple(code for code in LANGUAGES if code != DEFAULT_LANGUAGE)
PROJECT = "threadcast"


def po_path(language: str, directory: Path = CATALOGS) -> Path:
    return directory / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def extract(root: Path = ROOT, sources: Sequence[str] = SOURCES) -> Catalog:
    """Every message the code marks, with where it is written."""
    template = Catalog(project=PROJECT, domain=DOMAIN, charset="utf-8")
    for source in sources:
        folder = root / source
        for filename, lineno, message, comments, context in extract_from_dir(
            folder, [("**.py", "python")], keywords=KEYWORDS, comment_tags=("Translators:",)
        ):
            template.add(
                message,
                locations=[(f"{source}/{filename}", lineno)],
                auto_comments=comments,
                context=context,
            )
    return template


def read_catalog(path: Path, language: str) -> Catalog:
    with path.open("rb") as po:
        return read_po(po, locale=language, domain=DOMAIN)


def _write(path: Path, catalog: Catalog) -> None:
    buffer = io.BytesIO()
    write_po(buffer, catalog, width=100, ignore_obsolete=True, sort_output=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())


def update(template: Catalog, directory: Path = CATALOGS, languages: Iterable[str] = TRANSLATED) -> None:
    """Write the template and bring every language's catalog up to it."""
    _write(directory / f"{DOMAIN}.pot", template)
    for language in languages:
        path = po_path(language, directory)
        if path.exists():
            catalog = read_catalog(path, language)
        else:
            catalog = Catalog(locale=language, project=PROJECT, domain=DOMAIN, charset="utf-8")
        catalog.update(template)
        _write(path, catalog)


@dataclass(frozen=True, slots=True)
class Gap:
    language: str
    msgid: str
    problem: str  # "missing", "untranslated" or "fuzzy"


def _translated(message: Message) -> bool:
    if isinstance(message.string, tuple | list):
        return all(message.string)
    return bool(message.string)


def gaps(template: Catalog, directory: Path = CATALOGS, languages: Iterable[str] = TRANSLATED) -> list[Gap]:
    """Every message of the template that some language's catalog lacks a finished translation of."""
    found: list[Gap] = []
    for language in languages:
        path = po_path(language, directory)
        catalog = read_catalog(path, language) if path.exists() else Catalog(locale=language)
        for wanted in template:
            if not wanted.id:
                continue
            msgid = wanted.id[0] if isinstance(wanted.id, tuple | list) else wanted.id
            message = catalog.get(wanted.id, context=wanted.context)
            if message is None:
                found.append(Gap(language, msgid, "missing"))
            elif message.fuzzy:
                found.append(Gap(language, msgid, "fuzzy"))
            elif not _translated(message):
                found.append(Gap(language, msgid, "untranslated"))
    return found


def report(found: Sequence[Gap], total: int) -> str:
    lines = [f"{total} messages in the template"]
    for language in TRANSLATED:
        mine = [g for g in found if g.language == language]
        lines.append(f"{language}: {'complete' if not mine else f'{len(mine)} to translate'}")
        lines += [f"  [{g.problem}] {g.msgid!r}" for g in mine]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.catalogs", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if a catalog is incomplete"
    )
    args = parser.parse_args(argv)
    template = extract()
    if not args.check:
        update(template)
    found = gaps(template)
    total = sum(1 for m in template if m.id)
    print(report(found, total))
    if found:
        print(
            f"Translate the messages above in {po_path('<language>').relative_to(ROOT)}"
            " (and drop each '#, fuzzy' mark once its text is right).",
        )
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
