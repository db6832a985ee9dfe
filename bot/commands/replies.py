"""reply feature / unfeature / hide / show."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

from bot.commands.registry import Answer, CommandContext, CommandRegistry, Kind, Option

if TYPE_CHECKING:
    from bot.services import Services

_FLAGS: Mapping[str, tuple[dict[str, bool], str, str]] = MappingProxyType(
    {
        "feature": ({"featured": True}, "featured", "Featured: the digest quotes it first."),
        "unfeature": ({"featured": False}, "not featured", "No longer featured."),
        "hide": ({"hidden": True}, "hidden", "Hidden: no digest or export will quote it."),
        "show": ({"hidden": False}, "shown", "Shown again in digests."),
    }
)


def register(registry: CommandRegistry, services: Services) -> None:
    def make(word: str) -> None:
        flags, _, done = _FLAGS[word]

        async def handler(ctx: CommandContext) -> Answer:
            message = str(ctx.options["message"])
            if not await services.store.set_reply_flags(ctx.community, message, **flags):
                return Answer(
                    "That message is not a stored reply in a threadcast discussion"
                    " (or its author opted out).",
                    ok=False,
                )
            reply = await services.store.get_reply(ctx.community, message)
            if reply is not None and reply.hidden and word in ("feature", "unfeature"):
                return Answer(f"{done} It is hidden, though: `reply show` lets digests quote it again.")
            return Answer(done)

        handler.__qualname__ = f"reply_{word}"
        registry.add(
            f"reply {word}", handler, help=f"mark a reply {_FLAGS[word][1]} in digests",
            options=(Option("message", Kind.MESSAGE, "the reply's message id or link"),),
        )  # fmt: skip

    for word in _FLAGS:
        make(word)
