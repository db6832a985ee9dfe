"""A fake Slack (Web API, Socket Mode websocket, response_url) that the real, unmodified
slack-bolt ``AsyncApp`` and slack-sdk ``AsyncWebClient`` talk to.

``async with FakeSlack() as fake:`` serves on 127.0.0.1 (a free port). Point the app at it:

    client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
    app = AsyncApp(signing_secret=SECRET, client=client)          # no token= as well
    handler = AsyncSocketModeHandler(app, app_token=fake.app_token)

The workspace holds a team, the bot user (``bot_user_id``/``bot_id``), an admin, an owner and a
plain member, and two channels the bot is in (``GENERAL``, ``NEWS``).

The protocol, as Slack runs it and as this fake does:

    Web API   POST/GET /api/<method>; parameters may come as a JSON body, a form body or the
              query string, and are merged (bolt adds ``team_id`` to every call). The token
              is the ``Authorization: Bearer`` header (or a ``token`` parameter). Answers are
              ``{"ok": true, …}`` or ``{"ok": false, "error": …}`` with status 200; a rate
              limit is status 429 with ``Retry-After`` (seconds) and ``"error": "ratelimited"``.
    Socket    ``apps.connections.open`` (an ``xapp-`` token) answers a ``ws://`` URL; on connect
              the server sends ``{"type": "hello"}``, then envelopes
              ``{"envelope_id", "type": "events_api"|"slash_commands"|"interactive",
              "payload", "accepts_response_payload"}``; the client acks each with
              ``{"envelope_id"[, "payload"]}``. ``{"type": "disconnect"}`` asks it to reconnect.
    HTTP      Slack POSTs events (JSON) and commands/interactions (form) to the app with
              ``X-Slack-Signature = "v0=" + HMAC_SHA256(secret, f"v0:{ts}:{body}")`` and
              ``X-Slack-Request-Timestamp = ts``; ``http_event`` does that.
    respond   ``response_url`` is ``/respond/<id>`` here: a JSON POST with ``text``/``blocks``,
              ``response_type`` ("ephemeral" by default, or "in_channel") and
              ``replace_original``; answered with the text ``ok``.

Tests drive it as users would (``user_message``, ``user_edit``, ``reaction_add``,
``socket_command``, ``socket_interactive``, …) and assert on what the bot did: ``calls``,
``calls_to``, ``messages_in``, ``ephemerals``, ``responses``, ``acks``. Faults are queued per
method with ``inject`` (``ratelimited``, ``server_error``, ``api_error``, ``delayed``).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
import json
import re
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import aiohttp
import yaml
from aiohttp import WSMsgType, web

Json = dict[str, Any]

TEAM_ID, APP_ID = "T0TEAM", "A0APP"
GENERAL, NEWS = "C0GENERAL", "C0NEWS"
BOT_USER_ID, BOT_ID = "U0BOT", "B0BOT"
ADMIN, OWNER, MEMBER = "U0ADMIN", "U0OWNER", "U0MEMBER"
# The bot scopes slack-manifest.yml asks for (a fake app installed from it is granted these).
BOT_SCOPES = ("chat:write", "files:write", "commands", "channels:history", "groups:history",
              "channels:read", "groups:read", "reactions:read", "users:read")  # fmt: skip
FIRST_TS = 1_700_000_000_000_100  # microseconds: "1700000000.000100"
TS_STEP = 100


MANIFEST = Path(__file__).resolve().parent.parent / "slack-manifest.yml"


def manifest_should_escape(path: Path = MANIFEST) -> bool:
    """Whether slack-manifest.yml asks Slack to escape the /threadcast command's text."""
    manifest = yaml.safe_load(path.read_text(encoding="utf-8"))
    commands = manifest["features"]["slash_commands"]
    return bool(next(c for c in commands if c["command"] == "/threadcast").get("should_escape"))


_TYPED_REFERENCE = re.compile(
    r"(?P<url>https?://[^\s<>|\"“”]+)|(?<![\w&#])#(?P<channel>[\w-]+)|(?<![\w@])@(?P<user>[\w.-]+)"
)


def _entities(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def format_ts(micros: int) -> str:
    """Slack's message id: seconds and six digits of microseconds, as a string."""
    return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Slack-Signature`` Slack sends with an HTTP request to the app."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Call:
    """One request the fake received: the Web API method (or "response_url"), the merged
    parameters and the request headers."""

    method: str
    params: Json
    headers: Mapping[str, str]


@dataclass(frozen=True)
class Fault:
    """What to do instead of (or before) answering one call. ``status`` 200 with ``error`` is
    Slack's ordinary failure; 429 carries ``Retry-After``; ``delay`` sleeps first and, with
    neither status nor error, then answers normally."""

    status: int = 200
    error: str | None = None
    retry_after: int | None = None
    delay: float = 0.0


def ratelimited(retry_after: int = 0) -> Fault:
    # slack-sdk sleeps int(Retry-After) + random() seconds, so 0 keeps tests under a second.
    return Fault(status=429, error="ratelimited", retry_after=retry_after)


def server_error(status: int = 500) -> Fault:
    return Fault(status=status, error="internal_error")


def api_error(error: str) -> Fault:
    """``channel_not_found``, ``not_in_channel``, ``missing_scope``, …"""
    return Fault(error=error)


def delayed(seconds: float) -> Fault:
    return Fault(delay=seconds)


@dataclass(frozen=True)
class HttpReply:
    status: int
    body: str
    headers: Mapping[str, str]


class SlackError(Exception):
    """An ``{"ok": false, "error": …}`` answer, raised by a method implementation."""

    def __init__(self, error: str, status: int = 200, retry_after: int | None = None) -> None:
        super().__init__(error)
        self.error, self.status, self.retry_after = error, status, retry_after


@dataclass
class _Socket:
    ws: web.WebSocketResponse
    closed: asyncio.Event = field(default_factory=asyncio.Event)


class FakeSlack:
    def __init__(self, *, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = 0
        self.bot_token = "xoxb-fake-bot-token"
        self.app_token = "xapp-fake-app-token"
        self.team_id, self.app_id = TEAM_ID, APP_ID
        self.bot_user_id, self.bot_id = BOT_USER_ID, BOT_ID

        self.calls: list[Call] = []
        self.acks: dict[str, Json] = {}  # envelope_id -> the client's ack
        self.ephemerals: list[Json] = []  # chat.postEphemeral, with channel and user
        self.responses: list[Json] = []  # bodies posted to a response_url, with "response_id"
        self.socket_connections = 0  # how many websockets were opened so far
        self.files: dict[str, Json] = {}  # file id -> name, length, title, data (once uploaded)

        self.users: dict[str, Json] = {}
        self.channels: dict[str, Json] = {}
        self._messages: dict[str, dict[str, Json]] = {}  # channel -> ts -> message
        self._response_urls: dict[str, str] = {}  # response id -> channel
        self._faults: dict[str, list[Fault]] = {}
        # Consulted (with the method name) for every call no queued fault answers: random faults.
        self.fault_hook: Callable[[str], Fault | None] | None = None
        self._clock = FIRST_TS
        self._ids = itertools.count(1)
        self._changed = asyncio.Condition()
        self._acked: dict[str, asyncio.Future[Json]] = {}
        self._socket: _Socket | None = None
        self._connected = asyncio.Event()
        self._runner: web.AppRunner | None = None

        # conversations.replies for apps outside the Marketplace: 1 request a minute, 15 items.
        self.replies_per_minute: int | None = None
        self.replies_max_limit = 1000
        self.replies_retry_after = 60
        self._replies_times: list[float] = []

        # The bot token's scopes, sent as Slack does in the x-oauth-scopes header of every answer
        # to a bot-token call (`threadcast check` compares them); None: no header.
        self.granted_scopes: list[str] | None = list(BOT_SCOPES)

        self.add_user(BOT_USER_ID, "threadcast", bot=True)
        self.add_user(ADMIN, "admin", admin=True)
        self.add_user(OWNER, "owner", owner=True)
        self.add_user(MEMBER, "alice")
        self.add_channel(GENERAL, "general")
        self.add_channel(NEWS, "news")

        self._methods: dict[str, Callable[[Json, str], Json]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._post_message,
            "chat.update": self._update,
            "chat.delete": self._delete,
            "chat.postEphemeral": self._post_ephemeral,
            "chat.getPermalink": self._permalink,
            "conversations.replies": self._replies,
            "conversations.history": self._history,
            "conversations.info": self._conversation_info,
            "users.info": self._user_info,
            "reactions.add": self._reactions_add,
            "apps.connections.open": self._connections_open,
            "files.getUploadURLExternal": self._upload_url,
            "files.completeUploadExternal": self._complete_upload,
        }
        self._init_channel_directory()

    # ----------------------------------------------------------------- lifecycle

    async def __aenter__(self) -> Self:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/respond/{response_id}", self._respond)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_get("/socket", self._websocket)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for future in self._acked.values():
            future.cancel()
        await self.drop_socket()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        """``AsyncWebClient(base_url=…)``: the trailing slash matters (the SDK appends the method)."""
        return f"{self.base_url}/api/"

    # ----------------------------------------------------------------- workspace

    def add_user(
        self, user_id: str, name: str, *, admin: bool = False, owner: bool = False, bot: bool = False
    ) -> Json:
        user: Json = {
            "id": user_id,
            "team_id": self.team_id,
            "name": name,
            "real_name": name.title(),
            "deleted": False,
            "is_admin": admin or owner,  # Slack: owners are admins too
            "is_owner": owner,
            "is_primary_owner": owner,
            "is_bot": bot,
            "profile": {"display_name": name, "real_name": name.title()},
        }
        if bot:
            user["profile"]["bot_id"] = self.bot_id if user_id == self.bot_user_id else f"B{user_id}"
        self.users[user_id] = user
        return user

    def add_channel(self, channel_id: str, name: str, *, member: bool = True) -> Json:
        channel: Json = {"id": channel_id, "name": name, "is_channel": True, "is_member": member}
        self.channels[channel_id] = channel
        self._messages.setdefault(channel_id, {})
        return channel

    def next_ts(self) -> str:
        """A fresh message ts, increasing, like Slack's."""
        self._clock += TS_STEP
        return format_ts(self._clock)

    # ----------------------------------------------------------------- channel directory
    # Issue 13: channels found by name (conversations.list, paged), private channels the bot can
    # see only as a member, and slash command text escaped as Slack sends it.

    def _init_channel_directory(self) -> None:
        # As slack-manifest.yml says: Slack escapes the command's text (links, channels, users).
        self.escape_commands = manifest_should_escape()
        # Slack links a #name the typing member picked or typed whole; False: sent as plain text
        # (a name pasted, or one Slack did not recognise).
        self.link_typed_channels = True
        self.channels_list_max_limit = 1000  # lower it to make conversations.list page
        self._methods["conversations.list"] = self._conversations_list
        self._methods["conversations.info"] = self._conversation_info_for_bot

    def add_private_channel(self, channel_id: str, name: str, *, member: bool = True) -> Json:
        """A private channel: the bot sees it (conversations.list, .info) only as a member."""
        channel = self.add_channel(channel_id, name, member=member)
        channel["is_private"] = True
        return channel

    def archive_channel(self, channel_id: str) -> None:
        self.channels[channel_id]["is_archived"] = True

    def _visible_to_bot(self, channel: Json) -> bool:
        return not channel.get("is_private") or bool(channel["is_member"])

    def _conversations_list(self, params: Json, token: str) -> Json:
        """Channels the bot can see, in pages: ``limit`` (≤1000), an opaque ``cursor``,
        ``types`` (public_channel by default), ``exclude_archived``."""
        self._bot_token(token)
        types = set(str(params.get("types") or "public_channel").split(","))
        if not types <= {"public_channel", "private_channel", "mpim", "im"}:
            raise SlackError("invalid_types")
        exclude_archived = str(params.get("exclude_archived", "")).lower() in ("1", "true")
        listed = [
            c for c in self.channels.values()
            if ("private_channel" if c.get("is_private") else "public_channel") in types
            and self._visible_to_bot(c)
            and not (exclude_archived and c.get("is_archived"))
        ]  # fmt: skip
        limit = int(params.get("limit") or 100)
        if not 1 <= limit <= 1000:
            raise SlackError("invalid_limit")
        size = min(limit, self.channels_list_max_limit)
        start = 0
        if params.get("cursor"):
            try:
                start = int(base64.b64decode(str(params["cursor"])).decode().removeprefix("offset:"))
            except ValueError:
                raise SlackError("invalid_cursor") from None
        more = start + size < len(listed)
        cursor = base64.b64encode(f"offset:{start + size}".encode()).decode() if more else ""
        return {
            "channels": [dict(c) for c in listed[start : start + size]],
            "response_metadata": {"next_cursor": cursor},
        }

    def _conversation_info_for_bot(self, params: Json, token: str) -> Json:
        self._bot_token(token)
        channel = self.channels.get(str(params.get("channel") or ""))
        if channel is None or not self._visible_to_bot(channel):
            raise SlackError("channel_not_found")
        return {"channel": dict(channel)}

    def slash_text(self, typed: str) -> str:
        """A command's text as Slack sends it: ``&``, ``<``, ``>`` as entities; with escaping on,
        links as ``<url>``, known channels as ``<#C…|name>``, members as ``<@U…|name>``, and
        @here/@channel/@everyone as ``<!here>``…"""
        by_name = {str(c["name"]): channel_id for channel_id, c in self.channels.items()}
        users = {str(u["name"]): user_id for user_id, u in self.users.items()}
        parts: list[str] = []
        done = 0
        for match in _TYPED_REFERENCE.finditer(typed):
            shown: str | None = None
            if match["url"]:
                url = match["url"].rstrip(".,;:!?)")
                if self.escape_commands:
                    shown = f"<{_entities(url)}>" + _entities(match["url"][len(url) :])
            elif match["channel"]:
                found = by_name.get(match["channel"].lower())
                if self.escape_commands and self.link_typed_channels and found:
                    shown = f"<#{found}|{match['channel'].lower()}>"
            elif match["user"]:
                if self.escape_commands and match["user"] in ("here", "channel", "everyone"):
                    shown = f"<!{match['user']}>"
                elif self.escape_commands and match["user"] in users:
                    shown = f"<@{users[match['user']]}|{match['user']}>"
            if shown is not None:
                parts.append(_entities(typed[done : match.start()]) + shown)
                done = match.end()
        parts.append(_entities(typed[done:]))
        return "".join(parts)

    # ----------------------------------------------------------------- assertions

    def calls_to(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    def messages_in(self, channel: str, *, thread_ts: str | None = None) -> list[Json]:
        """The channel's messages, oldest first; with ``thread_ts``, that thread (parent first)."""
        messages = sorted(self._messages.get(channel, {}).values(), key=lambda m: float(m["ts"]))
        if thread_ts is None:
            return messages
        return [m for m in messages if m["ts"] == thread_ts or m.get("thread_ts") == thread_ts]

    def message(self, channel: str, ts: str) -> Json | None:
        return self._messages.get(channel, {}).get(ts)

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 2.0) -> None:
        """Wait until ``predicate()`` holds; it is checked after every request the fake answers."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(predicate)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # ----------------------------------------------------------------- faults

    def inject(self, method: str, *faults: Fault) -> None:
        """The next calls to ``method`` (a Web API name, or "response_url") meet these faults,
        one fault per call, in order."""
        self._faults.setdefault(method, []).extend(faults)

    async def _fault(self, method: str) -> web.Response | None:
        queue = self._faults.get(method)
        fault = queue.pop(0) if queue else self.fault_hook(method) if self.fault_hook else None
        if fault is None:
            return None
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if fault.status == 200 and fault.error is None:
            return None
        headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
        return web.json_response({"ok": False, "error": fault.error}, status=fault.status, headers=headers)

    # ----------------------------------------------------------------- Web API

    async def _api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        params: Json = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                params.update(await request.json())
            else:
                params.update(dict(await request.post()))
        for key in ("blocks", "attachments", "files"):  # form posts carry these as JSON strings
            if isinstance(params.get(key), str):
                params[key] = json.loads(params[key])
        self.calls.append(Call(method, params, dict(request.headers)))
        try:
            response = await self._fault(method)
            if response is not None:
                return response
            implementation = self._methods.get(method)
            if implementation is None:
                raise SlackError("unknown_method")
            token = params.get("token") or request.headers.get("Authorization", "").removeprefix("Bearer ")
            answer = implementation(params, str(token))
            return web.json_response({"ok": True, **answer}, headers=self._scope_headers(str(token)))
        except SlackError as e:
            headers = {"Retry-After": str(e.retry_after)} if e.retry_after is not None else {}
            return web.json_response({"ok": False, "error": e.error}, status=e.status, headers=headers)
        finally:
            await self._notify()

    def _scope_headers(self, token: str) -> dict[str, str]:
        if token != self.bot_token or self.granted_scopes is None:
            return {}
        return {"x-oauth-scopes": ",".join(self.granted_scopes)}

    def _bot_token(self, token: str) -> None:
        if not token:
            raise SlackError("not_authed")
        if token != self.bot_token:
            raise SlackError("invalid_auth")

    def _channel(self, params: Json, *, post: bool = False) -> str:
        channel_id = str(params.get("channel") or "")
        channel = self.channels.get(channel_id)
        if channel is None:
            raise SlackError("channel_not_found")
        if post and not channel["is_member"]:
            raise SlackError("not_in_channel")
        return channel_id

    def _existing(self, channel: str, ts: Any) -> Json:
        message = self._messages[channel].get(str(ts or ""))
        if message is None:
            raise SlackError("message_not_found")
        return message

    def _auth_test(self, params: Json, token: str) -> Json:
        self._bot_token(token)
        return {
            "url": "https://fake.slack.test/",
            "team": "Fake Team",
            "user": "threadcast",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _post_message(self, params: Json, token: str) -> Json:
        self._bot_token(token)
        channel = self._channel(params, post=True)
        if not params.get("text") and not params.get("blocks"):
            raise SlackError("no_text")
        thread_ts = params.get("thread_ts")
        if thread_ts:
            self._existing(channel, thread_ts)
        message = self.store(
            channel,
            {
                "user": self.bot_user_id,
                "bot_id": self.bot_id,
                "app_id": self.app_id,
                "text": params.get("text", ""),
            },
            thread_ts=str(thread_ts) if thread_ts else None,
        )
        if params.get("blocks"):
            message["blocks"] = params["blocks"]
        metadata = params.get("metadata")
        if isinstance(metadata, str):
            metadata = json.loads(metadata)
        if metadata:
            message["metadata"] = metadata
        return {"channel": channel, "ts": message["ts"], "message": message}

    def _update(self, params: Json, token: str) -> Json:
        self._bot_token(token)
        channel = self._channel(params)
        message = self._existing(channel, params.get("ts"))
        if message.get("user") != self.bot_user_id:
            raise SlackError("cant_update_message")
        if "text" in params:
            message["text"] = params["text"]
        if "blocks" in params:
            message["blocks"] = params["blocks"]
        message["edited"] = {"user": self.bot_user_id, "ts": self.next_ts()}
        return {"channel": channel, "ts": message["ts"], "text": message["text"], "message": message}

    def _delete(self, params: Json, token: str) -> Json:
        self._bot_token(token)
        channel = self._channel(params)
        message = self._existing(channel, params.get("ts"))
        if message.get("user") != self.bot_user_id:
            raise SlackError("cant_delete_message")
        del self._messages[channel][message["ts"]]
        return {"channel": channel, "ts": message["ts"]}

    def _post_ephemeral(self, params: Json, token: str) -> Json:
        self._bot_token(token)
        channel = self._channel(params, post=True)
        if params.get("user") not in self.users:
            raise SlackError("user_not_found")
        ts = self.next_ts()
        self.ephemerals.append({**params, "channel": channel, "message_ts": ts})
        return {"message_ts": ts}

    def _permalink(self, params: Json, token: str) -> Json:
        self._bot_token(token)
        channel = self._channel(params)
        message = self._existing(channel, params.get("message_ts"))
        link = f"https://fake.slack.test/archives/{channel}/p{message['ts'].replace('.', '')}"
        if message.get("thread_ts") and message["thread_ts"] != message["ts"]:
            link += f"?thread_ts={message['thread_ts']}&cid={channel}"
        return {"channel": channel, "permalink": link}

    def _replies(self, params: Json, token: str) -> Json:
        self._bot_token(token)
        if self.replies_per_minute is not None:
            now = time.monotonic()
            self._replies_times = [t for t in self._replies_times if now - t < 60]
            if len(self._replies_times) >= self.replies_per_minute:
                raise SlackError("ratelimited", 429, self.replies_retry_after)
            self._replies_times.append(now)
        channel = self._channel(params)
        parent = self._existing(channel, params.get("ts"))
        if parent.get("thread_ts") not in (None, parent["ts"]):
            parent = self._existing(channel, parent["thread_ts"])  # a reply's ts: its whole thread
        replies = [m for m in self.messages_in(channel, thread_ts=parent["ts"]) if m is not parent]
        inclusive = str(params.get("inclusive", "")).lower() in ("1", "true")
        if params.get("oldest"):
            oldest = float(params["oldest"])
            replies = [
                m for m in replies if float(m["ts"]) > oldest or (inclusive and float(m["ts"]) == oldest)
            ]
        if params.get("latest"):
            latest = float(params["latest"])
            replies = [
                m for m in replies if float(m["ts"]) < latest or (inclusive and float(m["ts"]) == latest)
            ]
        thread = [parent, *replies]
        start = int(params.get("cursor") or 0)
        limit = min(int(params.get("limit") or 1000), self.replies_max_limit)
        page = thread[start : start + limit]
        more = start + limit < len(thread)
        return {
            "messages": page,
            "has_more": more,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    def _history(self, params: Json, token: str) -> Json:
        """Top-level messages, newest first; metadata only when asked for, as Slack does."""
        self._bot_token(token)
        channel = self._channel(params)
        oldest = float(params.get("oldest") or 0)
        found = [
            m for m in self._messages.get(channel, {}).values()
            if m.get("thread_ts") in (None, m["ts"]) and float(m["ts"]) > oldest
        ]  # fmt: skip
        found.sort(key=lambda m: float(m["ts"]), reverse=True)
        with_metadata = str(params.get("include_all_metadata", "")).lower() in ("1", "true")
        if not with_metadata:
            found = [{k: v for k, v in m.items() if k != "metadata"} for m in found]
        start = int(params.get("cursor") or 0)
        limit = min(int(params.get("limit") or 100), 999)
        more = start + limit < len(found)
        return {
            "messages": found[start : start + limit],
            "has_more": more,
            "response_metadata": {"next_cursor": str(start + limit) if more else ""},
        }

    def _conversation_info(self, params: Json, token: str) -> Json:
        self._bot_token(token)
        return {"channel": self.channels[self._channel(params)]}

    def _user_info(self, params: Json, token: str) -> Json:
        self._bot_token(token)
        user = self.users.get(str(params.get("user") or ""))
        if user is None:
            raise SlackError("user_not_found")
        return {"user": user}

    def _reactions_add(self, params: Json, token: str) -> Json:
        self._bot_token(token)
        channel = self._channel(params)
        message = self._existing(channel, params.get("timestamp"))
        name = str(params.get("name") or "")
        if not name:
            raise SlackError("invalid_name")
        self._react(message, self.bot_user_id, name)
        return {}

    # files.getUploadURLExternal → POST the bytes to upload_url → files.completeUploadExternal
    def _upload_url(self, params: Json, token: str) -> Json:
        self._bot_token(token)
        if not params.get("filename") or not str(params.get("length", "")).isdigit():
            raise SlackError("invalid_arguments")
        file_id = f"F{next(self._ids):08d}"
        self.files[file_id] = {"id": file_id, "name": params["filename"], "length": int(params["length"]),
                               "alt_txt": params.get("alt_txt"), "data": None}  # fmt: skip
        return {"upload_url": f"{self.base_url}/upload/{file_id}", "file_id": file_id}

    async def _upload(self, request: web.Request) -> web.StreamResponse:
        file = self.files.get(request.match_info["file_id"])
        data = await request.read()
        if file is None or len(data) != file["length"]:
            return web.Response(status=400, text="bad upload")
        file["data"] = data
        return web.Response(text=f"OK - {len(data)}")

    def _complete_upload(self, params: Json, token: str) -> Json:
        self._bot_token(token)
        listed = params.get("files")
        if not isinstance(listed, list) or not listed:
            raise SlackError("invalid_arguments")
        done = []
        for item in listed:
            file = self.files.get(str(item.get("id")))
            if file is None or file["data"] is None:
                raise SlackError("file_not_found")
            file["title"] = item.get("title") or file["name"]
            done.append({k: v for k, v in file.items() if k != "data"})
        if params.get("channel_id"):
            channel = self._channel({"channel": params["channel_id"]}, post=True)
            self.store(channel, {"user": self.bot_user_id, "bot_id": self.bot_id, "upload": True,
                                 "text": params.get("initial_comment", ""), "files": done})  # fmt: skip
        return {"files": done}

    def _connections_open(self, params: Json, token: str) -> Json:
        if not token.startswith("xapp-"):
            raise SlackError("not_allowed_token_type")
        if token != self.app_token:
            raise SlackError("invalid_auth")
        return {"url": f"ws://{self.host}:{self.port}/socket"}

    # ----------------------------------------------------------------- messages

    def store(
        self, channel: str, fields: Json, *, thread_ts: str | None = None, ts: str | None = None
    ) -> Json:
        """Keep a message as Slack would (so conversations.replies sees it) and return it."""
        message: Json = {"type": "message", "ts": ts or self.next_ts(), "team": self.team_id, **fields}
        if thread_ts:
            message["thread_ts"] = thread_ts
            parent = self._messages[channel].get(thread_ts)
            if parent is not None:
                parent["thread_ts"] = thread_ts
                parent["reply_count"] = parent.get("reply_count", 0) + 1
                parent["latest_reply"] = message["ts"]
                message["parent_user_id"] = parent.get("user")
        self._messages.setdefault(channel, {})[message["ts"]] = message
        return message

    @staticmethod
    def _react(message: Json, user: str, name: str, *, add: bool = True) -> None:
        reactions: list[Json] = message.setdefault("reactions", [])
        entry = next((r for r in reactions if r["name"] == name), None)
        if add:
            if entry is None:
                entry = {"name": name, "users": [], "count": 0}
                reactions.append(entry)
            if user in entry["users"]:
                raise SlackError("already_reacted")
            entry["users"].append(user)
            entry["count"] += 1
        else:
            if entry is None or user not in entry["users"]:
                raise SlackError("no_reaction")
            entry["users"].remove(user)
            entry["count"] -= 1
            if not entry["count"]:
                reactions.remove(entry)

    # Event builders: each updates the store as Slack would and returns the ``event`` object,
    # to send with ``socket_event`` or wrap with ``event_body`` for ``http_event``.

    def message_event(self, channel: str, user: str, text: str, thread_ts: str | None = None) -> Json:
        message = self.store(channel, {"user": user, "text": text}, thread_ts=thread_ts)
        return {**message, "channel": channel, "event_ts": message["ts"], "channel_type": "channel"}

    def bot_message_event(
        self, channel: str, text: str, *, bot_id: str = "B0OTHER", thread_ts: str | None = None
    ) -> Json:
        message = self.store(
            channel, {"subtype": "bot_message", "bot_id": bot_id, "text": text}, thread_ts=thread_ts
        )
        return {**message, "channel": channel, "event_ts": message["ts"], "channel_type": "channel"}

    def edit_event(self, channel: str, ts: str, text: str) -> Json:
        message = self._messages[channel][ts]
        previous = dict(message)
        event_ts = self.next_ts()
        message["text"] = text
        message["edited"] = {"user": message.get("user"), "ts": event_ts}
        return {
            "type": "message",
            "subtype": "message_changed",
            "hidden": True,
            "channel": channel,
            "ts": event_ts,
            "event_ts": event_ts,
            "channel_type": "channel",
            "message": dict(message),
            "previous_message": previous,
        }

    def delete_event(self, channel: str, ts: str) -> Json:
        previous = self._messages[channel].pop(ts)
        event_ts = self.next_ts()
        event: Json = {
            "type": "message",
            "subtype": "message_deleted",
            "hidden": True,
            "channel": channel,
            "ts": event_ts,
            "event_ts": event_ts,
            "deleted_ts": ts,
            "channel_type": "channel",
            "previous_message": previous,
        }
        if previous.get("thread_ts"):
            event["thread_ts"] = previous["thread_ts"]
        return event

    def reaction_event(self, channel: str, ts: str, user: str, name: str, *, added: bool = True) -> Json:
        message = self._messages[channel][ts]
        self._react(message, user, name, add=added)
        return {
            "type": "reaction_added" if added else "reaction_removed",
            "user": user,
            "reaction": name,
            "item_user": message.get("user"),
            "item": {"type": "message", "channel": channel, "ts": ts},
            "event_ts": self.next_ts(),
        }

    def event_body(self, event: Json) -> Json:
        """The Events API body Slack sends for an event (the Socket Mode ``payload`` too)."""
        return {
            "token": "fake-verification-token",
            "team_id": self.team_id,
            "api_app_id": self.app_id,
            "event": event,
            "type": "event_callback",
            "event_id": f"Ev{next(self._ids):08d}",
            "event_time": int(float(event.get("event_ts") or time.time())),
            "authorizations": [
                {
                    "team_id": self.team_id,
                    "user_id": self.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
        }

    def command_body(
        self, user: str, text: str = "", *, channel: str = GENERAL, command: str = "/threadcast"
    ) -> Json:
        """A slash command's fields (form-encoded over HTTP, a dict over Socket Mode)."""
        return {
            "token": "fake-verification-token",
            "team_id": self.team_id,
            "team_domain": "fake",
            "channel_id": channel,
            "channel_name": self.channels.get(channel, {}).get("name", ""),
            "user_id": user,
            "user_name": self.users.get(user, {}).get("name", user),
            "command": command,
            "text": self.slash_text(text),
            "api_app_id": self.app_id,
            "response_url": self.response_url(channel),
            "trigger_id": f"{next(self._ids)}.trigger",
        }

    def shortcut_body(self, callback_id: str, channel: str, ts: str, user: str) -> Json:
        """A message shortcut (``message_action``) on the message ``ts``."""
        message = self._messages[channel][ts]
        return {
            "type": "message_action",
            "token": "fake-verification-token",
            "action_ts": str(time.time()),
            "callback_id": callback_id,
            "trigger_id": f"{next(self._ids)}.trigger",
            "team": {"id": self.team_id, "domain": "fake"},
            "user": {"id": user, "name": self.users.get(user, {}).get("name", user), "team_id": self.team_id},
            "channel": {"id": channel, "name": self.channels.get(channel, {}).get("name", "")},
            "message": {k: message[k] for k in ("type", "ts", "text", "user", "thread_ts") if k in message},
            "message_ts": ts,
            "response_url": self.response_url(channel),
            "api_app_id": self.app_id,
        }

    def response_url(self, channel: str) -> str:
        response_id = f"R{next(self._ids):06d}"
        self._response_urls[response_id] = channel
        return f"{self.base_url}/respond/{response_id}"

    async def _respond(self, request: web.Request) -> web.StreamResponse:
        response_id = request.match_info["response_id"]
        body: Json = await request.json()
        self.calls.append(Call("response_url", {**body, "response_id": response_id}, dict(request.headers)))
        try:
            fault = await self._fault("response_url")
            if fault is not None:
                return fault
            channel = self._response_urls.get(response_id)
            if channel is None:
                return web.Response(status=404, text="no_such_response_url")
            self.responses.append({**body, "response_id": response_id, "channel": channel})
            if body.get("response_type") == "in_channel":
                self.store(
                    channel, {"user": self.bot_user_id, "bot_id": self.bot_id, "text": body.get("text", "")}
                )
            return web.Response(text="ok")
        finally:
            await self._notify()

    # ----------------------------------------------------------------- Socket Mode

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(autoping=True)  # answers the SDK's "sdk-ping-pong:…" pings
        await ws.prepare(request)
        socket = _Socket(ws)
        self._socket = socket
        self.socket_connections += 1
        await ws.send_json(
            {
                "type": "hello",
                "num_connections": 1,
                "debug_info": {"host": "fake", "approximate_connection_time": 18060},
                "connection_info": {"app_id": self.app_id},
            }
        )
        self._connected.set()
        await self._notify()
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                ack: Json = json.loads(msg.data)
                envelope_id = ack.get("envelope_id")
                if envelope_id:
                    self.acks[envelope_id] = ack
                    future = self._acked.get(envelope_id)
                    if future is not None and not future.done():
                        future.set_result(ack)
                    await self._notify()
        finally:
            socket.closed.set()
            if self._socket is socket:
                self._socket = None
                self._connected.clear()
            await self._notify()
        return ws

    async def wait_connected(self, timeout: float = 2.0) -> None:
        async with asyncio.timeout(timeout):
            await self._connected.wait()

    async def send_envelope(
        self, kind: str, payload: Json, *, timeout: float = 2.0, retry_attempt: int = 0
    ) -> Json:
        """Send one envelope and wait for the client's ack, which is returned (and kept in
        ``acks``). Bolt acks only what a listener (or a middleware) acknowledged. Slack sends an
        unacknowledged event again, the same payload with ``retry_attempt`` counting up."""
        envelope_id = f"env-{next(self._ids):06d}"
        future: asyncio.Future[Json] = asyncio.get_running_loop().create_future()
        self._acked[envelope_id] = future
        async with asyncio.timeout(timeout):
            await self._connected.wait()
            assert self._socket is not None
            await self._socket.ws.send_json(
                {
                    "envelope_id": envelope_id,
                    "type": kind,
                    "payload": payload,
                    "accepts_response_payload": kind != "events_api",
                    "retry_attempt": retry_attempt,
                    "retry_reason": "timeout" if retry_attempt else "",
                }
            )
            try:
                return await future
            finally:
                del self._acked[envelope_id]

    async def socket_event(self, event: Json, *, timeout: float = 2.0) -> Json:
        return await self.send_envelope("events_api", self.event_body(event), timeout=timeout)

    async def socket_command(
        self, user: str, text: str = "", *, channel: str = GENERAL, timeout: float = 2.0
    ) -> Json:
        return await self.send_envelope(
            "slash_commands", self.command_body(user, text, channel=channel), timeout=timeout
        )

    async def socket_interactive(
        self, callback_id: str, channel: str, ts: str, user: str, *, timeout: float = 2.0
    ) -> Json:
        body = self.shortcut_body(callback_id, channel, ts, user)
        return await self.send_envelope("interactive", body, timeout=timeout)

    async def drop_socket(self, code: int = 1006) -> None:
        """Close the current websocket from the server side; the SDK reconnects by itself
        (calling ``apps.connections.open`` again)."""
        socket = self._socket
        if socket is not None:
            await socket.ws.close(code=code)
            await socket.closed.wait()

    async def request_reconnect(self) -> None:
        """Slack's polite way: ``{"type": "disconnect"}``; the SDK then opens a new socket."""
        if self._socket is not None:
            await self._socket.ws.send_json({"type": "disconnect", "reason": "refresh_requested"})

    # Users' actions, delivered over Socket Mode (acked envelope returned).

    async def user_message(self, channel: str, user: str, text: str, thread_ts: str | None = None) -> Json:
        return await self.socket_event(self.message_event(channel, user, text, thread_ts))

    async def bot_message(
        self, channel: str, text: str, *, bot_id: str = "B0OTHER", thread_ts: str | None = None
    ) -> Json:
        return await self.socket_event(
            self.bot_message_event(channel, text, bot_id=bot_id, thread_ts=thread_ts)
        )

    async def user_edit(self, channel: str, ts: str, text: str) -> Json:
        return await self.socket_event(self.edit_event(channel, ts, text))

    async def user_delete(self, channel: str, ts: str) -> Json:
        return await self.socket_event(self.delete_event(channel, ts))

    async def reaction_add(self, channel: str, ts: str, user: str, name: str) -> Json:
        return await self.socket_event(self.reaction_event(channel, ts, user, name))

    async def reaction_remove(self, channel: str, ts: str, user: str, name: str) -> Json:
        return await self.socket_event(self.reaction_event(channel, ts, user, name, added=False))

    # ----------------------------------------------------------------- HTTP mode

    async def http_event(
        self,
        app_url: str,
        body: Json,
        *,
        secret: str,
        timestamp: int | None = None,
        bad_signature: bool = False,
    ) -> HttpReply:
        """POST ``body`` to a bolt HTTP endpoint as Slack would: events as JSON, slash commands
        (a ``command`` field) as a form, interactions as a form with one ``payload`` field."""
        if "command" in body:
            raw, content_type = urllib.parse.urlencode(body).encode(), "application/x-www-form-urlencoded"
        elif body.get("type") in ("message_action", "shortcut", "block_actions", "view_submission"):
            raw = urllib.parse.urlencode({"payload": json.dumps(body)}).encode()
            content_type = "application/x-www-form-urlencoded"
        else:
            raw, content_type = json.dumps(body).encode(), "application/json"
        ts = str(int(time.time()) if timestamp is None else timestamp)
        signature = sign("not-" + secret if bad_signature else secret, ts, raw)
        headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": signature,
        }
        async with (
            aiohttp.ClientSession() as session,
            session.post(app_url, data=raw, headers=headers) as resp,
        ):
            return HttpReply(resp.status, await resp.text(), dict(resp.headers))

    # ----------------------------------------------------------------- outage (stop and serve again)

    async def stop_serving(self) -> None:
        """Slack out of reach: the socket is dropped and the port closed (connections to it are
        refused) until ``serve_again``. The workspace (messages, users) is kept."""
        await self.drop_socket()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def serve_again(self) -> None:
        """Slack back, on the same port (the client's base URL stays right)."""
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/respond/{response_id}", self._respond)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_get("/socket", self._websocket)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
