"""Exports of discussions and replies (JSON, CSV), with the privacy rules applied:
no hidden, deleted or opted-out replies; anonymous members unnamed. Words are
kept as written, except that mentions are made inert: an export is often
pasted or uploaded back into a chat."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from bot.digest import ANONYMOUS_NAME
from bot.models import Article, Discussion, ReplyView
from bot.text import neutralize_mentions as inert

Row = tuple[Discussion, Article, list[ReplyView]]
CSV_FIELDS = (
    "discussion_id", "platform", "community", "channel", "article_title", "article_url",
    "posted_at", "prompt", "reply_message_id", "author", "written_at", "edited_at",
    "reactions", "featured", "text",
)  # fmt: skip


def visible(replies: list[ReplyView]) -> list[ReplyView]:
    return [v for v in replies if not v.opted_out and not v.reply.hidden]


def _author(view: ReplyView) -> str:
    return ANONYMOUS_NAME if view.anonymous else inert(view.reply.author_name)


def _url(url: str | None) -> str | None:
    # "<" and ">" are never part of a valid URL: percent-encoded, they cannot form mention markup.
    return url.replace("<", "%3C").replace(">", "%3E") if url else url


def _message_id(view: ReplyView) -> str:
    # The platform's id would lead straight to an anonymous member's message.
    return "" if view.anonymous else view.reply.message_id


def to_data(rows: list[Row]) -> list[dict[str, Any]]:
    return [
        {
            "discussion_id": d.id,
            "platform": d.community.platform,
            "community": d.community.id,
            "channel": d.channel_id,
            "thread": d.thread_id,
            "posted_at": d.posted_at.isoformat() if d.posted_at else None,
            "prompt": inert(d.prompt),
            "article": {
                "title": inert(a.title),
                "url": _url(a.url),
                "source": inert(a.source),
                "summary": inert(a.summary),
            },
            "replies": [
                {
                    "message_id": _message_id(v),
                    "author": _author(v),
                    "written_at": v.reply.created_at.isoformat(),
                    "edited_at": v.reply.edited_at.isoformat() if v.reply.edited_at else None,
                    "reactions": v.reply.reactions,
                    "featured": v.reply.featured,
                    "text": inert(v.reply.text),
                }
                for v in visible(replies)
            ],
        }
        for d, a, replies in rows
    ]


def to_json(rows: list[Row]) -> str:
    return json.dumps({"discussions": to_data(rows)}, ensure_ascii=False, indent=2) + "\n"


def _cell(value: object) -> object:
    # Spreadsheet apps run cells that start with these as formulas.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def to_csv(rows: list[Row]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_FIELDS)
    for d, a, replies in rows:
        base = [d.id, d.community.platform, d.community.id, d.channel_id, inert(a.title), _url(a.url),
                d.posted_at.isoformat() if d.posted_at else "", inert(d.prompt)]  # fmt: skip
        shown = visible(replies)
        if not shown:
            writer.writerow([_cell(v) for v in [*base, "", "", "", "", "", "", ""]])
        for v in shown:
            r = v.reply
            writer.writerow([_cell(x) for x in [
                *base, _message_id(v), _author(v), r.created_at.isoformat(),
                r.edited_at.isoformat() if r.edited_at else "", r.reactions, r.featured, inert(r.text),
            ]])  # fmt: skip
    return out.getvalue()
