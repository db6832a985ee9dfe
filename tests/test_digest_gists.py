"""Gists in built digests: the built-in one by default, the model's where a community asks for
it, the built-in one again on any failure of the model, and a kept gist reused, not re-asked.

The model is `tests/fake_chat.py`, a chat-completions server on 127.0.0.1; the assertions look
at what it received as well as at what the digest shows."""

from __future__ import annotations

import io
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
import pytest

from adapters.console.platform import COMMUNITY, ConsolePlatform
from bot import markdown
from bot.digest import Digest, DigestBuilder
from bot.layout import Style
from bot.model_gist import ModelGist
from bot.models import MemberPrefs
from tests.conftest import Harness
from tests.digest_views import layout_of
from tests.fake_chat import FakeChat, Mode
from tests.test_digest_jobs import start_discussion

REPLIES = {
    "ana": "I volunteer at the repair café and we fix about thirty toasters a month there.",
    "ben": "The repair café fixed my kettle last winter, and the volunteers showed me how.",
    "cy": "Spare parts cost more than the kettle itself, which is why nobody repairs at home.",
    "dee": "My grandfather repaired everything himself; I still keep his soldering iron around.",
    "eli": "Zqsecret opted-out words about my landlord that must never leave this server.",
    "fay": "Zqhidden words the moderators hid from the digest, about somebody's address.",
    "gus": "I asked the repair café about my phone and they had the spare parts for it.",
}


@pytest.fixture
async def chat() -> AsyncIterator[FakeChat]:
    async with FakeChat() as server:
        yield server


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as opened:
        yield opened


async def busy_week(h: Harness) -> None:
    thread = await start_discussion(h)
    ids = {name: await h.reply(thread, name, text) for name, text in REPLIES.items()}
    assert (await h.command(f"reply hide {ids['fay']}")).ok
    await h.store.set_prefs(MemberPrefs("console", "eli", opted_out=True))
    await h.store.set_prefs(MemberPrefs("console", "dee", anonymous=True))
    h.clock.advance(timedelta(minutes=1))


def builder(h: Harness, engine: ModelGist | None) -> DigestBuilder:
    return DigestBuilder(h.store, {COMMUNITY.platform: ConsolePlatform(io.StringIO())}, model=engine)


async def build(h: Harness, engine: ModelGist | None) -> Digest:
    now = h.clock.now()
    return await builder(h, engine).build(COMMUNITY, now - timedelta(days=7), now)


def engine_for(chat: FakeChat, session: aiohttp.ClientSession, timeout: float = 5) -> ModelGist:
    return ModelGist(session, url=chat.url, model="fake", timeout=timeout)


async def test_the_built_in_gist_says_what_members_said_without_copying_a_reply(harness: Harness) -> None:
    await busy_week(harness)
    [shown] = (await build(harness, None)).discussions
    assert shown.gist_engine == "builtin" and "repair café" in shown.gist
    assert not any(text in shown.gist for text in REPLIES.values())
    text = markdown.render(layout_of(await build(harness, None), Style.COMPACT))
    assert shown.gist in text


async def test_the_model_writes_the_gist_only_where_the_community_asked_for_it(
    harness: Harness, chat: FakeChat, session: aiohttp.ClientSession
) -> None:
    await busy_week(harness)
    engine = engine_for(chat, session)
    [shown] = (await build(harness, engine)).discussions
    assert shown.gist_engine == "builtin" and chat.received == []  # not switched on

    assert (await harness.command("digest summaries model")).ok
    [shown] = (await build(harness, engine)).discussions
    assert (shown.gist_engine, shown.gist) == ("model", "Three members said the night shift hurt.")
    [request] = chat.received
    sent = request.raw.decode()
    # Only what the digest may show: no opted-out or hidden words, the anonymous member unnamed.
    assert "Zqsecret" not in sent and "Zqhidden" not in sent and "dee" not in sent
    assert "a member" in sent and "thirty toasters" in sent


async def test_a_kept_gist_is_used_again_and_new_words_ask_again(
    harness: Harness, chat: FakeChat, session: aiohttp.ClientSession
) -> None:
    await busy_week(harness)
    assert (await harness.command("digest summaries model")).ok
    engine = engine_for(chat, session)
    first = await build(harness, engine)
    again = await build(harness, engine)  # a preview, then the post: the same words
    assert len(chat.received) == 1 and first.discussions[0].gist == again.discussions[0].gist
    chat.answer = "Four members now shared repair stories."
    [discussion] = await harness.store.recent_discussions(COMMUNITY, harness.clock.now() - timedelta(days=1))
    assert discussion.thread_id
    await harness.reply(discussion.thread_id, "hal", "The repair café also fixed my bicycle lights for free.")
    harness.clock.advance(timedelta(minutes=1))
    [shown] = (await build(harness, engine)).discussions
    assert len(chat.received) == 2 and shown.gist == "Four members now shared repair stories."


@pytest.mark.parametrize("mode", ["slow", "error", "garbage", "long", "injection"])
async def test_any_failure_of_the_model_ends_in_a_safe_gist(
    harness: Harness,
    chat: FakeChat,
    session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
    mode: Mode,
) -> None:
    await busy_week(harness)
    assert (await harness.command("digest summaries model")).ok
    chat.mode = mode
    with caplog.at_level(logging.WARNING):
        digest = await build(harness, engine_for(chat, session, timeout=1))
    [shown] = digest.discussions
    assert chat.received, "the model was asked"
    if mode == "long":  # cut to size, at a word: still the model's
        assert shown.gist_engine == "model" and len(shown.gist) <= 400
    else:
        assert shown.gist_engine == "builtin" and "repair café" in shown.gist
        assert any("the built-in gist is used" in r.getMessage() for r in caplog.records)
        assert not any(r.exc_info for r in caplog.records)  # one line, no traceback
    for style in Style:
        text = markdown.render(layout_of(digest, style))
        assert "@everyone" not in text and "<@123>" not in text and "evil.example" not in text
    # Nothing failed is kept: the next build asks again.
    before = len(chat.received)
    await build(harness, engine_for(chat, session, timeout=1))
    assert len(chat.received) == before + (0 if mode == "long" else 1)
