"""A callback receiver for end-to-end tests, run as its own process.

    python -m tests.e2e.receiver --port P

Every request is recorded (method, target, headers, body, arrival time) and
can be read back from ``GET /_receiver/requests``. The path chooses the answer:

- ``/ok/...``                 200
- ``/fail/N/...``             500 for the first N requests to that path, then 200
- ``/throttle/N/S/...``       429 with ``Retry-After: S`` for the first N, then 200
- ``/hang/...``               never answers (until the client gives up)
- ``/redirect/...``           302 to ``/ok/redirected``

``POST /_receiver/hold`` makes every request that arrives from then on wait
(recorded, unanswered) until ``POST /_receiver/release``; with ``?after=N``
the next N requests are answered first. ``GET /_receiver/held`` says how many
wait.
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
    gate = asyncio.Event()
    gate.set()
    held = [0]
    answer_before_hold: list[int | None] = [None]

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
        if answer_before_hold[0] is not None:
            answer_before_hold[0] -= 1
            if answer_before_hold[0] < 0:
                answer_before_hold[0] = None
                gate.clear()
        if not gate.is_set():
            held[0] += 1
            try:
                await gate.wait()
            finally:
                held[0] -= 1
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
            answer_before_hold[0] = None
            gate.set()
            return web.json_response({"reset": True})
        if request.path == "/_receiver/hold":
            after = int(request.query.get("after", "0"))
            if after > 0:
                answer_before_hold[0] = after
            else:
                gate.clear()
            return web.json_response({"held": held[0]})
        if request.path == "/_receiver/release":
            answer_before_hold[0] = None
            gate.set()
            return web.json_response({"held": held[0]})
        if request.path == "/_receiver/held":
            return web.json_response({"held": held[0]})
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
    # A /hang/ or held request must not keep a stopping receiver up for a minute.
    web.run_app(
        build_app(),
        host="127.0.0.1",
        port=args.port,
        print=None,
        access_log=None,
        shutdown_timeout=1.0,
    )


if __name__ == "__main__":
    main()
