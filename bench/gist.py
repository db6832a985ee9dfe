"""The built-in gist on real discussions: themes, quotes and the gist of each thread.

The discussions are the Reddit threads of `../shared/corpus/threads/` when the corpus is
beside the clone (1,256, 201 and 525 quotable replies), else the generated week of
`bot/demo/week.py`. The baseline is reading the same replies' words once (`bot.wording.words`):
the least any reading of them costs.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import peak_rss_mb
from bot.i18n import Languages
from bot.models import Reply, ReplyView
from bot.quotes import DigestReader
from bot.wording import words

THREADS = Path(__file__).parent.parent.parent / "shared" / "corpus" / "threads"


def _corpus() -> dict[int, tuple[str, list[ReplyView]]]:
    found: dict[int, tuple[str, list[ReplyView]]] = {}
    for number, path in enumerate(sorted(THREADS.glob("*.json"))):
        thread = json.loads(path.read_text(encoding="utf-8"))
        views = []
        for n, comment in enumerate(thread["comments"]):
            if comment["author"] in ("[deleted]", None) or comment["body"] in ("[deleted]", "[removed]"):
                continue
            when = datetime.fromtimestamp(comment["created_utc"], UTC)
            reply = Reply(n, number, comment["id"], comment["author"], comment["author"], comment["body"],
                          when, None, False, False, max(comment["score"], 0))  # fmt: skip
            views.append(ReplyView(reply, opted_out=False, anonymous=False))
        found[number] = (thread["title"], views)
    return found


def _generated() -> dict[int, tuple[str, list[ReplyView]]]:
    from bot.demo.week import plan_week

    week = plan_week(datetime(2026, 11, 23, tzinfo=UTC))
    found: dict[int, tuple[str, list[ReplyView]]] = {}
    for number, article in enumerate(week.articles):
        views = [
            ReplyView(
                Reply(n, number, r.message_id, r.author.user_id, r.author.name, r.text, r.created_at,
                      None, False, False, len(r.reactions)),
                opted_out=False,
                anonymous=False,
            )
            for n, r in enumerate(article.replies)
        ]  # fmt: skip
        if views:
            found[number] = (article.draft.title, views)
    return found


async def builtin() -> dict[str, Any]:
    discussions = _corpus() if THREADS.is_dir() else _generated()
    words_of = Languages().words("en")
    replies = sum(len(views) for _, views in discussions.values())
    DigestReader(words_of, {})  # the language's word list, read once, outside the timing
    with_gist = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        reader = DigestReader(words_of, {key: views for key, (_, views) in discussions.items()})
        for key, (title, _) in discussions.items():
            reader.read(key, title=title)
        with_gist = min(with_gist, time.perf_counter() - started)
    read_once = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for _, views in discussions.values():
            for view in views:
                words(view.reply.text)
        read_once = min(read_once, time.perf_counter() - started)
    return {
        "source": "corpus" if THREADS.is_dir() else "generated",
        "discussions": len(discussions),
        "replies": replies,
        "ms_per_discussion": 1000 * with_gist / len(discussions),
        "baseline_ms_per_discussion": 1000 * read_once / len(discussions),
        "rss_peak_mb": peak_rss_mb(),
    }
