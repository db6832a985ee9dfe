"""Slack's references in a slash command, translated into what the core reads: channel ids.

With `should_escape: true` (slack-manifest.yml) Slack sends a channel the member picked as
`<#C123ABC|news>`, a member as `<@U123|alice>`, a link as `<https://…>` or `<https://…|typed>`, and
`&`, `<`, `>` as entities. A `#name` Slack did not link (pasted, or typed past the
autocomplete) arrives as text. `command_text` undoes the escaping except for channels;
`ChannelResolver` turns the channels the core's parser reads (`channel_tokens`) into ids:
a link gives its id, a plain name is looked up with conversations.list (paged, cached a
short while), and a channel the bot will post in (`Option.posted_in`) must have the bot as a
member (conversations.info). What is wrong is answered, and the call never reaches the core.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.commands.registry import Answer, CommandRegistry, UsageError, channel_tokens
from bot.events import Caller
from bot.i18n import N_
from bot.models import Community

_log = logging.getLogger(__name__)

LIST_TYPES = "public_channel,private_channel"  # private: those the bot is in (groups:read)
LIST_PAGE = 1000  # conversations.list's largest page (it may send fewer)
LIST_PAGES = 20  # per look-up: 20,000 channels at most, then the name is taken as unknown
FRESH_FOR = 60.0  # seconds a listing is trusted
RELIST_AFTER_MISS = 10.0  # a name missing from a listing this old reads the list again (a new channel)

_MARKUP = re.compile(r"<([^<>]*)>|&(amp|lt|gt);")
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">"}
_CHANNEL_LINK = re.compile(r"^<#([A-Za-z0-9]+)(?:\|([^>]*))?>$")
_CHANNEL_LINKS = re.compile(r"<#([A-Za-z0-9]+)(?:\|([^>]*))?>")
_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{6,}$")


def _decode(text: str) -> str:
    return re.sub(r"&(amp|lt|gt);", lambda m: _ENTITIES[m[1]], text)


def _plain(match: re.Match[str]) -> str:
    if match[2]:
        return _ENTITIES[match[2]]
    target, _, label = match[1].partition("|")
    if target.startswith("#"):
        return match[0]  # a channel: ChannelResolver decides what it becomes
    if target.startswith("@"):
        return "@" + _decode(label or target[1:])
    if target.startswith("!"):
        if label:  # <!subteam^S…|@team>, <!date^…|fallback>, <!here|@here>
            return _decode(label)
        return "@" + target[1:].split("^", 1)[0]  # <!here>, <!channel>, <!everyone>
    if target.startswith("mailto:"):
        return _decode(label or target.removeprefix("mailto:"))
    return _decode(target)  # a link: its address (Slack adds http:// to a bare domain)


def command_text(escaped: str) -> str:
    """A slash command's text as the member typed it: links are their address, `<@U…|name>` is
    @name, `<!here>` @here, entities are characters again. Channel links stay `<#C…|name>`."""
    return _MARKUP.sub(_plain, escaped)


@dataclass(frozen=True, slots=True)
class SlackChannel:
    id: str
    name: str
    is_member: bool
    is_archived: bool = False

    @classmethod
    def of(cls, data: dict[str, Any]) -> SlackChannel:
        return cls(
            str(data.get("id") or ""),
            str(data.get("name") or ""),
            bool(data.get("is_member")),
            bool(data.get("is_archived")),
        )


class ChannelDirectory:
    """The channels the bot can see, by name, read with conversations.list a page at a time until
    the name turns up (the pages read are kept `fresh_for` seconds), and one channel by id with
    conversations.info (not kept: membership changes the moment someone invites the bot).
    Rate limits are waited out by the client's retry handler; a refusal raises SlackApiError."""

    def __init__(
        self,
        client: AsyncWebClient,
        *,
        fresh_for: float = FRESH_FOR,
        relist_after_miss: float = RELIST_AFTER_MISS,
        page_size: int = LIST_PAGE,
        max_pages: int = LIST_PAGES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._fresh_for, self._relist_after_miss = fresh_for, relist_after_miss
        self._page_size, self._max_pages = page_size, max_pages
        self._clock = clock
        self._lock = asyncio.Lock()
        self._by_name: dict[str, SlackChannel] = {}
        self._cursor: str | None = None  # where the listing goes on; "" once it was read to its end
        self._read_at = 0.0

    def _forget(self) -> None:
        self._by_name, self._cursor = {}, None

    async def by_name(self, name: str) -> SlackChannel | None:
        """The channel called `name` (without '#') that the bot can see, None if there is none."""
        name = name.lower()
        async with self._lock:
            age = self._clock() - self._read_at
            if self._cursor is not None and age > self._fresh_for:
                self._forget()
            found = self._by_name.get(name)
            if found is not None:
                return found
            if self._cursor == "" and age >= self._relist_after_miss:
                self._forget()  # read to its end a while ago: the channel may be new
            if self._cursor == "":
                return None
            return await self._read_until(name)

    async def _read_until(self, name: str) -> SlackChannel | None:
        if self._cursor is None:
            self._read_at = self._clock()
        for _ in range(self._max_pages):
            page = await self._client.conversations_list(
                types=LIST_TYPES, exclude_archived=True, limit=self._page_size, cursor=self._cursor or None
            )
            for data in page.get("channels") or []:
                channel = SlackChannel.of(data)
                self._by_name[channel.name.lower()] = channel
            self._cursor = str((page.get("response_metadata") or {}).get("next_cursor") or "")
            if name in self._by_name or not self._cursor:
                return self._by_name.get(name)
        _log.info("no channel #%s among the first %d channels read", name, len(self._by_name))
        return None

    async def by_id(self, channel_id: str) -> SlackChannel | None:
        """The channel as the bot sees it, None if the bot cannot see it (not found, or private
        without the bot)."""
        try:
            info = await self._client.conversations_info(channel=channel_id)
        except SlackApiError as exc:
            if exc.response.get("error") == "channel_not_found":
                return None
            raise
        return SlackChannel.of(info.get("channel") or {})


class _Refusal(Exception):
    """A channel the command cannot use: `message` is an English msgid with {channel}."""

    def __init__(self, message: str, channel: str) -> None:
        super().__init__(message)
        self.message, self.channel = message, channel


_NO_CHANNEL = N_("There is no channel {channel} here that I can see — invite me to it or check the name.")
_CANNOT_SEE = N_(
    "I cannot see {channel}: if it is a private channel, invite me to it (type `/invite @threadcast`"
    " there), then try again."
)
_NOT_MEMBER = N_(
    "I am not in {channel}, so I cannot post there: invite me (type `/invite @threadcast` there),"
    " then try again."
)
_ARCHIVED = N_("{channel} is archived; pick another channel.")


class ChannelResolver:
    """Puts channel ids where a command's text names channels, before the core reads it."""

    def __init__(self, directory: ChannelDirectory, registry: CommandRegistry) -> None:
        self.directory = directory
        self._registry = registry

    async def translate(
        self, community: Community, path: tuple[str, ...], text: str, caller: Caller, here: tuple[str, str]
    ) -> str | Answer:
        """`text` with each channel the command reads as `<#ID>` (other channel links in it as
        #name), or the answer saying why a channel cannot be used. `here`: the id and name of the
        channel the command was typed in. Text the core will refuse anyway (an unknown command,
        a non-moderator, a usage error) goes on as it is, to be answered there.
        Raises SlackApiError when Slack refuses a look-up."""
        command = self._registry.get(tuple(w.lower() for w in path))
        if command is None or (command.moderator and not caller.is_moderator):
            return text
        try:
            taken = channel_tokens(command, text)
        except UsageError:
            return text
        options = {o.name: o for o in command.options}
        ids: dict[int, str] = {}  # token start -> the channel id put there
        try:
            for name, token in taken.items():
                posted_in = options[name].posted_in
                ids[token.start] = await self._channel_id(token.value, posted_in, here)
        except _Refusal as refusal:
            words = await self._registry.words_for(community)
            return Answer(words.gettext(refusal.message, channel=refusal.channel), ok=False)
        return _rewrite(text, {(t.start, t.end): f"<#{ids[t.start]}>" for t in taken.values()})

    async def _channel_id(self, token: str, posted_in: bool, here: tuple[str, str]) -> str:
        channel: SlackChannel | None
        link = _CHANNEL_LINK.match(token)
        if link:
            channel_id = link[1]
            if not posted_in:
                return channel_id  # Slack linked it: it exists, and the bot need not be in it
            shown = f"#{channel_id}"
            channel = await self.directory.by_id(channel_id)
            if channel is None:
                raise _Refusal(_CANNOT_SEE, f"#{link[2]}" if link[2] else shown)
            return _usable(channel, shown)
        name = token.removeprefix("#").lower()
        here_id, here_name = here
        if here_id and name == here_name.lower():
            if not posted_in:
                return here_id
            channel = await self.directory.by_id(here_id)
        else:
            channel = await self.directory.by_name(name)
            if channel is None and _CHANNEL_ID.match(token.removeprefix("#")):
                channel = await self.directory.by_id(token.removeprefix("#"))  # an id typed as #C…
        if channel is None:
            raise _Refusal(_NO_CHANNEL, f"#{name}")
        return _usable(channel, f"#{channel.id}") if posted_in else channel.id


def _usable(channel: SlackChannel, shown: str) -> str:
    if channel.is_archived:
        raise _Refusal(_ARCHIVED, shown)
    if not channel.is_member:
        raise _Refusal(_NOT_MEMBER, shown)
    return channel.id


def _rewrite(text: str, resolved: dict[tuple[int, int], str]) -> str:
    """`text` with the channels the core reads replaced by their links (`resolved`: span -> `<#ID>`),
    and any other channel link (in a prompt, say) written as #name."""
    spans = dict(resolved)
    for match in _CHANNEL_LINKS.finditer(text):
        if not any(start <= match.start() < end for start, end in resolved):
            spans[match.span()] = f"#{match[2] or match[1]}"
    out, done = [], 0
    for (start, end), replacement in sorted(spans.items()):
        out += [text[done:start], replacement]
        done = end
    out.append(text[done:])
    return "".join(out)
