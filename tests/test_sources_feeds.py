"""Feeds over real HTTP: a local aiohttp server, the real AiohttpFetcher, the real feedparser."""

from __future__ import annotations

import asyncio
import re
import socket
import unicodedata
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import pytest
from aiohttp import web

from bot.sources import FeedError, SourceError
from bot.sources.feeds import fetch_feed
from bot.sources.http import PROJECT_URL, AiohttpFetcher, FetchError
from tests.sources_server import SourcesServer
from tests.test_corpus_feeds import ENTRIES

RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0">
  <channel>
    <title>Village Gazette</title>
    <link>https://gazette.example/</link>
    <description>News from the village</description>
    <item>
      <title>Bridge &amp; road reopen &lt;b&gt;after&lt;/b&gt;   repairs</title>
      <link>/news/bridge-reopens</link>
      <guid isPermaLink="false">gazette-3</guid>
      <pubDate>Tue, 05 Mar 2024 10:20:00 +0100</pubDate>
      <description><![CDATA[<p>The old stone bridge is open again.</p>
        <script>alert("x")</script><p>Traffic returns <b>today</b>.</p>
        <p>What do you think? Let us know in the comments.</p>]]></description>
    </item>
    <item>
      <title>Bakery wins regional prize</title>
      <link>https://gazette.example/news/bakery</link>
      <guid>gazette-2</guid>
      <pubDate>Mon, 04 Mar 2024 08:00:00 GMT</pubDate>
      <description>A plain description.</description>
    </item>
    <item>
      <title>Council meets</title>
      <link>https://gazette.example/news/council</link>
      <description>Agenda published.</description>
    </item>
  </channel>
</rss>
"""

ATOM_WITHOUT_TITLES = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Release notes</title>
  <id>urn:feed</id>
  <updated>2024-01-02T03:04:05Z</updated>
  <entry>
    <id>urn:entry:1</id>
    <updated>2024-01-02T03:04:05Z</updated>
    <link href="https://example.org/releases/v2"/>
    <summary>Version two adds offline mode and fixes the sync bug reported by many users over the last few
      months, which is why this sentence is long enough to need cutting. A second sentence follows.</summary>
  </entry>
  <entry>
    <id>urn:entry:2</id>
    <updated>2024-01-01T00:00:00Z</updated>
    <link href="https://example.org/blog/2024/new-year-plans.html"/>
  </entry>
  <entry>
    <id>tag:example.org,2024:3</id>
    <updated>2023-12-31T00:00:00Z</updated>
  </entry>
</feed>
"""


# --- parsing ----------------------------------------------------------------------


async def test_rss_items_in_feed_order_with_clean_fields(
    server: SourcesServer, fetcher: AiohttpFetcher
) -> None:
    server.serve("/feed.xml", RSS, headers={"ETag": '"v1"', "Last-Modified": "Tue, 05 Mar 2024 10:00:00 GMT"})
    result = await fetch_feed(fetcher, server.url("/feed.xml"))

    assert result.title == "Village Gazette"
    assert result.etag == '"v1"'
    assert result.last_modified == "Tue, 05 Mar 2024 10:00:00 GMT"
    assert not result.not_modified
    assert [item.guid for item in result.items] == ["gazette-3", "gazette-2", None]
    first = result.items[0]
    assert first.title == "Bridge & road reopen after repairs"
    assert first.url == server.url("/news/bridge-reopens")  # relative link resolved against the feed
    assert first.summary == "The old stone bridge is open again.\nTraffic returns today."
    assert first.source == "Village Gazette"
    assert first.published_at == datetime(2024, 3, 5, 9, 20, tzinfo=UTC)
    assert result.items[1].summary == "A plain description."
    assert result.items[2].published_at is None


async def test_entries_without_titles_get_sensible_ones(
    server: SourcesServer, fetcher: AiohttpFetcher
) -> None:
    server.serve("/atom", ATOM_WITHOUT_TITLES, content_type="application/atom+xml")
    items = (await fetch_feed(fetcher, server.url("/atom"))).items

    from_summary, from_link, untitled = (item.title for item in items)
    assert from_summary.startswith("Version two adds offline mode")
    assert len(from_summary) <= 100
    assert from_summary.endswith("…")
    assert from_summary[:-1] in items[0].summary  # cut at a word boundary of the text
    assert from_link == "new year plans"
    assert untitled == "Untitled item from Release notes"
    assert items[2].url is None  # a tag: id is not a link
    assert items[2].guid == "tag:example.org,2024:3"


async def test_feed_without_title_is_named_by_its_host(
    server: SourcesServer, fetcher: AiohttpFetcher
) -> None:
    feed = '<rss version="2.0"><channel><item><description>Only a body.</description></item></channel></rss>'
    server.serve("/anon", feed)
    result = await fetch_feed(fetcher, server.url("/anon"))
    assert result.title is None
    assert result.items[0].source == "127.0.0.1"
    assert result.items[0].title == "Only a body."


async def test_hostile_entry_fields_are_bounded_and_printable(
    server: SourcesServer, fetcher: AiohttpFetcher
) -> None:
    title = "Evil\u202e title\x07 " + "word " * 2000
    body = "<p>" + ("Sentence with\x00 control\u200b chars. " * 500) + "</p>"
    feed = (
        '<rss version="2.0"><channel><title>T</title><item>'
        f"<title>{title}</title><link>javascript:alert(1)</link>"
        f"<description><![CDATA[{body}]]></description></item></channel></rss>"
    )
    server.serve("/hostile", feed.encode())
    item = (await fetch_feed(fetcher, server.url("/hostile"))).items[0]

    assert len(item.title) <= 300
    assert item.title.startswith("Evil title word")
    assert len(item.summary) <= 500
    for text in (item.title, item.summary):
        assert not any(unicodedata.category(ch) in ("Cc", "Cf") for ch in text if ch != "\n")
    assert item.url is None  # javascript: links are not article links


async def test_localised_rfc822_dates_are_read(server: SourcesServer, fetcher: AiohttpFetcher) -> None:
    feed = (
        '<rss version="2.0"><channel><title>Notícias</title>'
        "<item><title>Um</title><pubDate>Seg, 24 Set 2018 19:42:40 -0300</pubDate></item>"
        "<item><title>Zwei</title><pubDate>Mo, 3 Mär 2025 08:00:00 +0100</pubDate></item>"
        "<item><title>Bad</title><pubDate>Seg, 31 Fev 2018 19:42:40 -0300</pubDate></item>"
        "</channel></rss>"
    )
    server.serve("/pt", feed)
    items = (await fetch_feed(fetcher, server.url("/pt"))).items
    assert items[0].published_at == datetime(2018, 9, 24, 22, 42, 40, tzinfo=UTC)
    assert items[1].published_at == datetime(2025, 3, 3, 7, 0, tzinfo=UTC)
    assert items[2].published_at is None


async def test_malformed_but_readable_feed_is_accepted(
    server: SourcesServer, fetcher: AiohttpFetcher
) -> None:
    # An unescaped "&" and a truncated last item: feedparser flags it (bozo) but reads it.
    feed = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Q & A</title>'
        "<item><title>First & foremost</title><link>https://example.org/1</link></item>"
        "<item><title>Second</title><link>https://example.org/2</link></item>"
        "<item><title>Trunc"
    )
    server.serve("/broken", feed)
    result = await fetch_feed(fetcher, server.url("/broken"))
    assert [item.url for item in result.items[:2]] == ["https://example.org/1", "https://example.org/2"]
    assert result.items[0].title == "First & foremost"


@pytest.mark.parametrize(
    ("body", "content_type", "detail"),
    [
        (
            "<html><head><title>Moved</title></head><body><a href='/x'>here</a></body></html>",
            "text/html",
            "it is a web page",
        ),
        ("just some words, no markup at all", "text/plain", "isn't an RSS or Atom feed"),
        ('{"items": []}', "application/json", "isn't an RSS or Atom feed"),
        ("<?xml version='1.0'?><note><to>x</to></note>", "application/xml", "isn't an RSS or Atom feed"),
        ("   \n", "application/rss+xml", "the response is empty"),
    ],
)
async def test_documents_that_are_not_feeds_get_a_clear_error(
    server: SourcesServer, fetcher: AiohttpFetcher, body: str, content_type: str, detail: str
) -> None:
    server.serve("/page", body, content_type=content_type)
    with pytest.raises(FeedError) as caught:
        await fetch_feed(fetcher, server.url("/page"))
    message = str(caught.value)
    assert message.startswith(server.url("/page") + ": ")
    assert detail in message
    assert isinstance(caught.value, SourceError)


# --- encodings --------------------------------------------------------------------


def _feed_bytes(encoding_decl: str, title: str, codec: str) -> bytes:
    head = f'<?xml version="1.0" encoding="{encoding_decl}"?>' if encoding_decl else ""
    channel = f"<channel><title>Notícias</title><item><title>{title}</title></item></channel>"
    doc = f'{head}<rss version="2.0">{channel}</rss>'
    return doc.encode(codec)


async def test_iso_8859_1_feed(server: SourcesServer, fetcher: AiohttpFetcher) -> None:
    server.serve("/latin1", _feed_bytes("ISO-8859-1", "Mãe é a nova presidente", "iso-8859-1"))
    result = await fetch_feed(fetcher, server.url("/latin1"))
    assert result.title == "Notícias"
    assert result.items[0].title == "Mãe é a nova presidente"


async def test_windows_1252_declared_as_utf8(server: SourcesServer, fetcher: AiohttpFetcher) -> None:
    server.serve("/cp1252", _feed_bytes("utf-8", "“Simulações” de 2º turno", "cp1252"))
    result = await fetch_feed(fetcher, server.url("/cp1252"))
    assert result.items[0].title == "“Simulações” de 2º turno"


async def test_windows_1252_labelled_latin1_keeps_its_quotes(
    server: SourcesServer, fetcher: AiohttpFetcher
) -> None:
    # Bytes 0x93/0x94 are C1 controls in ISO-8859-1 but quotes in windows-1252, as browsers read them.
    server.serve(
        "/labelled", _feed_bytes("", "“Quoted” – café", "cp1252"), content_type="text/xml; charset=iso-8859-1"
    )
    result = await fetch_feed(fetcher, server.url("/labelled"))
    assert result.items[0].title == "“Quoted” – café"


async def test_utf8_feed_served_as_text_xml_without_charset(
    server: SourcesServer, fetcher: AiohttpFetcher
) -> None:
    server.serve("/textxml", _feed_bytes("utf-8", "Größe zählt – ✓", "utf-8"), content_type="text/xml")
    result = await fetch_feed(fetcher, server.url("/textxml"))
    assert result.items[0].title == "Größe zählt – ✓"


# Feeds that declare no encoding anywhere: no charset in Content-Type, no XML declaration, no BOM.
# Each is detected from its bytes (feedparser asks chardet once the default, UTF-8, fails).
UNDECLARED = {
    "windows-1252": ("Notícias do dia", ["“Simulações” de 2º turno – já", "Café e pão às 8h — grátis"]),
    "iso-8859-1": ("Notícias do dia", ["Mãe é a nova presidente", "Ação na praça à noite"]),
    "utf-8": ("Größe zählt", ["Größe zählt – ✓ für alle", "Новости дня и 今日のニュース"]),
    "koi8-r": ("Новости дня", ["Правительство объявило о новых мерах", "Погода: завтра будет снег"]),
    "windows-1251": ("Новости дня", ["Правительство объявило о новых мерах", "Погода: завтра будет снег"]),
    "shift_jis": ("今日のニュース", ["政府は新しい支援策を発表しました", "明日の天気は雪になるでしょう"]),
    "gb2312": ("今日新闻", ["政府宣布了新的支持措施", "市民反应热烈，明天会下雪"]),
    "big5": ("今日新聞", ["政府宣布了新的支持措施", "市民反應熱烈，明天會下雪"]),
    "euc-kr": ("오늘의 뉴스", ["정부는 새로운 지원 대책을 발표했습니다", "내일은 눈이 오겠습니다"]),
    "windows-1255": ("חדשות היום", ["הממשלה הודיעה על צעדים חדשים", "מחר ירד שלג בירושלים"]),
}


def _undeclared_feed(codec: str) -> bytes:
    title, items = UNDECLARED[codec]
    body = "".join(
        f"<item><title>{t}</title><link>https://news.example/{i}</link>"
        f"<description>{t}. {t}.</description></item>"
        for i, t in enumerate(items)
    )
    return f'<rss version="2.0"><channel><title>{title}</title>{body}</channel></rss>'.encode(codec)


@pytest.mark.parametrize("codec", list(UNDECLARED))
@pytest.mark.parametrize("content_type", ["application/rss+xml", "text/xml", None])
async def test_a_feed_without_a_declared_encoding_is_read_in_its_own(
    server: SourcesServer, fetcher: AiohttpFetcher, codec: str, content_type: str | None
) -> None:
    data = _undeclared_feed(codec)
    assert not data.startswith((b"<?xml", b"\xef\xbb\xbf"))
    server.serve("/undeclared", data, content_type=content_type)
    result = await fetch_feed(fetcher, server.url("/undeclared"))
    title, items = UNDECLARED[codec]
    assert result.title == title
    assert [item.title for item in result.items] == items
    assert result.items[0].summary.startswith(items[0])


# --- conditional GET --------------------------------------------------------------


async def test_etag_round_trip_gives_not_modified(server: SourcesServer, fetcher: AiohttpFetcher) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        if request.headers.get("If-None-Match") == '"abc"':
            return web.Response(status=304, headers={"ETag": '"abc"'})
        return web.Response(body=RSS.encode(), content_type="application/rss+xml", headers={"ETag": '"abc"'})

    server.route("/feed", handler)
    first = await fetch_feed(fetcher, server.url("/feed"))
    assert first.etag == '"abc"'
    assert len(first.items) == 3

    second = await fetch_feed(
        fetcher, server.url("/feed"), etag=first.etag, last_modified=first.last_modified
    )
    assert second.not_modified
    assert second.items == []
    assert second.etag == '"abc"'
    seen = server.requests_to("/feed")
    assert "if-none-match" not in seen[0].headers
    assert seen[1].headers["if-none-match"] == '"abc"'


async def test_last_modified_round_trip_keeps_old_validators(
    server: SourcesServer, fetcher: AiohttpFetcher
) -> None:
    stamp = "Wed, 06 Mar 2024 12:00:00 GMT"

    async def handler(request: web.Request) -> web.StreamResponse:
        if request.headers.get("If-Modified-Since") == stamp:
            return web.Response(status=304)  # no validators repeated: the old ones stay
        return web.Response(
            body=RSS.encode(), content_type="application/rss+xml", headers={"Last-Modified": stamp}
        )

    server.route("/feed", handler)
    first = await fetch_feed(fetcher, server.url("/feed"))
    assert first.last_modified == stamp
    assert first.etag is None

    second = await fetch_feed(fetcher, server.url("/feed"), etag='"old"', last_modified=first.last_modified)
    assert second.not_modified
    assert (second.etag, second.last_modified) == ('"old"', stamp)
    assert server.requests_to("/feed")[1].headers["if-modified-since"] == stamp


# --- HTTP behaviour -----------------------------------------------------------------


async def test_redirect_chain_is_followed(server: SourcesServer, fetcher: AiohttpFetcher) -> None:
    server.redirect("/old", "/middle", status=301)
    server.redirect("/middle", server.url("/feed"), status=302)
    server.serve("/feed", RSS)
    result = await fetch_feed(fetcher, server.url("/old"))
    assert result.url == server.url("/feed")
    assert len(result.items) == 3
    assert [r.path for r in server.requests] == ["/old", "/middle", "/feed"]


async def test_redirect_loop_stops(server: SourcesServer, fetcher: AiohttpFetcher) -> None:
    server.redirect("/loop", "/loop")
    with pytest.raises(FetchError, match=r"too many redirects") as caught:
        await fetch_feed(fetcher, server.url("/loop"))
    assert caught.value.url == server.url("/loop")
    assert str(caught.value).startswith(server.url("/loop"))
    assert len(server.requests_to("/loop")) == fetcher.max_redirects + 1


async def test_redirect_limit_counts_redirects_followed(server: SourcesServer) -> None:
    server.redirect("/r1", "/r2")
    server.redirect("/r2", "/r3")
    server.serve("/r3", RSS)
    async with AiohttpFetcher(allow_private=True, max_redirects=2) as two:
        assert len((await fetch_feed(two, server.url("/r1"))).items) == 3
    async with AiohttpFetcher(allow_private=True, max_redirects=1) as one:
        with pytest.raises(FetchError, match=r"too many redirects \(more than 1\)"):
            await fetch_feed(one, server.url("/r1"))


async def test_redirect_to_a_non_http_scheme_is_refused(
    server: SourcesServer, fetcher: AiohttpFetcher
) -> None:
    server.redirect("/sneaky", "file:///etc/passwd")
    with pytest.raises(FetchError, match="redirected"):
        await fetch_feed(fetcher, server.url("/sneaky"))


@pytest.mark.parametrize("status", [404, 410, 500, 503])
async def test_http_errors_name_the_url_and_status(
    server: SourcesServer, fetcher: AiohttpFetcher, status: int
) -> None:
    server.serve("/gone", "nope", status=status, content_type="text/plain")
    with pytest.raises(FetchError) as caught:
        await fetch_feed(fetcher, server.url("/gone"))
    assert caught.value.status == status
    assert str(caught.value).startswith(f"{server.url('/gone')}: HTTP {status}")


async def test_oversize_body_with_content_length(server: SourcesServer) -> None:
    server.serve("/big", b"x" * 200_000)
    async with AiohttpFetcher(allow_private=True, max_bytes=64 * 1024) as small:
        with pytest.raises(FetchError, match=r"response larger than 64 KB"):
            await fetch_feed(small, server.url("/big"))


async def test_oversize_streamed_body_without_length(server: SourcesServer) -> None:
    sent = 0

    async def endless(request: web.Request) -> web.StreamResponse:
        nonlocal sent
        response = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        try:
            for _ in range(200):  # 3 MB at most, far past the cap
                await response.write(b"<item>" + b"y" * 16_000 + b"</item>")
                sent += 1
        except (ConnectionResetError, ConnectionError):
            pass  # the client hung up: what we want
        return response

    server.route("/stream", endless)
    async with AiohttpFetcher(allow_private=True, max_bytes=100_000) as small:
        with pytest.raises(FetchError, match=r"response larger than 97.6562 KB"):
            await fetch_feed(small, server.url("/stream"))
    assert "content-length" not in server.requests_to("/stream")[0].headers
    assert sent >= 6


async def test_gzip_body_is_inflated_and_counted_after_inflation(server: SourcesServer) -> None:
    server.serve("/small.gz", RSS, gzipped=True)
    server.serve("/bomb.gz", b"<rss>" + b" " * 2_000_000, gzipped=True)  # ~2 KB on the wire
    async with AiohttpFetcher(allow_private=True, max_bytes=64 * 1024) as small:
        result = await fetch_feed(small, server.url("/small.gz"))
        assert [item.guid for item in result.items] == ["gazette-3", "gazette-2", None]
        with pytest.raises(FetchError, match=r"response larger than 64 KB"):
            await fetch_feed(small, server.url("/bomb.gz"))
    assert "gzip" in server.requests_to("/small.gz")[0].headers["accept-encoding"]


async def test_slow_server_times_out(server: SourcesServer) -> None:
    async def stalls(request: web.Request) -> web.StreamResponse:
        await asyncio.wait_for(server.released.wait(), timeout=10)
        return web.Response(text="late")

    async def drips(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
        await response.prepare(request)
        await response.write(b"<rss version='2.0'><channel>")
        await asyncio.wait_for(server.released.wait(), timeout=10)
        return response

    server.route("/stall", stalls)
    server.route("/drip", drips)
    async with AiohttpFetcher(allow_private=True, timeout=0.3) as impatient:
        for path in ("/stall", "/drip"):
            started = asyncio.get_running_loop().time()
            with pytest.raises(FetchError, match=r"timed out after 0.3 s"):
                await fetch_feed(impatient, server.url(path))
            assert asyncio.get_running_loop().time() - started < 3


async def test_connection_refused(fetcher: AiohttpFetcher) -> None:
    with socket.socket() as sock:  # find a free port, then leave it closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(FetchError, match="cannot connect") as caught:
        await fetch_feed(fetcher, f"http://127.0.0.1:{port}/feed")
    assert caught.value.url == f"http://127.0.0.1:{port}/feed"


async def test_user_agent_is_sent(server: SourcesServer, fetcher: AiohttpFetcher) -> None:
    server.serve("/feed", RSS)
    await fetch_feed(fetcher, server.url("/feed"))
    async with AiohttpFetcher(allow_private=True, user_agent="custom-agent/1.0") as custom:
        await fetch_feed(custom, server.url("/feed"))
    default, chosen = (r.headers["user-agent"] for r in server.requests_to("/feed"))
    assert re.fullmatch(rf"threadcast/\S+ \(\+{re.escape(PROJECT_URL)}\)", default)
    assert chosen == "custom-agent/1.0"


@pytest.mark.parametrize(
    "url", ["ftp://127.0.0.1/feed.xml", "file:///etc/passwd", "javascript:alert(1)", "feed.xml", "http://"]
)
async def test_only_http_urls_are_fetched(fetcher: AiohttpFetcher, url: str) -> None:
    with pytest.raises(FetchError) as caught:
        await fetch_feed(fetcher, url)
    assert str(caught.value).startswith(f"{url}: ")


async def test_password_in_url_is_not_repeated_in_errors(
    server: SourcesServer, fetcher: AiohttpFetcher
) -> None:
    url = server.url("/private").replace("http://", "http://reader:s3cret@")
    with pytest.raises(FetchError) as caught:
        await fetch_feed(fetcher, url)
    assert "s3cret" not in str(caught.value)
    assert "HTTP 404" in str(caught.value)


async def test_shared_session_is_left_open(server: SourcesServer) -> None:
    import aiohttp

    server.serve("/feed", RSS)
    async with aiohttp.ClientSession() as session:
        async with AiohttpFetcher(allow_private=True, session=session) as shared:
            assert len((await fetch_feed(shared, server.url("/feed"))).items) == 3
        assert not session.closed


# --- the real-world corpus ------------------------------------------------------------


def _corpus_counts(corpus: Path) -> dict[str, int]:
    """The README's table: file name → entries feedparser reads."""
    readme = (corpus / "README.md").read_text(encoding="utf-8")
    return {m[1]: int(m[2]) for m in re.finditer(r"^\| ([\w.-]+\.(?:rss|atom)) \| (\d+) \|", readme, re.M)}


# Named, not listed from disk, so a missing corpus shows as failures in CI rather than no tests.
CORPUS_FEEDS = [*sorted(ENTRIES), "unrecognized.rss"]


def test_corpus_readme_lists_every_feed(corpus: Path) -> None:
    assert sorted(_corpus_counts(corpus)) == sorted(p.name for p in (corpus / "feeds").iterdir())


@pytest.mark.parametrize("name", CORPUS_FEEDS)
async def test_corpus_feed(server: SourcesServer, fetcher: AiohttpFetcher, corpus: Path, name: str) -> None:
    data = (corpus / "feeds" / name).read_bytes()
    server.serve(f"/{name}", data, content_type=None)
    expected = _corpus_counts(corpus)[name]
    if expected == 0:
        with pytest.raises(FeedError, match="isn't an RSS or Atom feed"):
            await fetch_feed(fetcher, server.url(f"/{name}"))
        return

    result = await fetch_feed(fetcher, server.url(f"/{name}"))
    assert len(result.items) == expected
    raw = feedparser.parse(data).entries  # which entries carry a link at all
    for item, entry in zip(result.items, raw, strict=True):
        assert item.title.strip()
        assert len(item.title) <= 300
        assert len(item.summary) <= 500
        assert item.source
        has_link = any(str(link.get("href", "")).startswith(("http", "/")) for link in entry.get("links", []))
        if has_link:
            assert item.url is not None
            assert item.url.startswith(("http://", "https://"))
        if item.published_at is not None:
            assert item.published_at.tzinfo is not None
