"""Article identity: the same article seen twice must get the same key."""

from __future__ import annotations

import hashlib

import pytest

from bot.identity import article_key, normalize_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTP://Example.COM/Path", "http://example.com/Path"),  # path case is meaningful
        ("https://example.com", "https://example.com/"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("http://example.com:80/a", "http://example.com/a"),
        ("https://example.com:8443/a", "https://example.com:8443/a"),
        ("http://example.com:443/a", "http://example.com:443/a"),  # not the default port for http
        ("https://example.com/a#section-2", "https://example.com/a"),
        (
            "https://example.com/a?utm_source=rss&id=7&UTM_Medium=feed&b=2&utm_campaign=x",
            "https://example.com/a?id=7&b=2",
        ),
        ("https://example.com/a?utm_source=rss", "https://example.com/a"),
        ("https://example.com/a?z=1&a=2", "https://example.com/a?z=1&a=2"),  # order kept
        ("https://example.com/a?q=caf%C3%A9&flag", "https://example.com/a?q=caf%C3%A9&flag"),
        ("https://example.com/a?utmost=1", "https://example.com/a?utmost=1"),  # only utm_ prefixed
        ("  https://example.com/a  ", "https://example.com/a"),
        ("https://User:Pw@Example.com:443/", "https://User:Pw@example.com/"),
        ("http://[2001:DB8::1]:80/x", "http://[2001:db8::1]/x"),
        ("https://example.com:notaport/x", "https://example.com:notaport/x"),
        ("not a url", "not a url"),
        ("mailto:someone@example.com", "mailto:someone@example.com"),
    ],
)
def test_normalize_url(url: str, expected: str) -> None:
    assert normalize_url(url) == expected


def test_normalize_url_is_idempotent() -> None:
    once = normalize_url("HTTPS://News.Example.org:443/story?utm_medium=x&p=1#top")
    assert once == "https://news.example.org/story?p=1"
    assert normalize_url(once) == once


def test_key_prefers_guid_then_url_then_text() -> None:
    assert article_key("  abc-123 ", "https://example.com/a", "text") == "guid:abc-123"
    assert article_key("   ", "https://Example.com/a#x", "text") == "url:https://example.com/a"
    assert article_key(None, None, "Some  text\n here") == (
        "sha256:" + hashlib.sha256(b"Some text here").hexdigest()
    )


def test_same_article_through_different_urls_gets_one_key() -> None:
    a = article_key(None, "https://example.com/story?utm_source=twitter", "")
    b = article_key(None, "https://EXAMPLE.com:443/story#comments", "")
    assert a == b


def test_text_key_ignores_whitespace_but_not_words() -> None:
    assert article_key(None, "", "one two") == article_key(None, None, " one\ttwo\n")
    assert article_key(None, None, "one two") != article_key(None, None, "one three")
