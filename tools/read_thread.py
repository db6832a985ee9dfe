"""Print what a digest says about corpus threads: gist, themes and highlights.

    python tools/read_thread.py ../shared/corpus/threads/n49rw.json [more.json …] [--language en]

Each thread's comments become one discussion's replies (Reddit scores as reactions,
`[deleted]` authors and bodies left out); all given threads are read as one digest, so the
digest-wide rules (boilerplate phrases, no repeated quote) apply across them.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime
from pathlib import Path

from bot.i18n import Languages
from bot.models import Reply, ReplyView
from bot.quotes import DigestReader


def load(path: Path, discussion: int) -> tuple[str, list[ReplyView]]:
    thread = json.loads(path.read_text())
    views = []
    for n, c in enumerate(thread["comments"]):
        if c["author"] in ("[deleted]", None) or c["body"] in ("[deleted]", "[removed]"):
            continue
        when = datetime.fromtimestamp(c["created_utc"], UTC)
        reply = Reply(n, discussion, c["id"], c["author"], c["author"], c["body"], when, None, False, False,
                      max(c["score"], 0))  # fmt: skip
        views.append(ReplyView(reply, opted_out=False, anonymous=False))
    return thread["title"], views


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("threads", nargs="+", type=Path)
    parser.add_argument("--language", default="en")
    args = parser.parse_args()
    threads = {n: load(path, n) for n, path in enumerate(args.threads)}
    started = time.perf_counter()
    reader = DigestReader(Languages().words(args.language), {n: views for n, (_, views) in threads.items()})
    print(f"read {sum(len(v) for _, v in threads.values())} replies in {time.perf_counter() - started:.2f} s")
    for n, (title, views) in threads.items():
        started = time.perf_counter()
        reading = reader.read(n, title=title)
        print(f"\n## {title} ({len(views)} replies, {time.perf_counter() - started:.2f} s)")
        print(f"gist: {reading.gist.text}")
        for theme in reading.themes:
            print(f"theme: {theme.phrase} ({theme.replies} replies): “{theme.excerpt}” — {theme.author}")
        for highlight in reading.highlights:
            print(f"quote [{highlight.reactions}]: {highlight.excerpt} — {highlight.author}")


if __name__ == "__main__":
    main()
