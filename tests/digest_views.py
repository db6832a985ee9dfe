"""A built digest as each platform would show it, for tests that render one directly."""

from __future__ import annotations

from bot.digest import Digest
from bot.i18n import Languages
from bot.layout import DigestPost, Layout, Style

LANGUAGES = Languages()


def post_of(digest: Digest, style: Style = Style.FULL) -> DigestPost:
    return DigestPost(digest, LANGUAGES.words(digest.language), style)


def layout_of(digest: Digest, style: Style = Style.FULL) -> Layout:
    return post_of(digest, style).layout()
