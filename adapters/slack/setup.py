"""What threadcast needs from Slack, and `threadcast check` asking Slack whether it has it.

The scopes and events are written here once (slack-manifest.yml lists the same; a test keeps
them equal): the set-up text (`check --offline`) is made from them, and `check` compares them
with the scopes Slack reports for the bot token (the `x-oauth-scopes` header of every answer).
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.checkup import CheckLine, failed, passed
from bot.config import Settings
from bot.redact import mask_url


@dataclass(frozen=True, slots=True)
class Scope:
    name: str
    cost: str  # what goes wrong without it


SCOPES: tuple[Scope, ...] = (
    Scope("chat:write", "nothing is posted: no article, answer or digest"),
    Scope("files:write", "the digest chart is not uploaded"),
    Scope("commands", "the /threadcast command does not reach the bot"),
    Scope("channels:history", "replies in public channels are not seen"),
    Scope("groups:history", "replies in private channels are not seen"),
    Scope("channels:read", "a #channel typed as plain text in a command is not found"),
    Scope("groups:read", "a private #channel typed as plain text in a command is not found"),
    Scope("reactions:read", "reactions to replies are not counted"),
    Scope("users:read", "workspace admins are not recognised as moderators (only SLACK_MODERATORS are)"),
)
EVENTS = ("message.channels", "message.groups", "reaction_added", "reaction_removed")
APP_TOKEN_SCOPE = "connections:write"
SLACK_API = "https://slack.com/api/"
# A signing secret, as Slack's Basic Information → App Credentials shows it.
SIGNING_SECRET = re.compile(r"[0-9a-f]{32}")
REFUSED = ("invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired")


def setup_text() -> str:
    """What to set in the Slack app's configuration, for `threadcast check --offline`."""
    return (
        f"Slack: bot scopes {', '.join(s.name for s in SCOPES)}; events {', '.join(EVENTS)};"
        " the /threadcast command with 'Escape channels, users, and links' on;"
        f" Socket Mode needs an app-level token with {APP_TOKEN_SCOPE}"
        " (slack-manifest.yml sets all of it up)."
    )


async def check(settings: Settings) -> list[CheckLine]:
    """Ask Slack about SLACK_BOT_TOKEN (accepted, its workspace and bot user, the scopes granted),
    then about Socket Mode (SLACK_APP_TOKEN opens a connection) or HTTP mode (the signing
    secret's form). No line when Slack is not configured."""
    if "slack" not in settings.platforms:
        return []
    base_url = settings.slack_api_url or SLACK_API
    timeout = settings.http_timeout
    lines: list[CheckLine] = []
    try:
        async with asyncio.timeout(timeout):
            if await _bot_token(settings, base_url, lines):
                if settings.slack_app_token:
                    lines.append(await _socket_mode(settings.slack_app_token, base_url))
                else:
                    lines.append(_http_mode(settings))
    except TimeoutError:
        lines.append(
            failed(
                f"Slack ({mask_url(base_url)}) did not answer within {timeout:g} s",
                "check this machine's network and proxy, then try again.",
            )
        )
    except (aiohttp.ClientError, OSError) as exc:
        lines.append(
            failed(
                f"cannot reach Slack at {mask_url(base_url)} ({type(exc).__name__})",
                "check this machine's network, DNS and proxy (and SLACK_API_URL, if set).",
            )
        )
    return lines


def _client(token: str, base_url: str, timeout: float) -> AsyncWebClient:
    return AsyncWebClient(token=token, base_url=base_url, timeout=max(1, int(timeout)))


async def _bot_token(settings: Settings, base_url: str, lines: list[CheckLine]) -> bool:
    client = _client(settings.slack_bot_token, base_url, settings.http_timeout)
    try:
        answer = await client.auth_test()
    except SlackApiError as exc:
        error = str(exc.response.get("error") or exc.response.status_code)
        if error in REFUSED:
            fix = (
                "copy the Bot User OAuth Token (xoxb-…) again from OAuth & Permissions into"
                " SLACK_BOT_TOKEN; reinstall the app if it was revoked."
            )
        else:
            fix = "try again in a few minutes; if it lasts, see https://slack-status.com."
        lines.append(failed(f"Slack refused SLACK_BOT_TOKEN ({error})", fix))
        return False
    lines.append(
        passed(
            f"Slack accepted SLACK_BOT_TOKEN: workspace {answer.get('team')} ({answer.get('team_id')}),"
            f" bot user {answer.get('user')} ({answer.get('user_id')})"
        )
    )
    headers = {name.lower(): value for name, value in answer.headers.items()}
    listed = headers.get("x-oauth-scopes")
    if listed is None:
        lines.append(
            failed(
                "Slack did not say which scopes SLACK_BOT_TOKEN has (no x-oauth-scopes header)",
                "compare the app's Bot Token Scopes (OAuth & Permissions) with slack-manifest.yml.",
            )
        )
        return True
    granted = {part.strip() for part in str(listed).split(",")}
    missing = [scope for scope in SCOPES if scope.name not in granted]
    for scope in missing:
        lines.append(
            failed(
                f"Slack scope {scope.name} is not granted: {scope.cost}",
                f"add {scope.name} under OAuth & Permissions → Bot Token Scopes and reinstall the app.",
            )
        )
    if not missing:
        names = ", ".join(s.name for s in SCOPES)
        lines.append(passed(f"Slack scopes: every one threadcast needs ({names})"))
    return True


async def _socket_mode(app_token: str, base_url: str) -> CheckLine:
    """apps.connections.open, then the WebSocket until Slack's hello; closed at once. (While
    threadcast runs elsewhere, Slack may hand this short connection an event; unacknowledged,
    Slack sends it again to a connection that answers.)"""
    fix = (
        f"create an app-level token with {APP_TOKEN_SCOPE} under Basic Information → App-Level"
        " Tokens, set it as SLACK_APP_TOKEN, and turn Socket Mode on."
    )
    try:
        opened = await AsyncWebClient(base_url=base_url).apps_connections_open(app_token=app_token)
    except SlackApiError as exc:
        error = str(exc.response.get("error") or exc.response.status_code)
        return failed(f"Socket Mode: Slack refused SLACK_APP_TOKEN ({error})", fix)
    url = str(opened.get("url") or "")  # holds a one-time ticket: never shown
    try:
        async with aiohttp.ClientSession() as session, session.ws_connect(url) as socket:
            message = await socket.receive()
    except aiohttp.ClientError as exc:
        return failed(
            f"Slack Socket Mode: the WebSocket Slack named did not open ({type(exc).__name__})",
            "let this machine open WebSocket (wss://) connections to *.slack.com: check proxies and"
            " firewalls.",
        )
    if message.type == aiohttp.WSMsgType.TEXT and _is_hello(message.data):
        return passed("Slack Socket Mode: SLACK_APP_TOKEN opened a connection and Slack said hello")
    return failed(
        "Slack Socket Mode: the connection opened but Slack sent no hello",
        "try again in a few minutes; if it lasts, see https://slack-status.com.",
    )


def _is_hello(data: str) -> bool:
    try:
        message = json.loads(data)
    except ValueError:
        return False
    return isinstance(message, dict) and message.get("type") == "hello"


def _http_mode(settings: Settings) -> CheckLine:
    secret = settings.slack_signing_secret
    if not SIGNING_SECRET.fullmatch(secret):
        return failed(
            f"Slack HTTP mode: SLACK_SIGNING_SECRET does not look like a signing secret"
            f" ({len(secret)} characters, not 32 hexadecimal ones)",
            "copy the Signing Secret (not the Client Secret or a token) from Basic Information → App"
            " Credentials.",
        )
    return passed(
        "Slack HTTP mode: SLACK_SIGNING_SECRET has the form of a signing secret; Slack must reach"
        f" https://<your host>/slack/events, served on port {settings.http_port}"
    )
