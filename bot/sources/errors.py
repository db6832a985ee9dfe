"""Errors raised by article sources; every message is fit to show a moderator."""

from __future__ import annotations


class SourceError(Exception):
    """An article source could not produce an article or a feed.

    ``str(error)`` names what was being read (a URL or a path) and why it failed,
    so handlers can answer the moderator with it unchanged.
    """


class FeedError(SourceError):
    """The document at a feed URL is not a usable RSS or Atom feed."""
