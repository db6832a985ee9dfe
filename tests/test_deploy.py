"""deploy/: the systemd unit passes systemd's own checks (`tools/verify_unit.py`, also run by
`.ci/run`), and what it and the env file example name is what threadcast reads and does."""

from __future__ import annotations

import inspect
import os
import re
from pathlib import Path

import pytest
from dotenv import dotenv_values

from adapters.discord.platform import DiscordPlatform
from adapters.slack.platform import SlackPlatform
from bot.app import App
from bot.config import VARIABLES, settings_from
from tools import verify_unit

ROOT = Path(__file__).resolve().parents[1]
UNIT = ROOT / "deploy" / "threadcast.service"
ENV_EXAMPLE = ROOT / "deploy" / "threadcast.env.example"
NAMES = {v.name for v in VARIABLES}


@pytest.fixture
def analyze() -> str:
    found = verify_unit.systemd_analyze()
    if found is None:
        if os.environ.get("THREADCAST_CI"):
            pytest.fail("CI must verify the systemd unit, but systemd-analyze is not installed")
        pytest.skip("systemd-analyze is not installed (Debian: apt-get install systemd)")
    return found


def _settings(unit: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in unit.splitlines():
        if line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            found.setdefault(key, []).append(value)
    return found


def test_the_unit_passes_systemd_analyze_verify_and_its_sandbox_review(analyze: str) -> None:
    result = verify_unit.check(UNIT, analyze=analyze)
    assert result.problems == []
    assert result.exposure is not None and result.exposure <= verify_unit.MAX_EXPOSURE


def test_a_warning_from_verify_fails_the_check_though_systemd_analyze_exits_0_for_some(
    analyze: str, tmp_path: Path
) -> None:
    broken = tmp_path / "threadcast.service"
    broken.write_text(UNIT.read_text(encoding="utf-8").replace("[Service]\n", "[Service]\nRestartSecs=5\n"))
    problems = verify_unit.check(broken, analyze=analyze).problems
    assert any("Unknown key 'RestartSecs'" in p for p in problems), problems


def test_a_weakened_sandbox_fails_the_check(analyze: str, tmp_path: Path) -> None:
    text = UNIT.read_text(encoding="utf-8")
    for key in ("ProtectSystem", "ProtectHome", "PrivateTmp", "SystemCallFilter", "RestrictAddressFamilies"):
        text = re.sub(rf"^{key}=.*\n", "", text, flags=re.MULTILINE)
    weak = tmp_path / "threadcast.service"
    weak.write_text(text, encoding="utf-8")
    result = verify_unit.check(weak, analyze=analyze)
    assert result.exposure is not None and result.exposure > verify_unit.MAX_EXPOSURE
    assert any("exposure" in p for p in result.problems)


def test_a_missing_program_is_a_problem_not_a_pass(analyze: str, tmp_path: Path) -> None:
    result = verify_unit.check(UNIT, program=tmp_path / "threadcast", analyze=analyze)
    assert result.problems and "not an executable" in result.problems[0]


def test_only_the_program_path_changes_in_the_verified_copy() -> None:
    text = UNIT.read_text(encoding="utf-8")
    copy = verify_unit.runnable_copy(text, Path("/srv/venv/bin/threadcast"))
    changed = [(a, b) for a, b in zip(text.splitlines(), copy.splitlines(), strict=True) if a != b]
    assert changed == [
        ("ExecStart=/opt/threadcast/venv/bin/threadcast run", "ExecStart=/srv/venv/bin/threadcast run")
    ]


def test_the_unit_sets_only_variables_threadcast_reads_and_a_valid_database() -> None:
    unit = _settings(UNIT.read_text(encoding="utf-8"))
    env = dict(value.split("=", 1) for value in unit["Environment"])
    assert set(env) - {"PYTHONUNBUFFERED"} <= NAMES
    settings = settings_from(env)
    # In the state directory the unit creates and may write.
    assert settings.sqlite_path is not None
    assert Path(settings.sqlite_path).parent == Path("/var/lib", *unit["StateDirectory"])
    assert unit["WorkingDirectory"] == ["/var/lib/threadcast"]
    assert unit["EnvironmentFile"] == ["/etc/threadcast/threadcast.env"]


def test_the_env_file_example_names_only_variables_threadcast_reads_and_is_valid() -> None:
    values = dotenv_values(ENV_EXAMPLE)
    assert values and set(values) <= NAMES
    settings = settings_from({k: v or "" for k, v in values.items()})
    assert settings.sqlite_path == "/var/lib/threadcast/threadcast.db"
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            # Plain values only: systemd and python-dotenv read " #" and backslashes differently.
            assert " #" not in line and "\\" not in line, line


def test_the_stop_signal_and_timeout_fit_threadcasts_graceful_stop() -> None:
    """One SIGTERM to the main process starts the clean stop (bot/shutdown.py); the unit waits
    longer than the waits threadcast bounds itself (each platform's commands under way, then the
    app's tasks) before systemd's SIGKILL."""
    unit = _settings(UNIT.read_text(encoding="utf-8"))
    assert unit["KillSignal"] == ["SIGTERM"]
    assert unit["KillMode"] == ["mixed"]
    bounded = sum(
        float(inspect.signature(close).parameters["timeout"].default)
        for close in (DiscordPlatform.close, SlackPlatform.close, App.shutdown)
    )
    (timeout,) = unit["TimeoutStopSec"]
    assert timeout.endswith("s") and float(timeout.removesuffix("s")) >= 2 * bounded
