"""Configuration: validated at start, every problem named, secrets never shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, describe, env_example, load_env, mask, settings_from

ROOT = Path(__file__).resolve().parents[1]


def test_defaults_need_nothing() -> None:
    settings = settings_from({})
    assert settings.sqlite_path == "threadcast.db"
    assert settings.platforms == []
    assert settings.poll_interval == 900


def test_every_problem_is_named_at_once() -> None:
    with pytest.raises(ConfigError) as caught:
        settings_from({
            "THREADCAST_DATABASE_URL": "mysql://x",
            "THREADCAST_TIMEZONE": "Nowhere/Land",
            "THREADCAST_POLL_INTERVAL": "5",
            "THREADCAST_LOG_LEVEL": "LOUD",
            "SLACK_BOT_TOKEN": "xoxp-user-token",
            "DISCORD_GUILD_IDS": "123,abc",
            "THREADCAST_DEFAULT_PROMPT": "{title.__class__}",
        })  # fmt: skip
    text = str(caught.value)
    for name in (
        "THREADCAST_DATABASE_URL", "THREADCAST_TIMEZONE", "THREADCAST_POLL_INTERVAL",
        "THREADCAST_LOG_LEVEL", "SLACK_BOT_TOKEN", "DISCORD_GUILD_IDS", "THREADCAST_DEFAULT_PROMPT",
    ):  # fmt: skip
        assert name in text
    assert "xoxp-user-token" not in text


def test_platforms_follow_the_tokens() -> None:
    assert settings_from({"DISCORD_TOKEN": "abc"}).platforms == ["discord"]
    both = settings_from({"DISCORD_TOKEN": "a", "SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"})
    assert both.platforms == ["discord", "slack"]


def test_the_environment_overrides_the_env_file(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("THREADCAST_TIMEZONE=Europe/Berlin\nTHREADCAST_POLL_INTERVAL=120\n")
    values = load_env(env_file, {"THREADCAST_TIMEZONE": "Asia/Tokyo"})
    settings = settings_from(values)
    assert settings.timezone == "Asia/Tokyo" and settings.poll_interval == 120


def test_secrets_are_masked() -> None:
    secret = "xoxb-1234567890-abcdefghijkl"
    settings = settings_from({"SLACK_BOT_TOKEN": secret, "SLACK_SIGNING_SECRET": "shh-very-secret"})
    shown = dict(describe(settings))
    assert secret not in shown["SLACK_BOT_TOKEN"] and shown["SLACK_BOT_TOKEN"].startswith("xoxb")
    assert "very-secret" not in shown["SLACK_SIGNING_SECRET"]
    assert mask("") == "(not set)" and mask("short") == "****"
    assert secret not in repr(settings) and "very-secret" not in repr(settings)


def test_env_example_lists_every_variable() -> None:
    assert (ROOT / ".env.example").read_text(encoding="utf-8") == env_example()
