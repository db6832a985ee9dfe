"""threadcast on Slack: slack-bolt events in, core requests out.

`SlackPlatform` implements `ChatPlatform` over slack-bolt's `AsyncApp` and
translates Slack's events, slash commands and message shortcuts into core
events for `App.dispatch`. It holds no rules: who is a moderator is a
platform fact it reports; what to do about it is the core's.

Slack's `ts` is unique per channel only, so every thread and message id the
core sees is namespaced: `"<channel>:<ts>"`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.channels import ChannelDirectory, ChannelResolver, command_text
from adapters.slack.render import Block, answer_text, article_blocks, digest_messages, escape, plain
from bot.app import App
from bot.chart import FILENAME as CHART_FILE
from bot.chart import chart_description, has_chart, participation_png
from bot.commands.registry import Answer, Attachment
from bot.digest import Digest
from bot.events import (
    Caller,
    CommandInvoked,
    Event,
    PlatformReady,
    ReactionChanged,
    ReplyDeleted,
    ReplyEdited,
    ReplyPosted,
)
from bot.intake import DONE, Intake
from bot.layout import DigestPost
from bot.models import Article, Community, Discussion, PostedMessage
from bot.platform import IncompleteHistory, PartlyPosted, PlatformError
from bot.post_layout import STANDARD, PostLayout
from bot.retry import backoff, reason, seconds
from bot.text import chunk_lines

_log = logging.getLogger(__name__)

PLATFORM = "slack"
Json = dict[str, Any]
SHORTCUTS = {"feature_in_digest": ("reply", "feature"), "hide_from_digest": ("reply", "hide")}
REPLIES_PAGE = 200
REPLIES_PAGES = 5  # per thread and reconnect: bounded, best effort
HISTORY_PAGE = 100
HISTORY_PAGES = 3  # when looking for a post made just before a crash
POST_EVENT = "threadcast_article"  # the metadata type of article posts
EVENTS_REMEMBERED = 10_000  # event ids kept to drop Slack's redeliveries (it retries within minutes)
_REPLY_SUBTYPES = (None, "thread_broadcast", "file_share", "me_message")

# The bot token's scopes, as slack-manifest.yml grants them (tests/test_slack_channels.py compares).

_ADVICE = {
    "channel_not_found": "the channel does not exist or the bot cannot see it; pick another channel",
    "not_in_channel": "the bot is not in that channel: type `/invite @threadcast` there",
    "is_archived": "the channel is archived",
    "missing_scope": "the Slack app lacks a scope: reinstall it from slack-manifest.yml",
    "ratelimited": "Slack is rate-limiting the bot; try again in a minute",
    "invalid_auth": "Slack refused SLACK_BOT_TOKEN: copy the Bot User OAuth Token again",
    "not_authed": "Slack refused SLACK_BOT_TOKEN: copy the Bot User OAuth Token again",
}


# What auth.test or apps.connections.open answers when only the operator can mend it.
REFUSALS = frozenset(
    {
        "invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired",
        "missing_scope", "not_allowed_token_type", "no_permission", "team_access_not_granted",
        "ekm_access_denied",
    }
)  # fmt: skip
_REINSTALL = "reinstall the app and copy its new Bot User OAuth Token"
# What the operator must change when Slack refuses the bot at start (auth.test).
_REFUSED = {
    "invalid_auth": "copy the Bot User OAuth Token again (OAuth & Permissions page of the app)",
    "not_authed": "set it to the Bot User OAuth Token (OAuth & Permissions page of the app)",
    "account_inactive": f"the app was uninstalled or its workspace deactivated: {_REINSTALL}",
    "token_revoked": f"the token was revoked: {_REINSTALL}",
    "token_expired": f"the token expired: {_REINSTALL}",
    "missing_scope": "the app lacks a scope: reinstall it from slack-manifest.yml",
}
# Failures of the way to Slack, not refusals: tried again later.
UNREACHABLE = (aiohttp.ClientError, OSError, TimeoutError, SlackRequestError)
CONNECT_TIMEOUT = 30.0  # a Socket Mode connect that takes longer is given up and tried again


class SlackStartError(Exception):
    """Slack refused to let the bot in; the message says what the operator must change."""


class SlackUnreachable(Exception):
    """Slack could not be reached, or failed on its side (a 5xx): worth trying again later."""


def ns(channel: str, ts: str) -> str:
    """A Slack message id the core can use: the channel and the ts."""
    return f"{channel}:{ts}"


def split_id(namespaced: str) -> tuple[str, str]:
    channel, _, ts = namespaced.partition(":")
    if not channel or not ts:
        raise PlatformError(f"{namespaced!r} is not a Slack message")
    return channel, ts


def _when(ts: str) -> datetime:
    try:
        return datetime.fromtimestamp(float(ts), UTC)
    except (TypeError, ValueError):
        return datetime.now(UTC)


def _is_bot(message: Json) -> bool:
    return bool(message.get("bot_id")) or message.get("subtype") == "bot_message"


def platform_error(exc: SlackApiError, doing: str) -> PlatformError:
    """A Slack refusal as words a moderator can act on."""
    error = str(exc.response.get("error") or exc.response.status_code)
    advice = _ADVICE.get(error, "see the bot's log")
    return PlatformError(f"Slack refused to {doing} ({error}): {advice}")


class SlackPlatform:
    name = PLATFORM

    def __init__(
        self,
        app: App,
        *,
        bot_token: str,
        signing_secret: str = "",
        app_token: str = "",
        moderators: Sequence[str] = (),
        base_url: str | None = None,
        http_host: str = "0.0.0.0",  # Slack must reach the HTTP endpoint
        http_port: int = 3000,
        pace: float = 1.0,
    ) -> None:
        self._app = app
        self._app_token = app_token
        self._moderators = frozenset(moderators)
        self._http_host, self._http_port = http_host, http_port
        self._pace = pace
        options: dict[str, Any] = {"token": bot_token}
        if base_url:
            options["base_url"] = base_url
        self.client = AsyncWebClient(**options)
        self.client.retry_handlers.append(AsyncConnectionErrorRetryHandler())
        self.client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=2))
        # Reading history has tight limits for apps outside the Marketplace (1 request a minute):
        # this client does not wait out a 429, catch-up gives up for now instead.
        self.reader = AsyncWebClient(**options)
        self.reader.retry_handlers.append(AsyncConnectionErrorRetryHandler())
        self.bolt = AsyncApp(signing_secret=signing_secret, client=self.client)
        self.channels = ChannelResolver(ChannelDirectory(self.client), app.commands)
        self.ready = asyncio.Event()
        self.team_id: str | None = None
        self.bot_user_id: str | None = None
        self.http_url: str | None = None  # the events URL once serving over HTTP
        self._socket: AsyncSocketModeHandler | None = None
        self._runner: web.AppRunner | None = None
        self._intake = Intake(app)  # refusal at closing, commands in flight, the standard answers
        self._last_post: dict[str, float] = {}
        self._events_seen: OrderedDict[str, None] = OrderedDict()
        self.bolt.event("message")(self._on_message)
        self.bolt.event("reaction_added")(self._on_reaction)
        self.bolt.event("reaction_removed")(self._on_reaction)
        self.bolt.command("/threadcast")(self._on_command)
        for callback_id in SHORTCUTS:
            self.bolt.shortcut(callback_id)(self._on_shortcut)

    # -- start-up ---------------------------------------------------------------
    @property
    def socket_mode(self) -> bool:
        return bool(self._app_token)

    @property
    def connected(self) -> bool:
        return self.ready.is_set()

    async def start(self) -> None:
        """Check the token, then connect (Socket Mode) or serve (HTTP); sets `ready`.

        Raises SlackStartError when Slack refuses a token or a scope (the operator must act),
        SlackUnreachable or a connection error when Slack cannot be reached (try again)."""
        try:
            auth = await self.client.auth_test()
        except SlackApiError as exc:
            error = str(exc.response.get("error"))
            if error in REFUSALS:
                advice = _REFUSED.get(error, "check it, and the app's installation in the workspace")
                raise SlackStartError(f"Slack refused SLACK_BOT_TOKEN ({error}): {advice}") from exc
            raise SlackUnreachable(_answered(exc)) from exc
        self.team_id, self.bot_user_id = str(auth["team_id"]), str(auth["user_id"])
        if self.socket_mode:
            # The socket's address is asked for here, not by slack-sdk: it would try a refused
            # app token again and again, a traceback each time.
            try:
                opened = await self.client.apps_connections_open(app_token=self._app_token)
            except SlackApiError as exc:
                if exc.response.get("error") in REFUSALS:
                    raise SlackStartError(
                        "Slack refused SLACK_APP_TOKEN: create an app-level token with connections:write"
                        f" ({exc.response.get('error')})"
                    ) from exc
                raise SlackUnreachable(_answered(exc)) from exc
        # Announced before any event can arrive: a reply stored live first would move the
        # catch-up's start past what was written while the bot was away (found by tests/test_crash.py).
        await self._dispatch(PlatformReady(Community(PLATFORM, self.team_id)))
        if self.socket_mode:
            self._socket = AsyncSocketModeHandler(self.bolt, app_token=self._app_token)
            self._socket.client.wss_uri = str(opened["url"])
            try:
                # slack-sdk retries a failed connect without end: bounded here, tried again later.
                await asyncio.wait_for(self._socket.connect_async(), CONNECT_TIMEOUT)  # type: ignore[no-untyped-call]
            except BaseException:
                await self._drop_socket()
                raise
        else:
            runner = web.AppRunner(self.bolt.web_app(path="/slack/events"), handle_signals=False)
            await runner.setup()
            site = web.TCPSite(runner, self._http_host, self._http_port)
            try:
                await site.start()
            except OSError as exc:
                await runner.cleanup()
                raise SlackStartError(f"cannot serve Slack on port {self._http_port}: {exc}") from exc
            self._runner = runner
            host, port = runner.addresses[0][:2]
            self.http_url = f"http://{host}:{port}/slack/events"
        self.ready.set()
        _log.debug("Slack connected (%s)", self.connection)

    @property
    def connection(self) -> str:
        return "Socket Mode" if self.socket_mode else f"HTTP, {self.http_url}"

    async def socket_alive(self) -> bool:
        """Whether events can reach the bot now: the Socket Mode connection is up (slack-sdk
        reconnects it by itself); over HTTP, Slack comes to us."""
        if self._socket is None:
            return self._runner is not None
        return bool(await self._socket.client.is_connected())

    async def back(self) -> None:
        """The socket is up again after a drop: what was written meanwhile is read back."""
        self.ready.set()
        if self.team_id is not None:
            await self._dispatch(PlatformReady(Community(PLATFORM, self.team_id)))

    async def _drop_socket(self) -> None:
        socket, self._socket = self._socket, None
        if socket is not None:
            try:
                await socket.close_async()  # type: ignore[no-untyped-call]
            except Exception as exc:  # closing what never opened fully
                _log.debug("closing the Slack socket: %s", reason(exc))

    async def close(self, timeout: float = 10.0) -> None:
        """Stop taking commands, let those under way finish (or time out), then disconnect."""
        await self._intake.close(timeout)
        await self._drop_socket()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self.ready.clear()

    # -- events in ----------------------------------------------------------------
    async def _dispatch(self, event: Event) -> None:
        await self._app.dispatch(event)

    def _reply(
        self, where: Community, channel: str, message: Json, *, from_history: bool = False
    ) -> ReplyPosted:
        user = str(message.get("user") or "")
        profile = message.get("user_profile") or {}
        name = profile.get("display_name") or profile.get("real_name") or user
        return ReplyPosted(
            community=where,
            thread_id=ns(channel, str(message["thread_ts"])),
            message_id=ns(channel, str(message["ts"])),
            author_id=user,
            author_name=str(name),
            text=str(message.get("text") or ""),
            created_at=_when(str(message["ts"])),
            from_history=from_history,
        )

    def _first_delivery(self, body: Json) -> bool:
        """Slack sends an event again when its ack seemed late: an edit or a reaction seen
        twice, out of order, would undo a later one. Each event id is taken once."""
        event_id = str(body.get("event_id") or "")
        if not event_id:
            return True
        if event_id in self._events_seen:
            _log.debug("event %s delivered again; taken once", event_id)
            return False
        self._events_seen[event_id] = None
        if len(self._events_seen) > EVENTS_REMEMBERED:
            self._events_seen.popitem(last=False)
        return True

    async def _on_message(self, event: Json, body: Json, context: AsyncBoltContext) -> None:
        if not self._first_delivery(body):
            return
        self._intake.track()  # a shutdown waits for this event to finish
        team = context.team_id or self.team_id
        channel = str(event.get("channel") or "")
        if not team or not channel:
            return
        where = Community(PLATFORM, team)
        subtype = event.get("subtype")
        if subtype == "message_changed":
            message: Json = event.get("message") or {}
            thread_ts = message.get("thread_ts")
            if _is_bot(message) or not thread_ts or thread_ts == message.get("ts"):
                return
            previous = event.get("previous_message") or {}
            if previous and previous.get("text") == message.get("text"):
                return  # an unfurl or a flag changed, not the words
            edited = (message.get("edited") or {}).get("ts") or event.get("ts")
            await self._dispatch(
                ReplyEdited(
                    community=where,
                    thread_id=ns(channel, str(thread_ts)),
                    message_id=ns(channel, str(message["ts"])),
                    text=str(message.get("text") or ""),
                    edited_at=_when(str(edited)),
                )
            )
        elif subtype == "message_deleted":
            deleted = event.get("deleted_ts")
            if deleted:
                thread_ts = event.get("thread_ts") or (event.get("previous_message") or {}).get("thread_ts")
                thread = ns(channel, str(thread_ts)) if thread_ts else None
                await self._dispatch(ReplyDeleted(where, ns(channel, str(deleted)), thread))
        elif subtype in _REPLY_SUBTYPES:
            if _is_bot(event) or event.get("user") in (None, self.bot_user_id):
                return
            thread_ts = event.get("thread_ts")
            if not thread_ts or thread_ts == event.get("ts"):
                return  # a channel message, not a reply in a thread
            await self._dispatch(self._reply(where, channel, event))

    async def _on_reaction(self, event: Json, body: Json, context: AsyncBoltContext) -> None:
        if not self._first_delivery(body):
            return
        self._intake.track()  # a shutdown waits for this event to finish
        team = context.team_id or self.team_id
        item = event.get("item") or {}
        user = str(event.get("user") or "")
        if not team or item.get("type") != "message" or not user or user == self.bot_user_id:
            return
        await self._dispatch(
            ReactionChanged(
                Community(PLATFORM, team),
                ns(str(item["channel"]), str(item["ts"])),
                user,
                str(event.get("reaction") or ""),
                event.get("type") == "reaction_added",
            )
        )

    # -- commands -----------------------------------------------------------------------
    async def is_moderator(self, user_id: str) -> bool:
        """Checked on every call: a workspace admin or owner, or listed in SLACK_MODERATORS."""
        if user_id in self._moderators:
            return True
        try:
            info = await self.client.users_info(user=user_id)
        except SlackApiError as exc:
            _log.warning("users.info failed for %s: %s", user_id, exc.response.get("error"))
            return False
        user: Json = info.get("user") or {}
        return bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))

    async def _run(
        self,
        team: str | None,
        channel: str,
        user: str,
        name: str,
        path: tuple[str, ...],
        text: str,
        *,
        channel_name: str | None = None,
    ) -> Answer:
        """`channel_name` (a slash command's): `text` may name channels, which become ids here."""
        refused = await self._intake.admit(Community(PLATFORM, team) if team else None)
        if refused is not None:
            return refused
        if not team:
            return Answer("threadcast could not tell which workspace this is.", ok=False)
        community = Community(PLATFORM, team)
        caller = Caller(user, name, is_moderator=await self.is_moderator(user))
        if channel_name is not None:
            try:
                translated = await self.channels.translate(
                    community, path, text, caller, (channel, channel_name)
                )
            except SlackApiError as exc:
                return _lookup_refused(exc)
            if isinstance(translated, Answer):
                return translated
            text = translated
        event = CommandInvoked(community=community, channel_id=channel, caller=caller, path=path, text=text)
        return await self._intake.run(event)

    async def _on_command(
        self, ack: Any, command: Json, respond: AsyncRespond, context: AsyncBoltContext
    ) -> None:
        await ack()  # within Slack's 3 seconds; the work may take longer (feeds are fetched)
        path, text = self._app.commands.split_line(command_text(str(command.get("text") or "")))
        if not path:
            path = ("help",)
        team = context.team_id or str(command.get("team_id") or "") or self.team_id
        try:
            answer = await self._run(
                team,
                str(command.get("channel_id") or ""),
                str(command.get("user_id") or ""),
                str(command.get("user_name") or ""),
                path,
                text,
                channel_name=str(command.get("channel_name") or ""),
            )
        except Exception:
            _log.exception("slash command failed")
            answer = await self._intake.failed(Community(PLATFORM, team) if team else None)
        await self._answer(respond, answer)

    async def _on_shortcut(
        self, ack: Any, shortcut: Json, respond: AsyncRespond, context: AsyncBoltContext
    ) -> None:
        await ack()
        path = SHORTCUTS[str(shortcut.get("callback_id"))]
        channel = str((shortcut.get("channel") or {}).get("id") or "")
        message_ts = str((shortcut.get("message") or {}).get("ts") or shortcut.get("message_ts") or "")
        user: Json = shortcut.get("user") or {}
        team = context.team_id or (shortcut.get("team") or {}).get("id") or self.team_id
        try:
            answer = await self._run(
                team,
                channel,
                str(user.get("id") or ""),
                str(user.get("name") or ""),
                path,
                ns(channel, message_ts),
            )
        except Exception:
            _log.exception("message shortcut failed")
            answer = await self._intake.failed(Community(PLATFORM, team) if team else None)
        await self._answer(respond, answer)

    async def _answer(self, respond: AsyncRespond, answer: Answer) -> None:
        kind = "ephemeral" if answer.private else "in_channel"
        text = answer_text(answer.text) or DONE
        try:
            # A long answer (an import report) in a few messages, leaving one for an attachment.
            parts = chunk_lines(text.splitlines(), ANSWER_LIMIT)[: RESPONSES_PER_URL - 2] or [DONE]
            for part in parts:
                await respond(text=part, response_type=kind, replace_original=False)
            if answer.digest is not None:
                for blocks in digest_messages(answer.digest):
                    await respond(
                        text=plain(blocks), blocks=blocks, response_type=kind, replace_original=False
                    )
            if answer.post is not None:  # a preview: the very blocks the channel would get
                preview = answer.post
                blocks, fallback = article_blocks(preview.article, preview.prompt, preview.layout)
                await respond(text=fallback, blocks=blocks, response_type=kind, replace_original=False)
            if answer.attachment is not None:
                for message in attachment_messages(answer.attachment, RESPONSES_PER_URL - len(parts)):
                    await respond(text=message, response_type="ephemeral", replace_original=False)
        except Exception:
            _log.warning("could not answer through response_url", exc_info=True)

    # -- ChatPlatform ----------------------------------------------------------------------
    async def _wait_turn(self, channel: str) -> None:
        """About one message a second per channel, for messages sent in a row."""
        last = self._last_post.get(channel)
        if last is not None:
            wait = last + self._pace - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
        self._last_post[channel] = time.monotonic()

    async def _post(
        self, channel: str, text: str, blocks: list[Block] | None, doing: str, *, article: str | None = None
    ) -> str:
        # An article post carries the article's key as message metadata, so it can be
        # recognised in the channel's history after a crash.
        metadata = {"event_type": POST_EVENT, "event_payload": {"article": article}} if article else None
        try:
            result = await self.client.chat_postMessage(
                channel=channel, text=text, blocks=blocks, unfurl_links=False, unfurl_media=False,
                metadata=metadata,
            )  # fmt: skip
        except SlackApiError as exc:
            raise platform_error(exc, doing) from exc
        except UNREACHABLE as exc:
            unreachable = f"Slack could not be reached to {doing} ({reason(exc)}); try again later"
            raise PlatformError(unreachable) from exc
        return str(result["ts"])

    async def post_discussion(
        self,
        community: Community,
        channel_id: str,
        article: Article,
        prompt: str,
        layout: PostLayout = STANDARD,
    ) -> PostedMessage:
        blocks, fallback = article_blocks(article, prompt, layout)
        ts = await self._post(channel_id, fallback, blocks, f"post in <#{channel_id}>", article=article.key)
        message_id = ns(channel_id, ts)
        return PostedMessage(message_id, message_id, _link(channel_id, ts))

    async def find_post(
        self, community: Community, channel_id: str, article: Article, since: datetime
    ) -> PostedMessage | None:
        cursor: str | None = None
        try:
            for _ in range(HISTORY_PAGES):
                page = await self.reader.conversations_history(
                    channel=channel_id, oldest=f"{since.timestamp():.6f}", limit=HISTORY_PAGE,
                    include_all_metadata=True, cursor=cursor,
                )  # fmt: skip
                for message in page.get("messages") or []:
                    metadata = message.get("metadata") or {}
                    if (
                        message.get("user") == self.bot_user_id
                        and metadata.get("event_type") == POST_EVENT
                        and (metadata.get("event_payload") or {}).get("article") == article.key
                    ):
                        ts = str(message["ts"])
                        return PostedMessage(ns(channel_id, ts), ns(channel_id, ts), _link(channel_id, ts))
                cursor = (page.get("response_metadata") or {}).get("next_cursor")
                if not page.get("has_more") or not cursor:
                    break
        except SlackApiError as exc:
            raise platform_error(exc, f"read the history of <#{channel_id}>") from exc
        except UNREACHABLE as exc:
            raise PlatformError(f"Slack could not be reached ({reason(exc)})") from exc
        return None

    async def post_digest(
        self,
        community: Community,
        channel_id: str,
        post: DigestPost,
        *,
        skip: int = 0,
        sent: Callable[[str], Awaitable[None]] | None = None,
    ) -> list[str]:
        ids: list[str] = []
        digest = post.digest
        self._last_post.pop(channel_id, None)
        for number, blocks in enumerate(digest_messages(post)):
            if number < skip:
                continue
            await self._wait_turn(channel_id)
            try:
                ts = await self._post(
                    channel_id, plain(blocks), blocks, f"post the digest in <#{channel_id}>"
                )
            except PlatformError as exc:
                if ids:
                    raise PartlyPosted(str(exc), ids) from exc
                raise
            ids.append(ns(channel_id, ts))
            if sent is not None:
                await sent(ids[-1])
            if number == 0 and has_chart(digest.days):  # the chart right under the figures
                await self._wait_turn(channel_id)
                await self._post_chart(channel_id, digest)
        return ids

    async def _post_chart(self, channel_id: str, digest: Digest) -> None:
        """The participation chart as an image; the digest stands without it, so a
        refusal (most often the files:write scope missing) is logged, not raised."""
        chart = await asyncio.to_thread(participation_png, digest.days)
        try:
            await self.client.files_upload_v2(
                channel=channel_id, file=chart, filename=CHART_FILE, title="Replies per day",
                alt_txt=chart_description(digest.days),
            )  # fmt: skip
        except SlackApiError as exc:
            error = exc.response.get("error")
            hint = "; the app needs the files:write scope" if error == "missing_scope" else ""
            _log.warning("the digest chart was not posted in %s (%s)%s", channel_id, error, hint)
        except SlackRequestError as exc:
            _log.warning("the digest chart upload to %s failed: %s", channel_id, exc)

    async def notify(self, community: Community, channel_id: str, text: str) -> None:
        self._last_post.pop(channel_id, None)
        shown = answer_text(text)
        for start in range(0, max(len(shown), 1), 3000):
            await self._wait_turn(channel_id)
            await self._post(channel_id, shown[start : start + 3000] or "…", None, f"post in <#{channel_id}>")

    async def replies_since(self, discussion: Discussion, after_message_id: str | None) -> list[ReplyPosted]:
        if discussion.thread_id is None:
            return []
        try:
            channel, thread_ts = split_id(discussion.thread_id)
        except PlatformError:
            return []
        after = split_id(after_message_id)[1] if after_message_id and ":" in after_message_id else thread_ts
        replies: list[ReplyPosted] = []
        cursor: str | None = None
        try:
            for _ in range(REPLIES_PAGES):
                page = await self.reader.conversations_replies(
                    channel=channel, ts=thread_ts, oldest=after, limit=REPLIES_PAGE, cursor=cursor
                )
                for message in page.get("messages") or []:
                    ts = str(message.get("ts") or "")
                    if ts == thread_ts or float(ts) <= float(after) or _is_bot(message):
                        continue
                    if (
                        message.get("subtype") not in _REPLY_SUBTYPES
                        or message.get("user") == self.bot_user_id
                    ):
                        continue
                    replies.append(self._reply(discussion.community, channel, message, from_history=True))
                cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
                if not cursor:
                    return replies
        except SlackApiError as exc:
            retry = exc.response.headers.get("Retry-After") if exc.response.headers else None
            error = exc.response.get("error")
            raise IncompleteHistory(
                f"Slack stopped the reading ({error}{f', retry after {retry} s' if retry else ''})", replies
            ) from exc
        raise IncompleteHistory(f"more than {REPLIES_PAGES} pages of replies", replies)

    def thread_link(self, discussion: Discussion) -> str | None:
        if discussion.thread_id is None:
            return None
        try:
            channel, ts = split_id(discussion.thread_id)
        except PlatformError:
            return None
        return _link(channel, ts)


def _lookup_refused(exc: SlackApiError) -> Answer:
    """Slack would not say which channel a command names: what the operator can do about it."""
    needed = exc.response.get("needed")
    _log.warning(
        "a channel look-up was refused: %s%s", exc.response.get("error"), f" ({needed})" if needed else ""
    )
    problem = str(platform_error(exc, "look up the channel"))
    return Answer(f"{problem}{f' (it needs {needed})' if needed else ''}", ok=False)


def _link(channel: str, ts: str) -> str:
    return f"https://slack.com/app_redirect?channel={channel}&message_ts={ts}"


def _answered(exc: SlackApiError) -> str:
    return f"Slack answered {exc.response.status_code} {exc.response.get('error') or ''}".strip()


async def supervise(
    platform: SlackPlatform,
    stop: asyncio.Event,
    *,
    delays: Iterator[float] | None = None,
    watch: float = 5.0,
    tried: asyncio.Event | None = None,
) -> None:
    """Connect (or serve) until `stop` is set.

    Slack out of reach (refused connections, DNS, time-outs, its 5xx) is tried again after
    `delays` (doubling from 1 s to 5 min, with jitter), one line logged each time, the
    traceback only at DEBUG. A refused token or scope raises SlackStartError: retrying cannot
    help, the operator must act. Once connected, slack-sdk reconnects a dropped socket by
    itself; every `watch` seconds this notes a drop ("lost") and the return ("connected
    again", after which what was written meanwhile is read back). `tried` is set once the
    first attempt ended, connected or not."""
    waits = delays if delays is not None else backoff()
    failed = False
    while not stop.is_set():
        try:
            await platform.start()
        except (SlackUnreachable, *UNREACHABLE) as exc:
            delay = next(waits)
            _log.warning(
                "Slack unreachable (%s); retrying in %s", reason(exc), seconds(delay),
                exc_info=_log.isEnabledFor(logging.DEBUG),
            )  # fmt: skip
            failed = True
            if tried is not None:
                tried.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)
            continue
        finally:
            if tried is not None and platform.ready.is_set():
                tried.set()
        if failed:
            _log.info("Slack connected again")
        else:
            _log.info("Slack connected (%s)", platform.connection)
        await _watch(platform, stop, watch)
        return


async def _watch(platform: SlackPlatform, stop: asyncio.Event, every: float) -> None:
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=every)
            return
        alive = await platform.socket_alive()
        if platform.ready.is_set() and not alive:
            platform.ready.clear()
            _log.warning("Slack connection lost; reconnecting")
        elif alive and not platform.ready.is_set():
            _log.info("Slack connected again")
            await platform.back()


ANSWER_LIMIT = 3000  # characters of one answer message shown in full
RESPONSES_PER_URL = 5  # Slack takes at most five answers through one response_url


def attachment_messages(attachment: Attachment, budget: int) -> list[str]:
    """A file answer in Slack, where a command's answer cannot carry a file privately (an upload
    is seen by the whole channel): a text file shown as code blocks when it fits in the
    `budget` messages left, else a message saying where to get it."""
    name = escape(attachment.filename)
    try:
        text = attachment.content.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    fence = "```"
    if text is not None and budget > 0:
        lines = [escape(line) for line in text.splitlines()]
        chunks = chunk_lines(lines, ANSWER_LIMIT - 2 * len(fence) - 2)
        if len(chunks) <= budget:
            return [f"{fence}\n{chunk}\n{fence}" for chunk in chunks]
    size = f"{len(attachment.content) / 1024:.0f} KB"
    return [
        f"`{name}` ({size}) is too large to show in Slack; the bot's operator can write it with the"
        " `threadcast` command line (`threadcast feeds export`, `threadcast export`)."
    ]
