"""reply feature / unfeature / hide / show."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING

from bot.commands.registry import Answer, CommandContext, CommandRegistry, Kind, Option
from bot.i18n import N_

if TYPE_CHECKING:
    from bot.services import Services

# flags set, the command's help, its answer
_FLAGS: Mapping[str, tuple[dict[str, bool], str, str]] = MappingProxyType(
    {
        "feature": (
            {"featured": True},
            N_("mark a reply featured in digests"),
            N_("Featured: the digest quotes it first."),
        ),
        "unfeature": (
            {"featured": False},
            N_("mark a reply not featured in digests"),
            N_("No longer featured."),
        ),
        "hide": (
            {"hidden": True},
            N_("mark a reply hidden in digests"),
            N_("Hidden: no digest or export will quote it."),
        ),
        "show": ({"hidden": False}, N_("mark a reply shown in digests"), N_("Shown again in digests.")),
    }
)


def register(registry: CommandRegistry, services: Services) -> None:
    def make(word: str) -> None:
        flags, help_text, answer = _FLAGS[word]

        async def handler(ctx: CommandContext) -> Answer:
            message = str(ctx.options["message"])
            words = ctx.words
            if not await services.store.set_reply_flags(ctx.community, message, **flags):
                return Answer(
                    words.gettext(
                        "That message is not a stored reply in a threadcast discussion"
                        " (or its author opted out)."
                    ),
                    ok=False,
                )
            done = words.gettext(answer)
            reply = await services.store.get_reply(ctx.community, message)
            if reply is not None and reply.hidden and word in ("feature", "unfeature"):
                return Answer(
                    done
                    + " "
                    + words.gettext("It is hidden, though: `reply show` lets digests quote it again.")
                )
            return Answer(done)

        handler.__qualname__ = f"reply_{word}"
        registry.add(
            f"reply {word}", handler, help=help_text,
            options=(Option("message", Kind.MESSAGE, N_("the reply's message id or link")),),
        )  # fmt: skip

    for word in _FLAGS:
        make(word)
