"""`threadcast archive <dir>`: the digests and discussions as a static HTML site.

Pages are rendered with Jinja2 (autoescaping every value), link to each other
relatively and to one local stylesheet, and hold no script: the site works
offline, from a file:// URL or any static host.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

from jinja2 import Environment, PackageLoader, StrictUndefined

from bot.archive.pages import PageBuilder, Site
from bot.digest import DigestBuilder
from bot.platform import ChatPlatform
from bot.store import Store

_log = logging.getLogger(__name__)

MARKER = ".threadcast-archive"  # says a directory holds an archive this command may rewrite
STYLESHEET = "style.css"
OWN_FOLDERS = ("digests", "discussions")


class ArchiveError(Exception):
    """The archive cannot be written; the message says why."""


@dataclass(frozen=True, slots=True)
class Written:
    directory: Path
    pages: int
    weeks: int
    discussions: int
    removed: int


def http_url(url: object) -> str | None:
    """The URL if a browser may follow it as a link (http or https with a host), else None."""
    if (
        not isinstance(url, str)
        or not url
        or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in url)
    ):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme.lower() in ("http", "https") and parts.hostname else None


class SiteRenderer:
    """Site → {relative path: file text}."""

    def __init__(self) -> None:
        self._env = Environment(
            loader=PackageLoader("bot.archive", "templates"),
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        self._env.filters["http_url"] = http_url

    def render(self, site: Site) -> dict[str, str]:
        files = {
            STYLESHEET: resources.files("bot.archive").joinpath("templates", STYLESHEET).read_text("utf-8")
        }
        files["index.html"] = self._env.get_template("index.html").render(site=site, root="")
        for week in site.weeks:
            files[week.path] = self._env.get_template("week.html").render(site=site, week=week, root="../")
        for page in site.discussions:
            files[page.path] = self._env.get_template("discussion.html").render(
                site=site, page=page, root="../"
            )
        return files


def write_site(files: Mapping[str, str], directory: Path) -> Written:
    """Write the files; pages an earlier run wrote and this one did not are removed,
    so a reply hidden or forgotten since then leaves the archive too."""
    if directory.exists() and not directory.is_dir():
        raise ArchiveError(f"{directory} exists and is not a directory")
    try:
        if directory.is_dir() and any(directory.iterdir()) and not (directory / MARKER).exists():
            raise ArchiveError(
                f"{directory} is not empty and holds no earlier archive; choose a new or empty directory"
            )
        for folder in ("", *OWN_FOLDERS):
            (directory / folder).mkdir(parents=True, exist_ok=True)
        (directory / MARKER).write_text("written by `threadcast archive`; rewritten on every run\n", "utf-8")
        for name, text in files.items():
            target = directory / name
            part = target.with_name(target.name + ".part")
            part.write_text(text, encoding="utf-8")
            os.replace(part, target)
        removed = 0
        for folder in OWN_FOLDERS:
            for stale in (directory / folder).glob("*.html"):
                if f"{folder}/{stale.name}" not in files:
                    stale.unlink()
                    removed += 1
    except OSError as exc:
        raise ArchiveError(f"cannot write the archive to {directory}: {exc.strerror or exc}") from None
    pages = [name for name in files if name.endswith(".html")]
    return Written(
        directory=directory,
        pages=len(pages),
        weeks=sum(1 for name in pages if name.startswith("digests/")),
        discussions=sum(1 for name in pages if name.startswith("discussions/")),
        removed=removed,
    )


async def write_archive(
    store: Store,
    builder: DigestBuilder,
    platforms: Mapping[str, ChatPlatform],
    directory: Path,
    now: datetime,
) -> Written:
    """Gather every community's weeks and discussions, then render and write them
    off the event loop (templates and pages are files)."""
    site = await PageBuilder(store, builder, platforms).site(now)

    def render_and_write() -> Written:
        return write_site(SiteRenderer().render(site), directory)

    written = await asyncio.to_thread(render_and_write)
    _log.debug("archive: %d pages written to %s, %d stale removed", written.pages, directory, written.removed)
    return written
