"""A malformed URL is bad input: a "not a valid URL" answer, nothing stored, nothing logged as an
error, and no request or name lookup. Through the command registry, over real SQLite."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.sources import InvalidURL, parse_url
from tests.conftest import Harness
from tests.sources_server import SourcesServer
from tests.test_commands import db_rows

MALFORMED = [
    "http://[::1",  # a bracket that does not close (urlsplit: ValueError)
    "http://[zz]/",  # brackets around something that is no IP address
    "http://xn--/",  # an empty punycode label (IDNA decode fails)
    "http://xn--zz.example/",  # punycode that does not decode
    "http://a..b/",  # an empty label (IDNA encode fails at the resolver)
    "http://" + "a" * 64 + ".example/",  # a label over 63 characters
    "http://example.org:99999/",  # a port out of range
    "http://example.org:abc/",  # a port that is not a number
]


@pytest.mark.parametrize("url", MALFORMED)
@pytest.mark.parametrize("command", ["feed add", "post"])
async def test_a_malformed_url_is_answered_as_bad_input_and_logs_no_error(
    harness: Harness, tmp_path: Path, caplog: pytest.LogCaptureFixture, command: str, url: str
) -> None:
    db = tmp_path / "test.db"  # the conftest `store`'s file
    before = db_rows(db)
    with caplog.at_level(logging.DEBUG):
        answer = await harness.command(f"{command} {url}")
    assert not answer.ok
    assert f"{url[:80]!r} is not a valid URL" in answer.text, answer.text
    assert "failed on our side" not in answer.text
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    assert db_rows(db) == before


@pytest.mark.parametrize("url", MALFORMED)
def test_parse_url_refuses_what_would_fail_deeper(url: str) -> None:
    with pytest.raises(InvalidURL, match="not a valid URL"):
        parse_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://example.org/feed.xml",
        "https://münchen.example/feed",  # a Unicode host name
        "https://xn--mnchen-3ya.example/feed",  # the same, already encoded
        "https://example.org./feed",  # a fully qualified name
        "http://[2001:db8::1]:8080/feed",
        "http://192.0.2.1/feed",
    ],
)
def test_well_formed_urls_parse(url: str) -> None:
    assert parse_url(url).raw_host


async def test_a_redirect_to_a_malformed_url_is_a_fetch_error(
    harness: Harness, server: SourcesServer
) -> None:
    server.redirect("/hop", "http://[zz]/")
    answer = await harness.command(f"post {server.url('/hop')}")
    assert not answer.ok
    assert "redirected to an address that is not a valid URL" in answer.text, answer.text
