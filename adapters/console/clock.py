"""The console's clock: real time, plus whatever `.advance` has added, so a
script can let a week pass and watch the digest go out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class ConsoleClock:
    def __init__(self, start: datetime | None = None) -> None:
        self._offset = timedelta() if start is None else start - datetime.now(UTC)

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset

    def advance(self, delta: timedelta) -> None:
        self._offset += delta

    @property
    def offset(self) -> timedelta:
        return self._offset

    def set_offset(self, offset: timedelta) -> None:
        self._offset = offset
