"""Where threadcast's log goes (stderr) and how it reads: set up once, by the CLI.

Two formats: `text` (one line a record) and `json` (one JSON object a line: time, level,
logger, message, and exc_info where the record has a traceback). The stdlib does both;
the JSON form is a dozen lines, so no dependency is taken for it.

Above DEBUG a library's traceback (discord.py logs every reconnect with one, slack-sdk
its failed connects) is folded into one line: what failed and why. Our own tracebacks
stay; they are bugs to report. At DEBUG everything is shown as it was logged.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import TextIO

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
FORMATS = ("text", "json")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Libraries whose tracebacks are not ours to show above DEBUG.
LIBRARIES = ("discord", "slack_sdk", "slack_bolt", "aiohttp")
# At INFO these libraries say too much for an operator (every socket refresh, every request
# served over HTTP, "logging in" at every try): shown from WARNING up, unless DEBUG is asked for.
CHATTY = ("slack_sdk", "slack_bolt", "aiohttp.access", "discord.client")
_HANDLER = "threadcast"
# Libraries' warnings that say nothing to a threadcast operator, left out above DEBUG: slack-bolt
# sees SLACK_BOT_TOKEN in the environment beside the client made with it; threadcast has no voice.
NOISE = frozenset(
    {
        "As you gave `client` as well, `token` will be unused.",
        "PyNaCl is not installed, voice will NOT be supported",
        "davey is not installed, voice will NOT be supported",
    }
)


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message[, exc_info]."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, str] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exc_info"] = record.exc_text
        if record.stack_info:
            entry["stack_info"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False)


class LibraryTracebacks(logging.Filter):
    """A library's record with a traceback becomes one line: its message, then the error."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.name.split(".", 1)[0] in LIBRARIES:
            error = record.exc_info[1]
            reason = f"{type(error).__name__}: {error}" if error is not None else ""
            message = record.getMessage()
            record.msg = f"{message} ({reason})" if reason and str(error) not in message else message
            record.args = None
            record.exc_info = None
            record.exc_text = None
        return True


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is at the time (a test runner may swap it)."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _: TextIO) -> None:
        pass


class KnownNoise(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.name.split(".", 1)[0] in LIBRARIES and record.getMessage() in NOISE)


class QuietLibraries(logging.Filter):
    """At INFO, the CHATTY libraries' records below WARNING are left out (they may set their
    loggers' levels themselves: slack-bolt copies the root's, so a level set here won't hold)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or not any(
            record.name == name or record.name.startswith(name + ".") for name in CHATTY
        )


def setup(level: str = "INFO", form: str = "text", *, stream: TextIO | None = None) -> None:
    """Log at `level` and above to `stream` (stderr) in `form`. Called again, it replaces
    the handler it added before (and leaves others, a test runner's, alone)."""
    level = level.upper()
    if level not in LEVELS:
        raise ValueError(f"log level must be one of {', '.join(LEVELS)}, not {level!r}")
    if form not in FORMATS:
        raise ValueError(f"log format must be one of {', '.join(FORMATS)}, not {form!r}")
    handler: logging.Handler = logging.StreamHandler(stream) if stream is not None else _Stderr()
    handler.name = _HANDLER
    handler.setFormatter(JsonFormatter() if form == "json" else logging.Formatter(TEXT_FORMAT))
    if level != "DEBUG":
        handler.addFilter(KnownNoise())
        handler.addFilter(LibraryTracebacks())
    if level == "INFO":
        handler.addFilter(QuietLibraries())
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.name == _HANDLER]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
