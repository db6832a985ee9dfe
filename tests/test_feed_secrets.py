"""A private feed's credentials (https://user:password@host/feed, or a token in its query) are
used to fetch it and never shown or logged: not in `feed list` or any answer, not in a log
line at DEBUG (the SQL that stores the address included), not when the feed fails."""

from __future__ import annotations

import base64
import logging
from datetime import timedelta

import pytest

from bot.redact import mask_url
from tests.conftest import Harness
from tests.sources_server import SourcesServer
from tests.test_commands import rss_document

PASSWORD = "feed-Pa55word-q8Zr"
TOKEN = "tok-7Hq2xLm9Wv"


def private_url(server: SourcesServer, path: str) -> str:
    return server.url(path).replace("http://", f"http://reader:{PASSWORD}@", 1) + f"?token={TOKEN}&page=1"


def leaked(text: str) -> list[str]:
    return [secret for secret in (PASSWORD, TOKEN) if secret in text]


def logged(caplog: pytest.LogCaptureFixture) -> str:
    """Every record as a handler would write it: message, arguments and traceback."""
    formatter = logging.Formatter("%(levelname)s %(name)s: %(message)s")
    # aiohttp.access is the test server's own access log, not threadcast's.
    return "\n".join(formatter.format(r) for r in caplog.records if r.name != "aiohttp.access")


async def test_a_private_feed_is_fetched_with_its_credentials_and_never_shows_them(
    harness: Harness, server: SourcesServer, caplog: pytest.LogCaptureFixture
) -> None:
    server.serve("/private.xml", rss_document([1, 2], title=""))  # no title: the address names it
    url = private_url(server, "/private.xml")
    with caplog.at_level(logging.DEBUG):
        added = await harness.command(f"feed add {url} backlog 1")
        again = await harness.command(f"feed add {url}")
        listed = await harness.command("feed list")
        server.serve("/private.xml", "gone", status=500)
        harness.clock.advance(timedelta(hours=2))
        await harness.services.scheduler.run_once()
        failing = await harness.command("feed list")
    assert added.ok, added.text
    assert "already follows" in again.text
    assert "reader:****@127.0.0.1" in listed.text and "token=****&page=1" in listed.text, listed.text
    assert "HTTP 500" in failing.text, failing.text
    for answer in (added, again, listed, failing):
        assert leaked(answer.text) == [], answer.text
    assert "DEBUG" in logged(caplog) and "INSERT INTO feeds" in logged(caplog)  # the SQL is traced
    assert leaked(logged(caplog)) == [], logged(caplog)
    # The credentials were used all the same.
    sent = server.requests_to("/private.xml")[0].headers["authorization"]
    assert base64.b64decode(sent.removeprefix("Basic ")).decode() == f"reader:{PASSWORD}"


def test_mask_url_hides_passwords_and_credential_parameters_only() -> None:
    assert (
        mask_url(f"https://reader:{PASSWORD}@feeds.example/a.xml")
        == "https://reader:****@feeds.example/a.xml"
    )
    assert mask_url(f"https://feeds.example/a.xml?page=2&Token={TOKEN}#top") == (
        "https://feeds.example/a.xml?page=2&Token=****#top"
    )
    assert mask_url(f"http://u:{PASSWORD}@[::1") == "http://u:****@[::1"  # malformed: masked, no error
    assert mask_url("https://feeds.example/a.xml?q=news") == "https://feeds.example/a.xml?q=news"
    assert mask_url("not a url") == "not a url"
