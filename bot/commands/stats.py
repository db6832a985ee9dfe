"""stats [days]."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from bot.commands.limits import COMMUNITY_DATA
from bot.commands.registry import Answer, CommandContext, CommandRegistry, Kind, Option
from bot.models import StatsRow
from bot.text import count, safe

if TYPE_CHECKING:
    from bot.services import Services


def _table(title: str, rows: list[StatsRow]) -> list[str]:
    lines = [title]
    for row in rows:
        lines.append(
            f"  {safe(row.label, 70)}: {count(row.articles, 'article')},"
            f" {count(row.replies, 'reply', 'replies')}, {count(row.participants, 'participant')},"
            f" per article {row.reply_rate:.1f} replies and {row.participant_rate:.1f} participants"
        )
    return lines


def register(registry: CommandRegistry, services: Services) -> None:
    async def stats(ctx: CommandContext) -> Answer:
        days = int(ctx.options.get("days", 30))
        since = services.clock.now() - timedelta(days=days)
        per_feed, per_prompt = await services.store.stats(ctx.community, since)
        if not per_feed:
            return Answer(f"No articles posted in the last {days} days.")
        articles = sum(r.articles for r in per_feed)
        replies = sum(r.replies for r in per_feed)
        lines = [f"Last {days} days: {count(articles, 'article')}, {count(replies, 'reply', 'replies')}."]
        lines += _table("Per feed:", per_feed)
        lines += _table("Per prompt:", per_prompt)
        return Answer("\n".join(lines))

    registry.add(
        "stats", stats, help="articles, replies, participants and reply rate per feed and prompt",
        limit=COMMUNITY_DATA,
        options=(Option("days", Kind.INTEGER, "how many days back (default 30)", required=False,
                        minimum=1, maximum=3650),),
    )  # fmt: skip
