"""Arbitrary text through every door untrusted text comes in by: feed bytes, page HTML, members'
replies and edits, command lines; and arbitrary titles and replies through every renderer.
Nothing may crash (an exception, or an error a handler's boundary logged and swallowed), no
output may ping anyone, and none may exceed its platform's limits.

Digests built from stored data are fuzzed in test_digest_properties.py, Discord digest
embeds in test_discord_render.py; these tests cover the rest.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape as xml_escape

import aiohttp
import pytest
from aiohttp.abc import AbstractResolver, ResolveResult
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.console.platform import COMMUNITY, ConsolePlatform
from adapters.discord.platform import _CHANNEL_ID
from adapters.discord.render import article_embed, md, split_content
from adapters.slack import render as slack
from bot import markdown
from bot.app import App
from bot.commands.registry import Answer
from bot.config import Settings
from bot.digest import Digest, DiscussionSummary, Figures, Highlight, WaitingArticle
from bot.events import Caller, CommandInvoked, ReplyEdited, ReplyPosted
from bot.export import to_csv, to_json
from bot.models import Article, ArticleDraft, PeriodCounts
from bot.platform import ChatPlatform
from bot.services import Services, build_core
from bot.sources.errors import FeedError, SourceError
from bot.sources.feeds import GUID_LIMIT, parse_feed
from bot.sources.http import AiohttpFetcher
from bot.sources.pages import article_from_html
from bot.sources.plaintext import EXPLICIT_TITLE_LIMIT, SOURCE_LIMIT, SUMMARY_LIMIT
from bot.text import neutralize_mentions, safe
from storage.store import SQLiteStore
from tests.digest_views import layout_of

pytestmark = pytest.mark.timeout(120)

# -- what no output may hold -------------------------------------------------------------------

# Discord pings on @everyone/@here and on <@id>, <@!id>, <@&id> (the bot also sends
# allowed_mentions none; the text must be inert by itself all the same).
DISCORD_PING = re.compile(r"@(everyone|here)|<@[!&]?\d+>")
# Slack: <!channel>, <!here>, <!everyone>, <!subteam^…>, <@U…>, and raw links <http…|…>.
SLACK_PING = re.compile(r"<[!@]", re.IGNORECASE)
MARKDOWN_PING = re.compile(r"@(everyone|here|channel)|<[@!#]", re.IGNORECASE)

# -- what arbitrary text looks like -------------------------------------------------------------

HOSTILE = (
    "@everyone",
    "@here",
    "@channel",
    "<@123456789012345678>",
    "<@!42>",
    "<@&987654321>",
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<!subteam^S123>",
    "<@U0ADMIN>",
    "<#C0GENERAL>",
    "<https://evil.example|click>",
    "**bold** __u__ `code` ||spoiler||",
    "\u202eevil\u202c",
    "\u200b",
    "\x00\x07\x1b[31m",
    "\r\n\r\n",
    "&amp; &lt; &#64;",
    "x" * 3000,
    "🙂👍🏽👨‍👩‍👧",
)
any_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=200)
words = st.lists(st.one_of(any_text, st.sampled_from(HOSTILE)), max_size=8).map(" ".join)


def no_discord_ping(text: str) -> None:
    assert not DISCORD_PING.search(text), text[:500]


def no_slack_ping(text: str) -> None:
    assert not SLACK_PING.search(text), text[:500]


@contextmanager
def errors_logged() -> Iterator[list[str]]:
    """ERROR records of the bot's own loggers: a handler's error boundary logs what crashed."""
    found: list[str] = []

    class Catch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.levelno >= logging.ERROR and record.name.startswith(("bot", "adapters", "storage")):
                found.append(f"{record.name}: {record.getMessage()}")

    handler = Catch()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield found
    finally:
        root.removeHandler(handler)


# -- feeds -----------------------------------------------------------------------------------------


def _field(text: str, raw: bool) -> str:
    return text if raw else xml_escape(text)


@st.composite
def feed_documents(draw: st.DrawFn) -> bytes:
    """RSS or Atom with arbitrary fields, sometimes escaped, sometimes raw or in CDATA."""
    raw = draw(st.booleans())
    fields = st.one_of(words, st.sampled_from(["", " ", "<b>html</b> &amp;", "]]>", "<![CDATA[x]]>"]))
    items = []
    for _ in range(draw(st.integers(0, 4))):
        title, body, link, guid, date = (draw(fields) for _ in range(5))
        if draw(st.booleans()):
            body = f"<![CDATA[{body}]]>"
        if draw(st.booleans()):
            link = draw(
                st.sampled_from(
                    ["https://news.example/a?utm_source=x#frag", "/relative/item", "javascript:x"]
                )
            )
        items.append((_field(title, raw), _field(body, True), _field(link, raw), _field(guid, raw), date))
    if draw(st.booleans()):
        entries = "".join(
            f"<item><title>{t}</title><description>{b}</description><link>{lk}</link>"
            f"<guid>{g}</guid><pubDate>{_field(d, raw)}</pubDate></item>"
            for t, b, lk, g, d in items
        )
        title = _field(draw(words), raw)
        text = f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title>{entries}'
    else:
        entries = "".join(
            f'<entry><title type="html">{t}</title><summary>{b}</summary><link href="{lk}"/>'
            f"<id>{g}</id><updated>{_field(d, raw)}</updated></entry>"
            for t, b, lk, g, d in items
        )
        text = f'<feed xmlns="http://www.w3.org/2005/Atom"><title>{_field(draw(words), raw)}</title>{entries}'
    if not draw(st.booleans()):  # sometimes cut off, as a dropped connection leaves it
        text += "</channel></rss>" if text.startswith("<?xml") else "</feed>"
    return text.encode(draw(st.sampled_from(["utf-8", "utf-16", "latin-1"])), errors="replace")


@settings(max_examples=150, deadline=None)
@given(data=st.one_of(st.binary(max_size=3000), feed_documents()))
def test_any_bytes_parse_as_a_feed_or_fail_with_a_feed_error(data: bytes) -> None:
    try:
        result = parse_feed(
            data, "https://feeds.example/news.xml", headers={"content-type": "application/xml"}
        )
    except FeedError as exc:
        assert str(exc)
        return
    for item in result.items:
        assert item.title and len(item.title) <= EXPLICIT_TITLE_LIMIT
        assert len(item.summary) <= SUMMARY_LIMIT and len(item.source) <= SOURCE_LIMIT
        assert item.guid is None or len(item.guid) <= GUID_LIMIT
        assert item.url is None or item.url.startswith(("http://", "https://"))
        assert not any(ch in item.title for ch in "\x00\u202e\n")


# -- pages -----------------------------------------------------------------------------------------


@st.composite
def html_documents(draw: st.DrawFn) -> str:
    """HTML as found in the wild: head metadata and body text with arbitrary content, often broken."""
    head = "".join(
        draw(st.sampled_from([
            "<title>{}</title>", "<meta property='og:title' content='{}'>",
            "<meta name='description' content='{}'>", "<meta property='og:site_name' content='{}'>",
            "<link rel='canonical' href='{}'>", "<meta property='article:published_time' content='{}'>",
        ])).format(draw(words).replace("'", "&#39;") if draw(st.booleans()) else draw(words))
        for _ in range(draw(st.integers(0, 5)))
    )  # fmt: skip
    body = "".join(
        f"<{tag}>{draw(words)}</{tag}>"
        for tag in draw(
            st.lists(st.sampled_from(["p", "h1", "div", "article", "script", "li", "pre"]), max_size=6)
        )
    )
    doc = f"<html><head>{head}</head><body>{body}</body></html>"
    return doc[: draw(st.integers(0, len(doc)))] if draw(st.booleans()) else doc


@settings(max_examples=60, deadline=None)
@given(html=st.one_of(html_documents(), any_text))
def test_any_html_gives_an_article_or_a_source_error(html: str) -> None:
    try:
        draft = article_from_html(html, url="https://town.example/news/item", fallback_source="town.example")
    except SourceError as exc:
        assert str(exc)
        return
    assert draft.title and len(draft.title) <= EXPLICIT_TITLE_LIMIT
    assert len(draft.summary) <= SUMMARY_LIMIT and len(draft.source) <= SOURCE_LIMIT
    assert draft.url is None or draft.url.startswith(("http://", "https://"))


# -- the bot, on a real store ------------------------------------------------------------------------


class NoDNS(AbstractResolver):
    """No name resolves: `feed add` and `post` of arbitrary URLs fail as offline, never reach out."""

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET) -> list[ResolveResult]:
        raise OSError(f"no DNS in tests ({host})")

    async def close(self) -> None:
        return None


@dataclass
class Bot:
    app: App
    services: Services
    store: SQLiteStore
    fetcher: AiohttpFetcher
    session: aiohttp.ClientSession
    thread: str = ""
    serial: int = 0

    async def command(self, line: str, *, user: str = "mod", moderator: bool = True) -> Answer:
        path, text = self.app.commands.split_line(line)
        answer = await self.app.dispatch(
            CommandInvoked(COMMUNITY, "general", Caller(user, user, is_moderator=moderator), path, text=text)
        )
        assert isinstance(answer, Answer)
        return answer

    async def close(self) -> None:
        await self.app.shutdown()
        await self.session.close()
        await self.store.close()


async def open_bot(tmp_path: Path) -> Bot:
    store = SQLiteStore(tmp_path / "fuzz.db")
    await store.open()
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(resolver=NoDNS()))
    fetcher = AiohttpFetcher(session=session, timeout=2)
    platforms: dict[str, ChatPlatform] = {"console": ConsolePlatform(io.StringIO())}
    app, services = build_core(Settings(), store, _Clock(), fetcher, platforms)
    bot = Bot(app, services, store, fetcher, session)
    draft = ArticleDraft("Library opens late", "https://town.example/library", "Readers asked.", "Town")
    published = await services.publisher.publish(draft, COMMUNITY, "general")
    bot.thread = published.discussion.thread_id or ""
    return bot


class _Clock:
    def __init__(self) -> None:
        self.start = datetime(2026, 11, 2, 12, tzinfo=UTC)
        self.ticks = 0

    def now(self) -> datetime:
        self.ticks += 1  # time passes a little with every look, as it does
        return self.start + timedelta(seconds=self.ticks)


def assert_answer_is_safe(answer: Answer) -> None:
    """An answer as each platform would show it: inert, within limits."""
    shown = _CHANNEL_ID.sub(r"<#\1>", neutralize_mentions(answer.text))  # as the Discord adapter sends it
    parts = split_content(shown)
    assert all(len(part) <= 2000 for part in parts)
    for part in parts:
        no_discord_ping(part)
    no_slack_ping(slack.answer_text(answer.text).replace("<#", "#"))  # Slack channel links are fine


@pytest.fixture
def runner() -> Iterator[asyncio.Runner]:
    with asyncio.Runner() as loop:
        yield loop


replies = st.tuples(words, words, words)  # text, edited text, author's display name


def test_any_reply_and_edit_is_stored_and_shown_safely(tmp_path: Path, runner: asyncio.Runner) -> None:
    bot = runner.run(open_bot(tmp_path))

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(reply=replies, edit_it=st.booleans())
    def check(reply: tuple[str, str, str], edit_it: bool) -> None:
        text, edited, name = reply
        bot.serial += 1
        author, message = f"member{bot.serial}", f"m{bot.serial}"
        now = bot.services.clock.now()
        with errors_logged() as errors:
            runner.run(bot.app.dispatch(ReplyPosted(COMMUNITY, bot.thread, message, author, name, text, now)))
            if edit_it:
                runner.run(bot.app.dispatch(ReplyEdited(COMMUNITY, bot.thread, message, edited, now)))
            mine = runner.run(bot.command("privacy my-data", user=author, moderator=False))
            preview = runner.run(bot.command("digest preview", user=f"mod{bot.serial}"))  # its own limit
            rows = runner.run(bot.store.export(COMMUNITY))
        assert errors == []
        assert mine.ok and preview.ok, (mine.text, preview.text)
        for answer in (mine, preview):
            assert_answer_is_safe(answer)
        assert mine.attachment is not None
        kept = json.loads(mine.attachment.content)
        assert isinstance(kept, dict | list)
        export = to_json(rows) + to_csv(rows)
        assert "\x00" not in export and "\u202e" not in export
        if preview.digest is not None:
            assert_digest_is_safe(preview.digest.digest)

    try:
        check()
    finally:
        runner.run(bot.close())


@st.composite
def command_lines(draw: st.DrawFn, paths: list[str]) -> str:
    """A real command with arbitrary arguments, or anything at all."""
    arguments = st.lists(
        st.one_of(
            words,
            st.sampled_from([
                "#general", "<#C0GENERAL>", "backlog 3", "backlog=-1", "backlog=99999999999999999999", '"',
                '"quoted text', "monday", "Funday", "09:00", "25:61", "Europe/Berlin", "Mars/Olympus",
                "https://feeds.example/rss", "http://127.0.0.1:1/feed", "file:///etc/passwd", "m1", "-5", "0",
                "1e9", "{title} {url} {source} {nope}", "%s", "\\", "`", "ftp://x",
            ]),
        ),
        max_size=6,
    ).map(" ".join)  # fmt: skip
    line = f"{draw(st.sampled_from(paths))} {draw(arguments)}"
    if draw(st.booleans()):
        line = "/threadcast " + line
    return draw(st.one_of(st.just(line), any_text, words))


def test_any_command_line_gets_an_answer_and_nothing_crashes(tmp_path: Path, runner: asyncio.Runner) -> None:
    bot = runner.run(open_bot(tmp_path))
    paths = sorted(" ".join(command.path) for command in bot.app.commands)

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(line=command_lines(paths), moderator=st.booleans(), user=st.sampled_from(["mod", "ana", "bo"]))
    def check(line: str, moderator: bool, user: str) -> None:
        with errors_logged() as errors:
            answer = runner.run(bot.command(line, user=user, moderator=moderator))
        assert errors == [], line
        assert answer.text.strip(), line
        assert_answer_is_safe(answer)
        if answer.digest is not None:
            assert_digest_is_safe(answer.digest.digest)

    try:
        check()
    finally:
        runner.run(bot.close())


# -- rendering ------------------------------------------------------------------------------------

URLS = st.one_of(
    st.none(),
    st.sampled_from(["https://news.example/a?b=1&c=<2>|3", "javascript:alert(1)", "http://x", ""]),
)


@st.composite
def articles(draw: st.DrawFn) -> Article:
    when = datetime(2026, 11, 2, tzinfo=UTC)
    return Article(1, "key", draw(words), draw(URLS), draw(words), draw(words), when, when)


@settings(max_examples=150, deadline=None)
@given(article=articles(), prompt=words)
def test_any_article_renders_within_limits_and_pings_nobody(article: Article, prompt: str) -> None:
    # Discord: the embed and the prompt above it, as post_discussion sends them.
    embed = article_embed(article)
    assert len(embed.title or "") <= 256 and len(embed.description or "") <= 4096
    assert len(embed.footer.text or "") <= 2048 and len(embed) <= 6000
    for text in (embed.title or "", embed.description or "", embed.footer.text or "", md(prompt)[:2000]):
        no_discord_ping(text)
    # Slack: the blocks and the notification's fallback text.
    blocks, fallback = slack.article_blocks(article, prompt)
    assert 1 <= len(blocks) <= slack.BLOCKS_PER_MESSAGE
    check_slack_blocks(blocks)
    assert len(fallback) <= 40_000
    no_slack_ping(fallback)


def check_slack_blocks(blocks: list[slack.Block]) -> None:
    for block in blocks:
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= slack.HEADER_LIMIT
        elif block["type"] == "section":
            assert len(block["text"]["text"]) <= slack.SECTION_LIMIT
        for element in block.get("elements", []):
            assert len(element.get("text", "")) <= slack.SECTION_LIMIT
    shown = json.dumps(blocks, ensure_ascii=False)
    # Our own links (<https://…|label>) are the only markup: nothing that pings or tags.
    no_slack_ping(shown)
    for target in re.findall(r"<([^|>]*)\|", shown):
        assert target.startswith(("https://", "http://")), target


highlights = st.builds(
    Highlight, author=words, excerpt=words, reactions=st.integers(0, 99), featured=st.booleans()
)
summaries = st.builds(
    DiscussionSummary,
    title=words,
    article_url=URLS,
    thread_link=st.one_of(st.none(), st.just("https://slack.com/app_redirect?channel=C1&message_ts=1.2")),
    replies=st.integers(0, 500),
    participants=st.integers(0, 99),
    reactions=st.integers(0, 999),
    highlights=st.lists(highlights, max_size=3).map(tuple),
)
END = datetime(2026, 11, 9, 9, tzinfo=UTC)


waiting = st.builds(WaitingArticle, title=words, article_url=URLS, thread_link=st.none())


@st.composite
def digests(draw: st.DrawFn) -> Digest:
    return Digest(
        community=COMMUNITY,
        period_start=END - timedelta(days=7),
        period_end=END,
        timezone="UTC",
        figures=Figures(3, 40, 12, 2, PeriodCounts(1, 10, 5), tuple(draw(st.lists(words, max_size=5)))),
        discussions=tuple(draw(st.lists(summaries, max_size=8))),
        late=tuple(draw(st.lists(summaries, max_size=4))),
        waiting=tuple(draw(st.lists(waiting, max_size=6))),
        note=draw(st.none() | words),
    )  # fmt: skip


def assert_digest_is_safe(digest: Digest) -> None:
    messages = slack.pack(slack.digest_blocks(layout_of(digest)))
    for blocks in messages:
        assert len(blocks) <= slack.BLOCKS_PER_MESSAGE
        check_slack_blocks(blocks)
        fallback = slack.plain(blocks)
        assert len(fallback) <= slack.FALLBACK_LIMIT
        no_slack_ping(fallback)
    # The builder hands renderers text already made safe (bot.text.safe); Markdown relies on it.
    made_safe = replace(
        digest,
        discussions=tuple(_safe_summary(d) for d in digest.discussions),
        late=tuple(_safe_summary(d) for d in digest.late),
        waiting=tuple(replace(w, title=safe(w.title, 256)) for w in digest.waiting),
        figures=replace(
            digest.figures, newcomer_names=tuple(safe(n, 80) for n in digest.figures.newcomer_names)
        ),
        note=None if digest.note is None else safe(digest.note, 500),
    )
    assert not MARKDOWN_PING.search(markdown.render(layout_of(made_safe)))


def _safe_summary(summary: DiscussionSummary) -> DiscussionSummary:
    return replace(
        summary,
        title=safe(summary.title, 256),
        highlights=tuple(
            replace(h, author=safe(h.author, 80), excerpt=safe(h.excerpt, 280)) for h in summary.highlights
        ),
    )


@settings(max_examples=60, deadline=None)
@given(digest=digests())
def test_any_digest_renders_for_slack_and_markdown_within_limits_and_pings_nobody(digest: Digest) -> None:
    # Discord's embeds are fuzzed in test_discord_render.py.
    assert_digest_is_safe(digest)
