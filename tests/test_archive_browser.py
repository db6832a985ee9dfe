"""The archive in a real browser: headless Debian Chromium, driven over the
DevTools protocol, renders each page offline — structure, a chart whose bars
have the right number and heights on screen, no console error, no request to
anything but the site's own files — and takes the index's screenshot for the
README (written to docs/ when THREADCAST_WRITE_DOCS=1)."""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import struct
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest

from adapters.console.platform import COMMUNITY
from bot.archive import write_archive
from bot.digest import DigestBuilder
from bot.models import DigestSchedule
from storage.store import SQLiteStore
from tests.archive_data import NEVER_SHOWN, WEEK_A_REPLIES, History, write_history, write_site
from tests.cdp import Browser, Session, chromium

ROOT = Path(__file__).resolve().parents[1]
DOCS_SCREENSHOT = ROOT / "docs" / "archive-index.png"
WEEK_A = "digests/console-local-2026-10-30.html"


@pytest.fixture
def chromium_path() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("THREADCAST_CI"):
            pytest.fail("CI must run the browser tests, but chromium is not installed (.ci/run installs it)")
        pytest.skip("chromium is not installed (Debian: apt-get install chromium)")
    return found


@pytest.fixture
async def browser(chromium_path: str, tmp_path: Path) -> AsyncIterator[Browser]:
    async with chromium(chromium_path, tmp_path / "chromium-profile") as running:
        yield running


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> History:
    return asyncio.run(write_history(tmp_path_factory.mktemp("history") / "threadcast.db"))


@pytest.fixture(scope="module")
def site(history: History, tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("archive") / "site"
    asyncio.run(write_site(history, directory))
    return directory


def problems(page: Session) -> list[str]:
    """Console errors, uncaught exceptions, and requests that are not for a local file."""
    found = []
    for method, params in page.events:
        if method == "Runtime.exceptionThrown":
            found.append(f"exception: {params['exceptionDetails']}")
        elif method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
            found.append(f"console: {params['args']}")
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            found.append(f"log: {params['entry']['text']} {params['entry'].get('url', '')}")
        elif method == "Network.requestWillBeSent" and not params["request"]["url"].startswith("file://"):
            found.append(f"request: {params['request']['url']}")
        elif method == "Network.loadingFailed":
            found.append(f"failed: {params.get('errorText')}")
    return found


def requested(page: Session) -> list[str]:
    return [p["request"]["url"] for m, p in page.events if m == "Network.requestWillBeSent"]


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


async def screenshot(page: Session) -> bytes:
    shot = await page.send("Page.captureScreenshot", format="png", captureBeyondViewport=False)
    return base64.b64decode(shot["data"])


async def test_the_index_renders_offline_with_its_structure(browser: Browser, site: Path) -> None:
    page = await browser.new_page(width=1000, height=1200)
    await page.open((site / "index.html").as_uri())
    seen: dict[str, Any] = await page.evaluate("""(() => ({
        title: document.title,
        lang: document.documentElement.lang,
        h1: [...document.querySelectorAll('h1')].map(e => e.innerText),
        h2: [...document.querySelectorAll('main h2')].map(e => e.innerText),
        weeks: [...document.querySelectorAll('ol.weeks h3 a')].map(a => ({text: a.innerText, href: a.href})),
        links: [...document.querySelectorAll('a[href]')].map(
            a => new URL(a.getAttribute('href'), document.baseURI).href),
        bars: [...document.querySelectorAll('figure.overview rect.replies')].map(r => {
            const box = r.getBoundingClientRect();
            return {value: Number(r.dataset.value), height: box.height, width: box.width};
        }),
        background: getComputedStyle(document.body).backgroundColor,
        scripts: document.scripts.length,
    }))()""")
    assert seen["title"] == "Digests · threadcast archive" and seen["lang"] == "en"
    assert seen["h1"] == ["Community digests"] and seen["h2"] == ["Console · local"]
    assert [w["text"] for w in seen["weeks"]] == [
        "Week of Fri 20 Nov 2026 (so far)", "Week of Fri 6 Nov 2026", "Week of Fri 30 Oct 2026",
    ]  # fmt: skip
    files = await asyncio.to_thread(lambda: {p.as_uri() for p in site.rglob("*.html")})
    assert seen["links"] and {link.split("#")[0] for link in seen["links"]} <= files  # no web links here
    assert seen["background"] == "rgb(251, 250, 247)"  # the stylesheet applied
    assert seen["scripts"] == 0
    bars = seen["bars"]
    assert len(bars) == 4 and all(b["width"] > 5 for b in bars)
    tallest = max(bars, key=lambda b: b["value"])
    for bar in bars:
        assert bar["height"] == pytest.approx(tallest["height"] * bar["value"] / tallest["value"], abs=1)
    assert problems(page) == []
    assert set(requested(page)) == {(site / "index.html").as_uri(), (site / "style.css").as_uri()}

    shot = await screenshot(page)
    assert png_size(shot) == (1000, 1200) and len(shot) > 20_000  # a page, not a blank canvas

    # On a phone-sized screen nothing runs off the side.
    await page.send(
        "Emulation.setDeviceMetricsOverride", width=360, height=800, deviceScaleFactor=1, mobile=True
    )
    assert await page.evaluate("document.documentElement.scrollWidth") <= 360


async def test_a_digest_page_draws_one_bar_per_day_to_scale(browser: Browser, site: Path) -> None:
    page = await browser.new_page(width=900, height=1400)
    await page.open((site / WEEK_A).as_uri())
    seen: dict[str, Any] = await page.evaluate("""(() => {
        const svg = document.querySelector('figure.daily svg');
        const box = svg.getBoundingClientRect();
        const bars = cls => [...svg.querySelectorAll('rect.' + cls)].map(r => {
            const b = r.getBoundingClientRect();
            return {value: Number(r.dataset.value), height: b.height, width: b.width, bottom: b.bottom};
        });
        return {
            title: document.title,
            svg: {width: box.width, height: box.height, label: svg.getAttribute('aria-labelledby')},
            chartTitle: svg.querySelector('title').textContent,
            replies: bars('replies'),
            participants: bars('participants'),
            h2: [...document.querySelectorAll('main h2')].map(h => h.textContent),
            ranked: [...document.querySelectorAll('section.ranked article h3')].map(h => h.innerText),
            quotes: [...document.querySelectorAll('section.ranked blockquote')].map(q => q.innerText),
            folded: !document.querySelector('details').open,
            text: document.body.innerText,
        };
    })()""")
    assert seen["title"].startswith("Week of Fri 30 Oct 2026 — Console · local")
    assert seen["svg"]["width"] > 500 and seen["svg"]["height"] > 150
    assert seen["chartTitle"].startswith("Replies and participants per day")
    replies = seen["replies"]
    assert [b["value"] for b in replies] == list(WEEK_A_REPLIES)  # one bar per day of the period
    assert len(seen["participants"]) == len(WEEK_A_REPLIES)
    tallest = max(b["height"] for b in replies)
    assert tallest > 100
    for bar in replies:
        assert bar["height"] == pytest.approx(tallest * bar["value"] / max(WEEK_A_REPLIES), abs=1)
        assert bar["width"] > 10
    assert len({round(b["bottom"]) for b in replies}) == 1  # all standing on one baseline
    assert seen["h2"] == ["Figures", "Replies per day", "Top discussions", "Waiting for a first reply"]
    assert seen["ranked"][0].startswith("1. Night trains <script>alert(1)</script>")
    assert seen["quotes"][0].startswith("I took the night train in 2012")
    assert seen["folded"]  # the numbers are folded away until asked for
    for secret in NEVER_SHOWN:
        assert secret not in seen["text"]
    assert "@everyone" not in seen["text"]
    assert problems(page) == []


async def test_a_discussion_page_reads_in_order(browser: Browser, site: Path) -> None:
    page = await browser.new_page(width=800, height=1000)
    await page.open((site / "discussions" / "1.html").as_uri())
    seen: dict[str, Any] = await page.evaluate("""(() => ({
        h1: document.querySelector('h1').innerText,
        authors: [...document.querySelectorAll('li.reply .author')].map(a => a.innerText),
        crumbs: [...document.querySelectorAll('nav.crumbs a')].map(a => a.innerText),
        text: document.body.innerText,
    }))()""")
    assert seen["h1"].startswith("Night trains <script>alert(1)</script>")
    assert seen["authors"] == ["ana", "ben", "cat", "a member", "gus", "hal", "ana", "cat"]
    assert seen["crumbs"] == ["Console · local", "Week of Fri 30 Oct 2026"]
    for secret in NEVER_SHOWN:
        assert secret not in seen["text"]
    assert problems(page) == []


async def realistic_site(directory: Path) -> Path:
    """A realistic week for the screenshot: bot/demo/week.py's generated week
    when it is there, else the tests' own history."""
    try:
        from bot.demo.week import populate_week
    except ImportError:
        history = await write_history(directory / "threadcast.db")
        await write_site(history, directory / "site")
        return directory / "site"
    slot = datetime(2026, 11, 9, 8, 0, tzinfo=UTC)  # Monday 09:00 in Berlin, when the digest goes out
    # The generated week ends an hour before the slot: its last replies land on its
    # very end, and the archive closes there, so no almost-empty week is still open.
    end = slot - timedelta(hours=1)
    store = SQLiteStore(directory / "week.db")
    await store.open()
    try:
        following = slot + timedelta(days=7)
        await store.set_digest_schedule(
            DigestSchedule(COMMUNITY, "digest", 0, time(9, 0), "Europe/Berlin", True, following, slot)
        )
        await populate_week(store, COMMUNITY, "news", end=end)
        builder = DigestBuilder(store, {})
        await write_archive(store, builder, {}, directory / "site", slot)
    finally:
        await store.close()
    return directory / "site"


async def test_the_index_screenshot(browser: Browser, tmp_path: Path) -> None:
    site = await realistic_site(tmp_path)
    page = await browser.new_page(width=1000, height=800)
    await page.open((site / "index.html").as_uri())
    height = await page.evaluate("Math.min(document.documentElement.scrollHeight, 1600)")
    await page.send(
        "Emulation.setDeviceMetricsOverride", width=1000, height=height, deviceScaleFactor=1, mobile=False
    )
    shot = await screenshot(page)
    assert png_size(shot) == (1000, height) and len(shot) > 20_000
    assert problems(page) == []
    if os.environ.get("THREADCAST_WRITE_DOCS") == "1":
        await asyncio.to_thread(DOCS_SCREENSHOT.parent.mkdir, exist_ok=True)
        await asyncio.to_thread(DOCS_SCREENSHOT.write_bytes, shot)
