"""Feed discovery and OPML import/export: the parser against real readers' exports and hostile
files, discovery over a real local HTTP server, and the commands through the console (chat
commands) and the CLI (a real process)."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

from adapters.console.platform import COMMUNITY
from bot.sources.discovery import discover_feed, feed_links
from bot.sources.errors import FeedError
from bot.sources.http import AiohttpFetcher, FetchError, HttpResponse
from bot.sources.opml import MAX_FEEDS, OpmlError, parse_opml
from bot.subscriptions import export_feeds
from storage.store import SQLiteStore
from tests.conftest import Harness
from tests.sources_server import SourcesServer
from tests.test_commands import rss_document

OPML_DIR = Path(__file__).parent / "opml"


def opml_file(name: str, base: str = "https://x.example") -> bytes:
    return (OPML_DIR / name).read_bytes().replace(b"{base}", base.encode())


# --- parsing: two readers' exports -----------------------------------------------------------


def test_a_feedly_export_is_flattened_with_titles_and_folders() -> None:
    document = parse_opml(opml_file("feedly.opml"))
    assert document.title == "Ana subscriptions in feedly Cloud"
    assert [(f.title, f.folder) for f in document.feeds] == [
        ("Village Gazette", "Village"),
        ("Harbour Herald", "Village"),
        ("Gazette again", "Elsewhere"),
        ("Gone", "Elsewhere"),
        ("A page", "Elsewhere"),
        ("Gopher", "Elsewhere"),
    ]
    assert document.feeds[0].url == "https://x.example/gazette.xml"
    assert document.feeds[0].html_url == "https://gazette.example/"


def test_a_netnewswire_export_in_latin1_keeps_its_accents() -> None:
    document = parse_opml(opml_file("netnewswire.opml"))
    assert [(f.title, f.url, f.folder) for f in document.feeds] == [
        ("Café Notes", "https://cafe.example/feed.xml", None),
        ("Tools", "https://tools.example/atom", None),
    ]


# --- parsing: hostile files ------------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE opml [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<opml version="2.0"><body><outline text="&lol9;" xmlUrl="https://x.example/&lol9;"/></body></opml>"""


def test_billion_laughs_is_refused_before_any_expansion() -> None:
    with pytest.raises(OpmlError, match="declares XML entities"):
        parse_opml(BILLION_LAUGHS)


async def test_an_external_entity_is_refused_and_never_fetched(server: SourcesServer) -> None:
    server.serve("/secret", "top secret", content_type="text/plain")
    for declaration in (
        f'<!ENTITY xxe SYSTEM "{server.url("/secret")}">',
        '<!ENTITY xxe SYSTEM "file:///etc/hostname">',
        f'<!ENTITY % remote SYSTEM "{server.url("/secret")}"> %remote;',
    ):
        document = (
            f'<?xml version="1.0"?><!DOCTYPE opml [{declaration}]><opml version="2.0"><body>'
            '<outline text="&xxe;" xmlUrl="https://x.example/feed"/></body></opml>'
        ).encode()
        with pytest.raises(OpmlError):
            await asyncio.to_thread(parse_opml, document)
    assert server.requests == []


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"this is not xml at all", "not well-formed XML"),
        (b"<opml><body><outline xmlUrl='https://x.example/'></body></opml>", "not well-formed XML"),
        (b'<?xml version="1.0"?><rss version="2.0"><channel/></rss>', "not OPML"),
        (b"   \n", "empty"),
        (b"<opml><body>" + b"<outline text='f'>" * 100 + b"</outline>" * 100 + b"</body></opml>", "nested"),
    ],
)
def test_what_is_not_an_opml_file_is_named(data: bytes, problem: str) -> None:
    with pytest.raises(OpmlError, match=problem):
        parse_opml(data)


def test_ten_thousand_outlines_are_refused_as_too_many() -> None:
    outlines = "".join(
        f'<outline type="rss" text="F{n}" xmlUrl="https://x.example/{n}"/>' for n in range(10_000)
    )
    with pytest.raises(OpmlError, match=f"more than {MAX_FEEDS} feeds"):
        parse_opml(f'<opml version="2.0"><body>{outlines}</body></opml>'.encode())
    exactly = "".join(f'<outline xmlUrl="https://x.example/{n}"/>' for n in range(MAX_FEEDS))
    assert len(parse_opml(f"<opml><body>{exactly}</body></opml>".encode()).feeds) == MAX_FEEDS


# --- discovery -------------------------------------------------------------------------------


def page_linking(*links: str, base: str = "") -> str:
    head = "".join(links)
    return (
        f"<!doctype html><html><head><title>Village Gazette</title>{base}{head}</head>"
        "<body><h1>Welcome</h1>"
        "<link rel='alternate' type='application/rss+xml' href='/late.xml'></body></html>"
    )


def test_feed_links_in_document_order_resolved_against_base() -> None:
    html = page_linking(
        '<link rel="stylesheet" href="/s.css">',
        '<link rel="alternate" type="application/json" href="/wp-json/wp/v2/pages/2">',  # REST API, no feed
        '<link rel="alternate" type="application/feed+json" href="feed.json" title="JSON">',
        '<link rel="Alternate" type="application/atom+xml; charset=utf-8" href="atom.xml" title="Atom">',
        '<link rel="alternate" type="application/rss+xml" href="https://other.example/rss">',
        '<link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">',
        base='<base href="/blog/">',
    )
    links = feed_links(html.encode(), "https://site.example/index.html")
    assert [(link.url, link.type) for link in links] == [
        ("https://site.example/blog/feed.json", "application/feed+json"),
        ("https://site.example/blog/atom.xml", "application/atom+xml"),
        ("https://other.example/rss", "application/rss+xml"),
        ("https://site.example/late.xml", "application/rss+xml"),
    ]


async def test_discovery_takes_the_first_readable_feed_and_names_the_others(
    server: SourcesServer, fetcher: AiohttpFetcher
) -> None:
    server.serve("/", page_linking(
        '<link rel="alternate" type="application/rss+xml" href="/feed.xml" title="Posts">',
        '<link rel="alternate" type="application/rss+xml" href="comments/feed.xml" title="Comments">',
    ), content_type="text/html; charset=utf-8")  # fmt: skip
    server.serve("/feed.xml", rss_document([2, 1], title="Village Gazette"))
    found = await discover_feed(fetcher, server.url("/"))
    assert found.page == server.url("/")
    assert found.feed_url == server.url("/feed.xml")
    assert found.feed.title == "Village Gazette" and len(found.feed.entries) == 2
    assert [link.url for link in found.others] == [server.url("/comments/feed.xml"), server.url("/late.xml")]
    assert server.requests_to("/comments/feed.xml") == []  # named, not fetched


async def test_discovery_of_a_feed_url_reads_it_once(server: SourcesServer, fetcher: AiohttpFetcher) -> None:
    server.serve("/feed.xml", rss_document([1], title="Village Gazette"))
    found = await discover_feed(fetcher, server.url("/feed.xml"))
    assert found.page is None and found.feed_url == server.url("/feed.xml")
    assert len(server.requests_to("/feed.xml")) == 1


async def test_a_page_without_feed_links_says_so(server: SourcesServer, fetcher: AiohttpFetcher) -> None:
    server.serve("/plain", "<!doctype html><html><head><title>x</title></head><body>Hi</body></html>",
                 content_type="text/html")  # fmt: skip
    with pytest.raises(FeedError, match="no feed found on that page"):
        await discover_feed(fetcher, server.url("/plain"))
    server.serve("/json-only", "<html><head><link rel=alternate type=application/feed+json href=/f.json>"
                 "</head></html>", content_type="text/html")  # fmt: skip
    with pytest.raises(FeedError, match="only to a JSON Feed"):
        await discover_feed(fetcher, server.url("/json-only"))


class PageThenPublicOnly:
    """The page comes from the local test server (as if it were a public site); every other
    URL goes through a fetcher that refuses private addresses, as in production."""

    def __init__(self, page: str, local: AiohttpFetcher, public: AiohttpFetcher) -> None:
        self.page, self.local, self.public = page, local, public

    async def get(self, url: str, headers: Mapping[str, str] | None = None) -> HttpResponse:
        return await (self.local if url == self.page else self.public).get(url, headers)


@pytest.mark.parametrize(
    "target", ["http://169.254.169.254/latest/meta-data/", "http://10.0.0.7/feed", "http://localhost/feed"]
)
async def test_a_discovered_private_address_is_refused(
    server: SourcesServer, fetcher: AiohttpFetcher, target: str
) -> None:
    server.serve("/", page_linking(f'<link rel="alternate" type="application/rss+xml" href="{target}">'),
                 content_type="text/html")  # fmt: skip
    async with AiohttpFetcher(timeout=5) as public:
        with pytest.raises(FetchError, match="refused"):
            await discover_feed(PageThenPublicOnly(server.url("/"), fetcher, public), server.url("/"))


# --- the commands on the console -------------------------------------------------------------


async def test_feed_add_of_a_page_subscribes_to_the_feed_it_links(
    harness: Harness, server: SourcesServer
) -> None:
    h = harness
    server.serve("/", page_linking('<link rel="alternate" type="application/rss+xml" href="/feed.xml">'),
                 content_type="text/html")  # fmt: skip
    server.serve("/feed.xml", rss_document([3, 2, 1], title="Village Gazette"))
    answer = await h.command(f"feed add {server.url('/')} #news")
    assert answer.ok, answer.text
    assert f"Found the feed {server.url('/feed.xml')} on {server.url('/')}" in answer.text
    assert f"The page also links to: {server.url('/late.xml')}" in answer.text
    assert "Subscribed #news to Village Gazette" in answer.text and "posted 0, remembered 3" in answer.text
    [feed] = await h.store.list_feeds(COMMUNITY)
    assert feed.url == server.url("/feed.xml") and feed.channel_id == "news"
    # The page again: the feed it leads to is followed already.
    again = await h.command(f"feed add {server.url('/')} #news")
    assert not again.ok and f"#news already follows {server.url('/feed.xml')} (feed {feed.id})" in again.text
    assert len(await h.store.list_feeds(COMMUNITY)) == 1


def serve_feedly_world(server: SourcesServer) -> str:
    base = server.url("").rstrip("/")
    server.serve("/gazette.xml", rss_document([12, 11, 10], title="Village Gazette"))
    server.serve("/herald.xml", rss_document([5, 4], title="Harbour Herald"))
    server.serve("/page.html", "<!doctype html><html><body>no feed</body></html>", content_type="text/html")
    server.serve("/subs.opml", opml_file("feedly.opml", base), content_type="text/x-opml")
    return server.url("/subs.opml")


async def test_feed_import_reports_added_duplicates_and_refused_and_posts_nothing(
    harness: Harness, server: SourcesServer
) -> None:
    h = harness
    url = serve_feedly_world(server)
    server.serve("/old.xml", rss_document([1], title="Old"))
    assert (await h.command(f"feed add {server.url('/herald.xml')} #news")).ok
    [herald] = await h.store.list_feeds(COMMUNITY)

    answer = await h.command(f"feed import {url} #news")

    assert answer.ok, answer.text
    text = answer.text
    assert f"Imported {url} into #news." in text
    assert "Added 1, skipped 2 as duplicates, refused 3." in text
    feeds = {f.url: f for f in await h.store.list_feeds(COMMUNITY)}
    gazette = feeds[server.url("/gazette.xml")]
    assert f"  {gazette.id}. Village Gazette · {server.url('/gazette.xml')}" in text
    assert f"{server.url('/herald.xml')} · already followed here (feed {herald.id})" in text
    assert "gazette.xml?utm_source=feedly · listed twice in the file" in text
    assert f"{server.url('/gone.xml')}: HTTP 404" in text
    assert f"{server.url('/page.html')}: this isn't an RSS or Atom feed" in text
    assert "gopher://old.example/feed: not a valid http(s) URL" in text
    assert set(feeds) == {server.url("/herald.xml"), server.url("/gazette.xml")}
    assert gazette.channel_id == "news" and gazette.backlog == 0 and gazette.primed
    # Nothing posted; what the feed holds is remembered as seen.
    assert [m for m in h.platform.state.messages.values() if m.opens_thread] == []
    keys = [f"guid:gazette.example#gazette-story-{n}" for n in (10, 11, 12)]
    assert await h.store.unseen_item_keys(gazette.id, keys) == set()
    assert len(server.requests_to("/gazette.xml")) == 1  # fetched once, not once per listing

    # Importing again adds nothing.
    again = await h.command(f"feed import {url} #news")
    assert "Added 0, skipped 3 as duplicates, refused 3." in again.text
    assert len(await h.store.list_feeds(COMMUNITY)) == 2


async def test_feed_import_of_hostile_or_missing_files_changes_nothing(
    harness: Harness, server: SourcesServer
) -> None:
    h = harness
    server.serve("/laughs.opml", BILLION_LAUGHS, content_type="text/x-opml")
    server.serve("/empty.opml", "<opml><body><outline text='folder'/></body></opml>", content_type="text/xml")
    for path, problem in [
        ("/laughs.opml", "declares XML entities"),
        ("/nothing.opml", "HTTP 404"),
        ("/empty.opml", "lists no feeds"),
    ]:
        answer = await h.command(f"feed import {server.url(path)}")
        assert not answer.ok and problem in answer.text, answer.text
    answer = await h.command("feed import ftp://x.example/subs.opml")
    assert not answer.ok and "Usage: feed import <url> [#channel]" in answer.text
    assert await h.store.list_feeds(COMMUNITY) == []


async def test_feed_import_and_export_are_for_moderators(harness: Harness, server: SourcesServer) -> None:
    url = serve_feedly_world(server)
    for line in (f"feed import {url}", "feed export"):
        answer = await harness.command(line, user="ana")
        assert not answer.ok and "Only moderators" in answer.text
    assert server.requests_to("/subs.opml") == []


async def test_feed_export_round_trips_and_masks_credentials(
    harness: Harness, server: SourcesServer, tmp_path: Path
) -> None:
    h = harness
    serve_feedly_world(server)
    assert (await h.command(f"feed add {server.url('/gazette.xml')} #news")).ok
    # A private feed, stored directly (its credentials would be refused by the test server).
    secret = "https://ana:hunter2@private.example/feed?token=abc123"
    await h.store.add_feed(COMMUNITY, "members", secret, prompt=None, backlog=0, interval_seconds=900,
                           now=h.clock.now())  # fmt: skip

    answer = await h.command("feed export")

    assert answer.ok and answer.attachment is not None
    assert answer.attachment.filename == "threadcast-feeds.opml"
    assert "2 feeds of 2 channel(s)" in answer.text
    assert "1 feed addresses hold a password or token" in answer.text
    opml = answer.attachment.content
    assert b"hunter2" not in opml and b"abc123" not in opml
    document = parse_opml(opml)
    assert [(f.folder, f.url, f.title) for f in document.feeds] == [
        (
            "#members",
            "https://ana:****@private.example/feed?token=****",
            "https://ana:****@private.example/feed?token=****",
        ),
        ("#news", server.url("/gazette.xml"), "Village Gazette"),
    ]
    assert "hunter2" not in h.out.getvalue()  # the console shows the attachment: masked too

    # Without the private feed (whose host a test may not resolve), the export imports into a
    # fresh channel: the feed comes back.
    [private] = [f for f in await h.store.list_feeds(COMMUNITY) if f.channel_id == "members"]
    await h.store.remove_feed(private.id)
    exported = await h.command("feed export")
    assert exported.attachment is not None
    server.serve("/export.opml", exported.attachment.content, content_type="text/x-opml")
    back = await h.command(f"feed import {server.url('/export.opml')} #copy")
    assert "Added 1, skipped 0 as duplicates, refused 0." in back.text, back.text
    assert {f.channel_id for f in await h.store.list_feeds(COMMUNITY)} == {"news", "copy"}


def test_export_can_include_secrets_for_the_operator() -> None:
    from datetime import UTC, datetime

    from bot.models import Feed

    now = datetime(2026, 1, 1, tzinfo=UTC)
    feed = Feed(1, COMMUNITY, "news", "https://u:pw@x.example/f", None, None, 0, 900, None, None, None, None,
                None, 0, now, 0, True, now)  # fmt: skip
    full = export_feeds([feed], COMMUNITY, now=now, include_secrets=True)
    assert b"u:pw@" in full.opml and (full.secrets, full.masked) == (1, 0)
    masked = export_feeds([feed], COMMUNITY, now=now)
    assert b"u:****@" in masked.opml and (masked.secrets, masked.masked) == (1, 1)


# --- the CLI, a real process -----------------------------------------------------------------


async def threadcast(*args: str, cwd: Path) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("THREADCAST_", "DISCORD_", "SLACK_"))}
    env["THREADCAST_ALLOW_PRIVATE_URLS"] = "true"  # the feeds are on the local test server
    env["THREADCAST_LOG_LEVEL"] = "WARNING"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, cwd=cwd, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@pytest.mark.slow
async def test_cli_feeds_import_then_export(server: SourcesServer, tmp_path: Path) -> None:
    serve_feedly_world(server)
    subs = tmp_path / "subs.opml"
    subs.write_bytes(opml_file("feedly.opml", server.url("").rstrip("/")))
    db = tmp_path / "t.db"

    code, out, err = await threadcast("feeds", "import", str(subs), "#news", "--db", str(db), cwd=tmp_path)
    assert code == 0, err
    assert f"Imported {subs} into #news of console:local." in out
    assert "Added 2, skipped 1 as duplicates, refused 3." in out

    code, out, err = await threadcast("feeds", "export", "--db", str(db), "-o", "out.opml", cwd=tmp_path)
    assert code == 0, err
    assert "wrote 2 feeds of 1 channels to out.opml" in err
    exported = parse_opml((tmp_path / "out.opml").read_bytes())
    assert {(f.folder, f.url) for f in exported.feeds} == {
        ("#news", server.url("/gazette.xml")), ("#news", server.url("/herald.xml")),
    }  # fmt: skip

    store = SQLiteStore(db)
    await store.open()
    try:
        assert all(f.primed and f.items_posted == 0 for f in await store.list_feeds(COMMUNITY))
    finally:
        await store.close()

    (tmp_path / "bad.opml").write_bytes(BILLION_LAUGHS)
    code, out, err = await threadcast("feeds", "import", "bad.opml", "--db", str(db), cwd=tmp_path)
    assert code == 1 and "cannot import bad.opml: it declares XML entities" in err
    code, out, err = await threadcast(
        "feeds", "export", "--community", "nonsense", "--db", str(db), cwd=tmp_path
    )
    assert code == 2 and "PLATFORM:ID" in err


async def test_a_feed_served_as_text_html_is_still_read_as_a_feed(
    server: SourcesServer, fetcher: AiohttpFetcher
) -> None:
    server.serve("/feed", rss_document([2, 1], title="Village Gazette"), content_type="text/html")
    found = await discover_feed(fetcher, server.url("/feed"))
    assert found.page is None and found.feed.title == "Village Gazette"
    assert len(server.requests_to("/feed")) == 1
