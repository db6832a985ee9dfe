"""The fake Slack against bare slack-bolt and slack-sdk (no threadcast code): if these pass, the
fake speaks the protocol the real libraries expect, in Socket Mode and in HTTP mode."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from tests.fake_slack import ADMIN, GENERAL, MEMBER, FakeSlack, api_error, delayed, ratelimited, server_error

pytestmark = pytest.mark.timeout(10)

SECRET = "fake-signing-secret"
Json = dict[str, Any]


@dataclass
class Bolt:
    fake: FakeSlack
    app: AsyncApp
    client: AsyncWebClient
    seen: list[Json] = field(default_factory=list)  # what @app.event("message") received


def make_app(fake: FakeSlack) -> Bolt:
    client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
    app = AsyncApp(signing_secret=SECRET, client=client)
    bolt = Bolt(fake, app, client)

    @app.event("message")
    async def on_message(event: Json, say: Any) -> None:
        bolt.seen.append(event)
        if event.get("text") == "ping":
            await say(text="pong", thread_ts=event.get("thread_ts") or event["ts"])

    return bolt


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


@pytest.fixture
async def socket_bolt(fake: FakeSlack) -> AsyncIterator[Bolt]:
    bolt = make_app(fake)
    handler = AsyncSocketModeHandler(bolt.app, app_token=fake.app_token)
    await handler.connect_async()  # type: ignore[no-untyped-call]
    await fake.wait_connected()
    try:
        yield bolt
    finally:
        await handler.close_async()  # type: ignore[no-untyped-call]


@pytest.fixture
async def http_bolt(fake: FakeSlack) -> AsyncIterator[tuple[Bolt, str]]:
    bolt = make_app(fake)
    runner = web.AppRunner(bolt.app.web_app(path="/slack/events"), handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield bolt, f"http://127.0.0.1:{port}/slack/events"
    finally:
        await runner.cleanup()


# ----------------------------------------------------------------------------- Socket Mode


async def test_socket_mode_connects_with_the_app_token(fake: FakeSlack, socket_bolt: Bolt) -> None:
    (opened,) = fake.calls_to("apps.connections.open")
    assert opened.headers["Authorization"] == f"Bearer {fake.app_token}"
    assert fake.socket_connections == 1


async def test_message_event_reaches_the_listener_and_is_acked(fake: FakeSlack, socket_bolt: Bolt) -> None:
    ack = await fake.user_message(GENERAL, MEMBER, "hello")
    assert ack["envelope_id"] in fake.acks
    assert [e["text"] for e in socket_bolt.seen] == ["hello"]
    assert socket_bolt.seen[0]["user"] == MEMBER


async def test_say_in_a_thread_lands_in_the_fake(fake: FakeSlack, socket_bolt: Bolt) -> None:
    parent = fake.store(GENERAL, {"user": fake.bot_user_id, "bot_id": fake.bot_id, "text": "article"})
    await fake.user_message(GENERAL, MEMBER, "ping", thread_ts=parent["ts"])
    await fake.wait_for(lambda: fake.calls_to("chat.postMessage"))
    (call,) = fake.calls_to("chat.postMessage")
    assert call.params["thread_ts"] == parent["ts"] and call.params["team_id"] == fake.team_id
    thread = fake.messages_in(GENERAL, thread_ts=parent["ts"])
    assert [m["text"] for m in thread] == ["article", "ping", "pong"]
    assert thread[0]["reply_count"] == 2

    # conversations.replies returns the parent first, then the replies, oldest first.
    replies = await socket_bolt.client.conversations_replies(channel=GENERAL, ts=parent["ts"], limit=2)
    assert [m["text"] for m in replies["messages"]] == ["article", "ping"]
    cursor = replies["response_metadata"]["next_cursor"]
    rest = await socket_bolt.client.conversations_replies(channel=GENERAL, ts=parent["ts"], cursor=cursor)
    assert [m["text"] for m in rest["messages"]] == ["pong"]


async def test_edit_delete_and_reactions_reach_the_listener(fake: FakeSlack, socket_bolt: Bolt) -> None:
    reactions: list[Json] = []

    @socket_bolt.app.event("reaction_added")
    @socket_bolt.app.event("reaction_removed")
    async def on_reaction(event: Json) -> None:
        reactions.append(event)

    parent = fake.store(GENERAL, {"user": fake.bot_user_id, "text": "article"})
    reply = fake.message_event(GENERAL, MEMBER, "first", thread_ts=parent["ts"])
    await fake.socket_event(reply)
    await fake.user_edit(GENERAL, reply["ts"], "second")
    await fake.reaction_add(GENERAL, reply["ts"], ADMIN, "star")
    await fake.reaction_remove(GENERAL, reply["ts"], ADMIN, "star")
    await fake.user_delete(GENERAL, reply["ts"])

    changed, deleted = socket_bolt.seen[1], socket_bolt.seen[2]
    assert changed["subtype"] == "message_changed"
    assert changed["message"]["text"] == "second" and changed["previous_message"]["text"] == "first"
    assert changed["message"]["thread_ts"] == parent["ts"] and "edited" in changed["message"]
    assert deleted["subtype"] == "message_deleted" and deleted["deleted_ts"] == reply["ts"]
    assert [(r["type"], r["reaction"], r["item"]["ts"]) for r in reactions] == [
        ("reaction_added", "star", reply["ts"]),
        ("reaction_removed", "star", reply["ts"]),
    ]
    assert fake.messages_in(GENERAL, thread_ts=parent["ts"]) == [parent]


async def test_slash_command_is_acked_first_and_respond_reaches_response_url(
    fake: FakeSlack, socket_bolt: Bolt
) -> None:
    @socket_bolt.app.command("/threadcast")
    async def threadcast(ack: Any, respond: Any, command: Json) -> None:
        await ack()
        await asyncio.sleep(0.2)  # the work after the ack
        await respond(text=f"did {command['text']}", response_type="ephemeral")

    started = time.monotonic()
    ack = await fake.socket_command(ADMIN, "post now", timeout=3.0)
    assert time.monotonic() - started < 3.0
    assert ack["envelope_id"] in fake.acks
    assert fake.responses == []  # acked before the listener's work
    await fake.wait_for(lambda: fake.responses)
    (response,) = fake.responses
    assert response["text"] == "did post now" and response["response_type"] == "ephemeral"
    assert response["channel"] == GENERAL


async def test_message_shortcut_reaches_the_listener(fake: FakeSlack, socket_bolt: Bolt) -> None:
    shortcuts: list[Json] = []

    @socket_bolt.app.shortcut("feature_in_digest")
    async def feature(ack: Any, shortcut: Json) -> None:
        await ack()
        shortcuts.append(shortcut)

    reply = fake.store(GENERAL, {"user": MEMBER, "text": "a good reply"})
    ack = await fake.socket_interactive("feature_in_digest", GENERAL, reply["ts"], ADMIN)
    assert ack["envelope_id"] in fake.acks
    (shortcut,) = shortcuts
    assert shortcut["type"] == "message_action"
    assert shortcut["message"]["ts"] == reply["ts"] and shortcut["user"]["id"] == ADMIN
    assert shortcut["channel"]["id"] == GENERAL


async def test_bolt_drops_the_bots_own_messages(fake: FakeSlack, socket_bolt: Bolt) -> None:
    await fake.user_message(GENERAL, fake.bot_user_id, "mine, by user id")
    await fake.bot_message(GENERAL, "mine, by bot id", bot_id=fake.bot_id)
    await fake.bot_message(GENERAL, "another bot's")
    await fake.user_message(GENERAL, MEMBER, "a person's")
    assert len(fake.acks) == 4  # the dropped ones are acked too
    assert [e["text"] for e in socket_bolt.seen] == ["another bot's", "a person's"]
    assert socket_bolt.seen[0]["subtype"] == "bot_message"
    assert len(fake.calls_to("auth.test")) == 1


async def test_a_dropped_socket_is_reopened(fake: FakeSlack, socket_bolt: Bolt) -> None:
    await fake.drop_socket()
    await fake.wait_for(lambda: fake.socket_connections == 2, timeout=3.0)
    await fake.wait_connected()
    await fake.user_message(GENERAL, MEMBER, "after the drop")
    assert [e["text"] for e in socket_bolt.seen] == ["after the drop"]
    assert len(fake.calls_to("apps.connections.open")) == 2


async def test_a_disconnect_request_makes_the_client_reconnect(fake: FakeSlack, socket_bolt: Bolt) -> None:
    await fake.request_reconnect()
    await fake.wait_for(lambda: fake.socket_connections == 2)
    await fake.user_message(GENERAL, MEMBER, "on the new socket")
    assert [e["text"] for e in socket_bolt.seen] == ["on the new socket"]


# ----------------------------------------------------------------------------- Web API


async def test_ratelimited_post_is_retried_and_stored_once(fake: FakeSlack) -> None:
    client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=1))
    fake.inject("chat.postMessage", ratelimited(retry_after=0))
    result = await client.chat_postMessage(channel=GENERAL, text="hello")
    assert result["ok"] and len(fake.calls_to("chat.postMessage")) == 2
    assert [m["text"] for m in fake.messages_in(GENERAL)] == ["hello"]


async def test_ratelimited_without_the_retry_handler_raises(fake: FakeSlack) -> None:
    client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
    fake.inject("chat.postMessage", ratelimited(retry_after=7), api_error("not_in_channel"))
    with pytest.raises(SlackApiError) as raised:
        await client.chat_postMessage(channel=GENERAL, text="hello")
    assert raised.value.response.status_code == 429
    assert raised.value.response["error"] == "ratelimited"
    assert raised.value.response.headers["Retry-After"] == "7"
    with pytest.raises(SlackApiError, match="not_in_channel"):
        await client.chat_postMessage(channel=GENERAL, text="hello")
    assert fake.messages_in(GENERAL) == []


async def test_server_error_and_delay_faults(fake: FakeSlack) -> None:
    client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
    fake.inject("chat.postMessage", server_error(503), delayed(0.3))
    with pytest.raises(SlackApiError) as raised:
        await client.chat_postMessage(channel=GENERAL, text="x")
    assert raised.value.response.status_code == 503
    started = time.monotonic()
    await client.chat_postMessage(channel=GENERAL, text="late")
    assert time.monotonic() - started >= 0.3
    assert [m["text"] for m in fake.messages_in(GENERAL)] == ["late"]


async def test_web_api_methods_a_bot_uses(fake: FakeSlack) -> None:
    client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
    posted = await client.chat_postMessage(channel=GENERAL, text="t", blocks=[{"type": "divider"}])
    ts = posted["ts"]
    assert posted["message"]["blocks"] == [{"type": "divider"}]
    await client.chat_update(channel=GENERAL, ts=ts, text="t2")
    await client.reactions_add(channel=GENERAL, timestamp=ts, name="eyes")
    assert fake.messages_in(GENERAL)[0]["text"] == "t2"
    assert fake.messages_in(GENERAL)[0]["reactions"][0]["name"] == "eyes"
    link = await client.chat_getPermalink(channel=GENERAL, message_ts=ts)
    assert ts.replace(".", "") in link["permalink"]
    await client.chat_postEphemeral(channel=GENERAL, user=MEMBER, text="only you")
    assert fake.ephemerals[0]["user"] == MEMBER
    admin = await client.users_info(user=ADMIN)
    assert admin["user"]["is_admin"] and not admin["user"]["is_bot"]
    assert (await client.conversations_info(channel=GENERAL))["channel"]["name"] == "general"
    await client.chat_delete(channel=GENERAL, ts=ts)
    assert fake.messages_in(GENERAL) == []
    with pytest.raises(SlackApiError, match="channel_not_found"):
        await client.chat_postMessage(channel="C0NOPE", text="x")
    bad = AsyncWebClient(token="xoxp-user", base_url=fake.api_url)
    with pytest.raises(SlackApiError, match="invalid_auth"):
        await bad.auth_test()


async def test_replies_rate_limit_for_non_marketplace_apps(fake: FakeSlack) -> None:
    client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
    fake.replies_per_minute, fake.replies_max_limit = 1, 15
    parent = fake.store(GENERAL, {"user": fake.bot_user_id, "text": "article"})
    for i in range(20):
        fake.store(GENERAL, {"user": MEMBER, "text": str(i)}, thread_ts=parent["ts"])
    first = await client.conversations_replies(channel=GENERAL, ts=parent["ts"], limit=200)
    assert len(first["messages"]) == 15 and first["has_more"]
    with pytest.raises(SlackApiError) as raised:
        await client.conversations_replies(channel=GENERAL, ts=parent["ts"])
    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] == "60"


# ----------------------------------------------------------------------------- HTTP mode


async def test_http_signed_event_reaches_the_listener(fake: FakeSlack, http_bolt: tuple[Bolt, str]) -> None:
    bolt, url = http_bolt
    body = fake.event_body(fake.message_event(GENERAL, MEMBER, "ping"))
    reply = await fake.http_event(url, body, secret=SECRET)
    assert reply.status == 200
    assert [e["text"] for e in bolt.seen] == ["ping"]
    await fake.wait_for(lambda: fake.calls_to("chat.postMessage"))
    assert [m["text"] for m in fake.messages_in(GENERAL)] == ["ping", "pong"]


@pytest.mark.parametrize("fault", ["bad_signature", "stale_timestamp"])
async def test_http_refuses_bad_signature_and_stale_timestamp(
    fake: FakeSlack, http_bolt: tuple[Bolt, str], fault: str
) -> None:
    bolt, url = http_bolt
    body = fake.event_body(fake.message_event(GENERAL, MEMBER, "ping"))
    calls_before = len(fake.calls)
    if fault == "bad_signature":
        reply = await fake.http_event(url, body, secret=SECRET, bad_signature=True)
    else:
        reply = await fake.http_event(url, body, secret=SECRET, timestamp=int(time.time()) - 6 * 60)
    assert reply.status == 401
    await asyncio.sleep(0.1)
    assert bolt.seen == [] and len(fake.calls) == calls_before


async def test_http_url_verification_answers_the_challenge(
    fake: FakeSlack, http_bolt: tuple[Bolt, str]
) -> None:
    _, url = http_bolt
    body = {"token": "fake-verification-token", "challenge": "c-123", "type": "url_verification"}
    reply = await fake.http_event(url, body, secret=SECRET)
    assert reply.status == 200 and json.loads(reply.body) == {"challenge": "c-123"}


async def test_http_slash_command_is_form_encoded_and_acked(
    fake: FakeSlack, http_bolt: tuple[Bolt, str]
) -> None:
    bolt, url = http_bolt

    @bolt.app.command("/threadcast")
    async def threadcast(ack: Any, respond: Any, command: Json) -> None:
        await ack()
        await respond(text="in channel", response_type="in_channel")

    reply = await fake.http_event(url, fake.command_body(ADMIN, "digest now"), secret=SECRET)
    assert reply.status == 200
    await fake.wait_for(lambda: fake.responses)
    assert fake.responses[0]["response_type"] == "in_channel"
    assert [m["text"] for m in fake.messages_in(GENERAL)] == ["in channel"]


async def test_http_message_shortcut_is_a_form_payload(fake: FakeSlack, http_bolt: tuple[Bolt, str]) -> None:
    bolt, url = http_bolt
    shortcuts: list[Json] = []

    @bolt.app.shortcut("hide_from_digest")
    async def hide(ack: Any, shortcut: Json) -> None:
        await ack()
        shortcuts.append(shortcut)

    reply = fake.store(GENERAL, {"user": MEMBER, "text": "meh"})
    body = fake.shortcut_body("hide_from_digest", GENERAL, reply["ts"], ADMIN)
    assert (await fake.http_event(url, body, secret=SECRET)).status == 200
    assert [s["message"]["ts"] for s in shortcuts] == [reply["ts"]]


# Issue 13: the channel directory (conversations.list, .info) and commands escaped as Slack sends them.


async def test_conversations_list_pages_with_a_cursor_and_hides_private_channels_without_the_bot(
    fake: FakeSlack,
) -> None:
    for number in range(7):
        fake.add_channel(f"C0PAGED{number:03d}", f"paged-{number}")
    fake.add_private_channel("G0WITHBOT1", "with-bot")
    fake.add_private_channel("G0WITHOUT1", "without-bot", member=False)
    fake.add_channel("C0ARCHIVE1", "old-news")
    fake.archive_channel("C0ARCHIVE1")
    fake.channels_list_max_limit = 4
    client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
    names: list[str] = []
    pages = 0
    first = await client.conversations_list(
        types="public_channel,private_channel", exclude_archived=True, limit=1000
    )
    async for page in first:  # slack-sdk follows response_metadata.next_cursor
        pages += 1
        names += [c["name"] for c in page["channels"]]
    assert pages == 3  # 2 + 7 + 1 visible channels, 4 a page
    assert names == ["general", "news", *(f"paged-{n}" for n in range(7)), "with-bot"]
    cursors = [c.params.get("cursor") for c in fake.calls_to("conversations.list")]
    assert cursors[0] is None and all(cursors[1:]) and len(set(cursors)) == 3
    public = await client.conversations_list()
    assert "with-bot" not in [c["name"] for c in public["channels"]]  # types defaults to public
    fake.channels_list_max_limit = 1000
    with_archived = await client.conversations_list(limit=1000)
    assert "old-news" in [c["name"] for c in with_archived["channels"]]
    with pytest.raises(SlackApiError) as refused:
        await client.conversations_list(cursor="bm90IGEgY3Vyc29y")
    assert refused.value.response["error"] == "invalid_cursor"
    info = await client.conversations_info(channel="G0WITHBOT1")
    assert info["channel"]["is_private"] and info["channel"]["is_member"]
    with pytest.raises(SlackApiError) as hidden:
        await client.conversations_info(channel="G0WITHOUT1")
    assert hidden.value.response["error"] == "channel_not_found"


def test_command_text_is_escaped_as_the_manifest_asks(fake: FakeSlack) -> None:
    assert fake.escape_commands  # slack-manifest.yml: should_escape: true
    typed = "post https://example.com/a?b=1&c=2. #news @alice @here <b> & #nowhere"
    assert fake.slash_text(typed) == (
        "post <https://example.com/a?b=1&amp;c=2>. <#C0NEWS|news> <@U0MEMBER|alice> <!here>"
        " &lt;b&gt; &amp; #nowhere"
    )
    fake.link_typed_channels = False  # a name pasted: Slack leaves it as text
    assert fake.slash_text("#news") == "#news"
    fake.escape_commands = False
    assert fake.slash_text("post https://x.test #news @alice & <b>") == (
        "post https://x.test #news @alice &amp; &lt;b&gt;"
    )
