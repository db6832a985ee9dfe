"""A fake Discord (REST API v10 and gateway) that the real, unmodified discord.py connects to.

``async with FakeDiscord() as fake:`` serves both on 127.0.0.1 and, while it runs, points
discord.py's ``Route.BASE`` and ``DiscordWebSocket.DEFAULT_GATEWAY`` here, so
``client.start(fake.token)`` talks to this process only. It holds one guild with an
@everyone role, a Moderator role (Manage Server), the bot, an owner, a moderator ("mod") and
a plain member ("alice"); text channels "general" and "news", and a forum "discussions".

A session, as Discord runs it and as this fake does:

    REST  GET /users/@me, GET /oauth2/applications/@me, then setup_hook (PUT .../commands)
    WS    server HELLO (op 10, heartbeat_interval)
          client HEARTBEAT (op 1)   -> server HEARTBEAT_ACK (op 11)
          client IDENTIFY (op 2)    -> server READY, GUILD_CREATE       (DISPATCH: op 0, numbered "s")
          client RESUME (op 6)      -> the dispatches it missed, then RESUMED
                                       (or INVALID_SESSION, op 9, for an unknown session)
          a privileged intent the app may not use closes the socket with 4014, a bad token 4004.
          IDENTIFY with ``shard: [id, count]``: the guild's events go to shard
          ``(guild_id >> 22) % count`` only; any other shard gets a READY without guilds.

When the client asks for ``compress=zlib-stream`` the frames go out as BINARY messages of one
zlib stream per connection, each ending with a Z_SYNC_FLUSH (``00 00 ff ff``). discord.py
also accepts plain TEXT frames (it only decompresses binary ones): ``compress=False``.

Tests drive it as users would (``user_message``, ``reaction_add``, ``slash_command``, ...) and
assert on what the bot did: ``requests``, ``messages_in``, ``Interaction.responses``. Like
Discord, it echoes the bot's own actions on the gateway (MESSAGE_CREATE for its messages,
THREAD_CREATE for its threads), filters dispatches by the session's intents, blanks the
content of other users' messages without the Message Content intent, applies
``allowed_mentions`` and refuses payloads over Discord's limits (400, code 50035).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import re
import secrets
import time
import zlib
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from types import TracebackType
from typing import Any, Self, TypeVar

import discord.gateway
import discord.http
import yarl
from aiohttp import WSMsgType, web

Json = dict[str, Any]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
T = TypeVar("T")

API = "/api/v10"
DISCORD_EPOCH_MS = 1_420_070_400_000

# Gateway opcodes.
OP_DISPATCH, OP_HEARTBEAT, OP_IDENTIFY, OP_RESUME = 0, 1, 2, 6
OP_INVALID_SESSION, OP_HELLO, OP_HEARTBEAT_ACK = 9, 10, 11

# Intents choose the dispatches a session gets; the privileged ones must be enabled for the app.
GUILDS, GUILD_MEMBERS, GUILD_PRESENCES = 1 << 0, 1 << 1, 1 << 8
GUILD_MESSAGES, GUILD_MESSAGE_REACTIONS, MESSAGE_CONTENT = 1 << 9, 1 << 10, 1 << 15
PRIVILEGED_INTENTS = GUILD_MEMBERS | GUILD_PRESENCES | MESSAGE_CONTENT
EVENT_INTENTS = {
    "THREAD_CREATE": GUILDS,
    "THREAD_DELETE": GUILDS,
    "MESSAGE_CREATE": GUILD_MESSAGES,
    "MESSAGE_UPDATE": GUILD_MESSAGES,
    "MESSAGE_DELETE": GUILD_MESSAGES,
    "MESSAGE_DELETE_BULK": GUILD_MESSAGES,
    "MESSAGE_REACTION_ADD": GUILD_MESSAGE_REACTIONS,
    "MESSAGE_REACTION_REMOVE": GUILD_MESSAGE_REACTIONS,
    "MESSAGE_REACTION_REMOVE_ALL": GUILD_MESSAGE_REACTIONS,
}
# Application flags that say a privileged intent is enabled (the "_LIMITED" ones: under 100 servers).
APP_FLAG_OF_INTENT = {GUILD_PRESENCES: 1 << 13, GUILD_MEMBERS: 1 << 15, MESSAGE_CONTENT: 1 << 19}

# Permissions: a bitfield, sent as a decimal string.
ADMINISTRATOR, MANAGE_GUILD, ADD_REACTIONS = 1 << 3, 1 << 5, 1 << 6
VIEW_CHANNEL, SEND_MESSAGES, MANAGE_MESSAGES = 1 << 10, 1 << 11, 1 << 13
EMBED_LINKS, ATTACH_FILES, READ_MESSAGE_HISTORY = 1 << 14, 1 << 15, 1 << 16
USE_APPLICATION_COMMANDS, MANAGE_THREADS = 1 << 31, 1 << 34
CREATE_PUBLIC_THREADS, SEND_MESSAGES_IN_THREADS = 1 << 35, 1 << 38
ALL_PERMISSIONS = (1 << 51) - 1
EVERYONE_PERMISSIONS = (
    VIEW_CHANNEL
    | SEND_MESSAGES
    | ADD_REACTIONS
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | USE_APPLICATION_COMMANDS
    | CREATE_PUBLIC_THREADS
    | SEND_MESSAGES_IN_THREADS
)
MODERATOR_PERMISSIONS = MANAGE_GUILD | MANAGE_MESSAGES | MANAGE_THREADS
BOT_PERMISSIONS = EVERYONE_PERMISSIONS | MANAGE_MESSAGES | MANAGE_THREADS

# Channel types, message types and flags.
TEXT, PUBLIC_THREAD, PRIVATE_THREAD, FORUM = 0, 11, 12, 15
THREAD_TYPES = (10, PUBLIC_THREAD, PRIVATE_THREAD)
DEFAULT_MESSAGE, COMMAND_MESSAGE = 0, 20
EPHEMERAL, LOADING = 1 << 6, 1 << 7

# Interaction types, and the callback types a bot answers with.
APPLICATION_COMMAND, AUTOCOMPLETE = 2, 4
CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE = 4, 5
# Application command option types (the others' values go as given).
SUB_COMMAND, SUB_COMMAND_GROUP, USER, CHANNEL, ROLE = 1, 2, 6, 7, 8

USER_MENTION = re.compile(r"<@!?(\d+)>")
ROLE_MENTION = re.compile(r"<@&(\d+)>")


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _json(data: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    # Exactly "application/json": discord.py reads any other Content-Type (even with
    # "; charset=utf-8", as aiohttp's json_response sends) as text, and then fails elsewhere.
    return web.Response(
        status=status,
        body=json.dumps(data).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def _no_content() -> web.Response:
    return web.Response(status=204)


def _truthy(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true")


class ApiError(Exception):
    """An error answer in Discord's shape: ``{"code": …, "message": …, "errors"?: …}``."""

    def __init__(self, status: int, code: int, message: str, errors: Mapping[str, str] | None = None) -> None:
        super().__init__(f"{status} {code} {message}")
        self.status, self.code, self.message = status, code, message
        self.errors = dict(errors or {})

    def response(self) -> web.Response:
        body: Json = {"code": self.code, "message": self.message}
        if self.errors:  # {"content": {"_errors": [{"code", "message"}]}}, nested by dotted path
            body["errors"] = {}
            for path, text in self.errors.items():
                node = body["errors"]
                for part in path.split("."):
                    node = node.setdefault(part, {})
                node["_errors"] = [{"code": "BASE_TYPE_MAX_LENGTH", "message": text}]
        return _json(body, self.status)


def invalid_form(errors: Mapping[str, str]) -> ApiError:
    return ApiError(400, 50035, "Invalid Form Body", errors)


def check_message(body: Json, *, has_files: bool = False, allow_empty: bool = False) -> None:
    """Refuse a message body over Discord's limits, as Discord does (400)."""
    errors: dict[str, str] = {}

    def limit(path: str, text: Any, most: int) -> int:
        size = len(text or "")
        if size > most:
            errors[path] = f"Must be {most} or fewer in length."
        return size

    content, embeds = body.get("content") or "", body.get("embeds") or []
    limit("content", content, 2000)
    if len(embeds) > 10:
        errors["embeds"] = "Must be 10 or fewer in length."
    total = 0
    for i, embed in enumerate(embeds):
        total += limit(f"embeds.{i}.title", embed.get("title"), 256)
        total += limit(f"embeds.{i}.description", embed.get("description"), 4096)
        total += limit(f"embeds.{i}.footer.text", (embed.get("footer") or {}).get("text"), 2048)
        total += limit(f"embeds.{i}.author.name", (embed.get("author") or {}).get("name"), 256)
        fields = embed.get("fields") or []
        if len(fields) > 25:
            errors[f"embeds.{i}.fields"] = "Must be 25 or fewer in length."
        for j, embed_field in enumerate(fields):
            total += limit(f"embeds.{i}.fields.{j}.name", embed_field.get("name"), 256)
            total += limit(f"embeds.{i}.fields.{j}.value", embed_field.get("value"), 1024)
    if total > 6000:
        errors["embeds"] = "Embed size exceeds maximum size of 6000"
    if errors:
        raise invalid_form(errors)
    if not (allow_empty or content or embeds or has_files or body.get("components") or body.get("poll")):
        raise ApiError(400, 50006, "Cannot send an empty message")


def check_thread_name(name: Any) -> str:
    if not isinstance(name, str) or not 1 <= len(name) <= 100:
        raise invalid_form({"name": "Must be between 1 and 100 in length."})
    return name


@dataclass
class Request:
    """One REST call the bot made. ``path`` is relative to /api/v10."""

    method: str
    path: str
    query: dict[str, str]
    json: Any  # the JSON body, or a multipart body's payload_json
    files: dict[str, bytes]  # multipart uploads, by file name
    headers: dict[str, str]
    status: int = 0  # what the fake answered
    late: float = 0.0  # seconds the answer was held back on its way


RECORD = web.RequestKey("record", Request)  # the recorded request, with its parsed body


@dataclass
class Fault:
    """An answer injected in front of a route: wait ``delay`` seconds, then, if ``status``,
    answer with it instead of the route's normal answer."""

    status: int = 0
    body: Json | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    late: float = 0.0  # with no status: the normal answer, held back this long once made


def rate_limited(retry_after: float = 0.05, *, scope: str = "user", is_global: bool = False) -> Fault:
    """A 429. discord.py sleeps the body's ``retry_after`` and retries, but only if the response
    has a ``Via`` header: without one it assumes a Cloudflare ban and raises HTTPException."""
    headers = {"Retry-After": str(math.ceil(retry_after)), "Via": "1.1 google", "X-RateLimit-Scope": scope}
    if is_global:
        headers["X-RateLimit-Global"] = "true"
    body = {"message": "You are being rate limited.", "retry_after": retry_after, "global": is_global}
    return Fault(429, body, headers)


def server_error(status: int = 500) -> Fault:
    """discord.py retries 500, 502, 504 and 524 after 1 s, 3 s, ...; other 5xx raise DiscordServerError."""
    return Fault(status, {"message": f"{status}: Server Error", "code": 0})


def api_error(status: int, code: int, message: str) -> Fault:
    return Fault(status, {"code": code, "message": message})


def slow(seconds: float) -> Fault:
    return Fault(delay=seconds)


def late_answer(seconds: float) -> Fault:
    """The answer is made at once (a snapshot of now) but reaches the bot ``seconds`` later."""
    return Fault(late=seconds)


@dataclass
class Member:
    """A guild member (users only exist here as members)."""

    id: int
    name: str
    roles: list[int] = field(default_factory=list)
    bot: bool = False
    permissions: int | None = None  # guild permissions; None: from @everyone and the roles


@dataclass
class Interaction:
    """An interaction the fake sent to the bot, and how the bot answered it."""

    id: int
    token: str
    payload: Json  # the INTERACTION_CREATE data
    created: float  # time.monotonic()
    responses: list[Json] = field(default_factory=list)  # callback bodies: {"type", "data"}
    original: Json | None = None  # the message a type 4/5 callback made, with later edits
    followups: list[Json] = field(default_factory=list)

    @property
    def channel_id(self) -> int:
        return int(self.payload["channel_id"])


def shard_of(guild_id: int, shard_count: int) -> int:
    """The shard whose session gets a guild's events, as Discord assigns them."""
    return (guild_id >> 22) % shard_count


class GatewayConnection:
    """One websocket the bot opened. ``received`` holds every frame it sent, in order."""

    def __init__(self, ws: web.WebSocketResponse, query: Mapping[str, str], compressed: bool) -> None:
        self.ws = ws
        self.query = dict(query)
        self.compressed = compressed
        self.received: list[Json] = []
        self.last_seq = 0  # of the last dispatch sent on this connection
        self._zlib = zlib.compressobj() if compressed else None
        self._lock = asyncio.Lock()  # the zlib stream must go out in the order it was written

    @property
    def ops(self) -> list[int]:
        return [frame.get("op", -1) for frame in self.received]

    async def send(self, payload: Json) -> None:
        text = json.dumps(payload)
        if payload.get("s"):
            self.last_seq = max(self.last_seq, payload["s"])
        async with self._lock:
            if self._zlib is None:
                await self.ws.send_str(text)
            else:
                data = self._zlib.compress(text.encode()) + self._zlib.flush(zlib.Z_SYNC_FLUSH)
                await self.ws.send_bytes(data)


class FakeDiscord:
    """Discord's REST API and gateway for one guild, one application and its bot."""

    def __init__(
        self,
        *,
        token: str = "fake-bot-token",
        privileged_intents: int = PRIVILEGED_INTENTS,
        compress: bool = True,
        heartbeat_interval_ms: int = 41_250,
        interaction_deadline: float = 3.0,
        patch_discord: bool = True,
    ) -> None:
        self.token = token
        self.privileged_intents = privileged_intents  # the ones enabled for the app
        self.compress = compress
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.interaction_deadline = interaction_deadline  # seconds to answer an interaction
        self._patch_discord = patch_discord
        self._last_id = 0
        self._change = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._originals: tuple[str, yarl.URL] | None = None
        self.port = 0

        self.requests: list[Request] = []
        self.connections: list[GatewayConnection] = []
        self.channels: dict[int, Json] = {}  # channel payloads, threads included
        self.messages: dict[int, list[Json]] = {}  # channel id -> messages, oldest first
        self.reactions: dict[int, dict[str, set[int]]] = {}  # message id -> emoji -> user ids
        self.roles: dict[int, Json] = {}
        self.members: dict[int, Member] = {}
        self.commands: dict[int | None, list[Json]] = {}  # None: global; else the guild id
        self.interactions: dict[int, Interaction] = {}
        self.denied_channels: set[int] = set()  # the bot may read these, not write (403, 50013)
        self.guildless_shards: list[int] = []  # shards that identified without holding the guild
        self._faults: list[tuple[str, str, Fault]] = []
        # Consulted for every REST call no queued fault answers: random faults for soak tests.
        self.fault_hook: Callable[[Request], Fault | None] | None = None

        # The gateway session: one bot at a time.
        self.session_id: str | None = None
        self.intents = 0
        self._seq = 0
        self._sent: list[Json] = []  # dispatches of the session, for RESUME
        self._live: GatewayConnection | None = None
        # A RESUME replays the missed dispatches before any new one goes out, as Discord does.
        self._sending = asyncio.Lock()

        self.guild_id = self._snowflake()
        self.guild_name = "threadcast test"
        self.app_id = self._snowflake()
        self.roles[self.guild_id] = self._role_json(self.guild_id, "@everyone", EVERYONE_PERMISSIONS, 0)
        self.moderator_role_id = self.add_role("Moderator", MODERATOR_PERMISSIONS)
        self.bot_role_id = self.add_role("threadcast", BOT_PERMISSIONS)
        self.bot_id = self.add_member(None, "threadcast", roles=[self.bot_role_id], bot=True)
        self.owner_id = self.add_member(None, "owner")
        self.mod_id = self.add_member(None, "mod", roles=[self.moderator_role_id])
        self.member_id = self.add_member(None, "alice")
        self.general_id = self.add_channel("general")
        self.news_id = self.add_channel("news")
        self.forum_id = self.add_channel("discussions", FORUM)

    # -- lifecycle ------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        app = web.Application(middlewares=[self._middleware])
        app.router.add_get("/gateway/", self._gateway)
        for method, path, handler in self._rest_routes():
            app.router.add_route(method, API + path, handler)
        app.router.add_route("*", "/{tail:.*}", self._unknown_route)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = self._runner.addresses[0][1]
        if self._patch_discord:
            self._originals = (discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)
            discord.http.Route.BASE = self.url + API
            discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(self.gateway_url)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._originals is not None:
            discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = self._originals
            self._originals = None
        for connection in self.connections:
            if not connection.ws.closed:
                await connection.ws.close(code=1001)
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway/"

    # -- the world ------------------------------------------------------------------------

    def _snowflake(self) -> int:
        """A new id, in Discord's format (milliseconds since 2015 << 22), always increasing."""
        self._last_id = max(self._last_id + 1, (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22)
        return self._last_id

    def add_role(self, name: str, permissions: int) -> int:
        role_id = self._snowflake()
        self.roles[role_id] = self._role_json(role_id, name, permissions, len(self.roles))
        return role_id

    def add_member(
        self,
        user_id: int | None = None,
        name: str = "member",
        *,
        roles: Iterable[int] = (),
        permissions: int | None = None,
        bot: bool = False,
    ) -> int:
        """Add a member (before the bot connects: GUILD_CREATE lists them). Returns the user id."""
        user_id = user_id or self._snowflake()
        self.members[user_id] = Member(user_id, name, list(roles), bot, permissions)
        return user_id

    def add_channel(self, name: str, kind: int = TEXT) -> int:
        """Add a text (0) or forum (15) channel (before the bot connects). Returns its id."""
        channel_id = self._snowflake()
        channel: Json = {
            "id": str(channel_id),
            "type": kind,
            "guild_id": str(self.guild_id),
            "name": name,
            "position": len(self.channels),
            "parent_id": None,
            "topic": None,
            "nsfw": False,
            "rate_limit_per_user": 0,
            "permission_overwrites": [],
            "last_message_id": None,
        }
        if kind == FORUM:
            channel.update(available_tags=[], default_reaction_emoji=None, default_forum_layout=0, flags=0)
        self.channels[channel_id] = channel
        return channel_id

    def deny(self, channel_id: int) -> None:
        """From now on the bot lacks permissions in this channel: writes get 403 (50013)."""
        self.denied_channels.add(channel_id)

    def permissions_of(self, user_id: int) -> int:
        member = self.members[user_id]
        if member.permissions is not None:
            return member.permissions
        if user_id == self.owner_id:
            return ALL_PERMISSIONS
        value = 0
        for role_id in [self.guild_id, *member.roles]:
            value |= int(self.roles[role_id]["permissions"])
        return ALL_PERMISSIONS if value & ADMINISTRATOR else value

    def _role_json(self, role_id: int, name: str, permissions: int, position: int) -> Json:
        return {
            "id": str(role_id),
            "name": name,
            "permissions": str(permissions),
            "position": position,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "managed": False,
            "mentionable": True,
            "flags": 0,
        }

    def _user_json(self, user_id: int) -> Json:
        member = self.members[user_id]
        user: Json = {
            "id": str(member.id),
            "username": member.name,
            "discriminator": "0",
            "global_name": member.name,
            "avatar": None,
            "public_flags": 0,
        }
        if member.bot:
            user["bot"] = True
        return user

    def _member_json(self, user_id: int, *, with_user: bool = True) -> Json:
        # "flags" is required by discord.py's Member (member.py: self._flags = data['flags']).
        member: Json = {
            "roles": [str(role) for role in self.members[user_id].roles],
            "nick": None,
            "avatar": None,
            "joined_at": _now(),
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "pending": False,
            "flags": 0,
            "communication_disabled_until": None,
        }
        if with_user:
            member["user"] = self._user_json(user_id)
        return member

    def _guild_json(self) -> Json:
        members = [self._member_json(user_id) for user_id in self.members]
        return {
            "id": str(self.guild_id),
            "name": self.guild_name,
            "owner_id": str(self.owner_id),
            "icon": None,
            "features": [],
            "preferred_locale": "en-US",
            "roles": list(self.roles.values()),
            "emojis": [],
            "stickers": [],
            "channels": [c for c in self.channels.values() if c["type"] not in THREAD_TYPES],
            "threads": [c for c in self.channels.values() if c["type"] in THREAD_TYPES],
            "members": members,
            "member_count": len(members),  # equal, so discord.py never asks for member chunks
            "large": False,
            "unavailable": False,
            "joined_at": _now(),
            "voice_states": [],
            "presences": [],
        }

    def _channel(self, channel_id: int) -> Json:
        try:
            return self.channels[channel_id]
        except KeyError:
            raise ApiError(404, 10003, "Unknown Channel") from None

    def _message(self, message_id: int, channel_id: int | None = None) -> Json:
        channels = [channel_id] if channel_id is not None else list(self.messages)
        for cid in channels:
            for message in self.messages.get(cid, []):
                if int(message["id"]) == message_id:
                    return message
        raise ApiError(404, 10008, "Unknown Message")

    def messages_in(self, channel_id: int) -> list[Json]:
        """The messages of a channel or thread, oldest first."""
        return list(self.messages.get(channel_id, []))

    def _mentions(self, content: str, allowed: Json | None) -> Json:
        """Who a message pings. No ``allowed_mentions``: everything written pings."""
        allowed = allowed if allowed is not None else {"parse": ["users", "roles", "everyone"]}
        parse = set(allowed.get("parse") or [])
        users = {int(u) for u in allowed.get("users") or []}
        roles = {int(r) for r in allowed.get("roles") or []}
        found_users = dict.fromkeys(int(u) for u in USER_MENTION.findall(content))
        found_roles = dict.fromkeys(int(r) for r in ROLE_MENTION.findall(content))
        return {
            "mentions": [
                self._user_json(u)
                for u in found_users
                if u in self.members and ("users" in parse or u in users)
            ],
            "mention_roles": [
                str(r) for r in found_roles if r in self.roles and ("roles" in parse or r in roles)
            ],
            "mention_everyone": "everyone" in parse and ("@everyone" in content or "@here" in content),
        }

    def _new_message(
        self,
        channel_id: int,
        author_id: int,
        body: Json,
        *,
        message_id: int | None = None,
        kind: int = DEFAULT_MESSAGE,
        attachments: list[Json] | None = None,
        webhook: bool = False,
    ) -> Json:
        content = body.get("content") or ""
        message: Json = {
            "id": str(message_id or self._snowflake()),
            "channel_id": str(channel_id),
            "guild_id": str(self.guild_id),
            "author": self._user_json(author_id),
            "content": content,
            "embeds": body.get("embeds") or [],
            "attachments": attachments or [],
            "components": body.get("components") or [],
            **self._mentions(content, body.get("allowed_mentions")),
            "pinned": False,
            "tts": bool(body.get("tts")),
            "timestamp": _now(),
            "edited_timestamp": None,
            "flags": int(body.get("flags") or 0),
            "type": kind,
        }
        if webhook:
            message["webhook_id"] = str(self.app_id)
        return message

    def _attachments(self, channel_id: int, files: Mapping[str, bytes]) -> list[Json]:
        attachments = []
        for filename, data in files.items():
            attachment_id = self._snowflake()
            url = f"{self.url}/attachments/{channel_id}/{attachment_id}/{filename}"
            attachments.append(
                {
                    "id": str(attachment_id),
                    "filename": filename,
                    "size": len(data),
                    "url": url,
                    "proxy_url": url,
                }
            )
        return attachments

    def _store(self, message: Json) -> None:
        channel = self.channels[int(message["channel_id"])]
        self.messages.setdefault(int(channel["id"]), []).append(message)
        channel["last_message_id"] = message["id"]
        if channel["type"] in THREAD_TYPES:
            channel["message_count"] += 1
            channel["total_message_sent"] += 1

    def _edit(self, message: Json, body: Json) -> None:
        if "content" in body:
            message["content"] = body["content"] or ""
            message.update(self._mentions(message["content"], body.get("allowed_mentions")))
        for key in ("embeds", "components"):
            if key in body:
                message[key] = body[key] or []
        if body.get("flags") is not None:
            message["flags"] = int(body["flags"])
        message["edited_timestamp"] = _now()

    async def _post(self, channel_id: int, author_id: int, body: Json, **options: Any) -> Json:
        message = self._new_message(channel_id, author_id, body, **options)
        await self._store_and_dispatch(message)
        return message

    async def _store_and_dispatch(self, message: Json) -> None:
        self._store(message)
        await self._dispatch_message("MESSAGE_CREATE", message)

    def _new_thread(
        self,
        parent_id: int,
        name: str,
        thread_id: int,
        *,
        kind: int = PUBLIC_THREAD,
        auto_archive: int = 1440,
    ) -> Json:
        now = _now()
        thread: Json = {
            "id": str(thread_id),
            "type": kind,
            "guild_id": str(self.guild_id),
            "parent_id": str(parent_id),
            "owner_id": str(self.bot_id),
            "name": name,
            "last_message_id": None,
            "message_count": 0,
            "total_message_sent": 0,
            "member_count": 1,
            "rate_limit_per_user": 0,
            "flags": 0,
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": auto_archive,
                "archive_timestamp": now,
                "locked": False,
                "create_timestamp": now,
            },
        }
        self.channels[thread_id] = thread
        return thread

    # -- gateway --------------------------------------------------------------------------

    async def dispatch(self, event: str, data: Json) -> None:
        """Send a DISPATCH (op 0) to the bot, numbered and kept for RESUME, unless the
        session's intents exclude it. Any payload goes: a malformed one tests the bot."""
        if self.session_id is None:
            raise RuntimeError("no bot has identified on the gateway yet")
        needed = EVENT_INTENTS.get(event, 0)
        if needed and not self.intents & needed:
            return
        self._seq += 1
        snapshot = json.loads(json.dumps(data))  # a RESUME replays it as it was
        frame = {"op": OP_DISPATCH, "t": event, "s": self._seq, "d": snapshot}
        self._sent.append(frame)
        async with self._sending:
            if self._live is not None and frame["s"] > self._live.last_seq:  # not replayed already
                try:
                    await self._live.send(frame)
                except ConnectionError:
                    self._live = None  # it goes out again on RESUME
        self._changed()

    def message_frames(
        self, channel_id: int, author_id: int, count: int, text: str = "reply {n}"
    ) -> list[str]:
        """`count` MESSAGE_CREATE dispatches from a member, numbered after the session's, as TEXT
        frames ready for `send_frames` (so a fake made with compress=False only). Built apart from
        sending, so a benchmark times the bot reading them, not the fake writing them. Unlike
        `dispatch`, they are not kept for a RESUME, nor in the channel's history."""
        if self.compress:
            raise RuntimeError("prebuilt frames need a FakeDiscord(compress=False)")
        member = self._member_json(author_id, with_user=False)
        frames = []
        for n in range(count):
            message = self._new_message(channel_id, author_id, {"content": text.format(n=n)})
            self._seq += 1
            frame = {
                "op": OP_DISPATCH,
                "t": "MESSAGE_CREATE",
                "s": self._seq,
                "d": {**message, "member": member},
            }
            frames.append(json.dumps(frame))
        return frames

    async def send_frames(self, frames: list[str]) -> None:
        """Send frames from `message_frames` to the connected bot, as fast as the socket takes them."""
        if self._live is None:
            raise RuntimeError("no bot is connected")
        for frame in frames:
            await self._live.ws.send_str(frame)

    async def drop_connection(self, code: int = 4000) -> None:
        """Close the bot's websocket from this side. 4000 ("unknown error"): discord.py
        reconnects and RESUMEs; 4004, 4010-4014: it stops with ConnectionClosed."""
        connection, self._live = self._live, None
        if connection is not None:
            await connection.ws.close(code=code)

    @property
    def live(self) -> bool:
        """A session is connected and gets dispatches as they happen."""
        return self._live is not None

    def expire_session(self) -> None:
        """The session can no longer be resumed: the next RESUME gets INVALID_SESSION, the bot
        IDENTIFYs again, and what was dispatched meanwhile is lost (history still has it)."""
        self.session_id = "expired-" + secrets.token_hex(8)

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        # discord.py asks for zstd-stream instead when the zstandard module is installed: it
        # then gets TEXT frames, which it accepts whatever it asked for.
        compressed = self.compress and request.query.get("compress") == "zlib-stream"
        connection = GatewayConnection(ws, request.query, compressed)
        self.connections.append(connection)
        hello = {"heartbeat_interval": self.heartbeat_interval_ms}
        await connection.send({"op": OP_HELLO, "d": hello, "s": None, "t": None})
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT:
                continue
            frame = json.loads(msg.data)
            connection.received.append(frame)
            self._changed()
            op, data = frame.get("op"), frame.get("d") or {}
            if op == OP_HEARTBEAT:
                await connection.send({"op": OP_HEARTBEAT_ACK, "d": None, "s": None, "t": None})
            elif op == OP_IDENTIFY:
                await self._identify(connection, data)
            elif op == OP_RESUME:
                await self._resume(connection, data)
        if self._live is connection:
            self._live = None
        self._changed()
        return ws

    async def _identify(self, connection: GatewayConnection, data: Json) -> None:
        if data.get("token") != self.token:
            await connection.ws.close(code=4004, message=b"Authentication failed.")
            return
        intents = int(data.get("intents", 0))
        if intents & PRIVILEGED_INTENTS & ~self.privileged_intents:
            await connection.ws.close(code=4014, message=b"Disallowed intent(s).")
            return
        shard = data.get("shard")
        if shard and shard_of(self.guild_id, shard[1]) != shard[0]:
            # Another shard's session: READY without the guild, then nothing (its events go to
            # the session of the guild's shard, which is the one this fake keeps).
            self.guildless_shards.append(shard[0])
            ready = self._ready(secrets.token_hex(16), [], shard)
            await connection.send({"op": OP_DISPATCH, "t": "READY", "s": 1, "d": ready})
            self._changed()
            return
        self.session_id, self.intents, self._seq, self._sent = secrets.token_hex(16), intents, 0, []
        self._live = connection
        guilds = [{"id": str(self.guild_id), "unavailable": True}]  # then one GUILD_CREATE each
        await self.dispatch("READY", self._ready(self.session_id, guilds, shard))
        await self.dispatch("GUILD_CREATE", self._guild_json())

    def _ready(self, session_id: str, guilds: list[Json], shard: list[int] | None) -> Json:
        ready: Json = {
            "v": 10,
            "user": self._user_json(self.bot_id),
            "guilds": guilds,
            "session_id": session_id,
            "resume_gateway_url": self.gateway_url,  # where discord.py RESUMEs
            "application": {"id": str(self.app_id), "flags": self._app_flags()},
            "private_channels": [],
        }
        if shard:
            ready["shard"] = shard
        return ready

    async def _resume(self, connection: GatewayConnection, data: Json) -> None:
        if data.get("token") != self.token or data.get("session_id") != self.session_id:
            await connection.send({"op": OP_INVALID_SESSION, "d": False, "s": None, "t": None})
            return
        async with self._sending:
            for frame in list(self._sent):
                if frame["s"] > (data.get("seq") or 0):
                    await connection.send(frame)
            self._live = connection
        await self.dispatch("RESUMED", {})

    def _app_flags(self) -> int:
        return sum(flag for intent, flag in APP_FLAG_OF_INTENT.items() if self.privileged_intents & intent)

    # -- driving the bot like users would -----------------------------------------------------

    async def _dispatch_message(self, event: str, message: Json) -> None:
        author = int(message["author"]["id"])
        payload = {**message, "member": self._member_json(author, with_user=False)}
        pinged = any(int(user["id"]) == self.bot_id for user in message["mentions"])
        if not self.intents & MESSAGE_CONTENT and author != self.bot_id and not pinged:
            payload.update(content="", embeds=[], attachments=[], components=[])
        await self.dispatch(event, payload)

    async def user_message(
        self, channel_id: int, author_id: int, content: str, *, embeds: list[Json] | None = None
    ) -> Json:
        """A member writes in a channel or thread: MESSAGE_CREATE. Returns the message."""
        self._channel(channel_id)
        return await self._post(channel_id, author_id, {"content": content, "embeds": embeds or []})

    def store_message(self, channel_id: int, author_id: int, content: str) -> Json:
        """A message written while no bot was connected: kept in the channel's history (for
        ``GET .../messages``) and never dispatched. Returns the message."""
        self._channel(channel_id)
        message = self._new_message(channel_id, author_id, {"content": content})
        self._store(message)
        self._changed()
        return message

    async def user_edit(self, message_id: int, content: str) -> Json:
        message = self._message(message_id)
        self._edit(message, {"content": content})
        await self._dispatch_message("MESSAGE_UPDATE", message)
        return message

    async def unfurl(self, message_id: int, embed: Json) -> Json:
        """Discord adds a link preview to a message: MESSAGE_UPDATE with the whole message,
        content included, and ``edited_timestamp`` unchanged (no one edited it)."""
        message = self._message(message_id)
        message["embeds"] = [*message["embeds"], {"type": "link", **embed}]
        await self._dispatch_message("MESSAGE_UPDATE", message)
        return message

    async def user_delete(self, message_id: int) -> None:
        message = self._message(message_id)
        self.messages[int(message["channel_id"])].remove(message)
        ids = {"id": message["id"], "channel_id": message["channel_id"], "guild_id": str(self.guild_id)}
        await self.dispatch("MESSAGE_DELETE", ids)

    async def bulk_delete(self, channel_id: int, message_ids: Iterable[int]) -> None:
        ids = set(message_ids)
        self.messages[channel_id] = [m for m in self.messages.get(channel_id, []) if int(m["id"]) not in ids]
        payload = {
            "ids": [str(i) for i in ids],
            "channel_id": str(channel_id),
            "guild_id": str(self.guild_id),
        }
        await self.dispatch("MESSAGE_DELETE_BULK", payload)

    async def thread_delete(self, thread_id: int) -> None:
        thread = self.channels.pop(thread_id)
        self.messages.pop(thread_id, None)
        keys = ("id", "guild_id", "parent_id", "type")
        await self.dispatch("THREAD_DELETE", {key: thread[key] for key in keys})

    def _reaction_event(self, user_id: int, message: Json, emoji: str, *, added: bool) -> Json:
        name, _, emoji_id = emoji.partition(":")  # "👍", or "name:id" for a custom emoji
        event: Json = {
            "user_id": str(user_id),
            "channel_id": message["channel_id"],
            "message_id": message["id"],
            "guild_id": str(self.guild_id),
            "emoji": {"id": emoji_id or None, "name": name},
            "type": 0,
            "burst": False,
        }
        if added:
            event.update(
                member=self._member_json(user_id), message_author_id=message["author"]["id"], burst_colors=[]
            )
        return event

    async def reaction_add(self, user_id: int, message_id: int, emoji: str = "👍") -> None:
        message = self._message(message_id)
        self.reactions.setdefault(message_id, {}).setdefault(emoji, set()).add(user_id)
        await self.dispatch("MESSAGE_REACTION_ADD", self._reaction_event(user_id, message, emoji, added=True))

    async def reaction_remove(self, user_id: int, message_id: int, emoji: str = "👍") -> None:
        message = self._message(message_id)
        self.reactions.get(message_id, {}).get(emoji, set()).discard(user_id)
        await self.dispatch(
            "MESSAGE_REACTION_REMOVE", self._reaction_event(user_id, message, emoji, added=False)
        )

    async def reactions_clear(self, message_id: int) -> None:
        """A moderator removes every reaction of a message (MESSAGE_REACTION_REMOVE_ALL)."""
        message = self._message(message_id)
        self.reactions.pop(message_id, None)
        data = {
            "message_id": str(message_id),
            "channel_id": message["channel_id"],
            "guild_id": str(self.guild_id),
        }
        await self.dispatch("MESSAGE_REACTION_REMOVE_ALL", data)

    def _find_command(self, name: str, kind: int) -> tuple[Json, bool]:
        """The synced command (guild ones first) and whether it is a guild command."""
        for scope in (self.guild_id, None):
            for command in self.commands.get(scope, []):
                if command["name"] == name and command.get("type", 1) == kind:
                    return command, scope is not None
        raise LookupError(
            f"no command {name!r} of type {kind} was synced: Discord only sends synced commands"
        )

    def _options(
        self,
        schema: Json,
        path: list[str],
        values: Mapping[str, Any],
        focused: str | None,
        resolved: Json,
        user_id: int,
    ) -> list[Json]:
        """Options nested as Discord nests them: group -> subcommand -> values, typed by the schema."""
        declared = {option["name"]: option for option in schema.get("options") or []}
        if path:
            sub = declared.get(path[0])
            if sub is None or sub["type"] not in (SUB_COMMAND, SUB_COMMAND_GROUP):
                raise LookupError(f"{schema['name']!r} has no subcommand {path[0]!r}")
            inner = self._options(sub, path[1:], values, focused, resolved, user_id)
            return [{"type": sub["type"], "name": sub["name"], "options": inner}]
        options = []
        for name, value in values.items():
            if name not in declared:
                raise LookupError(f"{schema['name']!r} has no option {name!r}")
            kind = declared[name]["type"]
            option: Json = {"type": kind, "name": name, "value": value}
            if name == focused:
                option.update(value=str(value), focused=True)  # what the user has typed so far
            elif kind in (USER, CHANNEL, ROLE):
                option["value"] = str(value)  # snowflakes go as strings, looked up in "resolved"
                self._resolve(kind, int(value), resolved, user_id)
            options.append(option)
        return options

    def _resolve(self, kind: int, snowflake: int, resolved: Json, user_id: int) -> None:
        key = str(snowflake)
        if kind == USER:
            resolved.setdefault("users", {})[key] = self._user_json(snowflake)
            member = self._member_json(snowflake, with_user=False)
            member["permissions"] = str(self.permissions_of(snowflake))
            resolved.setdefault("members", {})[key] = member
        elif kind == CHANNEL:
            # With the invoking member's permissions there: discord.py requires the key.
            channel = {**self._channel(snowflake), "permissions": str(self.permissions_of(user_id))}
            resolved.setdefault("channels", {})[key] = channel
        else:
            resolved.setdefault("roles", {})[key] = self.roles[snowflake]

    async def _interact(
        self, kind: int, user_id: int, channel_id: int, data: Json, member_permissions: int | None
    ) -> Interaction:
        member = self._member_json(user_id)
        permissions = self.permissions_of(user_id) if member_permissions is None else member_permissions
        member["permissions"] = str(permissions)
        interaction_id, token = self._snowflake(), secrets.token_urlsafe(48)
        payload: Json = {
            "id": str(interaction_id),
            "application_id": str(self.app_id),
            "type": kind,
            "data": data,
            "guild_id": str(self.guild_id),
            "guild": {"id": str(self.guild_id), "locale": "en-US", "features": []},
            "channel_id": str(channel_id),
            "channel": dict(self._channel(channel_id)),
            "member": member,
            "token": token,
            "version": 1,
            "app_permissions": str(self.permissions_of(self.bot_id)),
            "locale": "en-US",
            "guild_locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(self.guild_id)},
            "context": 0,
            "attachment_size_limit": 10 * 1024 * 1024,
        }
        interaction = Interaction(interaction_id, token, payload, time.monotonic())
        self.interactions[interaction_id] = interaction
        await self.dispatch("INTERACTION_CREATE", payload)
        return interaction

    async def _command_interaction(
        self,
        kind: int,
        user_id: int,
        channel_id: int,
        command: str,
        options: Mapping[str, Any] | None,
        focused: str | None,
        member_permissions: int | None,
    ) -> Interaction:
        name, *path = command.split()
        schema, in_guild = self._find_command(name, 1)
        resolved: Json = {}
        data: Json = {"id": schema["id"], "name": name, "type": 1}
        data["options"] = self._options(schema, path, options or {}, focused, resolved, user_id)
        if resolved:
            data["resolved"] = resolved
        if in_guild:  # discord.py's CommandTree looks guild commands up by data.guild_id
            data["guild_id"] = str(self.guild_id)
        return await self._interact(kind, user_id, channel_id, data, member_permissions)

    async def slash_command(
        self,
        user_id: int,
        channel_id: int,
        command: str,
        options: Mapping[str, Any] | None = None,
        *,
        member_permissions: int | None = None,
    ) -> Interaction:
        """A member runs a synced slash command: ``command`` is its path ("feed add", or
        "threadcast feed add" for a group); ``options`` are values by name (a user, channel
        or role option takes an id)."""
        return await self._command_interaction(
            APPLICATION_COMMAND, user_id, channel_id, command, options, None, member_permissions
        )

    async def autocomplete(
        self, user_id: int, channel_id: int, command: str, options: Mapping[str, Any], focused: str
    ) -> Interaction:
        """A member is typing option ``focused`` of a command (interaction type 4)."""
        return await self._command_interaction(
            AUTOCOMPLETE, user_id, channel_id, command, options, focused, None
        )

    async def context_menu(
        self, user_id: int, message_id: int, name: str, *, member_permissions: int | None = None
    ) -> Interaction:
        """A member picks a message context-menu command (data.type 3) on a message."""
        message = self._message(message_id)
        schema, in_guild = self._find_command(name, 3)
        data: Json = {
            "id": schema["id"],
            "name": name,
            "type": 3,
            "target_id": message["id"],
            "resolved": {"messages": {message["id"]: message}},
        }
        if in_guild:
            data["guild_id"] = str(self.guild_id)
        channel_id = int(message["channel_id"])
        return await self._interact(APPLICATION_COMMAND, user_id, channel_id, data, member_permissions)

    # -- recording, waiting, faults -----------------------------------------------------------

    def requests_to(self, method: str, path: str) -> list[Request]:
        """The recorded requests for a method and a path (relative to /api/v10; ``*`` is a wildcard)."""
        return [r for r in self.requests if r.method == method and fnmatchcase(r.path, path)]

    def _changed(self) -> None:
        self._change.set()
        self._change = asyncio.Event()

    async def wait_for(self, predicate: Callable[[], T], timeout: float = 5.0) -> T:
        """Wait until ``predicate()`` is truthy and return its value. It is checked again after
        each request, gateway frame and dispatch, and every 20 ms (for the client's state)."""
        try:
            async with asyncio.timeout(timeout):
                while not (result := predicate()):
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._change.wait(), 0.02)
        except TimeoutError:
            recent = [f"{r.method} {r.path} -> {r.status}" for r in self.requests[-8:]]
            raise AssertionError(f"condition not met within {timeout} s; last requests: {recent}") from None
        return result

    def inject(self, method: str, path: str, *faults: Fault) -> None:
        """Queue faults for a route (path relative to /api/v10, ``*`` wildcards): each one
        answers one matching request, in order; then the route answers normally."""
        self._faults.extend((method, path, fault) for fault in faults)

    # -- REST -----------------------------------------------------------------------------

    def _rest_routes(self) -> list[tuple[str, str, Handler]]:
        message = "/channels/{channel_id}/messages/{message_id}"
        commands = "/applications/{app_id}/commands"
        guild_commands = "/applications/{app_id}/guilds/{guild_id}/commands"
        webhook_message = "/webhooks/{app_id}/{token}/messages/{message_id}"
        return [
            ("GET", "/users/@me", self._get_me),
            ("GET", "/oauth2/applications/@me", self._get_application),
            ("GET", "/users/@me/guilds", self._get_my_guilds),
            ("GET", "/gateway", self._get_gateway),
            ("GET", "/gateway/bot", self._get_gateway),
            ("GET", "/channels/{channel_id}", self._get_channel),
            ("GET", "/channels/{channel_id}/messages", self._history),
            ("POST", "/channels/{channel_id}/messages", self._create_message),
            ("GET", message, self._get_message),
            ("PATCH", message, self._edit_message),
            ("DELETE", message, self._delete_message),
            ("PUT", message + "/reactions/{emoji}/{user}", self._react),
            ("DELETE", message + "/reactions/{emoji}/{user}", self._react),
            ("GET", message + "/reactions/{emoji}", self._reactors),
            ("POST", message + "/threads", self._thread_from_message),
            ("POST", "/channels/{channel_id}/threads", self._create_thread),
            ("GET", "/guilds/{guild_id}/members/{user_id}", self._get_member),
            ("GET", commands, self._commands),
            ("PUT", commands, self._commands),
            ("GET", guild_commands, self._commands),
            ("PUT", guild_commands, self._commands),
            ("POST", "/interactions/{interaction_id}/{token}/callback", self._interaction_callback),
            ("POST", "/webhooks/{app_id}/{token}", self._followup),
            ("GET", webhook_message, self._webhook_message),
            ("PATCH", webhook_message, self._webhook_message),
            ("DELETE", webhook_message, self._webhook_message),
        ]

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Record every REST request, play injected faults, check auth and channel permissions."""
        if not request.path.startswith(API + "/"):
            return await handler(request)
        body, files = await _read_body(request)
        path = request.path.removeprefix(API)
        record = Request(request.method, path, dict(request.query), body, files, dict(request.headers))
        self.requests.append(record)
        request[RECORD] = record
        try:
            response: web.StreamResponse = await self._play_fault(record) or await self._checked(
                request, handler
            )
        except ApiError as error:
            response = error.response()
        record.status = response.status
        self._changed()
        await asyncio.sleep(record.late)
        return response

    async def _play_fault(self, record: Request) -> web.Response | None:
        fault = next(
            (
                entry
                for entry in self._faults
                if entry[0] == record.method and fnmatchcase(record.path, entry[1])
            ),
            None,
        )
        if fault is not None:
            self._faults.remove(fault)
        played = fault[2] if fault else self.fault_hook(record) if self.fault_hook else None
        if played is None:
            return None
        await asyncio.sleep(played.delay)
        if played.status:
            return _json(played.body, played.status, played.headers)
        if played.late:  # answered as it stands now, delivered `late` seconds after
            record.late = played.late
        return None

    async def _checked(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        # Interaction callbacks and follow-ups are authorised by their token, not the bot's.
        by_token = request.path.startswith((API + "/interactions/", API + "/webhooks/"))
        if not by_token and request.headers.get("Authorization") != f"Bot {self.token}":
            raise ApiError(401, 0, "401: Unauthorized")
        channel_id = request.match_info.get("channel_id")
        if request.method != "GET" and channel_id and int(channel_id) in self.denied_channels:
            raise ApiError(403, 50013, "Missing Permissions")
        return await handler(request)

    async def _unknown_route(self, request: web.Request) -> web.Response:
        return ApiError(404, 0, "404: Not Found").response()

    async def _get_me(self, request: web.Request) -> web.Response:
        return _json({**self._user_json(self.bot_id), "verified": True, "mfa_enabled": False, "flags": 0})

    async def _get_application(self, request: web.Request) -> web.Response:
        # discord.py's AppInfo needs id, name, description, icon, bot_public,
        # bot_require_code_grant, owner and verify_key.
        return _json(
            {
                "id": str(self.app_id),
                "name": "threadcast",
                "description": "",
                "icon": None,
                "bot_public": True,
                "bot_require_code_grant": False,
                "owner": self._user_json(self.owner_id),
                "verify_key": "0" * 64,
                "flags": self._app_flags(),
                "bot": self._user_json(self.bot_id),
                "interactions_endpoint_url": None,  # else the bot is told it gets no interactions
                "approximate_guild_count": 1,
            }
        )

    async def _get_my_guilds(self, request: web.Request) -> web.Response:
        """The servers the bot is in (`threadcast check`), each with the bot's permissions there;
        set them with ``members[bot_id].permissions`` (else from its roles)."""
        after = int(request.query.get("after") or 0)
        if self.guild_id <= after:
            return _json([])
        permissions = str(self.permissions_of(self.bot_id))
        guild: Json = {"id": str(self.guild_id), "name": self.guild_name, "icon": None, "banner": None,
                       "owner": False, "features": [], "permissions": permissions}  # fmt: skip
        return _json([guild])

    async def _get_gateway(self, request: web.Request) -> web.Response:
        limit = {"total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1}
        return _json({"url": self.gateway_url, "shards": 1, "session_start_limit": limit})

    async def _get_channel(self, request: web.Request) -> web.Response:
        return _json(self._channel(_id(request, "channel_id")))

    async def _history(self, request: web.Request) -> web.Response:
        """Up to ``limit`` messages next to ``before``/``after``/``around`` (or the latest),
        newest first whatever the direction, as Discord answers."""
        channel_id = _id(request, "channel_id")
        self._channel(channel_id)
        query, found = request.query, self.messages.get(channel_id, [])
        limit = int(query.get("limit", "50"))
        if not 1 <= limit <= 100:
            raise invalid_form({"limit": "Must be between 1 and 100."})
        if "before" in query:
            found = [m for m in found if int(m["id"]) < int(query["before"])][-limit:]
        elif "after" in query:
            found = [m for m in found if int(m["id"]) > int(query["after"])][:limit]
        elif "around" in query:
            older = [m for m in found if int(m["id"]) < int(query["around"])]
            older = older[max(0, len(older) - limit // 2) :]
            found = older + [m for m in found if int(m["id"]) >= int(query["around"])][: limit - len(older)]
        else:
            found = found[-limit:]
        return _json([self._shown(m) for m in found[::-1]])

    def _shown(self, message: Json) -> Json:
        """A message as REST shows it: with its reactions, counted per emoji (who reacted is
        another request, as on Discord)."""
        reactions = []
        for emoji, users in self.reactions.get(int(message["id"]), {}).items():
            if users:
                name, _, emoji_id = emoji.partition(":")
                reactions.append(
                    {
                        "emoji": {"id": emoji_id or None, "name": name},
                        "count": len(users),
                        "count_details": {"burst": 0, "normal": len(users)},
                        "me": self.bot_id in users,
                        "me_burst": False,
                        "burst_colors": [],
                    }
                )
        return {**message, "reactions": reactions} if reactions else message

    async def _reactors(self, request: web.Request) -> web.Response:
        """Who reacted with an emoji, by user id, ``limit`` at a time after ``after``; super
        reactions (``type=1``) are never made here."""
        message = self._message(_id(request, "message_id"), _id(request, "channel_id"))
        limit = int(request.query.get("limit", "25"))
        if not 1 <= limit <= 100:
            raise invalid_form({"limit": "Must be between 1 and 100."})
        if request.query.get("type", "0") != "0":
            return _json([])
        after = int(request.query.get("after", "0"))
        users = self.reactions.get(int(message["id"]), {}).get(request.match_info["emoji"], set())
        return _json([self._user_json(u) for u in sorted(users) if u > after][:limit])

    async def _create_message(self, request: web.Request) -> web.Response:
        channel_id = _id(request, "channel_id")
        if self._channel(channel_id)["type"] == FORUM:
            raise ApiError(400, 50008, "Cannot send messages in a non-text channel")
        body, files = _body(request), request[RECORD].files
        check_message(body, has_files=bool(files))
        attachments = self._attachments(channel_id, files)
        return _json(await self._post(channel_id, self.bot_id, body, attachments=attachments))

    async def _get_message(self, request: web.Request) -> web.Response:
        return _json(self._shown(self._message(_id(request, "message_id"), _id(request, "channel_id"))))

    async def _edit_message(self, request: web.Request) -> web.Response:
        message = self._message(_id(request, "message_id"), _id(request, "channel_id"))
        if int(message["author"]["id"]) != self.bot_id:
            raise ApiError(403, 50005, "Cannot edit a message authored by another user")
        body = _body(request)
        check_message(body, allow_empty=True)
        self._edit(message, body)
        await self._dispatch_message("MESSAGE_UPDATE", message)
        return _json(message)

    async def _delete_message(self, request: web.Request) -> web.Response:
        message = self._message(_id(request, "message_id"), _id(request, "channel_id"))
        await self.user_delete(int(message["id"]))
        return _no_content()

    async def _react(self, request: web.Request) -> web.Response:
        message = self._message(_id(request, "message_id"), _id(request, "channel_id"))
        who, emoji = request.match_info["user"], request.match_info["emoji"]
        user_id = self.bot_id if who == "@me" else int(who)
        if request.method == "PUT":
            await self.reaction_add(user_id, int(message["id"]), emoji)
        else:
            await self.reaction_remove(user_id, int(message["id"]), emoji)
        return _no_content()

    async def _thread_from_message(self, request: web.Request) -> web.Response:
        """A public thread on a message; the thread's id is the message's id."""
        channel_id, message_id = _id(request, "channel_id"), _id(request, "message_id")
        if self._channel(channel_id)["type"] != TEXT:
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        self._message(message_id, channel_id)
        if message_id in self.channels:
            raise ApiError(400, 160004, "A thread has already been created for this message")
        body = _body(request)
        name = check_thread_name(body.get("name"))
        thread = self._new_thread(
            channel_id, name, message_id, auto_archive=body.get("auto_archive_duration") or 1440
        )
        await self.dispatch("THREAD_CREATE", {**thread, "newly_created": True})
        return _json(thread)

    async def _create_thread(self, request: web.Request) -> web.Response:
        """A forum post (``{name, message}``: the thread plus its first message, whose id is
        the thread's), or a thread without a message in a text channel."""
        channel_id = _id(request, "channel_id")
        kind, body = self._channel(channel_id)["type"], _body(request)
        name, auto_archive = check_thread_name(body.get("name")), body.get("auto_archive_duration") or 1440
        thread_id = self._snowflake()
        if kind == FORUM:
            starter, files = body.get("message") or {}, request[RECORD].files
            check_message(starter, has_files=bool(files))
            thread = self._new_thread(channel_id, name, thread_id, auto_archive=auto_archive)
            thread["applied_tags"] = body.get("applied_tags") or []
            await self.dispatch("THREAD_CREATE", {**thread, "newly_created": True})
            attachments = self._attachments(thread_id, files)
            message = await self._post(
                thread_id, self.bot_id, starter, message_id=thread_id, attachments=attachments
            )
            return _json({**thread, "message": message})
        if kind != TEXT:
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        thread_kind = body.get("type") or PRIVATE_THREAD
        thread = self._new_thread(channel_id, name, thread_id, kind=thread_kind, auto_archive=auto_archive)
        await self.dispatch("THREAD_CREATE", {**thread, "newly_created": True})
        return _json(thread)

    async def _get_member(self, request: web.Request) -> web.Response:
        user_id = _id(request, "user_id")
        if _id(request, "guild_id") != self.guild_id:
            raise ApiError(404, 10004, "Unknown Guild")
        if user_id not in self.members:
            raise ApiError(404, 10007, "Unknown Member")
        return _json(self._member_json(user_id))

    async def _commands(self, request: web.Request) -> web.Response:
        """Bulk overwrite (PUT) or list (GET) the global or a guild's commands. Each keeps its
        id across overwrites (matched by name and type), as Discord does."""
        if _id(request, "app_id") != self.app_id:
            raise ApiError(403, 50001, "Missing Access")
        scope = _id(request, "guild_id") if "guild_id" in request.match_info else None
        if scope not in (None, self.guild_id):
            raise ApiError(403, 50001, "Missing Access")
        if request.method == "PUT":
            before = {(c["name"], c["type"]): c["id"] for c in self.commands.get(scope, [])}
            stored = []
            for command in _body(request):
                kind = command.get("type") or 1
                permissions = command.get("default_member_permissions")
                stored.append(
                    {
                        "options": [],
                        "nsfw": False,
                        **command,
                        "id": before.get((command["name"], kind)) or str(self._snowflake()),
                        "application_id": str(self.app_id),
                        "version": str(self._snowflake()),
                        "type": kind,
                        # Context menus are sent without one; discord.py's AppCommand needs it.
                        "description": command.get("description") or "",
                        "default_member_permissions": None if permissions is None else str(permissions),
                        **({"guild_id": str(scope)} if scope else {}),
                    }
                )
            self.commands[scope] = stored
        return _json(self.commands.get(scope, []))

    async def _interaction_callback(self, request: web.Request) -> web.Response:
        """The first answer to an interaction (within ``interaction_deadline``, once only)."""
        interaction = self.interactions.get(_id(request, "interaction_id"))
        late = interaction is not None and time.monotonic() - interaction.created > self.interaction_deadline
        if interaction is None or interaction.token != request.match_info["token"] or late:
            raise ApiError(404, 10062, "Unknown interaction")
        if interaction.responses:
            raise ApiError(400, 40060, "Interaction has already been acknowledged.")
        body = _body(request)
        kind, data = body.get("type"), body.get("data") or {}
        if kind == CHANNEL_MESSAGE:
            check_message(data, has_files=bool(request[RECORD].files))
        interaction.responses.append(body)
        message = None
        if kind in (CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE):  # a message ("thinking…" for 5)
            flags = int(data.get("flags") or 0) | (LOADING if kind == DEFERRED_CHANNEL_MESSAGE else 0)
            message = self._new_message(
                interaction.channel_id,
                self.bot_id,
                {**data, "flags": flags},
                kind=COMMAND_MESSAGE,
                webhook=True,
            )
            interaction.original = message
            if not flags & EPHEMERAL:
                await self._store_and_dispatch(message)
        if not _truthy(request.query.get("with_response")):
            return _no_content()
        resource: Json = {"type": kind}
        if message is not None:
            resource["message"] = message
        answer = {
            "id": str(interaction.id),
            "type": interaction.payload["type"],
            "response_message_id": message and message["id"],
            "response_message_loading": kind == DEFERRED_CHANNEL_MESSAGE,
            "response_message_ephemeral": bool(message and message["flags"] & EPHEMERAL),
        }
        return _json({"interaction": answer, "resource": resource})

    def _webhook_interaction(self, request: web.Request) -> Interaction:
        """The interaction a follow-up token belongs to: known, and already answered."""
        token = request.match_info["token"]
        found = next((i for i in self.interactions.values() if i.token == token), None)
        if found is None or _id(request, "app_id") != self.app_id or not found.responses:
            raise ApiError(404, 10015, "Unknown Webhook")
        return found

    async def _followup(self, request: web.Request) -> web.Response:
        interaction = self._webhook_interaction(request)
        body, files = _body(request), request[RECORD].files
        check_message(body, has_files=bool(files))
        channel_id, original = interaction.channel_id, interaction.original
        attachments = self._attachments(channel_id, files)
        if original is not None and original["flags"] & LOADING:
            # The first follow-up after a deferral replaces the "thinking..." message and keeps
            # its visibility: the follow-up's own ephemeral flag changes nothing.
            self._edit(original, {key: value for key, value in body.items() if key != "flags"})
            original.update(flags=original["flags"] & ~LOADING, attachments=attachments)
            message = original
            if message in self.messages.get(channel_id, []):
                await self._dispatch_message("MESSAGE_UPDATE", message)
        else:
            message = self._new_message(
                channel_id, self.bot_id, body, kind=COMMAND_MESSAGE, attachments=attachments, webhook=True
            )
            if not message["flags"] & EPHEMERAL:
                await self._store_and_dispatch(message)
        interaction.followups.append(message)
        return _json(message) if _truthy(request.query.get("wait")) else _no_content()

    async def _webhook_message(self, request: web.Request) -> web.Response:
        """GET, PATCH or DELETE the original answer (``@original``) or a follow-up."""
        interaction = self._webhook_interaction(request)
        wanted = request.match_info["message_id"]
        message = (
            interaction.original
            if wanted == "@original"
            else next((m for m in interaction.followups if m["id"] == wanted), None)
        )
        if message is None:
            raise ApiError(404, 10008, "Unknown Message")
        stored = message in self.messages.get(int(message["channel_id"]), [])
        if request.method == "DELETE":
            if stored:
                await self.user_delete(int(message["id"]))
            if message is interaction.original:
                interaction.original = None
            else:
                interaction.followups.remove(message)
            return _no_content()
        if request.method == "PATCH":
            body = _body(request)
            check_message(body, allow_empty=True)
            self._edit(message, body)
            message["flags"] &= ~LOADING
            if stored:
                await self._dispatch_message("MESSAGE_UPDATE", message)
        return _json(message)


def _id(request: web.Request, name: str) -> int:
    try:
        return int(request.match_info[name])
    except ValueError:
        raise ApiError(404, 0, "404: Not Found") from None


def _body(request: web.Request) -> Any:
    body = request[RECORD].json
    return {} if body is None else body


async def _read_body(request: web.Request) -> tuple[Any, dict[str, bytes]]:
    """A JSON body, or a multipart one: ``payload_json`` plus ``files[n]`` uploads."""
    if request.content_type == "multipart/form-data":
        form = await request.post()
        files = {f.filename: f.file.read() for f in form.values() if isinstance(f, web.FileField)}
        payload = form.get("payload_json")
        return (json.loads(payload) if isinstance(payload, str) else None), files
    text = await request.text() if request.can_read_body else ""
    return (json.loads(text) if text else None), {}
