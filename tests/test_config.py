"""Configuration: validated at start, every problem named, secrets never shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, describe, env_example, load_env, mask, settings_from
from bot.models import Community
from bot.redact import mask_url

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
    assert mask("") == "(not set)" and mask("short") == "**** (5 characters)"
    assert secret not in repr(settings) and "very-secret" not in repr(settings)


def test_env_example_lists_every_variable() -> None:
    assert (ROOT / ".env.example").read_text(encoding="utf-8") == env_example()


def test_a_postgres_url_is_accepted_and_its_password_never_shown() -> None:
    for url in ("postgresql://tc:s3cret-pw@db.example:5432/threadcast", "postgres://tc:s3cret-pw@db/tc"):
        settings = settings_from({"THREADCAST_DATABASE_URL": url})
        assert settings.database_url == url and settings.sqlite_path is None
        shown = dict(describe(settings))["THREADCAST_DATABASE_URL"]
        assert "s3cret-pw" not in shown and shown.startswith(url.split(":")[0] + "://tc:****@db")
        assert "s3cret-pw" not in repr(settings)
    query = mask_url("postgresql://db.example/tc?sslmode=require&password=s3cret-pw")
    assert query == "postgresql://db.example/tc?sslmode=require&password=****"
    assert mask_url("sqlite:///data/threadcast.db") == "sqlite:///data/threadcast.db"
    with pytest.raises(ConfigError) as caught:
        settings_from({"THREADCAST_DATABASE_URL": "mysql://tc:s3cret-pw@db/tc"})
    assert "s3cret-pw" not in str(caught.value) and "postgresql://" in str(caught.value)


def test_discord_shards_one_connection_a_count_auto_or_this_processs_ids() -> None:
    plain = settings_from({})
    assert (plain.discord_shard_count, plain.discord_shard_ids) == (None, None)
    every = settings_from({"DISCORD_SHARD_COUNT": "4"})
    assert (every.discord_shard_count, every.discord_shard_ids) == (4, None)
    assert settings_from({"DISCORD_SHARD_COUNT": "auto"}).discord_shard_count == 0
    mine = settings_from({"DISCORD_SHARD_COUNT": "4", "DISCORD_SHARD_IDS": " 3, 1"})
    assert (mine.discord_shard_count, mine.discord_shard_ids) == (4, (1, 3))


@pytest.mark.parametrize(
    ("count", "ids", "named"),
    [
        ("0", "", "DISCORD_SHARD_COUNT"),
        ("two", "", "DISCORD_SHARD_COUNT"),
        ("", "0", "needs DISCORD_SHARD_COUNT"),
        ("auto", "0", "needs DISCORD_SHARD_COUNT"),
        ("2", "2", "from 0 to 1"),
        ("2", "1,1", "from 0 to 1"),
        ("2", "0,x", "from 0 to 1"),
    ],
)
def test_wrong_shard_settings_are_named(count: str, ids: str, named: str) -> None:
    with pytest.raises(ConfigError) as caught:
        settings_from({"DISCORD_SHARD_COUNT": count, "DISCORD_SHARD_IDS": ids})
    assert named in str(caught.value)


def test_moderator_channels_are_named_per_community() -> None:
    settings = settings_from(
        {"THREADCAST_MOD_CHANNELS": "discord:123456789:987654321, slack:T0TEAM:C0MODS,console:local:#mods"}
    )
    assert settings.mod_channels == {
        Community("discord", "123456789"): "987654321",
        Community("slack", "T0TEAM"): "C0MODS",
        Community("console", "local"): "mods",
    }
    with pytest.raises(ConfigError) as refused:
        settings_from({"THREADCAST_MOD_CHANNELS": "discord:987654321,slack:T1:C1,slack:T1:C2"})
    assert refused.value.problems == [
        "THREADCAST_MOD_CHANNELS entries look like discord:<server id>:<channel id>, not 'discord:987654321'",
        "THREADCAST_MOD_CHANNELS names two channels for slack:T1",
    ]
