"""A discussion's gist: one or two sentences saying what members said, behind one interface.

Two engines: the built-in one (offline, deterministic, the default) and a language model
behind an OpenAI-compatible chat-completions endpoint, switched on per community. The
request holds only what the digest itself may show: quotable replies (not hidden,
deleted or opted out), anonymous members as "a member", no member ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.i18n import Words


@dataclass(frozen=True, slots=True)
class GistReply:
    author: str  # the label the digest would show: a display name or "a member"
    text: str  # the reply's words as stored (already allowed to be quoted)
    reactions: int = 0


@dataclass(frozen=True, slots=True)
class GistRequest:
    title: str
    prompt: str  # what members were asked ("" when unknown)
    replies: tuple[GistReply, ...]
    participants: int  # distinct members among `replies`
    words: Words  # the community's language

    @property
    def language(self) -> str:
        return self.words.language


@dataclass(frozen=True, slots=True)
class Gist:
    text: str  # already safe to show: plain words, no mention, bounded length
    engine: str  # "builtin" or "model"
    experiences: int = 0  # members who told a first-hand experience (0 when unknown)


class GistEngine(Protocol):
    name: str

    async def gist(self, request: GistRequest) -> Gist:
        """The gist of one discussion. The model engine raises `GistFailed` with the reason
        on any failure; the caller then uses the built-in one."""


class GistFailed(Exception):
    """The engine could not give a gist; the message says why (for the log)."""


MAX_GIST_CHARS = 400
