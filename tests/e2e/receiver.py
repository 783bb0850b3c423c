"""A callback receiver for end-to-end tests, run as its own process.

    python -m tests.e2e.receiver --port P

Every request is recorded (method, target, headers, body, arrival time) and
can be read back from ``GET /_receiver/requests``. The path chooses the answer:

- ``/ok/...``                 200
- ``/fail/N/...``             500 for the first N requests to that path, then 200
- ``/throttle/N/S/...``       429 with ``Retry-After: S`` for the first N, then 200
- ``/hang/...``               never answers (until the client gives up)
- ``/redirect/...``           302 to ``/ok/redirected``
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections import Counter
from typing import Any

from aiohttp import web


def build_app() -> web.Application:
    records: list[dict[str, Any]] = []
    seen: Counter[str] = Counter()

    async def record(request: web.Request) -> web.StreamResponse:
        if request.path.startswith("/_receiver/"):
            return await control(request)
        body = await request.read()
        records.append(
            {
                "method": request.method,
                "target": request.path_qs,
                "raw_target": request.raw_path,
                "headers": dict(request.headers),
                "body": body.decode("utf-8", errors="replace"),
                "at": time.time(),
            }
        )
        parts = request.path.strip("/").split("/")
        seen[request.path] += 1
        count = seen[request.path]
        match parts:
            case ["fail", n, *_] if count <= int(n):
                return web.Response(status=500, text="failing on purpose")
            case ["throttle", n, seconds, *_] if count <= int(n):
                return web.Response(status=429, headers={"Retry-After": seconds}, text="slow down")
            case ["hang", *_]:
                await asyncio.sleep(3600)
            case ["redirect", *_]:
                raise web.HTTPFound("/ok/redirected")
        return web.Response(status=200, text="ok")

    async def control(request: web.Request) -> web.StreamResponse:
        if request.path == "/_receiver/requests":
            return web.json_response(records)
        if request.path == "/_receiver/reset":
            records.clear()
            seen.clear()
            return web.json_response({"reset": True})
        if request.path == "/_receiver/health":
            return web.json_response({"ok": True})
        raise web.HTTPNotFound()

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_route("*", "/{tail:.*}", record)
    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    web.run_app(build_app(), host="127.0.0.1", port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
