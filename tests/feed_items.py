"""An RSS feed of chosen items (title, summary, categories), for the feed-controls tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from xml.sax.saxutils import escape


@dataclass(frozen=True)
class Item:
    slug: str
    title: str
    summary: str = "An item of the gazette."
    categories: tuple[str, ...] = ()
    hour: int = 0  # published this many hours after 2026-01-01


def rss(items: list[Item], *, title: str = "Village Gazette") -> str:
    entries = []
    for item in items:
        published = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=item.hour)
        categories = "".join(f"<category>{escape(c)}</category>" for c in item.categories)
        entries.append(
            f"<item><title>{escape(item.title)}</title><link>https://gazette.example/{item.slug}</link>"
            f'<guid isPermaLink="false">gazette-{item.slug}</guid>'
            f"<pubDate>{published:%a, %d %b %Y %H:%M:%S} +0000</pubDate>{categories}"
            f"<description>{escape(item.summary)}</description></item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>{title}</title><link>https://gazette.example/</link><description>News</description>"
        + "".join(entries)
        + "</channel></rss>"
    )


OLD = Item("old", "Harbour wall repaired", hour=1)
RUST = Item("rust", "Rust workshop at the library", "Learn the basics.", ("programming",), hour=5)
SPONSORED = Item("ad", "Sponsored: the best lawn mowers", "Buy now.", ("shopping",), hour=4)
ELECTION = Item("vote", "Council election results", "Turnout was high.", ("politics",), hour=3)
NEW_ITEMS = [RUST, SPONSORED, ELECTION, OLD]  # newest first, as feeds list them
