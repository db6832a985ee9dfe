"""Web pages (over a real local server), local files, and load_article's choice between them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.sources import FetchError, SourceError, load_article
from bot.sources.files import read_article_file
from bot.sources.http import AiohttpFetcher
from bot.sources.pages import fetch_page
from tests.sources_server import SourcesServer

STORY_PARAGRAPHS = (
    "<p>The town library will stay open until ten every weekday from next month, the council "
    "announced on Tuesday after a year of requests from students and shift workers.</p>"
    "<p>Longer hours are paid for by a grant from the regional culture fund, which also covers two "
    "new part-time posts at the front desk and a refurbished reading room.</p>"
    "<p>Librarians say evening visits have tripled since a trial in the spring.</p>"
)


def page(head: str, body: str = STORY_PARAGRAPHS) -> str:
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'>{head}</head>"
        f"<body><nav><a href='/'>Home</a> <a href='/news'>News</a></nav>"
        f"<article><h1>Heading in the body</h1>{body}</article>"
        f"<footer>Copyright 2024 Example Media. All rights reserved.</footer></body></html>"
    )


# --- pages ------------------------------------------------------------------------


async def test_opengraph_metadata_wins(server: SourcesServer, fetcher: AiohttpFetcher) -> None:
    head = (
        "<title>Library hours | Town Times</title>"
        "<meta property='og:title' content='Library to open late on weekdays'>"
        "<meta property='og:description' content='Evening hours start next month.'>"
        "<meta name='description' content='Not this one.'>"
        "<meta property='og:site_name' content='Town Times'>"
        "<meta property='article:published_time' content='2024-03-05T10:20:00+01:00'>"
        "<link rel='canonical' href='/news/library-hours'>"
    )
    server.serve("/news/library-hours?utm_source=x", page(head), content_type="text/html; charset=utf-8")
    server.serve("/news/library-hours", page(head), content_type="text/html; charset=utf-8")
    draft = await fetch_page(fetcher, server.url("/news/library-hours?utm_source=x"))

    assert draft.title == "Library to open late on weekdays"
    assert draft.summary == "Evening hours start next month."
    assert draft.source == "Town Times"
    assert draft.url == server.url("/news/library-hours")  # the canonical URL, made absolute
    assert draft.published_at == datetime(2024, 3, 5, 9, 20, tzinfo=UTC)
    accept = server.requests_to("/news/library-hours")[0].headers["accept"]
    assert accept.startswith("text/html")


async def test_title_tag_and_main_text_when_there_is_no_metadata(
    server: SourcesServer, fetcher: AiohttpFetcher
) -> None:
    server.serve("/plain", page("<title>Library to open late</title>"), content_type="text/html")
    draft = await fetch_page(fetcher, server.url("/plain"))

    assert draft.title == "Library to open late"
    assert draft.source == "127.0.0.1"
    assert draft.url == server.url("/plain")
    # The excerpt comes from the article text: not the navigation, not the footer.
    assert draft.summary.startswith("The town library will stay open until ten every weekday")
    assert len(draft.summary) <= 400
    assert "Home" not in draft.summary
    assert "rights reserved" not in draft.summary


async def test_title_loses_the_site_name_suffix(server: SourcesServer, fetcher: AiohttpFetcher) -> None:
    head = (
        "<title>Library to open late – Town Times</title><meta property='og:site_name' content='Town Times'>"
    )
    server.serve("/suffix", page(head), content_type="text/html")
    draft = await fetch_page(fetcher, server.url("/suffix"))
    assert draft.title == "Library to open late"


async def test_canonical_on_another_site_is_ignored(server: SourcesServer, fetcher: AiohttpFetcher) -> None:
    head = "<title>x</title><link rel='canonical' href='https://elsewhere.example/steal'>"
    server.serve("/mine", page(head), content_type="text/html")
    draft = await fetch_page(fetcher, server.url("/mine"))
    assert draft.url == server.url("/mine")


async def test_redirected_page_reports_the_final_url(server: SourcesServer, fetcher: AiohttpFetcher) -> None:
    server.redirect("/short", "/long-article-url", status=301)
    server.serve("/long-article-url", page("<title>Moved article</title>"), content_type="text/html")
    draft = await fetch_page(fetcher, server.url("/short"))
    assert draft.url == server.url("/long-article-url")


async def test_legacy_charset_from_meta_tag(server: SourcesServer, fetcher: AiohttpFetcher) -> None:
    html = (
        "<html><head><meta http-equiv='Content-Type' content='text/html; charset=windows-1252'>"
        "<title>“Café” reopens – finally</title></head><body><p>Text.</p></body></html>"
    )
    server.serve("/cp1252", html.encode("cp1252"), content_type="text/html")
    draft = await fetch_page(fetcher, server.url("/cp1252"))
    assert draft.title == "“Café” reopens – finally"


async def test_feed_url_given_as_a_page_says_use_feed_add(
    server: SourcesServer, fetcher: AiohttpFetcher
) -> None:
    rss = '<?xml version="1.0"?><rss version="2.0"><channel><title>x</title></channel></rss>'
    server.serve("/feed.xml", rss, content_type="application/rss+xml")
    server.serve("/mislabelled", rss, content_type="text/html")
    for path in ("/feed.xml", "/mislabelled"):
        with pytest.raises(SourceError, match="feed add") as caught:
            await fetch_page(fetcher, server.url(path))
        assert str(caught.value).startswith(server.url(path))


@pytest.mark.parametrize("content_type", ["application/pdf", "image/png", "application/json", None])
async def test_non_html_content_is_refused(
    server: SourcesServer, fetcher: AiohttpFetcher, content_type: str | None
) -> None:
    server.serve("/file", b"%PDF-1.7 \x00\x01\x02 binary", content_type=content_type)
    with pytest.raises(SourceError, match="not a web page") as caught:
        await fetch_page(fetcher, server.url("/file"))
    assert str(caught.value).startswith(server.url("/file"))


async def test_plain_text_url_is_read_as_an_article(server: SourcesServer, fetcher: AiohttpFetcher) -> None:
    text = (
        "The ferry timetable changes on Monday. Morning boats leave earlier.\nTell us in the comments below!"
    )
    server.serve("/notes.txt", text, content_type="text/plain; charset=utf-8")
    draft = await fetch_page(fetcher, server.url("/notes.txt"))
    assert draft.title == "The ferry timetable changes on Monday."
    assert draft.summary == "The ferry timetable changes on Monday. Morning boats leave earlier."
    assert draft.url == server.url("/notes.txt")


async def test_page_errors(server: SourcesServer, fetcher: AiohttpFetcher) -> None:
    server.serve("/empty", b"", content_type="text/html")
    with pytest.raises(SourceError, match="the page is empty"):
        await fetch_page(fetcher, server.url("/empty"))
    with pytest.raises(FetchError, match="HTTP 404"):
        await fetch_page(fetcher, server.url("/missing"))
    server.serve("/bare", "<html><body></body></html>", content_type="text/html")
    with pytest.raises(SourceError, match="neither a title nor any text"):
        await fetch_page(fetcher, server.url("/bare"))


# --- files ------------------------------------------------------------------------

ARTICLE_TEXT = (
    "Volunteers planted four hundred trees along the river path on Saturday, finishing a project "
    "that began with a single petition three years ago.\n"
    "The saplings are native oak and alder, chosen to hold the bank together during spring floods.\n"
    "Greenway Supplies is the leading provider of sustainable gardening tools and services, "
    "available free of charge to registered community groups.\n"
    "Have you planted trees in your neighbourhood? Share your experiences in the comments below.\n"
)


async def test_txt_file(tmp_path: Path) -> None:
    path = tmp_path / "river-trees.txt"
    path.write_text(ARTICLE_TEXT, encoding="utf-8")
    draft = await read_article_file(path)
    assert draft.title.startswith("Volunteers planted four hundred trees along the river path")
    assert len(draft.title) <= 100
    assert draft.source == "river-trees.txt"
    assert draft.url is None
    assert "oak and alder" in draft.summary
    assert "Greenway" not in draft.summary
    assert "comments" not in draft.summary


async def test_markdown_with_front_matter(tmp_path: Path) -> None:
    path = tmp_path / "post.md"
    path.write_text(
        "---\n"
        "title: Trees along the river\n"
        "url: https://news.example/trees\n"
        "source: River News\n"
        "published: 2024-04-06T09:30:00+02:00\n"
        "---\n"
        "# A heading that is not the title\n\n"
        "Volunteers planted **four hundred** trees along the [river path](https://x.example/path) on "
        "Saturday.\n\n"
        "![a photo](photo.jpg)\n\n"
        "```\ncode that is not prose\n```\n\n"
        "- Oak\n- Alder\n",
        encoding="utf-8",
    )
    draft = await read_article_file(path)
    assert draft.title == "Trees along the river"
    assert draft.url == "https://news.example/trees"
    assert draft.source == "River News"
    assert draft.published_at == datetime(2024, 4, 6, 7, 30, tzinfo=UTC)
    # The heading opening the body is no excerpt; list items stay apart.
    assert draft.summary == (
        "Volunteers planted four hundred trees along the river path on Saturday.\nOak\nAlder"
    )
    for markup in ("**", "](", "![", "```", "code that is not prose"):
        assert markup not in draft.summary


async def test_markdown_without_front_matter_uses_its_heading(tmp_path: Path) -> None:
    path = tmp_path / "notes.md"
    path.write_text(
        "# Trees along the *river*\n\nVolunteers planted trees on Saturday.\nThey were oaks.\n",
        encoding="utf-8",
    )
    draft = await read_article_file(path)
    assert draft.title == "Trees along the river"
    assert draft.summary == "Volunteers planted trees on Saturday. They were oaks."
    assert draft.source == "notes.md"
    assert draft.published_at is None


async def test_markdown_with_setext_heading_and_date_only(tmp_path: Path) -> None:
    path = tmp_path / "setext.markdown"
    path.write_text("---\ndate: 2024-05-01\n---\nBig news\n========\n\nBody text here.\n", encoding="utf-8")
    draft = await read_article_file(path)
    assert draft.title == "Big news"
    assert draft.summary == "Body text here."
    assert draft.published_at == datetime(2024, 5, 1, tzinfo=UTC)


async def test_markdown_with_broken_front_matter(tmp_path: Path) -> None:
    path = tmp_path / "broken.md"
    path.write_text("---\ntitle: [unclosed\n---\nBody.\n", encoding="utf-8")
    with pytest.raises(SourceError, match=r"broken\.md: the front matter is not valid YAML"):
        await read_article_file(path)


async def test_html_file(tmp_path: Path) -> None:
    path = tmp_path / "saved.html"
    head = (
        "<title>Library to open late | Town Times</title>"
        "<meta property='og:site_name' content='Town Times'>"
        "<link rel='canonical' href='https://towntimes.example/library'>"
    )
    path.write_text(page(head), encoding="utf-8")
    draft = await read_article_file(path)
    assert draft.title == "Library to open late"
    assert draft.source == "Town Times"
    assert draft.url == "https://towntimes.example/library"
    assert draft.summary.startswith("The town library will stay open")


async def test_html_file_without_site_name_or_url(tmp_path: Path) -> None:
    path = tmp_path / "page.htm"
    path.write_text(page("<title>Late library</title>"), encoding="utf-8")
    draft = await read_article_file(path)
    assert (draft.title, draft.source, draft.url) == ("Late library", "page.htm", None)


async def test_text_file_with_bad_bytes_is_still_read(tmp_path: Path) -> None:
    path = tmp_path / "legacy.txt"
    path.write_bytes(
        "Caf\u00e9 owners say \u201cno\u201d to the new parking rules. More soon.".encode("cp1252")
    )
    draft = await read_article_file(path)
    assert draft.title == "Café owners say “no” to the new parking rules."
    broken = tmp_path / "broken.txt"
    broken.write_bytes(b"Invalid \xff\xfe\x80 bytes in a sentence. \x00\x01And more.")
    assert (await read_article_file(broken)).title.startswith("Invalid")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.txt", None, "no such file"),
        ("empty.txt", b"", "the file is empty"),
        ("blank.md", b"  \n\n\t\n", "the file is empty"),
        ("invisible.txt", "\u202e\u200b\x00\x07".encode(), "the article text is empty"),
        ("report.pdf", b"%PDF-1.7", "unsupported file type '.pdf'"),
        ("noextension", b"text", "unsupported file type '(none)'"),
    ],
)
async def test_file_errors_name_the_path(
    tmp_path: Path, name: str, content: bytes | None, message: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(SourceError) as caught:
        await read_article_file(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert message in str(caught.value)


async def test_directory_is_not_an_article(tmp_path: Path) -> None:
    folder = tmp_path / "folder.txt"
    folder.mkdir()
    with pytest.raises(SourceError, match="not a file"):
        await read_article_file(folder)


# --- load_article ---------------------------------------------------------------------


async def test_load_article_from_url_path_and_text(
    server: SourcesServer, fetcher: AiohttpFetcher, tmp_path: Path
) -> None:
    server.serve("/story", page("<title>Library to open late</title>"), content_type="text/html")
    from_url = await load_article(fetcher, f"  {server.url('/story')}  ")
    assert from_url.title == "Library to open late"

    path = tmp_path / "story.txt"
    path.write_text(ARTICLE_TEXT, encoding="utf-8")
    from_file = await load_article(fetcher, str(path))
    assert from_file.source == "story.txt"

    from_text = await load_article(fetcher, ARTICLE_TEXT)
    assert from_text.source == "posted by hand"
    assert from_text.title == from_file.title
    assert from_text.url is None


async def test_load_article_can_refuse_local_files(fetcher: AiohttpFetcher, tmp_path: Path) -> None:
    path = tmp_path / "secret.txt"
    path.write_text("Private notes. Not for chat.", encoding="utf-8")
    draft = await load_article(fetcher, str(path), allow_files=False)
    assert draft.title == str(path)  # taken as the text itself, the file is never read
    assert "Private" not in draft.summary


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("   ", "nothing to post"),
        ("ftp://files.example/article.txt", "only http:// and https:// links"),
        ("file:///etc/passwd", "only http:// and https:// links"),
    ],
)
async def test_load_article_refusals(fetcher: AiohttpFetcher, ref: str, message: str) -> None:
    with pytest.raises(SourceError, match=message):
        await load_article(fetcher, ref)


async def test_load_article_text_that_looks_like_nothing_on_disk(fetcher: AiohttpFetcher) -> None:
    long_line = "Residents met the mayor. Notes: " + "x" * 5000  # too long to be a path: no OSError leaks
    draft = await load_article(fetcher, long_line)
    assert draft.title == "Residents met the mayor."
    weird = await load_article(fetcher, "nul\x00byte in a sentence. Fine.")
    assert weird.title == "nulbyte in a sentence."
