"""digest preview / now / schedule / off."""

from __future__ import annotations

from datetime import time
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.commands.common import channel_label
from bot.commands.limits import COMMUNITY_DATA
from bot.commands.registry import WEEKDAYS, Answer, CommandContext, CommandRegistry, Kind, Option
from bot.platform import PartlyPosted, PlatformError

if TYPE_CHECKING:
    from bot.services import Services


def register(registry: CommandRegistry, services: Services) -> None:
    jobs = services.digests

    async def digest_preview(ctx: CommandContext) -> Answer:
        digest, schedules = await jobs.current(ctx.community)
        where = ", ".join(channel_label(s.channel_id) for s in schedules) or channel_label(
            ctx.event.channel_id
        )
        channel = schedules[0].channel_id if schedules else ctx.event.channel_id
        return Answer(
            f"Preview — `digest now` would post this to {where}:", digest=await jobs.shaped(digest, channel)
        )

    async def digest_now(ctx: CommandContext) -> Answer:
        digest, schedules = await jobs.current(ctx.community)
        by_channel = {s.channel_id: s for s in schedules}
        channels = list(by_channel) or [ctx.event.channel_id]
        posted, failed = [], []
        for channel in channels:
            try:
                await jobs.post(digest, channel)
            except PlatformError as exc:
                went = f" (only its first {len(exc.message_ids)} messages went out)" if isinstance(
                    exc, PartlyPosted
                ) else ""  # fmt: skip
                failed.append(f"{channel_label(channel)}: {exc}{went}")
                continue
            posted.append(channel_label(channel))
            if channel in by_channel:
                await jobs.posted_by_hand(by_channel[channel], digest)
        lines = []
        if posted:
            lines.append(f"Posted the digest to {', '.join(posted)}.")
        if failed:
            lines.append("Could not post to " + "; ".join(failed))
        if not schedules:
            lines.append("Tip: `digest schedule monday 09:00 UTC #channel` posts it every week.")
        return Answer("\n".join(lines), ok=not failed)

    async def digest_schedule(ctx: CommandContext) -> Answer:
        weekday = int(ctx.options["weekday"])
        at = ctx.options["time"]
        assert isinstance(at, time)
        timezone = str(ctx.options.get("timezone") or services.settings.timezone)
        schedule = await jobs.set_schedule(ctx.community, ctx.channel_id, weekday, at, timezone)
        assert schedule.next_run_at is not None
        local = schedule.next_run_at.astimezone(ZoneInfo(timezone))
        return Answer(
            f"Digest for {channel_label(ctx.channel_id)}: every {WEEKDAYS[weekday].title()} at "
            f"{at:%H:%M} {timezone}. Next one: {local:%a %d %b %Y %H:%M %Z}."
        )

    async def digest_off(ctx: CommandContext) -> Answer:
        count = await services.store.disable_digests(ctx.community)
        if not count:
            return Answer("No digest was scheduled.", ok=False)
        return Answer("Weekly digests are off. `digest schedule` turns them on again.")

    registry.add(
        "digest preview", digest_preview, help="see the digest privately before it is posted",
        limit=COMMUNITY_DATA,
    )  # fmt: skip
    registry.add("digest now", digest_now, help="post the digest now")
    registry.add(
        "digest schedule", digest_schedule, help="post the digest every week",
        options=(
            Option("weekday", Kind.WEEKDAY, "day of the week"),
            Option("time", Kind.TIME, "time of day, 24-hour HH:MM"),
            Option("timezone", Kind.TIMEZONE, "IANA timezone, e.g. Europe/Berlin", required=False),
            Option("channel", Kind.CHANNEL, "digest channel (default: this one)", required=False),
        ),
    )  # fmt: skip
    registry.add("digest off", digest_off, help="stop weekly digests")
