"""A digest as JSON, for integrations and checks (`threadcast digest --json`).

Built from `bot.digest_model.Digest` only, so it holds exactly what a posted digest may
show: no hidden, deleted or opted-out words, anonymous members as "a member". Keys are
written in a fixed order (the order below, never sorted), times in ISO 8601.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from bot.digest_model import Digest, DiscussionSummary, Figures, Highlight, Theme, WaitingArticle

FORMAT_VERSION = 1


def _time(moment: datetime) -> str:
    return moment.isoformat()


def _figures(figures: Figures) -> dict[str, Any]:
    previous = figures.previous
    return {
        "articles": figures.articles,
        "replies": figures.replies,
        "participants": figures.participants,
        "newcomers": figures.newcomers,
        "newcomer_names": list(figures.newcomer_names),
        "previous": {
            "articles": previous.articles,
            "replies": previous.replies,
            "participants": previous.participants,
        },
    }


def _quote(highlight: Highlight) -> dict[str, Any]:
    return {
        "author": highlight.author,
        "text": highlight.excerpt,
        "reactions": highlight.reactions,
        "featured": highlight.featured,
    }


def _theme(theme: Theme) -> dict[str, Any]:
    return {"phrase": theme.phrase, "replies": theme.replies, "quote": theme.excerpt, "author": theme.author}


def _discussion(summary: DiscussionSummary) -> dict[str, Any]:
    return {
        "title": summary.title,
        "article_url": summary.article_url,
        "thread_link": summary.thread_link,
        "counts": {
            "replies": summary.replies,
            "participants": summary.participants,
            "reactions": summary.reactions,
        },
        "gist": summary.gist,
        "gist_engine": summary.gist_engine,
        "experiences": summary.experiences,
        "quotes": [_quote(h) for h in summary.highlights],
        "themes": [_theme(t) for t in summary.themes],
    }


def _waiting(article: WaitingArticle) -> dict[str, Any]:
    return {"title": article.title, "article_url": article.article_url, "thread_link": article.thread_link}


def digest_dict(digest: Digest) -> dict[str, Any]:
    """The digest as plain JSON-ready data, keys in a fixed order."""
    return {
        "format": FORMAT_VERSION,
        "community": {"platform": digest.community.platform, "id": digest.community.id},
        "period": {
            "start": _time(digest.period_start),
            "end": _time(digest.period_end),
            "timezone": digest.timezone,
            "language": digest.language,
        },
        "note": digest.note,
        "figures": _figures(digest.figures),
        "discussions": [_discussion(s) for s in digest.discussions],
        "more_discussions": digest.more_discussions,
        "late": [_discussion(s) for s in digest.late],
        "waiting": [_waiting(w) for w in digest.waiting],
        "more_waiting": digest.more_waiting,
        "days": [
            {"day": d.day.isoformat(), "replies": d.replies, "participants": d.participants}
            for d in digest.days
        ],
    }


def digest_json(digest: Digest) -> str:
    """`digest_dict` as indented JSON text (UTF-8 as is, not escaped), ending in a newline."""
    return json.dumps(digest_dict(digest), ensure_ascii=False, indent=2) + "\n"
