"""stats [days]."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from bot.commands.limits import COMMUNITY_DATA
from bot.commands.registry import Answer, CommandContext, CommandRegistry, Kind, Option
from bot.i18n import N_, Words
from bot.models import StatsRow
from bot.text import safe

if TYPE_CHECKING:
    from bot.services import Services


def _table(title: str, rows: list[StatsRow], words: Words) -> list[str]:
    lines = [title]
    for row in rows:
        figures = ", ".join((
            words.ngettext("{n} article", "{n} articles", row.articles),
            words.ngettext("{n} reply", "{n} replies", row.replies),
            words.ngettext("{n} participant", "{n} participants", row.participants),
            words.gettext(
                "per article {replies} replies and {participants} participants",
                replies=words.decimal(row.reply_rate), participants=words.decimal(row.participant_rate),
            ),
        ))  # fmt: skip
        lines.append(f"  {safe(row.label, 70)}: {figures}")
    return lines


def register(registry: CommandRegistry, services: Services) -> None:
    async def stats(ctx: CommandContext) -> Answer:
        days = int(ctx.options.get("days", 30))
        words = ctx.words
        since = services.clock.now() - timedelta(days=days)
        per_feed, per_prompt = await services.store.stats(ctx.community, since)
        if not per_feed:
            return Answer(
                words.ngettext(
                    "No articles posted in the last day.", "No articles posted in the last {n} days.", days
                )
            )
        articles = sum(r.articles for r in per_feed)
        replies = sum(r.replies for r in per_feed)
        lines = [
            words.ngettext("Last day:", "Last {n} days:", days)
            + " "
            + words.ngettext("{n} article", "{n} articles", articles)
            + ", "
            + words.ngettext("{n} reply", "{n} replies", replies)
            + "."
        ]
        lines += _table(words.gettext("Per feed:"), per_feed, words)
        lines += _table(words.gettext("Per prompt:"), per_prompt, words)
        return Answer("\n".join(lines))

    registry.add(
        "stats", stats, help=N_("articles, replies, participants and reply rate per feed and prompt"),
        limit=COMMUNITY_DATA,
        options=(Option("days", Kind.INTEGER, N_("how many days back (default 30)"), required=False,
                        minimum=1, maximum=3650),),
    )  # fmt: skip
