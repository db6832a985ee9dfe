"""The model gist engine against a fake chat-completions server on 127.0.0.1: every answer ends
in a safe gist or in GistFailed with a reason, and the model is sent only the request."""

from __future__ import annotations

import gettext
import json
import logging
import socket
from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.config import ConfigError, describe, settings_from
from bot.gist import MAX_GIST_CHARS, GistFailed, GistReply, GistRequest
from bot.i18n import Words
from bot.model_gist import ModelGist, SendLimits, model_engine, system_prompt
from bot.text import ELLIPSIS
from tests.fake_chat import INJECTION, LONG_ANSWER, FakeChat

KEY = "sk-test-0123456789abcdefSECRET"


def words(language: str = "en") -> Words:
    return Words(language, gettext.NullTranslations())


def request(language: str = "en", replies: tuple[GistReply, ...] | None = None) -> GistRequest:
    if replies is None:
        replies = (
            GistReply("Ana", "Night shifts wrecked my sleep for two years, I still wake at 3am.", 4),
            GistReply("a member", "We rotated weekly and it was worse than fixed nights, honestly.", 2),
            GistReply("Bo", "Fixed nights worked for me once I blacked out the bedroom.", 0),
            GistReply("Ana", "See https://known.example/study for the sleep study we used.", 1),
        )
    return GistRequest(
        title="Is the night shift worth it?",
        prompt="What did shift work do to you?",
        replies=replies,
        participants=len({r.author for r in replies}),
        words=words(language),
    )


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


@pytest.fixture
async def chat() -> AsyncIterator[FakeChat]:
    async with FakeChat() as server:
        yield server


def engine(session: aiohttp.ClientSession, chat: FakeChat, **options: object) -> ModelGist:
    settings = settings_from(
        {
            "THREADCAST_MODEL_URL": chat.url,
            "THREADCAST_MODEL_NAME": "llama3.2",
            "THREADCAST_MODEL_TIMEOUT": "5",
            "THREADCAST_MODEL_MAX_TOKENS": "120",
            **{k: str(v) for k, v in options.items()},
        }
    )
    found = model_engine(settings, session)
    assert found is not None
    return found


def assert_safe(text: str) -> None:
    assert 0 < len(text) <= MAX_GIST_CHARS
    lowered = text.lower()
    for ping in ("@everyone", "@here", "@channel", "<@", "<!", "<#"):
        assert ping not in lowered, text


async def test_a_normal_answer_is_the_gist(session: aiohttp.ClientSession, chat: FakeChat) -> None:
    chat.answer = "**Three members** said night shifts hurt their sleep; one found fixed nights workable."
    gist = await engine(session, chat).gist(request())
    assert gist.engine == "model"
    assert gist.text == "Three members said night shifts hurt their sleep; one found fixed nights workable."
    assert len(chat.received) == 1


async def test_the_body_holds_the_request_and_nothing_else(
    session: aiohttp.ClientSession, chat: FakeChat
) -> None:
    asked = request("de")
    await engine(session, chat).gist(asked)
    seen = chat.received[0]
    assert set(seen.body) == {"model", "messages", "max_tokens", "temperature", "stream"}
    assert seen.body["model"] == "llama3.2"
    assert seen.body["max_tokens"] == 120
    assert [m["role"] for m in seen.body["messages"]] == ["system", "user"]
    # The instructions depend on the language alone, named in English.
    assert seen.system == system_prompt("de") and "German" in seen.system
    data = json.loads(seen.user)
    assert set(data) == {"title", "question", "members_taking_part", "replies_in_all", "replies"}
    assert data["title"] == asked.title and data["question"] == asked.prompt
    assert data["members_taking_part"] == 3 and data["replies_in_all"] == 4
    sent = {(r["member"], r["text"]) for r in data["replies"]}
    assert sent == {(r.author, r.text) for r in asked.replies}
    assert all(set(r) == {"member", "reactions", "text"} for r in data["replies"])


async def test_every_string_sent_comes_from_the_request(
    session: aiohttp.ClientSession, chat: FakeChat
) -> None:
    long_text = "word " * 400  # cut when sent
    asked = request(replies=(*request().replies, GistReply("a member", long_text, 9)))
    await engine(session, chat).gist(asked)
    data = json.loads(chat.received[0].user)
    given = [asked.title, asked.prompt, *(r.text for r in asked.replies), *(r.author for r in asked.replies)]

    def leaves(value: object) -> list[str]:
        if isinstance(value, str):
            return [value]
        if isinstance(value, dict):
            return [s for v in value.values() for s in leaves(v)]
        if isinstance(value, list):
            return [s for v in value for s in leaves(v)]
        return []

    for leaf in leaves(data):
        assert any(leaf.removesuffix(ELLIPSIS) in source for source in given), leaf


async def test_the_key_goes_in_the_header_and_nowhere_in_the_log(
    session: aiohttp.ClientSession, chat: FakeChat, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    model = engine(session, chat, THREADCAST_MODEL_API_KEY=KEY)
    await model.gist(request())
    assert chat.received[0].headers["authorization"] == f"Bearer {KEY}"
    assert KEY.encode() not in chat.received[0].raw
    chat.mode = "error"
    with pytest.raises(GistFailed) as failed:
        await model.gist(request())
    logging.getLogger("test").warning("gist failed: %s", failed.value)
    assert caplog.records
    for text in (caplog.text, repr(model), str(failed.value)):
        assert KEY not in text and KEY[-12:] not in text


async def test_an_error_that_echoes_the_key_is_redacted(
    session: aiohttp.ClientSession, chat: FakeChat
) -> None:
    chat.mode, chat.status = "garbage", 401
    chat.body = json.dumps({"error": {"message": f"invalid key {KEY} for this project"}}).encode()
    with pytest.raises(GistFailed, match=r"HTTP 401: invalid key \*\*\*\* for this project") as failed:
        await engine(session, chat, THREADCAST_MODEL_API_KEY=KEY).gist(request())
    assert KEY[-12:] not in str(failed.value)


async def test_a_redirect_is_not_followed_with_the_key(
    session: aiohttp.ClientSession, chat: FakeChat
) -> None:
    chat.mode, chat.status, chat.body = "garbage", 307, b""
    chat.headers = {"Location": chat.url + "/elsewhere"}
    with pytest.raises(GistFailed, match="HTTP 307"):
        await engine(session, chat, THREADCAST_MODEL_API_KEY=KEY).gist(request())
    assert len(chat.received) == 1


async def test_a_portuguese_community_asks_for_portuguese(
    session: aiohttp.ClientSession, chat: FakeChat
) -> None:
    replies = (
        GistReply("a member", "O turno da noite acabou com o meu sono durante dois anos.", 3),
        GistReply("Rui", "Trabalhei de noite e gostei, o hospital fica calmo.", 1),
    )
    chat.answer = "Dois membros contaram como o turno da noite mudou o sono; um gostou da calma."
    gist = await engine(session, chat).gist(request("pt", replies))
    assert gist.text == chat.answer
    seen = chat.received[0]
    assert "in Portuguese" in seen.system
    assert "O turno da noite acabou com o meu sono" in seen.user  # sent as written, not escaped


async def test_no_key_no_authorization_header(session: aiohttp.ClientSession, chat: FakeChat) -> None:
    await engine(session, chat).gist(request())
    assert "authorization" not in chat.received[0].headers


async def test_a_slow_model_times_out(session: aiohttp.ClientSession, chat: FakeChat) -> None:
    chat.mode = "slow"
    model = ModelGist(session, url=chat.url, model="m", timeout=0.3)
    with pytest.raises(GistFailed, match=r"within 0\.3 s"):
        await model.gist(request())


async def test_http_500_fails_with_the_services_reason(
    session: aiohttp.ClientSession, chat: FakeChat
) -> None:
    chat.mode = "error"
    with pytest.raises(GistFailed, match="HTTP 500: the model crashed"):
        await engine(session, chat).gist(request())


async def test_an_unreachable_model_fails(session: aiohttp.ClientSession) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    model = ModelGist(session, url=f"http://127.0.0.1:{port}/v1", model="m", timeout=2)
    with pytest.raises(GistFailed, match="could not reach the model"):
        await model.gist(request())


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<html>502 Bad Gateway</html>", "not JSON"),
        (b"\xff\xfe\x00garbage", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"object": "chat.completion"}', "no choices"),
        (b'{"choices": []}', "no choices"),
        (b'{"choices": [{"message": {"content": null}}]}', "no text"),
        (b'{"choices": [{"message": {"content": ["a"]}}]}', "no text"),
        (b'{"choices": [{"message": {"content": ""}}]}', "empty"),
        (b'{"choices": [{"message": {"content": "  \\n "}}]}', "empty"),
        (b'{"choices": [{"message": {"content": "<think>hmm, members said</think>"}}]}', "empty"),
        (b'{"choices": [{"message": {"content": "... !"}}]}', "no sentence"),
        (b'{"choices": [{"message": {"content": "I\'m sorry, but I can\'t help with that."}}]}', "refused"),
        (b'{"choices": [{"message": {"content": "x", "refusal": "no"}}]}', "refused"),
        (b'{"choices": [{"message": {"content": "a b"}, "finish_reason": "content_filter"}]}', "filtered"),
    ],
)
async def test_garbage_fails_with_a_reason(
    session: aiohttp.ClientSession, chat: FakeChat, body: bytes, reason: str
) -> None:
    chat.mode, chat.body = "garbage", body
    with pytest.raises(GistFailed, match=reason):
        await engine(session, chat).gist(request())


async def test_an_answer_far_too_long_is_cut_at_a_word(
    session: aiohttp.ClientSession, chat: FakeChat
) -> None:
    chat.mode = "long"
    assert len(LONG_ANSWER) > 50_000
    gist = await engine(session, chat).gist(request())
    assert_safe(gist.text)
    assert gist.text.endswith(ELLIPSIS)
    kept = gist.text.removesuffix(ELLIPSIS)
    assert LONG_ANSWER.startswith(kept)
    assert LONG_ANSWER[len(kept)] in " ." or LONG_ANSWER[len(kept) : len(kept) + 2] == ". "


async def test_an_answer_larger_than_the_cap_fails(session: aiohttp.ClientSession, chat: FakeChat) -> None:
    chat.mode = "long"
    model = ModelGist(session, url=chat.url, model="m", limits=SendLimits(answer_bytes=10_000))
    with pytest.raises(GistFailed, match="larger than 10000 bytes"):
        await model.gist(request())


async def test_prompt_injection_output_fails_so_the_built_in_gist_is_used(
    session: aiohttp.ClientSession, chat: FakeChat
) -> None:
    chat.mode = "injection"
    with pytest.raises(GistFailed, match="mention members") as failed:
        await engine(session, chat).gist(request())
    assert_safe(str(failed.value))  # the reason, which goes to the log, pings no one either
    assert "evil.example" not in str(failed.value)


@pytest.mark.parametrize(
    "answer",
    [
        INJECTION,
        "Three members agreed. @everyone",
        "Three members agreed, @Here is why",
        "Most members agreed with <@123>.",
        "Most members agreed with <@&42> and <!channel>.",
        "Most members agreed with <!subteam^S1>.",
        "<think>plan</think>Two members said @channel hi.",
    ],
)
async def test_an_answer_that_mentions_anyone_fails(
    session: aiohttp.ClientSession, chat: FakeChat, answer: str
) -> None:
    chat.answer = answer
    with pytest.raises(GistFailed, match="mention members"):
        await engine(session, chat).gist(request())


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (
            "Three members agreed, see [this](https://invented.example/a).",
            "Three members agreed, see this.",
        ),
        (
            "Members agreed (evil.com/free) and <a href='https://x.invalid'>two</a> disagreed.",
            "Members agreed and two disagreed.",
        ),
        (
            "<https://invented.example> Most members found nights hard; <#7> read www.invented.example.",
            "Most members found nights hard; read.",
        ),
        (
            "## Summary\n- **Three members** said nights hurt.\n- Two liked `fixed` nights.",
            "Three members said nights hurt. Two liked fixed nights.",
        ),
    ],
)
async def test_markup_and_invented_links_never_survive(
    session: aiohttp.ClientSession, chat: FakeChat, answer: str, expected: str
) -> None:
    chat.answer = answer
    gist = await engine(session, chat).gist(request())
    assert_safe(gist.text)
    assert gist.text == expected


async def test_a_link_from_the_request_is_kept_and_an_invented_one_dropped(
    session: aiohttp.ClientSession, chat: FakeChat
) -> None:
    chat.mode = "links"
    chat.answer = "Two members cited https://known.example/study, one pointed to https://made-up.example/x."
    gist = await engine(session, chat).gist(request())
    assert "https://known.example/study" in gist.text
    assert "made-up.example" not in gist.text
    assert gist.text == "Two members cited https://known.example/study, one pointed to."


async def test_a_copied_reply_is_not_a_gist(session: aiohttp.ClientSession, chat: FakeChat) -> None:
    chat.answer = "We rotated weekly and it was worse than fixed nights, honestly."
    with pytest.raises(GistFailed, match="copied a reply"):
        await engine(session, chat).gist(request())


async def test_a_5000_reply_thread_sends_a_bounded_body(
    session: aiohttp.ClientSession, chat: FakeChat
) -> None:
    replies = tuple(
        GistReply(
            f"member {i}",
            f"Reply {i}: the rota changed on week {i % 52} and my sleep "
            + "really " * (i % 90)
            + "suffered.",
            reactions=(50 if i == 4321 else i % 3),
        )
        for i in range(5000)
    )
    await engine(session, chat).gist(request(replies=replies))
    seen = chat.received[0]
    limits = SendLimits()
    data = json.loads(seen.user)
    assert data["replies_in_all"] == 5000
    assert len(data["replies"]) <= limits.replies
    assert sum(len(r["text"]) for r in data["replies"]) <= limits.total_chars
    assert all(len(r["text"]) <= limits.reply_chars for r in data["replies"])
    assert len(seen.raw) < 16_000  # about 4,000 tokens at most, whatever the thread's size
    assert data["replies"][0]["member"] == "member 4321"  # the most reacted first


async def test_substantive_replies_are_sent_before_one_liners(
    session: aiohttp.ClientSession, chat: FakeChat
) -> None:
    one_liners = (GistReply(f"m{i}", "+1", reactions=5) for i in range(60))
    replies = (*one_liners, GistReply("Cy", "Switching to four tens saved my family time.", 0))
    await engine(session, chat).gist(request(replies=replies))
    data = json.loads(chat.received[0].user)
    assert data["replies"][0]["text"] == "Switching to four tens saved my family time."


def test_model_settings_are_validated_and_the_key_masked() -> None:
    assert model_engine(settings_from({}), None) is None  # type: ignore[arg-type]
    settings = settings_from(
        {
            "THREADCAST_MODEL_URL": "http://127.0.0.1:11434/v1/chat/completions/",
            "THREADCAST_MODEL_NAME": "llama3.2",
            "THREADCAST_MODEL_API_KEY": KEY,
        }
    )
    assert settings.model_url == "http://127.0.0.1:11434/v1"
    assert (settings.model_timeout, settings.model_max_tokens) == (20.0, 160)
    assert KEY not in repr(settings)
    shown = dict(describe(settings))
    assert KEY not in shown["THREADCAST_MODEL_API_KEY"] and KEY[-12:] not in shown["THREADCAST_MODEL_API_KEY"]
    assert shown["THREADCAST_MODEL_URL"] == "http://127.0.0.1:11434/v1/chat/completions/"
    with pytest.raises(ConfigError) as bad:
        settings_from(
            {
                "THREADCAST_MODEL_URL": "ftp://host/v1",
                "THREADCAST_MODEL_TIMEOUT": "soon",
                "THREADCAST_MODEL_MAX_TOKENS": "1000000",
            }
        )
    problems = "\n".join(bad.value.problems)
    assert "THREADCAST_MODEL_URL must be an http:// or https:// address" in problems
    assert "THREADCAST_MODEL_TIMEOUT must be a number" in problems
    assert "THREADCAST_MODEL_MAX_TOKENS must be between 16 and 4096" in problems
    with pytest.raises(ConfigError, match="needs THREADCAST_MODEL_NAME"):
        settings_from({"THREADCAST_MODEL_URL": "http://127.0.0.1:11434/v1"})
    with pytest.raises(ConfigError) as userinfo:
        settings_from(
            {"THREADCAST_MODEL_URL": "https://me:hunter2pass@api.example/v1", "THREADCAST_MODEL_NAME": "m"}
        )
    assert "hunter2pass" not in str(userinfo.value)
