"""The platform-neutral command registry: names, typed options, who may call, parsing.

Discord builds its slash commands from this table; Slack and the console
hand over the words typed after the command and the registry parses them.
Either way the same validation runs before a handler sees anything.
"""

from __future__ import annotations

import enum
import logging
import re
import typing
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time
from itertools import pairwise
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.commands.limits import Limit, RateLimiter, minutes
from bot.events import CommandInvoked
from bot.handlers import check_handler
from bot.i18n import N_, Languages, Words, english
from bot.models import Community

if typing.TYPE_CHECKING:
    from bot.layout import DigestPost

_log = logging.getLogger(__name__)

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class Kind(enum.StrEnum):
    TEXT = "text"
    WORD = "word"  # one token when typed (quotes make several words one)
    ARTICLE = "article"  # a URL, a file path, or quoted text
    INTEGER = "integer"
    CHANNEL = "channel"
    MESSAGE = "message"
    WEEKDAY = "weekday"
    TIME = "time"
    TIMEZONE = "timezone"


@dataclass(frozen=True, slots=True)
class Option:
    name: str
    kind: Kind
    help: str
    required: bool = True
    keyword: bool = False  # written as "name value" (or name=value) anywhere on the line
    minimum: int | None = None
    maximum: int | None = None
    max_length: int = 2000
    choices: tuple[str, ...] = ()  # the only words allowed (a WORD option); Discord offers them
    posted_in: bool = False  # a CHANNEL the bot will post in: adapters check that it can before saving

    @property
    def usage(self) -> str:
        shown = f"{self.name} N" if self.keyword else f"<{self.name}>"
        if self.choices:
            shown = "|".join(self.choices)
        if self.kind is Kind.CHANNEL:
            shown = "<#channel>"
        return shown if self.required else f"[{shown.strip('<>')}]"


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content: bytes


@dataclass(frozen=True, slots=True)
class Answer:
    """What a command says back. Private answers are seen by the caller only."""

    text: str
    private: bool = True
    ok: bool = True
    digest: DigestPost | None = None  # a preview, laid out as its channel gets it
    attachment: Attachment | None = None


@dataclass(frozen=True, slots=True)
class CommandContext:
    event: CommandInvoked
    options: Mapping[str, Any]
    words: Words  # the fixed words of the caller's community, in its language

    @property
    def community(self) -> Community:
        return self.event.community

    @property
    def channel_id(self) -> str:
        """The channel named in the call, else the one it was typed in."""
        channel = self.options.get("channel")
        return channel if isinstance(channel, str) else self.event.channel_id


CommandHandler = Callable[[CommandContext], Awaitable[Answer]]
WordsFor = Callable[[Community], Awaitable[Words]]


@dataclass(frozen=True, slots=True)
class Command:
    path: tuple[str, ...]
    help: str  # an English msgid: shown through `Words.gettext`
    handler: CommandHandler
    options: tuple[Option, ...] = ()
    moderator: bool = True
    limit: Limit | None = None  # calls per member and window, for commands that read or delete data

    @property
    def usage(self) -> str:
        return " ".join([*self.path, *(o.usage for o in self.options)])


class UsageError(ValueError):
    """A call with wrong arguments. `message` is an English msgid (marked with `N_` where
    it is written) with named {placeholders}; it is translated when answered."""

    def __init__(self, message: str, /, **values: object) -> None:
        super().__init__(message.format(**values) if values else message)
        self.message = message
        self.values = values

    def text(self, words: Words) -> str:
        return words.gettext(self.message, **self.values)


def usage_answer(command: Command, problem: str, words: Words | None = None) -> Answer:
    words = words or english()
    return Answer(f"{problem}\n" + words.gettext("Usage: {usage}", usage=command.usage), ok=False)


_CHANNEL_MARKUP = re.compile(r"^<#([A-Za-z0-9]+)(?:\|[^>]*)?>$")
_CHANNEL_NAME = re.compile(r"^#([\w-]{1,100})$")
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def _channel(token: str) -> str | None:
    for pattern in (_CHANNEL_MARKUP, _CHANNEL_NAME):
        match = pattern.match(token)
        if match:
            return match[1]
    return None


def _message(token: str) -> str:
    token = token.strip("<>")
    if "://" in token:  # a message link: its id is the last part of the path
        token = urlsplit(token).path.rstrip("/").rsplit("/", 1)[-1]
    if not token or len(token) > 200:
        raise UsageError(N_("that is not a message id or link"))
    return token


def convert(option: Option, raw: object) -> object:
    """Check and convert one value, typed (Discord) or text (Slack, console)."""
    if option.kind is Kind.INTEGER:
        try:
            value = int(str(raw).strip())
        except ValueError:
            raise UsageError(
                N_("{name} must be a whole number, not {value}"), name=option.name, value=repr(str(raw)[:40])
            ) from None
        if option.minimum is not None and value < option.minimum:
            raise UsageError(
                N_("{name} must be at least {minimum}"), name=option.name, minimum=option.minimum
            )
        if option.maximum is not None and value > option.maximum:
            raise UsageError(N_("{name} must be at most {maximum}"), name=option.name, maximum=option.maximum)
        return value
    text = str(raw).strip()
    if not text:
        raise UsageError(N_("{name} is empty"), name=option.name)
    if len(text) > option.max_length:
        raise UsageError(
            N_("{name} is longer than {limit} characters"), name=option.name, limit=option.max_length
        )
    if option.choices:
        if text.lower() not in option.choices:
            raise UsageError(
                N_("{name} must be {choices}, not {value}"),
                name=option.name, choices=" | ".join(option.choices), value=repr(text[:40]),
            )  # fmt: skip
        return text.lower()
    if option.kind is Kind.CHANNEL:
        return _channel(text) or text.lstrip("#")
    if option.kind is Kind.MESSAGE:
        return _message(text)
    if option.kind is Kind.WEEKDAY:
        lowered = text.lower()
        for index, day in enumerate(WEEKDAYS):
            if len(lowered) >= 3 and day.startswith(lowered):
                return index
        raise UsageError(
            N_("{name} must be a weekday such as monday, not {value}"),
            name=option.name,
            value=repr(text[:40]),
        )
    if option.kind is Kind.TIME:
        match = _TIME.match(text)
        if not match:
            raise UsageError(
                N_("{name} must be a 24-hour time such as 09:00, not {value}"),
                name=option.name,
                value=repr(text[:40]),
            )
        return time(int(match[1]), int(match[2]))
    if option.kind is Kind.TIMEZONE:
        try:
            ZoneInfo(text)
        except (ZoneInfoNotFoundError, ValueError):
            raise UsageError(
                N_("{value} is not an IANA timezone such as Europe/Berlin"), value=repr(text[:60])
            ) from None
        return text
    return text


@dataclass(frozen=True, slots=True)
class Token:
    value: str  # without its quotes
    quoted: bool
    index: int  # place among the line's tokens
    start: int  # span in the line as typed
    end: int


# Double quotes (straight or typographic) group words; a single quote is an
# apostrophe far more often than a quote, so it is left alone.
_TOKEN = re.compile(r'"([^"]*)"|“([^”]*)”|(\S+)')


def tokenize(text: str) -> list[Token]:
    tokens = []
    for index, match in enumerate(_TOKEN.finditer(text)):
        if match[3] is not None:
            if '"' in match[3] or "“" in match[3]:
                raise UsageError(N_("cannot read the arguments (a quote is not closed); check the quotes"))
            tokens.append(Token(match[3], False, index, match.start(), match.end()))
        else:
            value = match[1] if match[1] is not None else match[2]
            tokens.append(Token(value, True, index, match.start(), match.end()))
    return tokens


def _as_typed(text: str, tokens: list[Token]) -> str:
    """The tokens' stretch of the line as typed (spacing, newlines, quotes kept);
    a single quoted token gives its inside."""
    if len(tokens) == 1 and tokens[0].quoted:
        return tokens[0].value
    parts = [text[tokens[0].start : tokens[0].end]]
    for before, after in pairwise(tokens):
        gap = text[before.end : after.start] if after.index == before.index + 1 else " "
        parts.append(gap + text[after.start : after.end])
    return "".join(parts)


def _looks_like_reference(token: Token) -> bool:
    """A URL or a file path, as opposed to the first word of some text."""
    value = token.value
    return (
        "://" in value
        or value.startswith(("/", "./", "../", "~"))
        or bool(re.search(r"\.(txt|md|markdown|html?)$", value, re.IGNORECASE))
    )


def parse_text(command: Command, text: str, *, taken: dict[str, Token] | None = None) -> dict[str, object]:
    """Parse the words after a command into its options.

    A keyword option is written `name=value` anywhere, or `name value` as the
    last two words (so "backlog 5" inside a prompt stays part of the prompt).
    An optional channel is recognised by its form (#name or <#C123|name>) at
    its place in the order or as the very last word. A text option takes the
    rest as typed, apostrophes, inner quotes and newlines included.
    `taken`, when given, receives the token each positional channel option was read from.
    """
    tokens = tokenize(text)
    values: dict[str, object] = {}
    for option in (o for o in command.options if o.keyword):
        for i, token in enumerate(tokens):
            if not token.quoted and token.value.lower().startswith(option.name + "="):
                values[option.name] = convert(option, token.value.split("=", 1)[1])
                del tokens[i]
                break
        else:
            if len(tokens) >= 2 and not tokens[-2].quoted and tokens[-2].value.lower() == option.name:
                values[option.name] = convert(option, tokens[-1].value)
                del tokens[-2:]
            elif tokens and not tokens[-1].quoted and tokens[-1].value.lower() == option.name:
                raise UsageError(N_("{name} needs a value"), name=option.name)
    positional = [o for o in command.options if not o.keyword]
    channel_option = next((o for o in positional if o.kind is Kind.CHANNEL and not o.required), None)
    if channel_option and tokens and not tokens[-1].quoted and _channel(tokens[-1].value):
        if taken is not None:
            taken[channel_option.name] = tokens[-1]
        values[channel_option.name] = convert(channel_option, tokens.pop().value)
    for option in positional:
        if option.name in values:
            continue
        if option is channel_option:
            if tokens and not tokens[0].quoted and _channel(tokens[0].value):
                if taken is not None:
                    taken[option.name] = tokens[0]
                values[option.name] = convert(option, tokens.pop(0).value)
            continue
        if not tokens:
            continue
        if option.kind is Kind.CHANNEL and taken is not None:
            taken[option.name] = tokens[0]
        if option.kind is Kind.TEXT:
            values[option.name] = convert(option, _as_typed(text, tokens))
            tokens = []
            continue
        token = tokens.pop(0)
        if option.kind is Kind.ARTICLE and not token.quoted and not _looks_like_reference(token) and tokens:
            raise UsageError(N_('put the article text in quotes: post "Its text…" [#channel] [prompt]'))
        values[option.name] = convert(option, token.value)
    if tokens:
        raise UsageError(N_("unexpected {text}"), text=repr(_as_typed(text, tokens)[:60]))
    return values


def channel_tokens(command: Command, text: str) -> dict[str, Token]:
    """The tokens of `text` that `parse_text` reads the command's channels from, by option name:
    a platform whose members type channel names (Slack) resolves these to ids before the call.
    Raises UsageError as `parse_text` does."""
    taken: dict[str, Token] = {}
    parse_text(command, text, taken=taken)
    return taken


async def _english(community: Community) -> Words:
    return english()


class CommandRegistry:
    """`words_for` gives a community's words (its language), looked up once per call;
    without it every answer is English. `languages` are the catalogs (the composition
    root's), for adapters that localise the command table itself (Discord)."""

    def __init__(
        self,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        *,
        words_for: WordsFor = _english,
        languages: Languages | None = None,
    ) -> None:
        self._commands: dict[tuple[str, ...], Command] = {}
        self._limiter = RateLimiter(now)
        self._words_for = words_for
        self.languages = languages or Languages()  # the catalogs, for adapters that localise commands

    def add(
        self,
        path: str,
        handler: CommandHandler,
        *,
        help: str,
        options: tuple[Option, ...] = (),
        moderator: bool = True,
        limit: Limit | None = None,
    ) -> Command:
        check_handler(handler, CommandContext, Answer)
        words = tuple(path.split())
        if words in self._commands:
            raise ValueError(f"command {path!r} registered twice")
        names = [o.name for o in options]
        if len(set(names)) != len(names):
            raise ValueError(f"command {path!r} has two options with one name")
        command = Command(words, help, handler, options, moderator, limit)
        self._commands[words] = command
        return command

    def __iter__(self) -> typing.Iterator[Command]:
        return iter(self._commands.values())

    def get(self, path: tuple[str, ...]) -> Command | None:
        return self._commands.get(path)

    def split_line(self, line: str) -> tuple[tuple[str, ...], str]:
        """'feed add <url> …' (with or without a leading '/threadcast') → the
        command's words and the rest of the line as typed, for `CommandInvoked`."""
        body = line.strip().removeprefix("/").lstrip()
        if body.lower().startswith("threadcast"):
            body = body[len("threadcast") :].lstrip()
        words = body.split(maxsplit=3)
        lowered = tuple(w.lower() for w in words)
        for size in range(min(3, len(words)), 0, -1):
            if lowered[:size] in self._commands:
                rest = body.split(maxsplit=size)
                return lowered[:size], rest[size] if len(rest) > size else ""
        return lowered[:2], ""

    @staticmethod
    def _help_line(command: Command, words: Words) -> str:
        return f"  {command.usage} — {words.gettext(command.help)}"

    def help_text(self, *, moderator: bool, words: Words | None = None) -> str:
        words = words or english()
        lines = [words.gettext("threadcast commands:")]
        for command in self._commands.values():
            if command.moderator and not moderator:
                continue
            lines.append(self._help_line(command, words))
        return "\n".join(lines)

    async def words_for(self, community: Community) -> Words:
        """The community's words; English when they cannot be read (the answer still goes out)."""
        try:
            return await self._words_for(community)
        except Exception:
            _log.exception("could not read the language of %s; answering in English", community.key)
            return english()

    async def run(self, event: CommandInvoked) -> Answer:
        words = await self.words_for(event.community)
        command = self._commands.get(tuple(w.lower() for w in event.path))
        if command is None:
            wanted = repr(" ".join(event.path)[:60] or words.gettext("(nothing)"))
            group = [c for c in self._commands.values() if event.path and c.path[0] == event.path[0].lower()]
            if group and (event.caller.is_moderator or not all(c.moderator for c in group)):
                usages = "\n".join(self._help_line(c, words) for c in group)
                return Answer(
                    words.gettext("Unknown command {command}. Did you mean one of:", command=wanted)
                    + f"\n{usages}",
                    ok=False,
                )
            return Answer(
                words.gettext("Unknown command {command}.", command=wanted)
                + f"\n{self.help_text(moderator=event.caller.is_moderator, words=words)}",
                ok=False,
            )
        name = " ".join(command.path)
        if command.moderator and not event.caller.is_moderator:
            _log.info("refused %s to non-moderator %s", name, event.caller.id)
            return Answer(words.gettext("Only moderators can use `{command}`.", command=name), ok=False)
        try:
            options = self._options(command, event)
        except UsageError as exc:
            return usage_answer(command, exc.text(words), words)
        if command.limit is not None:
            key = (event.community.platform, event.caller.id, command.path)
            wait = self._limiter.wait(key, command.limit)
            if wait is not None:
                _log.info("rate-limited %s for %s", name, event.caller.id)
                return Answer(
                    words.ngettext(
                        "`{command}` can be used {n} time in {window}; try again in {wait}.",
                        "`{command}` can be used {n} times in {window}; try again in {wait}.",
                        command.limit.calls,
                        command=name,
                        window=minutes(command.limit.per, words),
                        wait=minutes(wait, words),
                    ),
                    ok=False,
                )
        try:
            return await command.handler(CommandContext(event, options, words))
        except UsageError as exc:
            return usage_answer(command, exc.text(words), words)
        except Exception:
            _log.exception("command %s failed", name)
            return Answer(
                words.gettext(
                    "Sorry, that failed on our side; nothing was changed. The error is in the bot's log."
                ),
                ok=False,
            )

    @staticmethod
    def _options(command: Command, event: CommandInvoked) -> dict[str, object]:
        if event.options:
            known = {o.name: o for o in command.options}
            unknown = set(event.options) - set(known)
            if unknown:
                raise UsageError(N_("unknown option {name}"), name=repr(sorted(unknown)[0]))
            values = {
                name: convert(known[name], raw) for name, raw in event.options.items() if raw is not None
            }
        else:
            values = parse_text(command, event.text)
        missing = [o.name for o in command.options if o.required and o.name not in values]
        if missing:
            raise UsageError(N_("missing {names}"), names=", ".join(missing))
        return values
