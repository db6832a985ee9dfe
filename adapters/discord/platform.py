"""threadcast on Discord: discord.py events in, core requests out.

`DiscordPlatform` implements `ChatPlatform` over a discord.py client and
translates the gateway's raw events (so messages outside discord.py's cache
count too) into core events for `App.dispatch`. It holds no rules: who is a
moderator is a platform fact it reports; what to do about it is the core's.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import json
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import aiohttp
import discord
from discord import app_commands

from adapters.discord.commands import build_tree, use_catalogs
from adapters.discord.render import (
    article_content,
    article_embed,
    digest_embeds,
    link_target,
    md,
    pack,
    split_content,
    thread_name,
)
from bot.app import App
from bot.chart import FILENAME as CHART_FILE
from bot.chart import has_chart, participation_png
from bot.commands.registry import Answer
from bot.events import (
    Caller,
    CommandInvoked,
    Event,
    PlatformReady,
    ReactionChanged,
    ReactionsCleared,
    ReplyDeleted,
    ReplyEdited,
    ReplyPosted,
    ThreadDeleted,
)
from bot.intake import DONE, Intake
from bot.layout import DigestPost
from bot.models import Article, Community, Discussion, PostedMessage
from bot.platform import IncompleteHistory, PartlyPosted, PlatformError, ShownReply, ThreadShown
from bot.post_layout import STANDARD, PostLayout
from bot.retry import backoff, reason, seconds
from bot.text import neutralize_mentions

_log = logging.getLogger(__name__)

HISTORY_LOOKBACK = 100  # messages read back when looking for a post made before a crash

PLATFORM = "discord"
NO_PINGS = discord.AllowedMentions.none()
WEEK_IN_MINUTES: Literal[10080] = 10080  # the longest auto-archive Discord offers
MESSAGE_CACHE = 200
HISTORY_LIMIT = 1000  # per thread and reconnect: enough for a night away, bounded
REACTORS_PAGE = 100  # the most users Discord lists per request


def _is_reply(message: discord.Message) -> bool:
    """What a member wrote, not a pin, a rename or another system notice."""
    return message.type in (discord.MessageType.default, discord.MessageType.reply)


_NOT_THREADS = (discord.TextChannel, discord.ForumChannel, discord.VoiceChannel, discord.StageChannel)
_CHANNEL_ID = re.compile(r"#(\d{15,21})\b")  # raw events do the work; a small cache is enough


def intents() -> discord.Intents:
    """Exactly what threadcast reads. Message Content is privileged: enable it in the portal."""
    wanted = discord.Intents.none()
    wanted.guilds = True
    wanted.guild_messages = True
    wanted.message_content = True
    wanted.guild_reactions = True
    return wanted


def make_client(
    guild_ready_timeout: float, shard_count: int | None = None, shard_ids: Sequence[int] | None = None
) -> discord.Client:
    """A client with small caches: raw events carry what threadcast reads, so it keeps only a few
    recent messages (to tell an edit from an unfurl) and no members.

    With a shard count (0: Discord's recommendation) or shard ids it is an AutoShardedClient that
    connects those shards only: each process of a deployment takes its share of the servers.
    """
    options: dict[str, Any] = {
        "intents": intents(),
        "allowed_mentions": NO_PINGS,
        "max_messages": MESSAGE_CACHE,
        "member_cache_flags": discord.MemberCacheFlags.none(),
        "chunk_guilds_at_startup": False,
        "guild_ready_timeout": guild_ready_timeout,
    }
    if shard_count is None and shard_ids is None:
        return discord.Client(**options)
    if shard_ids:
        options["shard_ids"] = list(shard_ids)
    return discord.AutoShardedClient(shard_count=shard_count or None, **options)


def community(guild_id: int | None) -> Community | None:
    return None if guild_id is None else Community(PLATFORM, str(guild_id))


class DiscordStartError(Exception):
    """Discord refused to let the bot in; the message says what the operator must change."""


class DiscordPlatform:
    name = PLATFORM

    def __init__(
        self,
        app: App,
        *,
        moderator_role: str = "",
        guild_ids: Sequence[int] = (),
        sync_marker: Path | None = None,
        client: discord.Client | None = None,
        guild_ready_timeout: float = 2.0,
        shard_count: int | None = None,
        shard_ids: Sequence[int] | None = None,
    ) -> None:
        self._app = app
        self._moderator_role = moderator_role
        self._guild_ids = tuple(guild_ids)
        self._sync_marker = sync_marker
        # One process syncs the commands: the one with shard 0 (or the only one).
        self._syncs_commands = shard_ids is None or 0 in shard_ids
        self.client = client or make_client(guild_ready_timeout, shard_count, shard_ids)
        self.tree: app_commands.CommandTree[discord.Client] = app_commands.CommandTree(self.client)
        self.tree.on_error = self._command_failed  # type: ignore[method-assign]
        self.ready = asyncio.Event()
        self._intake = Intake(app)  # refusal at closing, commands in flight, the standard answers
        self._holding = 0  # events that found the core crowded and hold the gateway's reading
        # Per message, the cheap way: each server's Community made once, and whether a kind of
        # channel can be a thread asked once (isinstance against discord.py's channel classes,
        # some of them Protocols, costs more than the rest of the message's translation).
        self._communities: dict[int, Community] = {}
        self._threadlike: dict[type, bool] = {}
        build_tree(self.tree, app.commands, self._invoke)
        self.client.setup_hook = self._setup_hook  # type: ignore[method-assign]
        for handler in (
            self.on_ready,
            self.on_connect,
            self.on_shard_connect,
            self.on_message,
            self.on_raw_message_edit,
            self.on_raw_message_delete,
            self.on_raw_bulk_message_delete,
            self.on_raw_thread_delete,
            self.on_raw_reaction_add,
            self.on_raw_reaction_remove,
            self.on_raw_reaction_clear,
            self.on_raw_reaction_clear_emoji,
        ):
            self.client.event(handler)

    # -- start-up ---------------------------------------------------------------
    async def run(self, token: str) -> None:
        """Log in and stay connected until the client is closed; raises what ends it otherwise.

        May be called again after it returned or raised. discord.py's `Client.clear`
        alone does not make a closed client startable: `close` unbinds it from the event
        loop (only `async with client` binds it again, or no event is ever dispatched) and
        closes the HTTP connector with the session (the next login would fail with
        "Session is closed"; without one, discord.py makes a new connector).
        """
        client = self.client
        if client.is_closed():
            client.clear()
            if client.http.connector is not discord.utils.MISSING and client.http.connector.closed:
                client.http.connector = discord.utils.MISSING
        async with client:
            await client.start(token)

    async def _setup_hook(self) -> None:
        if not self._syncs_commands:
            _log.info("slash commands are synced by the process that connects shard 0")
            return
        try:
            await self.sync_commands()
        except discord.Forbidden as exc:
            raise DiscordStartError(
                "Discord refused the slash commands: invite the bot with the applications.commands scope"
                " (`threadcast check` prints the URL) and check DISCORD_GUILD_IDS"
            ) from exc

    async def close(self, timeout: float = 10.0) -> None:
        """Stop taking commands, let those under way finish (or time out), then disconnect."""
        await self._intake.close(timeout)
        if not self.client.is_closed():
            await self.client.close()

    async def sync_commands(self) -> bool:
        """Push the command set to Discord, only when it changed since the last push.

        With `DISCORD_GUILD_IDS` the commands go to those servers (instant, for
        development); otherwise globally.
        """
        await use_catalogs(self.tree, self._app.commands)
        translator = self.tree.translator
        assert translator is not None
        # With the translations: a changed catalog is a changed command set.
        payload = json.dumps(
            [await c.get_translated_payload(self.tree, translator) for c in self.tree.get_commands()],
            sort_keys=True,
        )
        digest = hashlib.sha256(f"{self._guild_ids}{payload}".encode()).hexdigest()
        if self._sync_marker and self._sync_marker.exists() and self._sync_marker.read_text() == digest:
            _log.info("slash commands unchanged; not syncing")
            return False
        if self._guild_ids:
            for guild_id in self._guild_ids:
                guild = discord.Object(id=guild_id)
                self.tree.copy_global_to(guild=guild)
                await self.tree.sync(guild=guild)
        else:
            await self.tree.sync()
        if self._sync_marker:
            self._sync_marker.write_text(digest)
        _log.info(
            "slash commands synced (%s)", "guilds " + str(self._guild_ids) if self._guild_ids else "global"
        )
        return True

    # -- events in ----------------------------------------------------------------
    async def _dispatch(self, event: Event, *, wait: bool = True) -> None:
        # Backpressure: discord.py runs each event in a task of its own and reads on, so callers
        # waiting for the core would pile up in memory. While the core is crowded the gateway's
        # socket is not read (its buffers, then Discord, hold what comes), until every event that
        # found it crowded is handled.
        held = self._hold_gateway() if self._app.crowded else None
        try:
            if wait:
                await self._app.dispatch(event)
            else:  # once it has its place in its lane (and a slot), the gateway is read on
                await self._app.submit(event)
        finally:
            if held is not None:
                self._holding -= 1
                if not self._holding:
                    held.resume_reading()
                    if (now := self._gateway()) is not None and now is not held:
                        now.resume_reading()  # reconnected meanwhile: the new socket may be held too

    def _gateway(self) -> asyncio.Transport | None:
        """The gateway's socket (discord.py's websocket over aiohttp), or None."""
        socket = getattr(getattr(self.client, "ws", None), "socket", None)
        protocol = getattr(getattr(socket, "_conn", None), "protocol", None)
        transport = getattr(protocol, "transport", None)
        if not isinstance(transport, asyncio.Transport) or transport.is_closing():
            return None
        return transport

    def _hold_gateway(self) -> asyncio.Transport | None:
        """Stop reading the gateway's socket (again: aiohttp's own flow control may have resumed
        it); the transport held, or None."""
        transport = self._gateway()
        if transport is None:
            return None
        self._holding += 1
        transport.pause_reading()
        return transport

    def _is_bot(self, user: discord.abc.User | None) -> bool:
        return user is None or user.bot or (self.client.user is not None and user.id == self.client.user.id)

    async def on_ready(self) -> None:
        self.ready.set()

    @property
    def connected(self) -> bool:
        return self.ready.is_set() and not self.client.is_closed()

    # A new session (READY, not a RESUME) is announced at once: on_ready comes only after
    # guild_ready_timeout, and a reply stored live before it would move the catch-up's start
    # past what was written while the bot was away. Events are handled in order from here.
    async def on_connect(self) -> None:
        if not isinstance(self.client, discord.AutoShardedClient):
            await self._sessions_began(self.client.guilds)

    async def on_shard_connect(self, shard_id: int) -> None:
        await self._sessions_began([g for g in self.client.guilds if g.shard_id == shard_id])

    async def _sessions_began(self, guilds: Sequence[discord.Guild]) -> None:
        for guild in guilds:
            await self._dispatch(PlatformReady(Community(PLATFORM, str(guild.id))))

    def _reply(
        self, where: Community, message: discord.Message, *, from_history: bool = False
    ) -> ReplyPosted:
        return ReplyPosted(
            community=where,
            thread_id=str(message.channel.id),
            message_id=str(message.id),
            author_id=str(message.author.id),
            author_name=message.author.display_name,
            text=message.content,
            created_at=message.created_at,
            from_history=from_history,
        )

    async def on_message(self, message: discord.Message) -> None:
        if self._is_bot(message.author) or (guild := message.guild) is None or not _is_reply(message):
            return
        channel = type(message.channel)
        if (threadlike := self._threadlike.get(channel)) is None:
            threadlike = self._threadlike[channel] = not issubclass(channel, _NOT_THREADS)
        if not threadlike:
            return
        if (where := self._communities.get(guild.id)) is None:
            where = self._communities[guild.id] = Community(PLATFORM, str(guild.id))
        # A thread discord.py has not cached arrives as a PartialMessageable: the core
        # knows which threads are discussions, so it decides. A flood of replies: each is
        # handed over in its order and its task ends, without waiting for the ones before.
        await self._dispatch(self._reply(where, message), wait=False)

    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        where = community(payload.guild_id)
        data: dict[str, Any] = dict(payload.data)
        edited = data.get("edited_timestamp")
        if where is None or "content" not in data or not edited:
            # Never edited: a link preview (an "unfurl"). Discord sends the whole message
            # again for it, content included, so content alone does not make an edit.
            return
        cached = payload.cached_message
        if cached is not None and cached.content == data["content"]:
            return  # the same words: an embed or a flag changed
        await self._dispatch(
            ReplyEdited(
                community=where,
                thread_id=str(payload.channel_id),
                message_id=str(payload.message_id),
                text=str(data["content"]),
                edited_at=discord.utils.parse_time(edited),
            )
        )

    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        where = community(payload.guild_id)
        if where is not None:
            await self._dispatch(ReplyDeleted(where, str(payload.message_id), str(payload.channel_id)))

    async def on_raw_bulk_message_delete(self, payload: discord.RawBulkMessageDeleteEvent) -> None:
        where = community(payload.guild_id)
        if where is not None:
            for message_id in payload.message_ids:
                await self._dispatch(ReplyDeleted(where, str(message_id), str(payload.channel_id)))

    async def on_raw_thread_delete(self, payload: discord.RawThreadDeleteEvent) -> None:
        where = community(payload.guild_id)
        if where is not None:
            await self._dispatch(ThreadDeleted(where, str(payload.thread_id)))

    async def _reaction(self, payload: discord.RawReactionActionEvent, added: bool) -> None:
        where = community(payload.guild_id)
        if where is None or (self.client.user and payload.user_id == self.client.user.id):
            return
        if payload.member is not None and payload.member.bot:
            return
        await self._dispatch(
            ReactionChanged(where, str(payload.message_id), str(payload.user_id), str(payload.emoji), added)
        )

    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        await self._reaction(payload, True)

    async def on_raw_reaction_remove(self, payload: discord.RawReactionActionEvent) -> None:
        await self._reaction(payload, False)

    async def on_raw_reaction_clear(self, payload: discord.RawReactionClearEvent) -> None:
        where = community(payload.guild_id)
        if where is not None:
            await self._dispatch(ReactionsCleared(where, str(payload.message_id)))

    async def on_raw_reaction_clear_emoji(self, payload: discord.RawReactionClearEmojiEvent) -> None:
        where = community(payload.guild_id)
        if where is not None:
            await self._dispatch(ReactionsCleared(where, str(payload.message_id), str(payload.emoji)))

    # -- commands -----------------------------------------------------------------------
    def _is_moderator(self, interaction: discord.Interaction) -> bool:
        """Checked on every call: Manage Server, or the configured moderator role."""
        if interaction.permissions.manage_guild:
            return True
        roles = getattr(interaction.user, "roles", [])
        return bool(self._moderator_role) and any(r.name == self._moderator_role for r in roles)

    async def _invoke(
        self, interaction: discord.Interaction, path: tuple[str, ...], options: dict[str, object]
    ) -> None:
        where = community(interaction.guild_id)
        # Answer within Discord's 3 seconds; the work may take longer (feeds are fetched).
        await interaction.response.defer(ephemeral=True, thinking=True)
        refused = await self._intake.admit(where)
        if refused is not None:
            await self._answer(interaction, refused)
            return
        if where is None:
            await self._answer(
                interaction, Answer("threadcast works in servers, not in direct messages.", ok=False)
            )
            return
        event = CommandInvoked(
            community=where,
            channel_id=str(interaction.channel_id),
            caller=Caller(
                str(interaction.user.id),
                interaction.user.display_name,
                is_moderator=self._is_moderator(interaction),
            ),
            path=path,
            options=options,
        )
        await self._answer(interaction, await self._intake.run(event))

    async def _command_failed(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        """Errors before or around a command (an option that could not be read, say) still
        get an answer, so nobody waits on "thinking…" forever."""
        _log.error("slash command failed", exc_info=error)
        detail = str(error) if isinstance(error, app_commands.TransformerError) else None
        text = (await self._intake.failed(community(interaction.guild_id), detail)).text
        try:
            if interaction.response.is_done():
                await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_PINGS)
            else:
                await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_PINGS)
        except discord.HTTPException:
            _log.warning("could not tell the caller about the failed command")

    async def _answer(self, interaction: discord.Interaction, answer: Answer) -> None:
        followup = interaction.followup
        # Our own words, already safe; channel ids become Discord's channel links.
        text = _CHANNEL_ID.sub(r"<#\1>", neutralize_mentions(answer.text))
        parts = split_content(text) or [DONE]
        for text in parts:
            await followup.send(text, ephemeral=answer.private, allowed_mentions=NO_PINGS)
        if answer.digest is not None:  # a preview: the very messages `digest now` would send
            for embeds, chart in await _digest_messages(answer.digest):
                await followup.send(
                    embeds=embeds, files=_files(chart), ephemeral=answer.private, allowed_mentions=NO_PINGS
                )
        if answer.post is not None:  # a preview: the very message the channel would get
            preview = answer.post
            await followup.send(
                content=article_content(preview.prompt, preview.layout) or "",
                embed=article_embed(preview.article, preview.layout),
                ephemeral=answer.private,
                allowed_mentions=NO_PINGS,
            )
        if answer.attachment is not None:
            file = discord.File(io.BytesIO(answer.attachment.content), filename=answer.attachment.filename)
            await followup.send(file=file, ephemeral=answer.private)

    # -- ChatPlatform ----------------------------------------------------------------------
    async def _channel(self, channel_id: str) -> discord.abc.GuildChannel | discord.Thread:
        try:
            number = int(channel_id)
        except ValueError:
            raise PlatformError(f"{channel_id!r} is not a Discord channel; pick one from the list") from None
        channel = self.client.get_channel(number)
        if channel is None:
            try:
                channel = await self.client.fetch_channel(number)
            except discord.NotFound:
                raise PlatformError(
                    f"channel {channel_id} does not exist (or the bot cannot see it)"
                ) from None
            except discord.Forbidden:
                raise PlatformError(f"the bot may not view channel {channel_id}") from None
        if isinstance(channel, discord.abc.PrivateChannel):
            raise PlatformError("threadcast posts in server channels only")
        return channel

    async def post_discussion(
        self,
        community: Community,
        channel_id: str,
        article: Article,
        prompt: str,
        layout: PostLayout = STANDARD,
    ) -> PostedMessage:
        channel = await self._channel(channel_id)
        embed = article_embed(article, layout)
        content = article_content(prompt, layout)
        try:
            if isinstance(channel, discord.ForumChannel):
                created = await channel.create_thread(
                    name=thread_name(article.title),
                    content=content,
                    embed=embed,
                    auto_archive_duration=WEEK_IN_MINUTES,
                    allowed_mentions=NO_PINGS,
                )
                thread, message = created.thread, created.message
            elif isinstance(channel, discord.TextChannel):
                message = await channel.send(
                    content=content, embed=embed, allowed_mentions=NO_PINGS, nonce=_nonce(article, channel_id)
                )
                try:
                    thread = await message.create_thread(
                        name=thread_name(article.title), auto_archive_duration=WEEK_IN_MINUTES
                    )
                except discord.HTTPException:
                    # No thread, no discussion: take the post back, so the channel keeps no
                    # orphan and a later try posts once.
                    try:
                        await message.delete()
                    except discord.HTTPException as exc:
                        _log.warning("could not take back message %s: %s", message.id, exc)
                    raise
            else:
                raise PlatformError(f"#{getattr(channel, 'name', channel_id)} is not a text or forum channel")
        except discord.Forbidden as exc:
            raise PlatformError(
                f"missing permission in #{channel.name}: the bot needs Send Messages, Embed Links and"
                f" Create Public Threads there ({exc.text})"
            ) from exc
        except discord.HTTPException as exc:
            raise PlatformError(f"Discord refused the post ({exc.status}: {exc.text})") from exc
        return PostedMessage(str(message.id), str(thread.id), thread.jump_url)

    async def find_post(
        self, community: Community, channel_id: str, article: Article, since: datetime
    ) -> PostedMessage | None:
        channel = await self._channel(channel_id)
        me = self.client.user
        expected = article_embed(article)
        try:
            if isinstance(channel, discord.ForumChannel):
                # A forum post is a thread whose first message has the thread's id.
                name = thread_name(article.title)
                for thread in channel.threads:
                    if thread.owner_id == getattr(me, "id", None) and thread.name == name:
                        return PostedMessage(str(thread.id), str(thread.id), thread.jump_url)
                return None
            if not isinstance(channel, discord.TextChannel):
                return None
            # Oldest first from the moment the post was recorded: it was sent right after.
            async for message in channel.history(limit=HISTORY_LOOKBACK, after=since, oldest_first=True):
                if message.author.id != getattr(me, "id", None) or not message.embeds:
                    continue
                shown = message.embeds[0]
                # A card whose layout leaves the title out still shows the link in its text.
                by_link = bool(article.url) and f"<{link_target(article.url or '')}>" in (
                    shown.description or ""
                )
                if (shown.url or None, shown.title) != (expected.url or None, expected.title) and not by_link:
                    continue
                thread = await self._thread_of(message, article)
                return PostedMessage(str(message.id), str(thread.id), thread.jump_url)
        except discord.Forbidden as exc:
            raise PlatformError(f"cannot read the history of #{channel.name} ({exc.text})") from exc
        except discord.HTTPException as exc:
            raise PlatformError(
                f"Discord refused to show #{channel.name} ({exc.status}: {exc.text})"
            ) from exc
        return None

    async def _thread_of(self, message: discord.Message, article: Article) -> discord.Thread:
        """The thread opened on a post, opened now if the crash came before it."""
        try:
            found = await self.client.fetch_channel(message.id)  # a thread shares its starter's id
            if isinstance(found, discord.Thread):
                return found
        except discord.NotFound:
            pass
        return await message.create_thread(
            name=thread_name(article.title), auto_archive_duration=WEEK_IN_MINUTES
        )

    async def post_digest(
        self,
        community: Community,
        channel_id: str,
        post: DigestPost,
        *,
        skip: int = 0,
        sent: Callable[[str], Awaitable[None]] | None = None,
    ) -> list[str]:
        channel = await self._channel(channel_id)
        if not isinstance(channel, discord.TextChannel | discord.Thread):
            raise PlatformError("digests go to a text channel")
        ids: list[str] = []
        try:
            for embeds, chart in (await _digest_messages(post))[skip:]:
                message = await channel.send(embeds=embeds, files=_files(chart), allowed_mentions=NO_PINGS)
                ids.append(str(message.id))
                if sent is not None:
                    await sent(ids[-1])
        except discord.HTTPException as exc:
            if isinstance(exc, discord.Forbidden):
                problem = f"missing permission to post the digest in #{channel.name} ({exc.text})"
            else:
                problem = f"Discord refused the digest ({exc.status}: {exc.text})"
            raise (PartlyPosted(problem, ids) if ids else PlatformError(problem)) from exc
        return ids

    async def notify(self, community: Community, channel_id: str, text: str) -> None:
        channel = await self._channel(channel_id)
        if not isinstance(channel, discord.TextChannel | discord.Thread):
            _log.warning("cannot post a notice in %s (not a text channel): %s", channel_id, text)
            return
        try:
            for part in split_content(md(text)):
                await channel.send(part, allowed_mentions=NO_PINGS)
        except discord.HTTPException as exc:
            raise PlatformError(f"cannot post in #{channel.name} ({exc.status}: {exc.text})") from exc

    async def replies_since(self, discussion: Discussion, after_message_id: str | None) -> list[ReplyPosted]:
        if discussion.thread_id is None:
            return []
        try:
            thread = await self._channel(discussion.thread_id)
        except PlatformError:
            return []  # the thread was deleted meanwhile
        if not isinstance(thread, discord.Thread):
            return []
        # Snowflakes grow with time, so the thread's own id is "before every reply".
        after = discord.Object(id=int(after_message_id or discussion.thread_id))
        replies = []
        read = 0
        try:
            async for message in thread.history(limit=HISTORY_LIMIT, after=after, oldest_first=True):
                read += 1
                if _is_reply(message) and not self._is_bot(message.author):
                    replies.append(self._reply(discussion.community, message, from_history=True))
        except discord.HTTPException as exc:
            raise _incomplete(exc, replies) from exc
        if read == HISTORY_LIMIT:  # there may be more than one reading takes in
            raise IncompleteHistory(f"more than {HISTORY_LIMIT} messages", replies)
        return replies

    async def thread_shown(self, discussion: Discussion) -> ThreadShown | None:
        """The thread's latest HISTORY_LIMIT messages as they stand: words and reaction counts."""
        thread = await self._thread(discussion)
        if thread is None:
            return None
        shown: list[ShownReply] = []
        read, oldest = 0, None
        try:
            async for message in thread.history(limit=HISTORY_LIMIT, oldest_first=False):
                read, oldest = read + 1, message.created_at
                if _is_reply(message) and not self._is_bot(message.author):
                    shown.append(
                        ShownReply(
                            self._reply(discussion.community, message, from_history=True),
                            message.edited_at,
                            _reaction_counts(message),
                        )
                    )
        except discord.HTTPException as exc:
            raise _incomplete(exc) from exc
        shown.reverse()
        return ThreadShown(shown, oldest if read == HISTORY_LIMIT else None)

    async def reactors(self, discussion: Discussion, message_id: str, emoji: str) -> set[str] | None:
        if discussion.thread_id is None:
            return None
        key = discord.message.convert_emoji_reaction(discord.PartialEmoji.from_str(emoji))
        me = getattr(self.client.user, "id", None)
        users: set[str] = set()
        try:
            for kind in (0, 1):  # normal reactions, then super reactions (counted together)
                after: int | None = None
                while True:
                    page = await self.client.http.get_reaction_users(
                        int(discussion.thread_id), int(message_id), key, REACTORS_PAGE, after=after, type=kind
                    )
                    users.update(
                        str(user["id"]) for user in page if not user.get("bot") and int(user["id"]) != me
                    )
                    if len(page) < REACTORS_PAGE:
                        break
                    after = int(page[-1]["id"])
        except discord.NotFound:
            return set()  # the message is gone: nobody's reaction stands
        except discord.Forbidden:
            return None
        except discord.HTTPException as exc:
            raise _incomplete(exc) from exc
        return users

    async def _thread(self, discussion: Discussion) -> discord.Thread | None:
        if discussion.thread_id is None:
            return None
        try:
            thread = await self._channel(discussion.thread_id)
        except PlatformError:
            return None  # deleted meanwhile, or out of sight
        return thread if isinstance(thread, discord.Thread) else None

    def thread_link(self, discussion: Discussion) -> str | None:
        if discussion.thread_id is None:
            return None
        return f"https://discord.com/channels/{discussion.community.id}/{discussion.thread_id}"


async def supervise(
    platform: DiscordPlatform,
    token: str,
    stop: asyncio.Event,
    *,
    delay: float = 1.0,
    tried: asyncio.Event | None = None,
) -> None:
    """Keep the bot connected until `stop` is set.

    discord.py reconnects by itself after ordinary drops; this loop covers what ends
    `Client.start` for good (Discord out of reach at login, a malformed event) by starting
    again after `delay` seconds, doubled after each failure up to 5 minutes, with jitter:
    one line logged each time, the traceback only at DEBUG. A refused token or intent is
    fatal (DiscordStartError): retrying cannot help, the operator must act. `tried` is set
    once the first attempt ended or the bot is ready, whichever comes first."""
    client = platform.client
    waits = backoff(delay)
    announcer: asyncio.Task[None] | None = None
    watcher = asyncio.create_task(_first_ready(platform, tried)) if tried is not None else None
    try:
        while not stop.is_set():
            try:
                await platform.run(token)
                if stop.is_set() or client.is_closed():
                    return
                wait = next(waits)
            except DiscordStartError:
                raise
            except discord.LoginFailure as exc:
                raise DiscordStartError(
                    "Discord refused DISCORD_TOKEN: copy the token from the Bot page again"
                ) from exc
            except discord.PrivilegedIntentsRequired as exc:
                raise DiscordStartError(
                    "Discord refused the Message Content intent: enable it under Bot → Privileged Gateway"
                    " Intents in the developer portal (threadcast needs it to read replies)"
                ) from exc
            except Exception as exc:
                wait = next(waits)
                unreachable = isinstance(exc, (OSError, TimeoutError, aiohttp.ClientError)) or (
                    isinstance(exc, discord.HTTPException) and exc.status >= 500
                )
                _log.warning(
                    "%s (%s); retrying in %s",
                    "Discord unreachable" if unreachable else "the Discord connection ended",
                    reason(exc), seconds(wait), exc_info=_log.isEnabledFor(logging.DEBUG),
                )  # fmt: skip
                platform.ready.clear()
                if tried is not None:
                    tried.set()
                if announcer is None or announcer.done():
                    announcer = asyncio.create_task(_connected_again(platform), name="discord-back")
            if not client.is_closed():
                await client.close()
            try:
                await asyncio.wait_for(stop.wait(), timeout=wait)
                return
            except TimeoutError:
                pass
    finally:
        for task in (announcer, watcher):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task


async def _connected_again(platform: DiscordPlatform) -> None:
    await platform.ready.wait()
    _log.info("Discord connected again")


async def _first_ready(platform: DiscordPlatform, tried: asyncio.Event) -> None:
    await platform.ready.wait()
    tried.set()


def _incomplete(exc: discord.HTTPException, replies: list[ReplyPosted] | None = None) -> IncompleteHistory:
    # A 5xx is Discord's own failure (discord.py retries 500, 502 and 504 a few times, not 503).
    return IncompleteHistory(
        f"Discord stopped the reading ({exc.status}: {exc.text})", replies or [], transient=exc.status >= 500
    )


def _reaction_counts(message: discord.Message) -> dict[str, int]:
    """Emoji -> members' reactions, as the live events name the emoji; the bot's own left out."""
    counts: dict[str, int] = {}
    for reaction in message.reactions:
        count = reaction.count - (1 if reaction.me else 0) - (1 if reaction.me_burst else 0)
        if count > 0:
            counts[str(reaction.emoji)] = count
    return counts


def _nonce(article: Article, channel_id: str) -> str:
    """Discord drops a second message with the same nonce sent shortly after the first
    (discord.py asks it to), so a post retried after a lost answer appears once."""
    return hashlib.sha256(f"{article.id}:{channel_id}".encode()).hexdigest()[:25]


async def _digest_messages(post: DigestPost) -> list[tuple[list[discord.Embed], bytes | None]]:
    """The digest's messages, the first carrying the participation chart when there is one.
    A compact digest is one message: its layout is tightened until it fits."""
    layout = post.fitted(lambda layout: len(pack(digest_embeds(layout))) == 1)
    parts = pack(digest_embeds(layout))
    digest = post.digest
    chart = await asyncio.to_thread(participation_png, digest.days) if has_chart(digest.days) else None
    if chart is not None:  # shown inside the digest's first embed
        parts[0].embeds[0].set_image(url=f"attachment://{CHART_FILE}")
    return [(part.embeds, chart if number == 0 else None) for number, part in enumerate(parts)]


def _files(chart: bytes | None) -> list[discord.File]:
    # A discord.File is spent by one send, so each message gets a new one.
    return [discord.File(io.BytesIO(chart), CHART_FILE)] if chart is not None else []
