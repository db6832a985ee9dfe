"""The README is the admin's guide: it names every setting, every command-line command and
every chat command there is, keeps the test command CI runs, and its links (and those in
docs/) lead somewhere."""

from __future__ import annotations

import re
from pathlib import Path

import click

from bot.config import VARIABLES
from tests.conftest import Harness
from threadcast.cli import main

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
LINK = re.compile(r"\]\(([^)\s]+)\)")


def _readme() -> str:
    return README.read_text(encoding="utf-8")


def _anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens."""
    found = set()
    for line in markdown.splitlines():
        heading = re.match(r"#{1,6} (.+)", line)
        if heading:
            words = re.sub(r"[^\w\- ]", "", heading[1].strip().lower())
            found.add(words.replace(" ", "-"))
    return found


def _outside_code(markdown: str) -> str:
    return re.sub(r"```.*?```", "", markdown, flags=re.DOTALL)


def test_the_readme_names_every_setting() -> None:
    readme = _readme()
    missing = [v.name for v in VARIABLES if f"`{v.name}`" not in readme]
    assert missing == []


def test_the_readme_names_every_command_line_command_with_its_options() -> None:
    readme = _readme()
    assert isinstance(main, click.Group)
    for name, command in main.commands.items():
        rows = [line for line in readme.splitlines() if line.startswith(f"| `threadcast {name}")]
        assert rows, f"threadcast {name} has no row in the README's command-line table"
        for param in command.params:
            if isinstance(param, click.Option) and param.name != "help":
                # An option's long name, or (for a flag with several) any one of its names.
                assert any(o in rows[0] for o in param.opts), f"threadcast {name}: {param.opts}"


async def test_the_readme_names_every_chat_command(harness: Harness) -> None:
    rows = [line.split(" | ")[0] for line in _readme().splitlines() if line.startswith("| `")]
    paths = [command.path for command in harness.app.commands]
    assert ("privacy", "forget-me") in paths  # the registry is the whole one
    missing = [
        " ".join(path)
        for path in paths
        if not any(all(re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", row) for w in path) for row in rows)
    ]
    assert missing == []


def test_the_readme_keeps_the_test_command_ci_runs() -> None:
    assert "pip install -e '.[test]' && pytest" in _readme()


def test_links_in_the_readme_and_docs_lead_to_files_and_headings_that_exist() -> None:
    pages = [README, *sorted((ROOT / "docs").glob("*.md"))]
    broken = []
    for page in pages:
        for target in LINK.findall(_outside_code(page.read_text(encoding="utf-8"))):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            path, _, anchor = target.partition("#")
            file = (page.parent / path).resolve() if path else page
            if not file.exists():
                broken.append(f"{page.name}: {target}")
            elif anchor and file.suffix == ".md" and anchor not in _anchors(file.read_text(encoding="utf-8")):
                broken.append(f"{page.name}: {target} (no such heading)")
    assert broken == []
