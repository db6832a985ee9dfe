"""Digest settings commands (style, summaries, language, settings) and answers in the
community's language, through `App.dispatch` over real SQLite and the console platform."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adapters.console.platform import COMMUNITY, ConsolePlatform
from bot.config import ConfigError, Settings, env_example, settings_from
from bot.models import Community, CommunitySettings
from bot.platform import ChatPlatform
from bot.services import build_core
from bot.sources.http import AiohttpFetcher
from storage.store import SQLiteStore
from tests.conftest import FakeClock, Harness


async def harness_with(settings: Settings, store: SQLiteStore, clock: FakeClock) -> Harness:
    out = io.StringIO()
    platform = ConsolePlatform(out)
    platforms: dict[str, ChatPlatform] = {platform.name: platform}
    fetcher = AiohttpFetcher(allow_private=True, timeout=5)
    app, services = build_core(settings, store, clock, fetcher, platforms)
    return Harness(app, services, store, platform, clock, out)


@pytest.fixture
async def german_default(store: SQLiteStore, clock: FakeClock) -> AsyncIterator[Harness]:
    """An operator who set THREADCAST_LANGUAGE=de."""
    h = await harness_with(Settings(language="de"), store, clock)
    yield h
    await h.app.shutdown()


# -- digest style -------------------------------------------------------------------------------


async def test_digest_style_is_kept_per_channel(harness: Harness) -> None:
    answer = await harness.command("digest style full #digest")
    assert answer.ok and answer.text == "Digests in #digest are now full: every discussion in detail."
    settings = await harness.store.get_channel_settings(COMMUNITY, "digest")
    assert settings is not None and settings.digest_style == "full"
    assert await harness.store.get_channel_settings(COMMUNITY, "general") is None

    answer = await harness.command("digest style COMPACT")  # this channel; any case
    assert answer.ok and "#general are now compact" in answer.text
    general = await harness.store.get_channel_settings(COMMUNITY, "general")
    assert general is not None and general.digest_style == "compact"


async def test_digest_style_keeps_the_channels_prompt(harness: Harness) -> None:
    assert (await harness.command("prompt set Your story about {title}? #news")).ok
    assert (await harness.command("digest style full #news")).ok
    settings = await harness.store.get_channel_settings(COMMUNITY, "news")
    assert settings is not None and (settings.prompt, settings.digest_style) == (
        "Your story about {title}?",
        "full",
    )


# -- digest summaries --------------------------------------------------------------------------------


async def test_digest_summaries_model_without_a_model_says_the_builtin_gist_is_used(harness: Harness) -> None:
    assert harness.services.settings.model_url == ""
    answer = await harness.command("digest summaries model")
    assert answer.ok
    assert "No language model is configured yet" in answer.text
    assert "THREADCAST_MODEL_URL" in answer.text
    assert (await harness.store.get_community_settings(COMMUNITY)).summaries == "model"  # kept anyway
    settings = await harness.command("digest settings")
    assert "language model (not configured: the built-in summary is used)" in settings.text

    answer = await harness.command("digest summaries builtin")
    assert answer.ok and "built-in summary" in answer.text
    assert (await harness.store.get_community_settings(COMMUNITY)).summaries == "builtin"


async def test_digest_summaries_model_with_a_model(store: SQLiteStore, clock: FakeClock) -> None:
    h = await harness_with(Settings(model_url="http://127.0.0.1:9/v1"), store, clock)
    try:
        answer = await h.command("digest summaries model")
        assert answer.ok and answer.text == "Digest gists are now written by the configured language model."
        assert "127.0.0.1" not in answer.text
    finally:
        await h.app.shutdown()


# -- digest language ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("de", "de"),
        ("DE", "de"),
        ("de-AT", "de"),
        ("Deutsch", "de"),
        ("pt-BR", "pt"),
        ("fr", "fr"),
        ("es", "es"),
    ],
)
async def test_digest_language_accepts_codes_regions_and_names(
    harness: Harness, typed: str, code: str
) -> None:
    answer = await harness.command(f"digest language {typed}")
    assert answer.ok, answer.text
    assert (await harness.store.get_community_settings(COMMUNITY)).language == code


async def test_the_answer_to_digest_language_is_in_the_new_language(harness: Harness) -> None:
    answer = await harness.command("digest language de")
    assert answer.text == "Digests und Antworten sind jetzt auf Deutsch (de)."
    answer = await harness.command("digest language default")
    assert answer.text == "Digests and answers use the default language again: English (en)."
    assert (await harness.store.get_community_settings(COMMUNITY)).language is None


async def test_a_wrong_language_gets_the_usage_and_changes_nothing(harness: Harness) -> None:
    assert (await harness.command("digest language fr")).ok
    answer = await harness.command("digest language klingon")
    assert not answer.ok
    # answered in the community's language (French), listing what is supported
    assert "'klingon' n’est pas une langue prise en charge" in answer.text
    for name in ("English (en)", "Deutsch (de)", "Français (fr)", "Español (es)", "Português (pt)"):
        assert name in answer.text
    assert "Utilisation : digest language <language>" in answer.text
    assert (await harness.store.get_community_settings(COMMUNITY)).language == "fr"


async def test_communities_keep_their_own_language(harness: Harness) -> None:
    other = Community("console", "elsewhere")
    await harness.store.set_community_language(other, "es")
    assert (await harness.command("digest language pt")).ok
    assert await harness.store.get_community_settings(other) == CommunitySettings(other, "es", "builtin")
    assert (await harness.services.words.words(other)).language == "es"
    assert (await harness.services.words.words(COMMUNITY)).language == "pt"


# -- answers in the community's language -------------------------------------------------------------


async def test_every_kind_of_fixed_answer_follows_the_language(harness: Harness) -> None:
    assert (await harness.command("digest language de")).ok

    assert (await harness.command("feed list")).text == (
        "Noch keine Feeds. Füg einen hinzu mit `feed add <url> [#channel]`."
    )
    refused = await harness.command("feed list", user="ana")
    assert refused.text == "Nur Moderatoren können `feed list` nutzen."
    unknown = await harness.command("frobnicate")
    assert unknown.text.startswith("Unbekannter Befehl 'frobnicate'.\nthreadcast-Befehle:")
    assert "  help — diese Liste" in unknown.text
    usage = await harness.command("stats 0")
    assert usage.text == "days muss mindestens 1 sein\nAufruf: stats [days]"
    assert (await harness.command("stats 7")).text == "In den letzten 7 Tagen wurden keine Artikel gepostet."
    member_help = await harness.command("help", user="ana")
    assert member_help.text.splitlines()[0] == "threadcast-Befehle:"
    assert "  privacy optout — deine Antworten nicht mehr speichern" in member_help.text
    assert "feed add" not in member_help.text
    schedule = await harness.command("digest schedule monday 09:00 Europe/Berlin #digest")
    assert schedule.text.startswith("Digest für #digest: jeden Montag um 09:00 Europe/Berlin. Der nächste: ")


async def test_the_rate_limit_answer_follows_the_language(harness: Harness) -> None:
    assert (await harness.command("digest language es")).ok
    for _ in range(3):
        assert (await harness.command("privacy my-data", user="ana")).ok
    refused = await harness.command("privacy my-data", user="ana")
    assert refused.text == (
        "`privacy my-data` se puede usar 3 veces en 10 minutos; inténtalo de nuevo en 10 minutos."
    )


async def test_the_operators_default_language_applies_until_a_community_chooses(
    german_default: Harness,
) -> None:
    h = german_default
    assert (await h.command("digest off")).text == "Es war kein Digest geplant."
    settings = await h.command("digest settings")
    assert settings.text == (
        "Sprache: Deutsch (de) (Standard) · Kurzfassungen: eingebaute Zusammenfassung"
        " · Stil: #general kompakt"
    )
    assert (await h.command("digest language en")).ok
    assert (await h.command("digest off")).text == "No digest was scheduled."


async def test_digest_settings_and_preview_show_language_gists_and_style(harness: Harness) -> None:
    assert (await harness.command("digest schedule friday 17:00 UTC #digest")).ok
    assert (await harness.command("digest style full #digest")).ok
    settings = await harness.command("digest settings")
    assert settings.text == "Language: English (en) (default) · gists: built-in summary · style: #digest full"
    preview = await harness.command("digest preview")
    assert preview.text.splitlines() == [
        "Preview — `digest now` would post this to #digest:",
        "Language: English (en) (default) · gists: built-in summary · style: #digest full",
    ]


# -- THREADCAST_LANGUAGE ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "code"), [("", "en"), ("de", "de"), ("pt-BR", "pt"), ("Français", "fr")])
def test_threadcast_language_is_read_and_normalised(value: str, code: str) -> None:
    assert settings_from({"THREADCAST_LANGUAGE": value} if value else {}).language == code


def test_an_unsupported_threadcast_language_is_a_problem() -> None:
    with pytest.raises(ConfigError) as refused:
        settings_from({"THREADCAST_LANGUAGE": "tlh"})
    assert refused.value.problems == ["THREADCAST_LANGUAGE must be one of en, de, fr, es, pt, not 'tlh'"]


def test_env_example_documents_threadcast_language() -> None:
    example = (Path(__file__).parent.parent / ".env.example").read_text(encoding="utf-8")
    assert "\nTHREADCAST_LANGUAGE=en\n" in example
    assert "THREADCAST_LANGUAGE=en" in env_example()
