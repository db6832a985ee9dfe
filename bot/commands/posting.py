"""post, prompt set, prompt show."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bot.commands.common import channel_label, checked_prompt
from bot.commands.registry import Answer, CommandContext, CommandRegistry, Kind, Option
from bot.models import Article
from bot.prompts import render_prompt
from bot.publisher import PublishError
from bot.sources import load_article
from bot.sources.errors import SourceError
from bot.text import safe

if TYPE_CHECKING:
    from bot.services import Services

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

    async def prompt_set(ctx: CommandContext) -> Answer:
        text = str(ctx.options["text"])
        if text.strip().lower() == "default":
            await store.set_channel_prompt(ctx.community, ctx.channel_id, None)
            return Answer(f"{channel_label(ctx.channel_id)} uses the default prompt again.")
        template = checked_prompt(text)
        await store.set_channel_prompt(ctx.community, ctx.channel_id, template)
        example = render_prompt(template or "", _SAMPLE)
        return Answer(f"Prompt for {channel_label(ctx.channel_id)} set. It reads like:\n{example}")

    async def prompt_show(ctx: CommandContext) -> Answer:
        template = await publisher.prompt_for(ctx.community, ctx.channel_id, None)
        return Answer(
            f"Prompt for {channel_label(ctx.channel_id)}:\n{safe(template, 600)}\n"
            f"Example:\n{render_prompt(template, _SAMPLE)}"
        )

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
        "prompt show", prompt_show, help="show a channel's prompt",
        options=(Option("channel", Kind.CHANNEL, "channel (default: this one)", required=False),),
    )  # fmt: skip
