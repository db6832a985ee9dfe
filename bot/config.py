"""Configuration from `.env` and the environment, validated once at start."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values

from bot.i18n import LANGUAGES, language_code
from bot.models import Community
from bot.prompts import DEFAULT_PROMPT, check_template
from bot.redact import MASK, mask_url


class ConfigError(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("configuration problems:\n" + "\n".join(f"  - {p}" for p in problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class Variable:
    name: str
    help: str
    default: str = ""
    secret: bool = False


# Every variable threadcast reads; `.env.example` and `threadcast check` are built from this list.
VARIABLES: tuple[Variable, ...] = (
    Variable(
        "THREADCAST_DATABASE_URL",
        "sqlite:///path/to/file.db, or postgresql://user:password@host:5432/database",
        "sqlite:///threadcast.db",
    ),
    Variable("THREADCAST_TIMEZONE", "default IANA timezone of digest schedules", "UTC"),
    Variable(
        "THREADCAST_LANGUAGE",
        "language of digests and answers where a community chose none: en, de, fr, es or pt",
        "en",
    ),
    Variable(
        "THREADCAST_ARCHIVE_URL",
        "where the static archive (`threadcast archive DIR`) is published; compact digests link to it",
    ),
    Variable("THREADCAST_POLL_INTERVAL", "seconds between polls of each feed (at least 60)", "900"),
    Variable("THREADCAST_TICK_SECONDS", "how often the scheduler looks for due feeds and digests", "30"),
    Variable(
        "THREADCAST_DEFAULT_PROMPT",
        "prompt used when a channel or feed has none; {title} {url} {source}",
        DEFAULT_PROMPT,
    ),
    Variable("THREADCAST_HTTP_TIMEOUT", "seconds allowed for one feed or page download", "20"),
    Variable(
        "THREADCAST_MAX_DOWNLOAD_BYTES", "largest feed or page accepted, in bytes", str(5 * 1024 * 1024)
    ),
    Variable(
        "THREADCAST_ALLOW_PRIVATE_URLS",
        "true lets feeds and posts fetch loopback/private addresses (tests, intranets)",
        "false",
    ),
    Variable(
        "THREADCAST_LOG_LEVEL",
        "DEBUG, INFO, WARNING or ERROR (unset: INFO for run and console, WARNING for other commands)",
        "",
    ),
    Variable("THREADCAST_LOG_FORMAT", "text, or json (one JSON object a line)", "text"),
    Variable("THREADCAST_CONSOLE_MODERATOR", "the console user who has moderator rights", "mod"),
    Variable(
        "THREADCAST_MOD_CHANNELS",
        "where notices for moderators go (a failing feed) instead of the feed's channel, one per"
        " community: platform:community:channel, comma-separated (discord:<server id>:<channel id>,"
        " slack:<team id>:<channel id>, console:local:<name>)",
    ),
    Variable("DISCORD_TOKEN", "bot token; enables Discord", secret=True),
    Variable("DISCORD_GUILD_IDS", "comma-separated server ids to sync commands to (development)"),
    Variable("DISCORD_MODERATOR_ROLE", "role name that grants moderator rights besides Manage Server"),
    Variable(
        "DISCORD_SHARD_COUNT",
        "shards in all (several processes, or many servers); auto: Discord's recommendation",
    ),
    Variable(
        "DISCORD_SHARD_IDS",
        "comma-separated shard ids this process connects (needs DISCORD_SHARD_COUNT); default: all",
    ),
    Variable("SLACK_BOT_TOKEN", "xoxb- token; enables Slack", secret=True),
    Variable("SLACK_APP_TOKEN", "xapp- token; Slack over Socket Mode", secret=True),
    Variable("SLACK_SIGNING_SECRET", "signing secret; Slack over HTTP (Events API)", secret=True),
    Variable("SLACK_MODERATORS", "comma-separated Slack user ids with moderator rights"),
    Variable("SLACK_API_URL", "Slack Web API address, if not Slack's own (a proxy, tests)"),
    Variable("THREADCAST_HTTP_PORT", "port of the Slack HTTP endpoint", "3000"),
    Variable(
        "THREADCAST_MODEL_URL",
        "base URL of an OpenAI-compatible chat-completions API for discussion gists, such as"
        " http://127.0.0.1:11434/v1 (a local Ollama); unset: only the built-in gist. A moderator"
        " still switches the model on per community (digest summaries model)",
    ),
    Variable(
        "THREADCAST_MODEL_NAME",
        "the model to ask, as that server names it (llama3.2, gpt-4o-mini…);"
        " needed with THREADCAST_MODEL_URL",
    ),
    Variable(
        "THREADCAST_MODEL_API_KEY",
        "bearer key of a hosted model service; leave empty for a local server",
        secret=True,
    ),
    Variable(
        "THREADCAST_MODEL_TIMEOUT",
        "seconds allowed for one gist from the model (then the built-in gist is used)",
        "20",
    ),
    Variable(
        "THREADCAST_MODEL_MAX_TOKENS", "most tokens the model may write for one discussion's gist", "160"
    ),
)
_DEFAULTS = MappingProxyType({v.name: v.default for v in VARIABLES})
_POSTGRES_SCHEMES = ("postgresql://", "postgres://")


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = field(default=_DEFAULTS["THREADCAST_DATABASE_URL"], repr=False)  # may hold a password
    timezone: str = "UTC"
    language: str = "en"  # a code of bot.i18n.LANGUAGES
    poll_interval: int = 900
    tick_seconds: float = 30.0
    default_prompt: str = DEFAULT_PROMPT
    http_timeout: float = 20.0
    max_download_bytes: int = 5 * 1024 * 1024
    allow_private_urls: bool = False
    log_level: str = "INFO"
    log_format: str = "text"
    console_moderator: str = "mod"
    mod_channels: Mapping[Community, str] = field(default_factory=dict)
    discord_token: str = field(default="", repr=False)
    discord_guild_ids: tuple[int, ...] = ()
    discord_moderator_role: str = ""
    discord_shard_count: int | None = None  # None: one connection, unsharded; 0: Discord's recommendation
    discord_shard_ids: tuple[int, ...] | None = None  # None: every shard of the count
    slack_bot_token: str = field(default="", repr=False)
    slack_app_token: str = field(default="", repr=False)
    slack_signing_secret: str = field(default="", repr=False)
    slack_moderators: tuple[str, ...] = ()
    slack_api_url: str = ""
    http_port: int = 3000
    archive_url: str = ""  # the published archive, linked from compact digests; "" when none
    model_url: str = ""  # "" when no model is configured; never holds credentials
    model_name: str = ""
    model_api_key: str = field(default="", repr=False)
    model_timeout: float = 20.0
    model_max_tokens: int = 160
    raw: Mapping[str, str] = field(default_factory=dict, repr=False)

    @property
    def sqlite_path(self) -> str | None:
        if self.database_url.startswith("sqlite:///"):
            return self.database_url.removeprefix("sqlite:///")
        return None

    @property
    def platforms(self) -> list[str]:
        found = []
        if self.discord_token:
            found.append("discord")
        if self.slack_bot_token and (self.slack_app_token or self.slack_signing_secret):
            found.append("slack")
        return found

    @property
    def model_configured(self) -> bool:
        """A model endpoint is set; each community still chooses whether to use it."""
        return bool(self.model_url)


def load_env(
    env_file: str | Path | None = ".env", environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """`.env` first, the environment over it (so a deployment can override a file)."""
    values: dict[str, str] = {}
    if env_file is not None and Path(env_file).is_file():
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(os.environ if environ is None else environ)
    return values


def _number(
    problems: list[str],
    env: Mapping[str, str],
    name: str,
    cast: Callable[[str], float],
    low: float,
    high: float,
) -> float:
    raw = env.get(name) or _DEFAULTS[name]
    try:
        value = cast(raw)
    except ValueError:
        problems.append(f"{name} must be a number, not {raw[:40]!r}")
        return cast(_DEFAULTS[name])
    if not low <= value <= high:
        problems.append(f"{name} must be between {low:g} and {high:g}, not {raw}")
    return value


def _flag(problems: list[str], env: Mapping[str, str], name: str) -> bool:
    raw = (env.get(name) or _DEFAULTS[name]).strip().lower()
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw not in ("0", "false", "no", "off"):
        problems.append(f"{name} must be true or false, not {raw[:20]!r}")
    return False


def _shards(problems: list[str], count_text: str, ids_text: str) -> tuple[int | None, tuple[int, ...] | None]:
    """DISCORD_SHARD_COUNT (a number, or auto) and DISCORD_SHARD_IDS (ids below the count)."""
    count: int | None = None
    if count_text.lower() == "auto":
        count = 0
    elif count_text:
        if count_text.isdigit() and int(count_text) >= 1:
            count = int(count_text)
        else:
            problems.append(
                f"DISCORD_SHARD_COUNT must be a number of shards or auto, not {count_text[:20]!r}"
            )
    parts = [p.strip() for p in ids_text.split(",") if p.strip()]
    if not parts:
        return count, None
    if not count:
        problems.append("DISCORD_SHARD_IDS needs DISCORD_SHARD_COUNT, the number of shards in all")
        return count, None
    if not all(p.isdigit() and int(p) < count for p in parts) or len(set(parts)) != len(parts):
        problems.append(
            f"DISCORD_SHARD_IDS must be distinct numbers from 0 to {count - 1}, not {ids_text[:40]!r}"
        )
        return count, None
    return count, tuple(sorted(int(p) for p in parts))


def settings_from(env: Mapping[str, str]) -> Settings:
    """Validate everything at once, so one run names every problem."""
    problems: list[str] = []

    def get(name: str) -> str:
        return (env.get(name) or _DEFAULTS.get(name, "")).strip()

    database_url = get("THREADCAST_DATABASE_URL")
    if database_url == "sqlite:///" or not database_url.startswith(("sqlite:///", *_POSTGRES_SCHEMES)):
        scheme = database_url.split(":", 1)[0][:20]  # never the rest: it may hold a password
        problems.append(
            "THREADCAST_DATABASE_URL must look like sqlite:///threadcast.db or"
            f" postgresql://user:password@host:5432/database (got a {scheme!r} URL)"
        )
    timezone = get("THREADCAST_TIMEZONE")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(f"THREADCAST_TIMEZONE {timezone!r} is not an IANA timezone such as Europe/Berlin")
    wanted_language = get("THREADCAST_LANGUAGE")
    language = language_code(wanted_language)
    if language is None:
        choices = ", ".join(LANGUAGES)
        problems.append(f"THREADCAST_LANGUAGE must be one of {choices}, not {wanted_language[:20]!r}")
    prompt = get("THREADCAST_DEFAULT_PROMPT")
    prompt_problem = check_template(prompt)
    if prompt_problem:
        problems.append(f"THREADCAST_DEFAULT_PROMPT: {prompt_problem}")
    level = get("THREADCAST_LOG_LEVEL").upper()
    if level and level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        problems.append(f"THREADCAST_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR, not {level!r}")
    log_format = get("THREADCAST_LOG_FORMAT").lower()
    if log_format not in ("text", "json"):
        problems.append(f"THREADCAST_LOG_FORMAT must be text or json, not {log_format[:20]!r}")
    guild_ids: list[int] = []
    for part in filter(None, (p.strip() for p in get("DISCORD_GUILD_IDS").split(","))):
        if part.isdigit():
            guild_ids.append(int(part))
        else:
            problems.append(f"DISCORD_GUILD_IDS must be numeric server ids, not {part[:30]!r}")
    shard_count, shard_ids = _shards(problems, get("DISCORD_SHARD_COUNT"), get("DISCORD_SHARD_IDS"))
    mod_channels = _mod_channels(problems, get("THREADCAST_MOD_CHANNELS"))
    model_url = _model_url(problems, get("THREADCAST_MODEL_URL"))
    archive_url = get("THREADCAST_ARCHIVE_URL").strip()
    if archive_url and not archive_url.startswith(("https://", "http://")):
        problems.append(
            f"THREADCAST_ARCHIVE_URL must be an http:// or https:// address, not {archive_url[:40]!r}"
        )
    model_name = get("THREADCAST_MODEL_NAME")
    if model_url and not model_name:
        problems.append(
            "THREADCAST_MODEL_URL needs THREADCAST_MODEL_NAME, the model to ask (such as llama3.2)"
        )
    model_api_key = get("THREADCAST_MODEL_API_KEY")
    if not model_api_key.isprintable() or " " in model_api_key:  # never show the value
        problems.append("THREADCAST_MODEL_API_KEY must not hold spaces or control characters")
    bot_token, app_token, secret = get("SLACK_BOT_TOKEN"), get("SLACK_APP_TOKEN"), get("SLACK_SIGNING_SECRET")
    if bot_token and not bot_token.startswith("xoxb-"):
        problems.append("SLACK_BOT_TOKEN must be a bot token starting with xoxb-")
    if app_token and not app_token.startswith("xapp-"):
        problems.append("SLACK_APP_TOKEN must be an app-level token starting with xapp-")
    if bot_token and not (app_token or secret):
        problems.append("SLACK_BOT_TOKEN needs SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP)")
    if (app_token or secret) and not bot_token:
        problems.append("SLACK_APP_TOKEN / SLACK_SIGNING_SECRET need SLACK_BOT_TOKEN as well")
    settings = Settings(
        database_url=database_url,
        timezone=timezone,
        language=language or "en",
        poll_interval=int(_number(problems, env, "THREADCAST_POLL_INTERVAL", int, 60, 7 * 86400)),
        tick_seconds=_number(problems, env, "THREADCAST_TICK_SECONDS", float, 0.05, 3600),
        default_prompt=prompt,
        http_timeout=_number(problems, env, "THREADCAST_HTTP_TIMEOUT", float, 1, 300),
        max_download_bytes=int(
            _number(problems, env, "THREADCAST_MAX_DOWNLOAD_BYTES", int, 1024, 100 * 1024 * 1024)
        ),
        allow_private_urls=_flag(problems, env, "THREADCAST_ALLOW_PRIVATE_URLS"),
        log_level=level or "INFO",
        log_format=log_format,
        console_moderator=get("THREADCAST_CONSOLE_MODERATOR") or "mod",
        mod_channels=mod_channels,
        discord_token=get("DISCORD_TOKEN"),
        discord_guild_ids=tuple(guild_ids),
        discord_moderator_role=get("DISCORD_MODERATOR_ROLE"),
        discord_shard_count=shard_count,
        discord_shard_ids=shard_ids,
        slack_bot_token=bot_token,
        slack_app_token=app_token,
        slack_signing_secret=secret,
        slack_moderators=tuple(filter(None, (p.strip() for p in get("SLACK_MODERATORS").split(",")))),
        slack_api_url=get("SLACK_API_URL"),
        http_port=int(_number(problems, env, "THREADCAST_HTTP_PORT", int, 1, 65535)),
        archive_url=archive_url,
        model_url=model_url,
        model_name=model_name,
        model_api_key=model_api_key,
        model_timeout=_number(problems, env, "THREADCAST_MODEL_TIMEOUT", float, 1, 600),
        model_max_tokens=int(_number(problems, env, "THREADCAST_MODEL_MAX_TOKENS", int, 16, 4096)),
        raw=dict(env),
    )
    if problems:
        raise ConfigError(problems)
    return settings


def _mod_channels(problems: list[str], raw: str) -> dict[Community, str]:
    found: dict[Community, str] = {}
    for entry in filter(None, (p.strip() for p in raw.split(","))):
        parts = [p.strip().lstrip("#") for p in entry.split(":")]
        if len(parts) != 3 or not all(parts):
            problems.append(
                "THREADCAST_MOD_CHANNELS entries look like discord:<server id>:<channel id>,"
                f" not {entry[:60]!r}"
            )
            continue
        community = Community(parts[0].lower(), parts[1])
        if community in found:
            problems.append(f"THREADCAST_MOD_CHANNELS names two channels for {parts[0]}:{parts[1]}")
        found[community] = parts[2]
    return found


def _model_url(problems: list[str], raw: str) -> str:
    """THREADCAST_MODEL_URL: an http(s) base URL without credentials, trailing slash dropped;
    a full ".../chat/completions" address is taken back to its base."""
    if not raw:
        return ""
    try:
        parts = urlsplit(raw)
        _ = parts.port  # raises ValueError for a bad port
    except ValueError:
        problems.append("THREADCAST_MODEL_URL is not a valid URL")
        return ""
    if parts.scheme not in ("http", "https") or not parts.hostname:
        problems.append(
            "THREADCAST_MODEL_URL must be an http:// or https:// address such as"
            f" http://127.0.0.1:11434/v1 (got a {parts.scheme[:20]!r} URL)"
        )
        return ""
    if "@" in parts.netloc:  # never echo it: it holds a password
        problems.append(
            "THREADCAST_MODEL_URL must not hold a user or password: put the key in THREADCAST_MODEL_API_KEY"
        )
        return ""
    if parts.query or parts.fragment:
        problems.append("THREADCAST_MODEL_URL must be a base URL without ?query or #fragment")
        return ""
    base = raw.rstrip("/")
    return base.removesuffix("/chat/completions").rstrip("/")


# Prefixes every token of a kind starts with (Slack's token types): they say which kind of
# token a variable holds (an app token pasted as the bot token shows) and are no part of
# the secret.
_TOKEN_KINDS = ("xoxb-", "xoxp-", "xoxe-", "xapp-")


def mask(value: str) -> str:
    """Whether a secret is set and its length; no character of it (beyond a Slack token's kind)."""
    if not value:
        return "(not set)"
    kind = next((prefix for prefix in _TOKEN_KINDS if value.startswith(prefix)), "")
    return f"{kind}{MASK} ({len(value)} characters)"


def describe(settings: Settings) -> list[tuple[str, str]]:
    """Every variable with its effective value, secrets masked."""
    rows = []
    for variable in VARIABLES:
        value = settings.raw.get(variable.name) or variable.default
        if variable.secret:
            shown = mask(value)
        elif value and variable.name in ("THREADCAST_DATABASE_URL", "THREADCAST_MODEL_URL"):
            shown = mask_url(value)
        else:
            shown = value or "(not set)"
        rows.append((variable.name, shown))
    return rows


def env_example() -> str:
    lines = ["# threadcast configuration. Copy to .env and fill in what you use.", ""]
    for variable in VARIABLES:
        lines.append(f"# {variable.help}")
        lines.append(f"{variable.name}={'' if variable.secret else variable.default}")
        lines.append("")
    return "\n".join(lines)
