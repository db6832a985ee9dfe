"""Digests built from a real SQLite store, whatever it holds: every output within every
platform limit, with no hidden, deleted, edited-away or opted-out words, no anonymous
member's name and no live mention.

Words that must never be shown carry unique marker tokens (`zq…`), so a leak is a
plain substring search; the renderers' own limits on hand-made digests are pinned
in test_discord_render.py, these tests feed them what the builder makes of stored data.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import discord
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.console.platform import COMMUNITY, ConsolePlatform
from adapters.discord import render as discord_render
from adapters.slack import render as slack_render
from bot import markdown
from bot.archive import write_archive
from bot.digest import Digest, DigestBuilder
from bot.export import to_csv, to_json
from bot.model_gist import ModelGist
from bot.models import ArticleDraft, MemberPrefs
from bot.store import Store
from storage.store import SQLiteStore
from tests.digest_views import layout_of
from tests.fake_chat import FakeChat

END = datetime(2026, 11, 9, 9, tzinfo=UTC)
START = END - timedelta(days=7)
SLACK_MESSAGE_TEXT = 40_000

# -- what every output must respect (shared with test_digest_week) ----------------------------------

_DISCORD_MENTION = re.compile(r"@(everyone|here)|<@[!&]?\d+>", re.IGNORECASE)
_SLACK_MENTION = re.compile(r"<[!@]|<#C", re.IGNORECASE)  # <!channel>, <!here>, <@U…>, <!subteam^…>
_MD_MENTION = re.compile(r"@(everyone|here|channel)|<[@!#]", re.IGNORECASE)
_HTML_MENTION = re.compile(r"@(everyone|here|channel)|<@|<!(channel|here|everyone)", re.IGNORECASE)


@dataclass
class Outputs:
    """Everything a digest becomes, as the text each platform would receive."""

    discord: list[discord_render.MessagePart]
    slack: list[list[slack_render.Block]]
    slack_fallbacks: list[str]
    markdown: str

    def discord_texts(self) -> list[str]:
        texts = []
        for part in self.discord:
            for embed in part.embeds:
                texts += [embed.title or "", embed.description or "", embed.footer.text or ""]
                texts += [f"{f.name}\n{f.value}" for f in embed.fields]
        return texts

    def slack_texts(self) -> list[str]:
        return [json.dumps(block, ensure_ascii=False) for message in self.slack for block in message] + [
            *self.slack_fallbacks
        ]

    def all_texts(self) -> list[str]:
        return [*self.discord_texts(), *self.slack_texts(), self.markdown]


def render_all(digest: Digest) -> Outputs:
    slack = slack_render.pack(slack_render.digest_blocks(layout_of(digest)))
    return Outputs(
        discord=discord_render.pack(discord_render.digest_embeds(layout_of(digest))),
        slack=slack,
        slack_fallbacks=[slack_render.plain(blocks) for blocks in slack],
        markdown=markdown.render(layout_of(digest)),
    )


def _block_texts(block: slack_render.Block) -> list[str]:
    """Every text object inside a Slack block (sections, headers, context elements, fields)."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") in ("mrkdwn", "plain_text") and isinstance(node.get("text"), str):
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(block)
    return found


def assert_within_limits(out: Outputs) -> None:
    for part in out.discord:
        assert 1 <= len(part.embeds) <= discord_render.EMBEDS_PER_MESSAGE
        assert sum(len(e) for e in part.embeds) <= discord_render.MESSAGE_EMBED_CHARS
        for embed in part.embeds:
            assert len(embed.title or "") <= discord_render.TITLE_LIMIT
            assert len(embed.description or "") <= discord_render.DESCRIPTION_LIMIT
            assert len(embed.footer.text or "") <= discord_render.FOOTER_LIMIT
            assert len(embed.fields) <= 25
            assert all(len(f.name or "") <= 256 and len(f.value or "") <= 1024 for f in embed.fields)
            assert embed.url is None or embed.url.startswith(("https://", "http://"))
    for blocks, fallback in zip(out.slack, out.slack_fallbacks, strict=True):
        assert 1 <= len(blocks) <= slack_render.BLOCKS_PER_MESSAGE
        for block in blocks:
            limit = slack_render.HEADER_LIMIT if block["type"] == "header" else slack_render.SECTION_LIMIT
            assert all(len(text) <= limit for text in _block_texts(block)), block
        assert 0 < len(fallback) <= min(slack_render.FALLBACK_LIMIT, SLACK_MESSAGE_TEXT)


def live_mentions(out: Outputs) -> list[str]:
    """Mentions that would ping: Discord syntax in Discord text, Slack's in Slack's, any in Markdown."""
    found = [m.group() for text in out.discord_texts() for m in _DISCORD_MENTION.finditer(text)]
    found += [m.group() for text in out.slack_texts() for m in _SLACK_MENTION.finditer(text)]
    # Markdown goes to the console, files and the archive: neither platform's syntax may survive.
    found += [m.group() for m in _MD_MENTION.finditer(out.markdown)]
    found += [m.group() for m in _DISCORD_MENTION.finditer(out.markdown)]
    return found


def leaks(texts: list[str], forbidden: list[str]) -> list[str]:
    return sorted({word for word in forbidden for text in texts if word in text})


async def exports(store: Store) -> list[str]:
    rows = await store.export(COMMUNITY)
    return [to_json(rows), to_csv(rows)]


async def archive_pages(store: Store, directory: Path, now: datetime) -> list[str]:
    """Every file of the HTML archive (index, digests, discussions), as text."""
    platforms = {COMMUNITY.platform: ConsolePlatform(io.StringIO())}
    await write_archive(store, DigestBuilder(store, platforms), platforms, directory, now)

    def read() -> list[str]:
        return [p.read_text(encoding="utf-8") for p in sorted(directory.rglob("*")) if p.is_file()]

    return await asyncio.to_thread(read)


# -- random stored weeks ------------------------------------------------------------------------------

HOSTILE = ["@everyone", "@here", "<@123456789012345678>", "<@!42>", "<@&1>", "<!channel>", "<!here>",
           "<!everyone>", "<@U024BE7LH>", "<script>x</script>", "[x](javascript:alert(1))", "**b**",
           "\u202e", "\u0000", "\u200b", "_", "`", "|", "&", "#", "@", "x" * 300]  # fmt: skip
# Visible words: anything, as long as it cannot be mistaken for a marker.
words = st.one_of(
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40),
    st.sampled_from(HOSTILE),
).filter(lambda w: "zq" not in w.lower())
free_text = st.lists(words, max_size=30).map(" ".join)


@st.composite
def member_specs(draw: st.DrawFn) -> list[tuple[bool, bool, str]]:
    """(opted out, anonymous, name) for up to eight members; only named members get free names."""
    specs = []
    for i in range(draw(st.integers(1, 8))):
        opted_out, anonymous = draw(st.booleans()), draw(st.booleans())
        name = f"zqanon{i}x" if anonymous else f"zqout{i}x" if opted_out else draw(free_text)
        specs.append((opted_out, anonymous, name))
    return specs


@dataclass(frozen=True)
class ReplySpec:
    author: int
    hours: float  # after the discussion was posted
    text: str
    fate: str  # shown | hidden | deleted | edited
    featured: bool
    reactors: tuple[int, ...]


reply_specs = st.builds(
    ReplySpec,
    author=st.integers(0, 7),
    hours=st.floats(0, 24 * 9),
    text=free_text,
    fate=st.sampled_from(["shown", "shown", "shown", "hidden", "deleted", "edited"]),
    featured=st.booleans(),
    reactors=st.lists(st.integers(0, 7), max_size=6, unique=True).map(tuple),
)
discussion_specs = st.tuples(
    free_text.filter(str.strip),  # title
    st.floats(-24 * 12, 24 * 7 - 1),  # hours after START it was posted
    st.lists(reply_specs, max_size=12),
    st.integers(0, 2),  # replies of opted-out members only counted
)


@dataclass
class Stored:
    forbidden: list[str]  # marker tokens of words that must never be shown
    hidden_names: list[str]  # names of anonymous and opted-out members

    def mark(self, text: str, kind: str) -> str:
        """`text` with a fresh marker token before and after every word: any excerpt,
        sentence or key phrase taken from it shows the marker."""
        token = f"{kind}{len(self.forbidden)}n"
        self.forbidden.append(token)
        return f" {token} ".join(["", *text.split(), ""]).strip()


async def store_scenario(
    store: Store, members: list[tuple[bool, bool, str]], discussions: list[Any]
) -> Stored:
    stored = Stored([], [name for out, anon, name in members if out or anon])
    serial = 0
    for d, (title, hours, replies, unstored) in enumerate(discussions):
        posted = START + timedelta(hours=hours)
        draft = ArticleDraft(title, f"https://example.org/a/{d}?q=<@1>&x=|", "", "source")
        article = await store.save_article(f"k{d}", draft, posted)
        discussion = await store.begin_discussion(article.id, COMMUNITY, "general", prompt="p",
                                                  feed_id=None, now=posted)  # fmt: skip
        assert discussion is not None
        await store.confirm_discussion(discussion.id, f"t{d}", f"t{d}", posted)
        for _ in range(unstored):
            await store.count_anonymous_reply(discussion.id)
        for spec in replies:
            serial += 1
            author = spec.author % len(members)
            opted_out, _, name = members[author]
            message = f"r{serial}"
            # Opted-out members' words are marked whatever happens to them; others' only when
            # hidden, deleted, or replaced by an edit.
            said = stored.mark(spec.text, "zqopt") if opted_out else spec.text
            fate = {"hidden": "zqhid", "deleted": "zqdel", "edited": "zqold"}.get(spec.fate)
            text = stored.mark(spec.text, fate) if fate else said
            await store.add_reply(discussion.id, message_id=message, author_id=f"u{author}", author_name=name,
                                  text=text, created_at=posted + timedelta(hours=spec.hours))  # fmt: skip
            for reactor in spec.reactors:
                await store.set_reaction(COMMUNITY, message, f"u{reactor % len(members)}", "👍", True)
            if spec.featured:
                await store.set_reply_flags(COMMUNITY, message, featured=True)
            if spec.fate == "hidden":
                await store.set_reply_flags(COMMUNITY, message, hidden=True)
            elif spec.fate == "deleted":
                await store.delete_reply(COMMUNITY, message)
            elif spec.fate == "edited":
                await store.edit_reply(COMMUNITY, message, said, posted + timedelta(hours=spec.hours + 1))
    for i, (opted_out, anonymous, _) in enumerate(members):
        await store.set_prefs(
            MemberPrefs(COMMUNITY.platform, f"u{i}", opted_out=opted_out, anonymous=anonymous)
        )
    return stored


async def build(store: Store, timezone: str) -> Digest:
    builder = DigestBuilder(store, {COMMUNITY.platform: ConsolePlatform(io.StringIO())})
    return await builder.build(COMMUNITY, START, END, timezone=timezone)


def run_scenario(members: list[tuple[bool, bool, str]], discussions: list[Any], timezone: str) -> None:
    async def scenario() -> None:
        # A fresh SQLite file per example: hypothesis runs many examples in one test call.
        with tempfile.TemporaryDirectory(prefix="threadcast-prop-") as tmp:
            store = SQLiteStore(Path(tmp) / "p.db")
            await store.open()
            try:
                stored = await store_scenario(store, members, discussions)
                digest = await build(store, timezone)
                out = render_all(digest)
                assert_within_limits(out)
                assert live_mentions(out) == []
                pages = await archive_pages(store, Path(tmp) / "site", END)
                assert pages and not [m.group() for p in pages for m in _HTML_MENTION.finditer(p)]
                shown = [*out.all_texts(), *await exports(store), *pages]
                assert leaks(shown, stored.forbidden) == []
                assert leaks(shown, stored.hidden_names) == []
                # The model path: what the model is sent is held to the digest's own rules.
                await store.set_community_summaries(COMMUNITY, "model")
                async with FakeChat() as chat, aiohttp.ClientSession() as session:
                    engine = ModelGist(session, url=chat.url, model="fake", timeout=5)
                    platforms = {COMMUNITY.platform: ConsolePlatform(io.StringIO())}
                    digest = await DigestBuilder(store, platforms, model=engine).build(
                        COMMUNITY, START, END, timezone=timezone
                    )
                out = render_all(digest)
                assert_within_limits(out)
                assert live_mentions(out) == []
                sent = [request.raw.decode() for request in chat.received]
                assert leaks([*out.all_texts(), *sent], stored.forbidden) == []
                assert leaks([*out.all_texts(), *sent], stored.hidden_names) == []
            finally:
                await store.close()

    asyncio.run(scenario())


@settings(max_examples=40, deadline=None)
@given(
    members=member_specs(),
    discussions=st.lists(discussion_specs, max_size=6),
    timezone=st.sampled_from(["UTC", "Europe/Berlin", "America/St_Johns", "Pacific/Kiritimati"]),
)
def test_every_output_of_a_stored_week_is_private_safe_and_within_limits(
    members: list[tuple[bool, bool, str]], discussions: list[Any], timezone: str
) -> None:
    run_scenario(members, discussions, timezone)


@settings(max_examples=15, deadline=None)
@given(
    members=member_specs(),
    replies=st.lists(reply_specs, min_size=20, max_size=60),
    title=free_text.filter(str.strip),
)
def test_busy_discussions_are_private_safe_and_within_limits(
    members: list[tuple[bool, bool, str]], replies: list[ReplySpec], title: str
) -> None:
    # One crowded thread (themes and highlight choice run on many replies), plus
    # many small ones so the ranked list, late list and waiting list all overflow.
    crowded = (title, 1.0, replies, 0)
    small = [(f"{title} {i}", 24.0 + i, replies[i : i + 1], 0) for i in range(12)]
    old = [(f"old {title} {i}", -24.0 * (i + 2), replies[i : i + 2], 0) for i in range(6)]
    run_scenario(members, [crowded, *small, *old], "Europe/Berlin")


def test_the_checks_catch_what_they_look_for() -> None:
    assert Stored([], []).mark("two words", "zqhid") == "zqhid0n two zqhid0n words zqhid0n"
    assert leaks(["> zqhid7n said"], ["zqhid7n"]) == ["zqhid7n"]
    embed = discord.Embed(title="x", description="hi @everyone <@&1>")
    out = Outputs([discord_render.MessagePart([embed])], [], [], "<!channel>")
    assert live_mentions(out) == ["@everyone", "<@&1>", "<!"]


async def test_exports_carry_no_live_mention(store: SQLiteStore) -> None:
    await store_scenario(
        store,
        [(False, False, "ana")],
        [
            (
                "t",
                1.0,
                [ReplySpec(0, 2.0, "@everyone look <@123456789012345678> <!channel>", "shown", False, ())],
                0,
            )
        ],
    )
    for text in await exports(store):
        assert not _MD_MENTION.search(text), text
