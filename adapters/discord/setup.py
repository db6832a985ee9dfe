"""What threadcast needs from Discord, and `threadcast check` asking Discord whether it has it.

The permissions, intents and scopes are written here once: the set-up text (`check --offline`)
and the invite URL are made from them, and `check` compares them with what Discord reports
for the token (the application's flags, the bot's permissions in each server).
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
import discord
import discord.http

from bot.checkup import CheckLine, failed, passed
from bot.config import Settings
from bot.text import shorten


@dataclass(frozen=True, slots=True)
class Permission:
    name: str  # as the server settings name it
    bit: int
    cost: str  # what goes wrong without it


PERMISSIONS: tuple[Permission, ...] = (
    Permission("View Channel", 1 << 10, "the bot sees no channel"),
    Permission("Send Messages", 1 << 11, "articles, digests and notices are not posted"),
    Permission("Send Messages in Threads", 1 << 38, "nothing is posted in threads or forum posts"),
    Permission("Create Public Threads", 1 << 35, "articles get no discussion thread"),
    Permission("Embed Links", 1 << 14, "articles and digests (embeds) are refused"),
    Permission("Attach Files", 1 << 15, "the digest's participation chart is refused"),
    Permission("Read Message History", 1 << 16, "replies written while the bot was away are not read back"),
)
PERMISSIONS_VALUE = sum(p.bit for p in PERMISSIONS)
ADMINISTRATOR = 1 << 3  # every permission
SCOPES = ("bot", "applications.commands")
INTENTS_TEXT = (
    "enable MESSAGE CONTENT (privileged) under Bot → Privileged Gateway Intents;"
    " guilds, guild messages and reactions are standard."
)
# Application flags: the Message Content intent is enabled (the "limited" one: below 100 servers).
GATEWAY_MESSAGE_CONTENT = 1 << 18
GATEWAY_MESSAGE_CONTENT_LIMITED = 1 << 19
GUILD_PAGE = 200  # the most servers Discord lists per request
GUILD_PAGES = 5  # servers beyond 1,000 are not checked
SHOWN_GUILDS = 10  # servers named one line each; the rest are counted


def app_id_from_token(token: str) -> str | None:
    """A bot token starts with the bot's id in base64; for bots that id is the application's."""
    head = token.split(".", 1)[0]
    try:
        decoded = base64.b64decode(head + "=" * (-len(head) % 4)).decode()
    except ValueError:
        return None
    return decoded if decoded.isdigit() else None


def invite_url(app_id: str) -> str:
    return (
        f"https://discord.com/oauth2/authorize?client_id={app_id}&scope={'+'.join(SCOPES)}"
        f"&permissions={PERMISSIONS_VALUE}"
    )


def setup_text(token: str) -> str:
    """What to do in Discord's developer portal, for `threadcast check --offline`."""
    app_id = app_id_from_token(token) or "<your application id>"
    return (
        "Discord: invite the bot with\n"
        f"  {invite_url(app_id)}\n"
        f"  permissions: {', '.join(p.name for p in PERMISSIONS)}\n"
        f"  intents: {INTENTS_TEXT}"
    )


def missing_permissions(granted: int) -> list[Permission]:
    if granted & ADMINISTRATOR:
        return []
    return [p for p in PERMISSIONS if not granted & p.bit]


async def check(settings: Settings) -> list[CheckLine]:
    """Ask Discord about DISCORD_TOKEN: accepted, the application and its Message Content intent,
    the servers the bot is in and its permissions there. No line when no token is set."""
    if not settings.discord_token:
        return []
    timeout = settings.http_timeout
    http = discord.http.HTTPClient(asyncio.get_running_loop())
    lines: list[CheckLine] = []
    try:
        async with asyncio.timeout(timeout):
            await _ask(http, settings, lines)
    except discord.LoginFailure:
        lines.append(
            failed(
                "Discord refused DISCORD_TOKEN",
                "copy the token again from Bot → Token in the developer portal (Reset Token) into"
                " DISCORD_TOKEN.",
            )
        )
    except discord.HTTPException as exc:
        lines.append(
            failed(
                f"Discord answered {exc.status} ({shorten(exc.text or 'no reason given', 120)})",
                "try again in a few minutes; if it lasts, see https://discordstatus.com.",
            )
        )
    except TimeoutError:
        lines.append(
            failed(
                f"Discord did not answer within {timeout:g} s",
                "check this machine's network and proxy, then try again.",
            )
        )
    except (KeyError, TypeError, ValueError) as exc:  # an answer not in the shape documented
        lines.append(
            failed(
                f"Discord's answer was not what threadcast expects ({type(exc).__name__}: {exc})",
                "try again later; if it lasts, report it (a change of Discord's API?).",
            )
        )
    except (aiohttp.ClientError, OSError) as exc:
        lines.append(
            failed(
                f"cannot reach Discord ({type(exc).__name__})",
                "check this machine's network, DNS and proxy for discord.com.",
            )
        )
    finally:
        await http.close()
    return lines


async def _ask(http: discord.http.HTTPClient, settings: Settings, lines: list[CheckLine]) -> None:
    me: Any = await http.static_login(settings.discord_token)  # LoginFailure on 401
    lines.append(passed(f"Discord accepted DISCORD_TOKEN: bot {me.get('username')} ({me.get('id')})"))
    app: Any = await http.application_info()
    app_id = str(app["id"])
    flags = int(app.get("flags") or 0)
    if flags & GATEWAY_MESSAGE_CONTENT:
        lines.append(passed("Discord application: the Message Content intent is enabled"))
    elif flags & GATEWAY_MESSAGE_CONTENT_LIMITED:
        lines.append(
            passed(
                "Discord application: the Message Content intent is enabled (below 100 servers;"
                " beyond, Discord asks for verification)"
            )
        )
    else:
        lines.append(
            failed(
                "Discord application: the Message Content intent is not enabled (threadcast reads"
                " replies with it; Discord refuses the connection without it)",
                "enable Message Content Intent under Bot → Privileged Gateway Intents in the"
                " developer portal.",
            )
        )
    guilds = await _guilds(http)
    lines.extend(_guild_lines(guilds, settings.discord_guild_ids, app_id))
    lines.append(passed(f"Discord invite URL (application {app_id}): {invite_url(app_id)}"))


async def _guilds(http: discord.http.HTTPClient) -> list[Any]:
    found: list[Any] = []
    after: str | None = None
    for _ in range(GUILD_PAGES):
        page: Any = await http.get_guilds(GUILD_PAGE, after=after, with_counts=False)
        found.extend(page)
        if len(page) < GUILD_PAGE:
            break
        after = str(page[-1]["id"])
    return found


def _guild_lines(guilds: Sequence[Any], wanted_ids: Sequence[int], app_id: str) -> list[CheckLine]:
    invite = f"open {invite_url(app_id)} and pick the server"
    if not guilds:
        return [failed("Discord: the bot is in no server yet", f"{invite}.")]
    lines: list[CheckLine] = []
    complete: list[tuple[str, list[Permission]]] = []
    lacking: list[tuple[str, list[Permission]]] = []
    for guild in guilds:
        name = f"{shorten(str(guild.get('name') or ''), 60)!r} ({guild['id']})"
        missing = missing_permissions(int(guild.get("permissions") or 0))
        (lacking if missing else complete).append((name, missing))
    for name, missing in lacking[:SHOWN_GUILDS]:
        named = "; ".join(f"{p.name} ({p.cost})" for p in missing)
        lines.append(
            failed(
                f"Discord server {name}: the bot lacks {named}",
                "give the bot's role these permissions in Server Settings → Roles, or invite it again"
                " with the invite URL below.",
            )
        )
    if len(lacking) > SHOWN_GUILDS:
        lines.append(
            failed(
                f"Discord: {len(lacking) - SHOWN_GUILDS} more servers lack permissions",
                "give the bot's role the permissions the invite URL lists, in each server.",
            )
        )
    if complete:
        names = ", ".join(name for name, _ in complete[:SHOWN_GUILDS])
        more = f" and {len(complete) - SHOWN_GUILDS} more" if len(complete) > SHOWN_GUILDS else ""
        lines.append(passed(f"Discord servers with every permission threadcast needs: {names}{more}"))
    present = {str(guild["id"]) for guild in guilds}
    for guild_id in wanted_ids:
        if str(guild_id) not in present:
            lines.append(
                failed(
                    f"DISCORD_GUILD_IDS names server {guild_id}, where the bot is not",
                    f"{invite}, or remove the id from DISCORD_GUILD_IDS.",
                )
            )
    return lines
