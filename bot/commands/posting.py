"""post, prompt set / add / remove / show."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from bot.commands.common import channel_label, checked_prompt
from bot.commands.registry import Answer, CommandContext, CommandRegistry, Kind, Option
from bot.models import Article
from bot.prompts import MAX_PROMPTS, join_prompts, render_prompt, split_prompts
from bot.publisher import PublishError
from bot.sources import load_article
from bot.sources.errors import SourceError
from bot.text import count, safe

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
        prompt = checked_prompt(ctx.options.get("prompt"))
        try:
            # Only a caller at this machine may name a local file.
            draft = await load_article(
                services.fetcher, str(ctx.options["article"]), allow_files=ctx.event.local
            )
        except SourceError as exc:
            return Answer(f"Could not read the article: {exc}", ok=False)
        try:
            published = await publisher.publish(draft, ctx.community, ctx.channel_id, prompt=prompt)
        except PublishError as exc:
            return Answer(f"Could not post to {channel_label(ctx.channel_id)}: {exc}", ok=False)
        title = safe(published.article.title, 120)
        if not published.new:
            return Answer(f"“{title}” was already posted in {channel_label(ctx.channel_id)}.", ok=False)
        return Answer(f"Posted “{title}” to {channel_label(ctx.channel_id)} and opened its thread.")

    async def channel_prompts(ctx: CommandContext) -> list[str]:
        settings = await store.get_channel_settings(ctx.community, ctx.channel_id)
        return list(split_prompts(settings.prompt if settings else None))

    async def prompt_set(ctx: CommandContext) -> Answer:
        text = str(ctx.options["text"])
        if text.strip().lower() == "default":
            await store.set_channel_prompt(ctx.community, ctx.channel_id, None)
            return Answer(f"{channel_label(ctx.channel_id)} uses the default prompt again.")
        template = checked_prompt(text) or ""
        await store.set_channel_prompt(ctx.community, ctx.channel_id, join_prompts([template]))
        example = render_prompt(template, _SAMPLE)
        return Answer(f"Prompt for {channel_label(ctx.channel_id)} set. It reads like:\n{example}")

    async def prompt_add(ctx: CommandContext) -> Answer:
        template = checked_prompt(ctx.options["text"]) or ""
        templates = await channel_prompts(ctx)
        if template in templates:
            return Answer(f"{channel_label(ctx.channel_id)} has that prompt already.", ok=False)
        if len(templates) >= MAX_PROMPTS:
            return Answer(f"A channel rotates at most {MAX_PROMPTS} prompts; remove one first.", ok=False)
        templates.append(template)
        await store.set_channel_prompt(ctx.community, ctx.channel_id, join_prompts(templates))
        rotation = "" if len(templates) == 1 else f" {len(templates)} prompts now take turns."
        return Answer(f"Added prompt {len(templates)} to {channel_label(ctx.channel_id)}.{rotation}")

    async def prompt_remove(ctx: CommandContext) -> Answer:
        number = int(ctx.options["number"])
        templates = await channel_prompts(ctx)
        if not 1 <= number <= len(templates):
            have = f"prompts 1 to {len(templates)}" if templates else "only the default prompt"
            return Answer(f"{channel_label(ctx.channel_id)} has {have}; see `prompt show`.", ok=False)
        removed = templates.pop(number - 1)
        await store.set_channel_prompt(ctx.community, ctx.channel_id, join_prompts(templates))
        left = "the default prompt" if not templates else count(len(templates), "prompt")
        return Answer(f"Removed “{safe(removed, 200)}”. {channel_label(ctx.channel_id)} uses {left}.")

    async def prompt_show(ctx: CommandContext) -> Answer:
        templates = await channel_prompts(ctx)
        upcoming = await publisher.prompt_for(ctx.community, ctx.channel_id, None)
        if len(templates) <= 1:
            which = "" if templates else " (the default)"
            return Answer(
                f"Prompt for {channel_label(ctx.channel_id)}{which}:\n{safe(upcoming, 600)}\n"
                f"Example:\n{render_prompt(upcoming, _SAMPLE)}"
            )
        since = services.clock.now() - timedelta(days=STATS_DAYS)
        _, per_prompt = await store.stats(ctx.community, since)
        rates = {row.label: row for row in per_prompt}
        lines = [f"Prompts for {channel_label(ctx.channel_id)}, taking turns (last {STATS_DAYS} days):"]
        for number, template in enumerate(templates, start=1):
            row = rates.get(template)
            used = (
                f"{count(row.articles, 'article')}; per article {row.reply_rate:.1f} replies"
                f" and {row.participant_rate:.1f} participants"
                if row else "not used yet"
            )  # fmt: skip
            mark = " ← next" if template == upcoming else ""
            lines.append(f"{number}. {safe(template, 600)}{mark}\n   {used}")
        return Answer("\n".join(lines))

    registry.add(
        "post", post, help="post one article now (a URL or the text itself)",
        options=(
            Option("article", Kind.ARTICLE, "article URL, or its text in quotes", max_length=100_000),
            Option("channel", Kind.CHANNEL, "channel to post in (default: this one)", required=False),
            Option("prompt", Kind.TEXT, "prompt for this post", required=False, max_length=500),
        ),
    )  # fmt: skip
    registry.add(
        "prompt set", prompt_set, help="set a channel's prompt; {title} {url} {source}; 'default' resets",
        options=(
            Option("text", Kind.TEXT, "the prompt template", max_length=500),
            Option("channel", Kind.CHANNEL, "channel (default: this one)", required=False),
        ),
    )  # fmt: skip
    registry.add(
        "prompt add", prompt_add, help="add a prompt that takes turns with the channel's others",
        options=(
            Option("text", Kind.TEXT, "the prompt template", max_length=500),
            Option("channel", Kind.CHANNEL, "channel (default: this one)", required=False),
        ),
    )  # fmt: skip
    registry.add(
        "prompt remove", prompt_remove, help="remove one of a channel's prompts (its number in prompt show)",
        options=(
            Option("number", Kind.INTEGER, "the prompt's number", minimum=1, maximum=MAX_PROMPTS),
            Option("channel", Kind.CHANNEL, "channel (default: this one)", required=False),
        ),
    )  # fmt: skip
    registry.add(
        "prompt show", prompt_show, help="show a channel's prompts and how many replies each brings",
        options=(Option("channel", Kind.CHANNEL, "channel (default: this one)", required=False),),
    )  # fmt: skip
