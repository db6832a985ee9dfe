"""The seams stay where DESIGN puts them: the core never imports a platform or a database."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN_IN_CORE = {"discord", "slack_bolt", "slack_sdk", "aiosqlite", "asyncpg"}
COMPOSITION_ROOT = "threadcast"  # the package that picks concrete platforms and stores
SHIM = "bot/__main__.py"  # `python -m bot`, kept working: it only calls the root's CLI


def imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def top(names: set[str]) -> set[str]:
    return {name.split(".")[0] for name in names}


def test_core_imports_no_platform_or_database_library() -> None:
    for path in sorted((ROOT / "bot").rglob("*.py")):
        bad = top(imports(path)) & FORBIDDEN_IN_CORE
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_no_core_module_imports_adapters_or_stores() -> None:
    """Anywhere in the module, inside functions too: the composition root does the wiring."""
    for path in sorted((ROOT / "bot").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        bad = top(imports(path)) & {"adapters", "storage"}
        assert not bad, f"{rel} imports {bad}; only {COMPOSITION_ROOT}/ may"


def test_the_core_does_not_import_the_composition_root() -> None:
    for path in sorted((ROOT / "bot").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel == SHIM:
            continue
        assert COMPOSITION_ROOT not in top(imports(path)), f"{rel} imports the composition root"
    shim = imports(ROOT / SHIM)
    assert shim == {f"{COMPOSITION_ROOT}.cli"}, f"{SHIM} should only hand over to the CLI, imports {shim}"


def test_the_composition_root_wires_adapters_and_stores() -> None:
    """The seam the tests above guard is where the wiring really is (not moved elsewhere)."""
    wired: set[str] = set()
    for path in sorted((ROOT / COMPOSITION_ROOT).rglob("*.py")):
        wired |= top(imports(path))
    assert {"adapters", "storage", "bot"} <= wired


def test_adapters_and_stores_do_not_reach_into_each_other() -> None:
    for path in sorted((ROOT / "adapters").rglob("*.py")):
        assert "storage" not in top(imports(path)), path
    for path in sorted((ROOT / "storage").rglob("*.py")):
        assert "adapters" not in top(imports(path)), path


def test_no_module_level_mutable_state_in_the_core() -> None:
    """Module-level names bound to lists, dicts or sets would be shared state."""
    for path in sorted((ROOT / "bot").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.Assign | ast.AnnAssign):
                value = node.value
                assert not isinstance(value, ast.List | ast.Dict | ast.Set | ast.ListComp | ast.DictComp), (
                    f"{path.relative_to(ROOT)}:{node.lineno} binds a mutable value at module level"
                )


def test_every_storage_module_stays_under_500_lines() -> None:
    """Small modules whose names say what they hold: the store grew one class of 77 methods
    once (issue 14), and the SQLite module grew past 500 lines again before this test."""
    for path in sorted((ROOT / "storage").rglob("*.py")):
        lines = len(path.read_text(encoding="utf-8").splitlines())
        assert lines < 500, f"{path.relative_to(ROOT)} has {lines} lines: split it by what it holds"
