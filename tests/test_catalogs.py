"""The message catalogs: complete, faithful to their placeholders, and loadable.

When one of these fails after new messages were written: run `python -m bot.catalogs`
(it updates every catalog and lists what needs translating), translate the listed
messages in bot/locale/<language>/LC_MESSAGES/threadcast.po, run it again.
"""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message

from bot import catalogs
from bot.i18n import CATALOGS, LANGUAGES, Languages

TRANSLATED = catalogs.TRANSLATED
HOW = "run `python -m bot.catalogs` and translate what it lists"


@pytest.fixture(scope="module")
def template() -> Catalog:
    return catalogs.extract()


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def _forms(message: Message) -> tuple[str, ...]:
    """The translated forms; none when the message has no translation (`string` is None)."""
    if message.string is None:
        return ()
    return tuple(message.string) if isinstance(message.string, tuple | list) else (message.string,)


def _ids(message: Message) -> tuple[str, ...]:
    return tuple(message.id) if isinstance(message.id, tuple | list) else (message.id,)


def _marked_in_code() -> dict[str, str]:
    """Every literal first argument of gettext, ngettext and N_ in bot/ and adapters/, with
    where it is: what the extractor must find (it misses calls nested in some expressions)."""
    found: dict[str, str] = {}
    for source in catalogs.SOURCES:
        for path in sorted((catalogs.ROOT / source).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call) or not node.args:
                    continue
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
                first = node.args[0]
                if (
                    name in catalogs.KEYWORDS
                    and isinstance(first, ast.Constant)
                    and isinstance(first.value, str)
                ):
                    found.setdefault(first.value, f"{path.relative_to(catalogs.ROOT)}:{node.lineno}")
    return found


def test_the_extractor_finds_every_marked_message(template: Catalog) -> None:
    extracted = {_ids(m)[0] for m in template if m.id}
    missed = {text: where for text, where in _marked_in_code().items() if text not in extracted}
    assert not missed, f"marked but not extracted (write the call on its own line): {missed}"
    assert len(extracted) > 100


def test_every_language_has_a_catalog() -> None:
    assert set(TRANSLATED) == set(LANGUAGES) - {"en"}
    for language in TRANSLATED:
        assert catalogs.po_path(language).is_file(), language
    assert (CATALOGS / "threadcast.pot").is_file()


def test_no_message_is_missing_untranslated_or_fuzzy(template: Catalog) -> None:
    gaps = catalogs.gaps(template)
    assert not gaps, f"{HOW}:\n" + catalogs.report(gaps, sum(1 for m in template if m.id))


@pytest.mark.parametrize("language", TRANSLATED)
def test_placeholders_are_the_same_in_every_translation(language: str) -> None:
    catalog = catalogs.read_catalog(catalogs.po_path(language), language)
    wrong = []
    for message in catalog:
        if not message.id or not message.string:
            continue
        ids, forms = _ids(message), _forms(message)
        for index, form in enumerate(forms):
            source = ids[0] if index == 0 else ids[-1]  # the first form is the singular's
            if form and _placeholders(form) != _placeholders(source):
                wrong.append((source, form))
    assert not wrong, wrong


@pytest.mark.parametrize("language", TRANSLATED)
def test_backticked_commands_stay_as_typed(language: str) -> None:
    """`digest schedule …` is what a moderator types: a translation keeps it word for word."""
    catalog = catalogs.read_catalog(catalogs.po_path(language), language)
    for message in catalog:
        if not message.id or not message.string:
            continue
        for source, form in zip(_ids(message) * 3, _forms(message), strict=False):
            assert re.findall(r"`[^`]*`", form) == re.findall(r"`[^`]*`", source), (source, form)


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("de", "Noch keine Feeds"),
        ("fr", "Pas encore de flux"),
        ("es", "Aún no hay feeds"),
        ("pt", "Ainda não há feeds"),
    ],
)
def test_each_catalog_compiles_and_is_used(language: str, expected: str) -> None:
    words = Languages().words(language)
    assert words.language == language
    assert words.gettext("No feeds yet. Add one with `feed add <url> [#channel]`.").startswith(expected)
    one = words.ngettext("{n} reply", "{n} replies", 1)
    many = words.ngettext("{n} reply", "{n} replies", 1200)
    assert one.startswith("1 ") and one != many
    assert "1" in many and "200" in many  # the number written for the locale (1.200, 1 200)


def test_the_tool_updates_a_copy_of_the_catalogs_and_lists_what_is_new(
    tmp_path: Path, template: Catalog
) -> None:
    """A new message reaches every catalog empty and is listed by name; nothing else changes."""
    for language in TRANSLATED:
        target = catalogs.po_path(language, tmp_path)
        target.parent.mkdir(parents=True)
        target.write_bytes(catalogs.po_path(language).read_bytes())
    grown = catalogs.extract()
    grown.add("A brand new heading for {week}", locations=[("bot/digest.py", 1)])

    catalogs.update(grown, tmp_path)

    assert (tmp_path / "threadcast.pot").is_file()
    gaps = catalogs.gaps(grown, tmp_path)
    assert {(g.language, g.msgid) for g in gaps} == {
        (lang, "A brand new heading for {week}") for lang in TRANSLATED
    }
    assert "[untranslated] 'A brand new heading for {week}'" in catalogs.report(gaps, len(grown))
    before = catalogs.read_catalog(catalogs.po_path("de"), "de")
    after = catalogs.read_catalog(catalogs.po_path("de", tmp_path), "de")
    kept, was = after.get("Feeds:"), before.get("Feeds:")
    assert kept is not None and was is not None
    assert kept.string == was.string


def test_the_check_mode_writes_nothing_and_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    before = {p: p.read_bytes() for p in CATALOGS.rglob("*.po*")}
    assert catalogs.main(["--check"]) == 0
    assert {p: p.read_bytes() for p in CATALOGS.rglob("*.po*")} == before
    out = capsys.readouterr().out
    assert all(f"{language}: complete" in out for language in TRANSLATED)
