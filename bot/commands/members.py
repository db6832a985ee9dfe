"""Member commands: privacy choices, their own data, help. Answers are private."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import TYPE_CHECKING

from bot.commands.limits import MEMBER_DATA
from bot.commands.registry import Answer, Attachment, CommandContext, CommandRegistry
from bot.i18n import N_

if TYPE_CHECKING:
    from bot.services import Services


def register(registry: CommandRegistry, services: Services) -> None:
    store = services.store

    async def set_pref(
        ctx: CommandContext, *, opted_out: bool | None = None, anonymous: bool | None = None
    ) -> None:
        prefs = await store.get_prefs(ctx.community.platform, ctx.event.caller.id)
        await store.set_prefs(
            replace(
                prefs,
                opted_out=prefs.opted_out if opted_out is None else opted_out,
                anonymous=prefs.anonymous if anonymous is None else anonymous,
            )
        )

    async def optout(ctx: CommandContext) -> Answer:
        await set_pref(ctx, opted_out=True)
        return Answer(
            ctx.words.gettext(
                "You are opted out: your replies are no longer kept, and earlier ones leave every"
                " digest and export. `privacy forget-me` also deletes them; `privacy optin` undoes this."
            )
        )

    async def optin(ctx: CommandContext) -> Answer:
        await set_pref(ctx, opted_out=False)
        return Answer(
            ctx.words.gettext("You are opted in: your replies in discussion threads are kept for digests.")
        )

    async def anonymous(ctx: CommandContext) -> Answer:
        await set_pref(ctx, anonymous=True)
        return Answer(ctx.words.gettext("Digests will quote you as “a member”. `privacy named` undoes this."))

    async def named(ctx: CommandContext) -> Answer:
        await set_pref(ctx, anonymous=False)
        return Answer(ctx.words.gettext("Digests will quote you by your display name."))

    async def forget_me(ctx: CommandContext) -> Answer:
        replies, reactions = await store.forget_member(ctx.community.platform, ctx.event.caller.id)
        prefs = await store.get_prefs(ctx.community.platform, ctx.event.caller.id)
        words = ctx.words
        text = words.gettext(
            "Deleted {replies}, {reactions} and your preferences.",
            replies=words.ngettext("{n} stored reply", "{n} stored replies", replies),
            reactions=words.ngettext("{n} reaction", "{n} reactions", reactions),
        )
        if prefs.opted_out:
            text += " " + words.gettext("Your opt-out stays, so nothing new is kept.")
        return Answer(text)

    async def my_data(ctx: CommandContext) -> Answer:
        platform, user = ctx.community.platform, ctx.event.caller.id
        rows = await store.member_replies(platform, user)
        prefs = await store.get_prefs(platform, user)
        data = {
            "platform": platform,
            "user_id": user,
            "preferences": {"opted_out": prefs.opted_out, "anonymous": prefs.anonymous},
            "replies": [
                {
                    "article": article.title,
                    "article_url": article.url,
                    "message_id": reply.message_id,
                    "text": reply.text,
                    "written": reply.created_at.isoformat(),
                    "edited": reply.edited_at.isoformat() if reply.edited_at else None,
                    "reactions": reply.reactions,
                    "featured": reply.featured,
                    "hidden": reply.hidden,
                }
                for reply, article in rows
            ],
        }
        content = json.dumps(data, ensure_ascii=False, indent=2).encode()
        return Answer(
            ctx.words.ngettext(
                "threadcast keeps {n} reply of yours; see the attached file.",
                "threadcast keeps {n} replies of yours; see the attached file.",
                len(rows),
            ),
            attachment=Attachment("threadcast-my-data.json", content),
        )

    async def show_help(ctx: CommandContext) -> Answer:
        return Answer(registry.help_text(moderator=ctx.event.caller.is_moderator, words=ctx.words))

    for name, handler, text in (
        ("privacy optout", optout, N_("stop keeping your replies")),
        ("privacy optin", optin, N_("keep your replies again")),
        ("privacy anonymous", anonymous, N_("be quoted as “a member”")),
        ("privacy named", named, N_("be quoted by name")),
        ("privacy forget-me", forget_me, N_("delete everything kept about you")),
        ("privacy my-data", my_data, N_("get the replies kept about you")),
        ("help", show_help, N_("this list")),
    ):
        data = name in ("privacy forget-me", "privacy my-data")  # they read or delete stored data
        registry.add(name, handler, help=text, moderator=False, limit=MEMBER_DATA if data else None)
