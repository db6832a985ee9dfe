"""post, prompt set / add / remove / show."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from bot.commands.common import channel_label, checked_prompt
from bot.commands.registry import Answer, CommandContext, CommandRegistry, Kind, Option
from bot.i18n import N_
from bot.models import Article
from bot.prompts import MAX_PROMPTS, join_prompts, render_prompt, split_prompts
from bot.publisher import PublishError
from bot.redact import mask_url
from bot.sources.articles import load_article
from bot.sources.errors import SourceError
from bot.sources.http import InvalidURL
from bot.text import safe

if TYPE_CHECKING:
    from bot.services import Services

STATS_DAYS = 90

_SAMPLE = Article(
    id=0, key="", title="An example title", url="https://example.org/article", summary="",
    source="example.org", published_at=None, created_at=datetime(2026, 1, 1, tzinfo=UTC),
)  # fmt: skip


def register(registry: CommandRegistry, services: Services) -> None:
    store, publisher = services.store, services.publisher

    async def post(ctx: CommandContext) -> Answer:
        words = ctx.words
        prompt = checked_prompt(ctx.options.get("prompt"))
        try:
            # Only a caller at this machine may name a local file.
            draft = await load_article(
                services.fetcher, str(ctx.options["article"]), allow_files=ctx.event.local
            )
        except InvalidURL as exc:
            return Answer(
                words.gettext("{url} is not a valid URL", url=repr(mask_url(exc.url)[:80])), ok=False
            )
        except SourceError as exc:
            return Answer(words.gettext("Could not read the article: {problem}", problem=exc), ok=False)
        try:
            published = await publisher.publish(draft, ctx.community, ctx.channel_id, prompt=prompt)
        except PublishError as exc:
            return Answer(
                words.gettext(
                    "Could not post to {channel}: {problem}",
                    channel=channel_label(ctx.channel_id),
                    problem=exc,
                ),
                ok=False,
            )
        title = safe(published.article.title, 120)
        channel = channel_label(ctx.channel_id)
        if not published.new:
            return Answer(
                words.gettext("“{title}” was already posted in {channel}.", title=title, channel=channel),
                ok=False,
            )
        return Answer(
            words.gettext(
                "Posted “{title}” to {channel} and opened its thread.", title=title, channel=channel
            )
        )

    async def channel_prompts(ctx: CommandContext) -> list[str]:
        settings = await store.get_channel_settings(ctx.community, ctx.channel_id)
        return list(split_prompts(settings.prompt if settings else None))

    async def prompt_set(ctx: CommandContext) -> Answer:
        text = str(ctx.options["text"])
        channel = channel_label(ctx.channel_id)
        if text.strip().lower() == "default":
            await store.set_channel_prompt(ctx.community, ctx.channel_id, None)
            return Answer(ctx.words.gettext("{channel} uses the default prompt again.", channel=channel))
        template = checked_prompt(text) or ""
        await store.set_channel_prompt(ctx.community, ctx.channel_id, join_prompts([template]))
        example = render_prompt(template, _SAMPLE)
        return Answer(
            ctx.words.gettext("Prompt for {channel} set. It reads like:", channel=channel) + f"\n{example}"
        )

    async def prompt_add(ctx: CommandContext) -> Answer:
        template = checked_prompt(ctx.options["text"]) or ""
        templates = await channel_prompts(ctx)
        words, channel = ctx.words, channel_label(ctx.channel_id)
        if template in templates:
            return Answer(words.gettext("{channel} has that prompt already.", channel=channel), ok=False)
        if len(templates) >= MAX_PROMPTS:
            return Answer(
                words.gettext(
                    "A channel rotates at most {most} prompts; remove one first.", most=MAX_PROMPTS
                ),
                ok=False,
            )
        templates.append(template)
        await store.set_channel_prompt(ctx.community, ctx.channel_id, join_prompts(templates))
        added = words.gettext("Added prompt {number} to {channel}.", number=len(templates), channel=channel)
        if len(templates) == 1:
            return Answer(added)
        return Answer(added + " " + words.gettext("{count} prompts now take turns.", count=len(templates)))

    async def prompt_remove(ctx: CommandContext) -> Answer:
        number = int(ctx.options["number"])
        templates = await channel_prompts(ctx)
        words, channel = ctx.words, channel_label(ctx.channel_id)
        if not 1 <= number <= len(templates):
            if templates:
                return Answer(
                    words.gettext(
                        "{channel} has prompts 1 to {last}; see `prompt show`.",
                        channel=channel,
                        last=len(templates),
                    ),
                    ok=False,
                )
            return Answer(
                words.gettext("{channel} has only the default prompt; see `prompt show`.", channel=channel),
                ok=False,
            )
        removed = templates.pop(number - 1)
        await store.set_channel_prompt(ctx.community, ctx.channel_id, join_prompts(templates))
        gone = words.gettext("Removed “{prompt}”.", prompt=safe(removed, 200))
        if not templates:
            return Answer(gone + " " + words.gettext("{channel} uses the default prompt.", channel=channel))
        left = words.ngettext(
            "{channel} uses {n} prompt.", "{channel} uses {n} prompts.", len(templates), channel=channel
        )
        return Answer(gone + " " + left)

    async def prompt_show(ctx: CommandContext) -> Answer:
        templates = await channel_prompts(ctx)
        words, channel = ctx.words, channel_label(ctx.channel_id)
        upcoming = await publisher.prompt_for(ctx.community, ctx.channel_id, None)
        if len(templates) <= 1:
            heading = (
                words.gettext("Prompt for {channel}:", channel=channel)
                if templates
                else words.gettext("Prompt for {channel} (the default):", channel=channel)
            )
            return Answer(
                f"{heading}\n{safe(upcoming, 600)}\n"
                + words.gettext("Example:")
                + f"\n{render_prompt(upcoming, _SAMPLE)}"
            )
        since = services.clock.now() - timedelta(days=STATS_DAYS)
        _, per_prompt = await store.stats(ctx.community, since)
        rates = {row.label: row for row in per_prompt}
        lines = [
            words.gettext(
                "Prompts for {channel}, taking turns (last {days} days):", channel=channel, days=STATS_DAYS
            )
        ]
        for number, template in enumerate(templates, start=1):
            row = rates.get(template)
            used = (
                words.ngettext("{n} article", "{n} articles", row.articles) + "; "
                + words.gettext(
                    "per article {replies} replies and {participants} participants",
                    replies=words.decimal(row.reply_rate), participants=words.decimal(row.participant_rate),
                )
                if row else words.gettext("not used yet")
            )  # fmt: skip
            mark = " ← " + words.gettext("next") if template == upcoming else ""
            lines.append(f"{number}. {safe(template, 600)}{mark}\n   {used}")
        return Answer("\n".join(lines))

    registry.add(
        "post", post, help=N_("post one article now (a URL or the text itself)"),
        options=(
            Option("article", Kind.ARTICLE, N_("article URL, or its text in quotes"), max_length=100_000),
            Option("channel", Kind.CHANNEL, N_("channel to post in (default: this one)"), required=False,
                   posted_in=True),
            Option("prompt", Kind.TEXT, N_("prompt for this post"), required=False, max_length=500),
        ),
    )  # fmt: skip
    registry.add(
        "prompt set", prompt_set, help=N_("set a channel's prompt; {title} {url} {source}; 'default' resets"),
        options=(
            Option("text", Kind.TEXT, N_("the prompt template"), max_length=500),
            Option("channel", Kind.CHANNEL, N_("channel (default: this one)"), required=False),
        ),
    )  # fmt: skip
    registry.add(
        "prompt add", prompt_add, help=N_("add a prompt that takes turns with the channel's others"),
        options=(
            Option("text", Kind.TEXT, N_("the prompt template"), max_length=500),
            Option("channel", Kind.CHANNEL, N_("channel (default: this one)"), required=False),
        ),
    )  # fmt: skip
    registry.add(
        "prompt remove", prompt_remove,
        help=N_("remove one of a channel's prompts (its number in prompt show)"),
        options=(
            Option("number", Kind.INTEGER, N_("the prompt's number"), minimum=1, maximum=MAX_PROMPTS),
            Option("channel", Kind.CHANNEL, N_("channel (default: this one)"), required=False),
        ),
    )  # fmt: skip
    registry.add(
        "prompt show", prompt_show, help=N_("show a channel's prompts and how many replies each brings"),
        options=(Option("channel", Kind.CHANNEL, N_("channel (default: this one)"), required=False),),
    )  # fmt: skip
