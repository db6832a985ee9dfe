"""digest preview / now / schedule / off / style / summaries / language / settings."""

from __future__ import annotations

from dataclasses import replace
from datetime import time
from types import MappingProxyType
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.commands.common import channel_label
from bot.commands.limits import COMMUNITY_DATA
from bot.commands.registry import Answer, CommandContext, CommandRegistry, Kind, Option, UsageError
from bot.i18n import LANGUAGES, N_, Words, language_code
from bot.models import DIGEST_STYLES, SUMMARY_ENGINES, Community
from bot.platform import PartlyPosted, PlatformError

if TYPE_CHECKING:
    from bot.services import Services

STYLE_NAMES = MappingProxyType({"compact": N_("compact"), "full": N_("full")})


def register(registry: CommandRegistry, services: Services) -> None:
    jobs, store = services.digests, services.store

    def language_name(code: str) -> str:
        return f"{LANGUAGES[code]} ({code})"

    def engine_name(engine: str, words: Words) -> str:
        if engine != "model":
            return words.gettext("built-in summary")
        if services.settings.model_url:
            return words.gettext("language model")
        return words.gettext("language model (not configured: the built-in summary is used)")

    async def settings_line(community: Community, channels: list[str], words: Words) -> str:
        """Language, gists and each digest channel's style, on one line."""
        settings = await store.get_community_settings(community)
        language = language_code(settings.language or "") or services.words.default
        styles = []
        for channel in channels:
            found = await store.get_channel_settings(community, channel)
            style = found.digest_style if found else "compact"
            styles.append(f"{channel_label(channel)} {words.gettext(STYLE_NAMES[style])}")
        shown = language_name(language)
        if not settings.language:
            shown += " " + words.gettext("(default)")
        return words.gettext(
            "Language: {language} · gists: {engine} · style: {styles}",
            language=shown,
            engine=engine_name(settings.summaries, words),
            styles=", ".join(styles),
        )

    async def digest_preview(ctx: CommandContext) -> Answer:
        digest, schedules = await jobs.current(ctx.community)
        channels = [s.channel_id for s in schedules] or [ctx.event.channel_id]
        where = ", ".join(channel_label(c) for c in channels)
        header = ctx.words.gettext("Preview — `digest now` would post this to {channels}:", channels=where)
        settings = await settings_line(ctx.community, channels, ctx.words)
        return Answer(f"{header}\n{settings}", digest=await jobs.shaped(digest, channels[0]))

    async def digest_now(ctx: CommandContext) -> Answer:
        words = ctx.words
        digest, schedules = await jobs.current(ctx.community)
        by_channel = {s.channel_id: s for s in schedules}
        channels = list(by_channel) or [ctx.event.channel_id]
        posted, failed = [], []
        for channel in channels:
            try:
                await jobs.post_once(digest, channel)
            except PlatformError as exc:
                went = (
                    " " + words.ngettext(
                        "(only its first message went out)", "(only its first {n} messages went out)",
                        len(exc.message_ids),
                    )
                    if isinstance(exc, PartlyPosted) else ""
                )  # fmt: skip
                failed.append(f"{channel_label(channel)}: {exc}{went}")
                continue
            posted.append(channel_label(channel))
            if channel in by_channel:
                await jobs.posted_by_hand(by_channel[channel], digest)
        lines = []
        if posted:
            lines.append(words.gettext("Posted the digest to {channels}.", channels=", ".join(posted)))
        if failed:
            lines.append(words.gettext("Could not post to {failures}", failures="; ".join(failed)))
        if not schedules:
            lines.append(
                words.gettext("Tip: `digest schedule monday 09:00 UTC #channel` posts it every week.")
            )
        return Answer("\n".join(lines), ok=not failed)

    async def digest_schedule(ctx: CommandContext) -> Answer:
        words = ctx.words
        weekday = int(ctx.options["weekday"])
        at = ctx.options["time"]
        assert isinstance(at, time)
        timezone = str(ctx.options.get("timezone") or services.settings.timezone)
        schedule = await jobs.set_schedule(ctx.community, ctx.channel_id, weekday, at, timezone)
        assert schedule.next_run_at is not None
        local = schedule.next_run_at.astimezone(ZoneInfo(timezone))
        next_one = words.datetime(local, "EEE dd MMM yyyy HH:mm") + " " + local.strftime("%Z")
        return Answer(
            words.gettext(
                "Digest for {channel}: every {weekday} at {time} {timezone}. Next one: {next}.",
                channel=channel_label(ctx.channel_id),
                weekday=words.weekday(weekday),
                time=at.strftime("%H:%M"),
                timezone=timezone,
                next=next_one,
            )
        )

    async def digest_off(ctx: CommandContext) -> Answer:
        count = await store.disable_digests(ctx.community)
        if not count:
            return Answer(ctx.words.gettext("No digest was scheduled."), ok=False)
        return Answer(ctx.words.gettext("Weekly digests are off. `digest schedule` turns them on again."))

    async def digest_style(ctx: CommandContext) -> Answer:
        style = str(ctx.options["style"])
        await store.set_digest_style(ctx.community, ctx.channel_id, style)
        words, channel = ctx.words, channel_label(ctx.channel_id)
        if style == "full":
            return Answer(
                words.gettext(
                    "Digests in {channel} are now full: every discussion in detail.", channel=channel
                )
            )
        return Answer(
            words.gettext(
                "Digests in {channel} are now compact: the top discussions with their gists, in one message.",
                channel=channel,
            )
        )

    async def digest_summaries(ctx: CommandContext) -> Answer:
        engine = str(ctx.options["engine"])
        await store.set_community_summaries(ctx.community, engine)
        words = ctx.words
        if engine == "builtin":
            return Answer(
                words.gettext("Digest gists are now written by the built-in summary, on this machine.")
            )
        if services.settings.model_url:
            return Answer(words.gettext("Digest gists are now written by the configured language model."))
        return Answer(
            words.gettext(
                "Saved. No language model is configured yet, so digests keep the built-in gist"
                " until the operator sets THREADCAST_MODEL_URL."
            )
        )

    async def digest_language(ctx: CommandContext) -> Answer:
        wanted = str(ctx.options["language"])
        if wanted.strip().lower() == "default":
            await store.set_community_language(ctx.community, None)
            words = await services.languages.words_async(services.words.default)
            return Answer(
                words.gettext(
                    "Digests and answers use the default language again: {language}.",
                    language=language_name(words.language),
                )
            )
        code = language_code(wanted)
        if code is None:
            raise UsageError(
                N_("{value} is not a supported language; choose one of {languages}"),
                value=repr(wanted[:40]),
                languages=", ".join(language_name(c) for c in LANGUAGES),
            )
        await store.set_community_language(ctx.community, code)
        words = await services.languages.words_async(code)  # answered in the new language
        return Answer(
            words.gettext("Digests and answers are now in {language}.", language=language_name(code))
        )

    async def digest_settings(ctx: CommandContext) -> Answer:
        schedules = await store.digest_schedules(ctx.community)
        channels = [s.channel_id for s in schedules] or [ctx.channel_id]
        if ctx.options.get("channel") and ctx.channel_id not in channels:
            channels.append(ctx.channel_id)
        return Answer(await settings_line(ctx.community, channels, ctx.words))

    channel_option = Option("channel", Kind.CHANNEL, N_("digest channel (default: this one)"), required=False)
    registry.add(
        "digest preview", digest_preview, help=N_("see the digest privately before it is posted"),
        limit=COMMUNITY_DATA,
    )  # fmt: skip
    registry.add("digest now", digest_now, help=N_("post the digest now"))
    registry.add(
        "digest schedule", digest_schedule, help=N_("post the digest every week"),
        options=(
            Option("weekday", Kind.WEEKDAY, N_("day of the week")),
            Option("time", Kind.TIME, N_("time of day, 24-hour HH:MM")),
            Option("timezone", Kind.TIMEZONE, N_("IANA timezone, e.g. Europe/Berlin"), required=False),
            replace(channel_option, posted_in=True),
        ),
    )  # fmt: skip
    registry.add("digest off", digest_off, help=N_("stop weekly digests"))
    registry.add(
        "digest style", digest_style, help=N_("compact (top discussions, one message) or full detail"),
        options=(Option("style", Kind.WORD, N_("compact or full"), choices=DIGEST_STYLES), channel_option),
    )  # fmt: skip
    engines = tuple(reversed(SUMMARY_ENGINES))  # model|builtin, as the command is written
    registry.add(
        "digest summaries", digest_summaries,
        help=N_("who writes the gists: a language model or the built-in summary"),
        options=(Option("engine", Kind.WORD, N_("model or builtin"), choices=engines),),
    )  # fmt: skip
    registry.add(
        "digest language", digest_language,
        help=N_("the language of digests and answers (en, de, fr, es, pt)"),
        options=(Option("language", Kind.WORD, N_("language code such as de, or default"), max_length=40),),
    )  # fmt: skip
    registry.add(
        "digest settings", digest_settings, help=N_("show the digest language, gists and style"),
        options=(channel_option,),
    )  # fmt: skip
