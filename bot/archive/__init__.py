"""The static HTML archive of digests and discussions."""

from bot.archive.site import ArchiveError, Written, http_url, write_archive

__all__ = ("ArchiveError", "Written", "http_url", "write_archive")
