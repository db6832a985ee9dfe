"""Feeds for the polling benchmark, served from their own process: `python -m bench.feed_server N`
prints its port, then serves /feed/0.xml … /feed/{N-1}.xml until stdin closes.

Every feed has 20 items and an ETag; the even-numbered ones answer 304 to a request
that names it, the odd-numbered ones always send the whole feed (half answering 304).
"""

from __future__ import annotations

import asyncio
import sys
from email.utils import format_datetime

from aiohttp import web

from bench.common import T0

ITEMS = 20


def rss(feed: int) -> bytes:
    items = "".join(
        f"<item><title>Article {n} of feed {feed}: what the night shift taught a hospital</title>"
        f"<link>https://news.example/{feed}/{n}</link><guid>feed-{feed}-item-{n}</guid>"
        f"<pubDate>{format_datetime(T0)}</pubDate>"
        "<description>&lt;p&gt;A survey of 4,000 staff finds flexibility now ranks above pay; managers say"
        " collaboration suffers, staff say the commute was the real problem. Tell us yours.&lt;/p&gt;"
        "</description></item>"
        for n in range(ITEMS)
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Feed {feed}</title>'
        f"<link>https://news.example/{feed}</link>{items}</channel></rss>"
    ).encode()


async def main(count: int) -> None:
    bodies = [rss(i) for i in range(count)]

    async def feed(request: web.Request) -> web.Response:
        number = int(request.match_info["n"])
        etag = f'"v-{number}"'
        if number % 2 == 0 and request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(body=bodies[number], content_type="application/rss+xml", headers={"ETag": etag})

    app = web.Application()
    app.router.add_get("/feed/{n}.xml", feed)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
    await site.start()
    print(runner.addresses[0][1], flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until the parent is done
    await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
