"""Just enough of the Chrome DevTools Protocol to drive headless Chromium from
tests: launch it, open pages, run commands, collect events. Spoken over
aiohttp's websocket client; no browser library.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import signal
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, BinaryIO

import aiohttp

LAUNCH_TIMEOUT = 30.0
COMMAND_TIMEOUT = 30.0

# Headless, with nothing of the browser's own phoning home, so any request a test
# sees comes from the page.
FLAGS = (
    "--headless=new",
    "--remote-debugging-port=0",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-sync",
    "--disable-features=Translate,MediaRouter,OptimizationHints",
    "--metrics-recording-only",
    "--mute-audio",
    "--hide-scrollbars",
    "--force-color-profile=srgb",
)


class CDPError(Exception):
    pass


class Session:
    """One page target: commands to it, and the events it has sent so far."""

    def __init__(self, browser: Browser, session_id: str) -> None:
        self._browser = browser
        self.id = session_id
        self.events: list[tuple[str, dict[str, Any]]] = []
        self._arrived = asyncio.Event()

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        return await self._browser.send(method, session_id=self.id, **params)

    def _event(self, method: str, params: dict[str, Any]) -> None:
        self.events.append((method, params))
        self._arrived.set()

    async def wait_for(
        self, method: str, *, after: int = 0, timeout: float = COMMAND_TIMEOUT
    ) -> dict[str, Any]:
        """The first `method` event at or after index `after` of `events`."""
        async with asyncio.timeout(timeout):
            while True:
                for name, params in self.events[after:]:
                    if name == method:
                        return params
                self._arrived.clear()
                await self._arrived.wait()

    async def viewport(self, width: int, height: int, *, mobile: bool = False) -> None:
        await self.send(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=mobile,
        )

    async def open(self, url: str) -> None:
        mark = len(self.events)
        answer = await self.send("Page.navigate", url=url)
        if answer.get("errorText"):
            raise CDPError(f"cannot open {url}: {answer['errorText']}")
        await self.wait_for("Page.loadEventFired", after=mark)

    async def evaluate(self, expression: str) -> Any:
        """The JSON value of a JavaScript expression run in the page (DevTools only:
        the pages themselves have no script)."""
        answer = await self.send(
            "Runtime.evaluate", expression=f"JSON.stringify({expression})", returnByValue=True
        )
        if "exceptionDetails" in answer:
            raise CDPError(f"evaluation failed: {answer['exceptionDetails']}")
        return json.loads(answer["result"]["value"])


class Browser:
    def __init__(self, process: asyncio.subprocess.Process, http: aiohttp.ClientSession) -> None:
        self.process = process
        self._http = http
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._sessions: dict[str, Session] = {}
        self._reader: asyncio.Task[None] | None = None

    async def connect(self, url: str) -> None:
        self._ws = await self._http.ws_connect(url, max_msg_size=0)
        self._reader = asyncio.create_task(self._read(), name="cdp-reader")

    async def _read(self) -> None:
        assert self._ws is not None
        async for message in self._ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                break
            data = json.loads(message.data)
            if "id" in data:
                future = self._waiting.pop(data["id"], None)
                if future is not None and not future.done():
                    future.set_result(data)
            elif (session := self._sessions.get(data.get("sessionId", ""))) is not None:
                session._event(data["method"], data.get("params", {}))
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(CDPError("the browser closed the connection"))

    async def send(self, method: str, *, session_id: str | None = None, **params: Any) -> dict[str, Any]:
        assert self._ws is not None
        message: dict[str, Any] = {"id": next(self._ids), "method": method, "params": params}
        if session_id:
            message["sessionId"] = session_id
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[message["id"]] = future
        await self._ws.send_str(json.dumps(message))
        async with asyncio.timeout(COMMAND_TIMEOUT):
            answer = await future
        if "error" in answer:
            raise CDPError(f"{method}: {answer['error']}")
        result: dict[str, Any] = answer.get("result", {})
        return result

    async def new_page(self, *, width: int = 1000, height: int = 1400) -> Session:
        target = await self.send("Target.createTarget", url="about:blank")
        attached = await self.send("Target.attachToTarget", targetId=target["targetId"], flatten=True)
        session = Session(self, attached["sessionId"])
        self._sessions[session.id] = session
        for domain in ("Page", "Runtime", "Network", "Log"):
            await session.send(f"{domain}.enable")
        await session.send(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )
        return session

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            async with asyncio.timeout(5):
                await self.send("Browser.close")
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader


def _kill_group(process: asyncio.subprocess.Process, sig: int) -> None:
    # The browser runs in a session of its own: its group is the launcher script,
    # the browser and every helper process it started.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)


def _prepare(profile: Path) -> BinaryIO:
    profile.mkdir(parents=True, exist_ok=True)
    return (profile.parent / "chromium.log").open("wb")


def _devtools_address(profile: Path) -> str | None:
    """The browser's websocket once it listens: Chromium writes the port it chose
    (--remote-debugging-port=0) and the path into DevToolsActivePort."""
    try:
        port, path = (profile / "DevToolsActivePort").read_text().splitlines()[:2]
    except (FileNotFoundError, ValueError):
        return None  # not written yet, or half written
    return f"ws://127.0.0.1:{port}{path}"


@contextlib.asynccontextmanager
async def chromium(executable: str, profile: Path) -> AsyncIterator[Browser]:
    """A headless Chromium for the length of the block; killed (with all its
    helpers) however the block ends."""
    log = await asyncio.to_thread(_prepare, profile)
    process = await asyncio.create_subprocess_exec(
        executable,
        *FLAGS,
        f"--user-data-dir={profile}",
        "about:blank",
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    http = aiohttp.ClientSession()
    browser = Browser(process, http)
    try:
        async with asyncio.timeout(LAUNCH_TIMEOUT):
            while (address := await asyncio.to_thread(_devtools_address, profile)) is None:
                if process.returncode is not None:
                    raise CDPError(f"chromium exited with {process.returncode}; see {log.name}")
                await asyncio.sleep(0.05)
        await browser.connect(address)
        yield browser
    finally:
        try:
            await browser.close()
            await http.close()
            try:
                async with asyncio.timeout(5):
                    await process.wait()
            except TimeoutError:
                _kill_group(process, signal.SIGTERM)
        finally:
            _kill_group(process, signal.SIGKILL)  # any helper left behind
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
            log.close()
