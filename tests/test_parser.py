"""The text form of commands (Slack, console): tricky lines parse as a person means them."""

from __future__ import annotations

import pytest

from bot.commands.registry import (
    Answer,
    CommandContext,
    CommandRegistry,
    Kind,
    Option,
    UsageError,
    parse_text,
)


async def noop(ctx: CommandContext) -> Answer:
    return Answer("ok")


@pytest.fixture
def registry() -> CommandRegistry:
    r = CommandRegistry()
    r.add(
        "feed add",
        noop,
        help="",
        options=(
            Option("url", Kind.WORD, ""),
            Option("channel", Kind.CHANNEL, "", required=False),
            Option("prompt", Kind.TEXT, "", required=False),
            Option("backlog", Kind.INTEGER, "", required=False, keyword=True, minimum=0, maximum=50),
        ),
    )
    r.add("reply feature", noop, help="", options=(Option("message", Kind.MESSAGE, ""),))
    return r


def parse(registry: CommandRegistry, line: str) -> dict[str, object]:
    path, text = registry.split_line(line)
    command = registry.get(path)
    assert command is not None
    return parse_text(command, text)


def test_backlog_inside_a_prompt_stays_in_the_prompt(registry: CommandRegistry) -> None:
    got = parse(registry, "feed add https://x/f #news Still reading the backlog 5 years on?")
    assert got == {"url": "https://x/f", "channel": "news", "prompt": "Still reading the backlog 5 years on?"}


def test_backlog_at_the_end_or_with_equals(registry: CommandRegistry) -> None:
    assert parse(registry, "feed add https://x/f Thoughts? backlog 3")["backlog"] == 3
    assert parse(registry, "feed add https://x/f backlog=2 Thoughts?") == {
        "url": "https://x/f", "prompt": "Thoughts?", "backlog": 2,
    }  # fmt: skip
    with pytest.raises(UsageError, match="needs a value"):
        parse(registry, "feed add https://x/f backlog")


def test_the_prompt_keeps_newlines_quotes_and_apostrophes(registry: CommandRegistry) -> None:
    line = 'feed add https://x/f What\'s your take on "{title}"?\nTell us;  twice. #news'
    got = parse(registry, line)
    assert got["prompt"] == 'What\'s your take on "{title}"?\nTell us;  twice.'
    assert got["channel"] == "news"


def test_slash_and_threadcast_prefixes_and_case(registry: CommandRegistry) -> None:
    assert registry.split_line("/threadcast FEED Add https://x/f") == (("feed", "add"), "https://x/f")
    assert registry.split_line("/feed add") == (("feed", "add"), "")
    assert registry.split_line("/nonsense words here") == (("nonsense", "words"), "")


def test_message_links_give_the_message_id(registry: CommandRegistry) -> None:
    link = "https://discord.com/channels/1/2/345?utm=x#frag"
    assert parse(registry, f"reply feature {link}") == {"message": "345"}
    assert parse(registry, "reply feature <m12>") == {"message": "m12"}


def test_an_unclosed_quote_is_a_usage_error(registry: CommandRegistry) -> None:
    with pytest.raises(UsageError, match="check the quotes"):
        parse(registry, 'feed add https://x/f "never closed')
