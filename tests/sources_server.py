"""A real HTTP server on 127.0.0.1 for source tests: each test sets its routes; every request is recorded."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Self

from aiohttp import web
from aiohttp.test_utils import TestServer

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class SeenRequest:
    method: str
    path: str
    headers: Mapping[str, str]  # lower-case names


class SourcesServer:
    """Serves whatever the test routes; unknown paths answer 404.

    Routes can change between requests (200 first, then 304), and slow
    handlers should wait on ``released``, which is set when the server closes,
    so no test waits out a sleep at teardown.
    """

    def __init__(self) -> None:
        self.requests: list[SeenRequest] = []
        self.released = asyncio.Event()
        self._routes: dict[str, Handler] = {}
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._server = TestServer(app, host="127.0.0.1", port=0)

    async def __aenter__(self) -> Self:
        await self._server.start_server()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.released.set()
        await self._server.close()

    def url(self, path: str) -> str:
        return str(self._server.make_url(path))

    def route(self, path: str, handler: Handler) -> None:
        self._routes[path] = handler

    def serve(
        self,
        path: str,
        body: bytes | str,
        *,
        content_type: str | None = "application/rss+xml",
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        gzipped: bool = False,
    ) -> None:
        """Answer ``path`` with a fixed body (sent gzip-encoded when ``gzipped``)."""
        data = body.encode() if isinstance(body, str) else body
        extra = dict(headers or {})
        if gzipped:
            data = gzip.compress(data)
            extra["Content-Encoding"] = "gzip"

        async def handler(request: web.Request) -> web.StreamResponse:
            response = web.Response(body=data, status=status, headers=extra)
            if content_type is None:
                response.headers.pop("Content-Type", None)
            else:
                response.headers["Content-Type"] = content_type
            return response

        self.route(path, handler)

    def redirect(self, path: str, to: str, status: int = 302) -> None:
        async def handler(request: web.Request) -> web.StreamResponse:
            return web.Response(status=status, headers={"Location": to})

        self.route(path, handler)

    def requests_to(self, path: str) -> list[SeenRequest]:
        return [r for r in self.requests if r.path == path]

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        headers = {name.lower(): value for name, value in request.headers.items()}
        self.requests.append(SeenRequest(request.method, request.path, headers))
        handler = self._routes.get(request.path)
        if handler is None:
            return web.Response(status=404, text="not found")
        return await handler(request)
