"""`register_all`: every command module, registered once (the core's services wire it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.commands import digests, feed_controls, feed_io, feeds, members, posting, replies, stats
from bot.commands.registry import CommandRegistry

if TYPE_CHECKING:
    from bot.services import Services


def register_all(registry: CommandRegistry, services: Services) -> None:
    for module in (feeds, feed_controls, feed_io, posting, digests, replies, stats, members):
        module.register(registry, services)
