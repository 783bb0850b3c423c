"""A bare HTTP receiver for benchmarks, run as its own process.

    python -m bench.receiver --port P

Answers 200 to every request outside ``/_receiver/`` after reading its body,
and remembers when each arrived (``time.time()``, read back with ``GET
/_receiver/records``) with its ``webhook-id`` header, if any, and the ``id`` and
``status`` of a seed 002 status callback (from a JSON body or the query string),
so that the order of each message's callbacks can be checked.
``GET /_receiver/count`` says how many there are, ``POST /_receiver/reset`` forgets
them; ``GET /_receiver/health`` answers 200.
"""

from __future__ import annotations

import argparse
import json
import time

from aiohttp import web

from bench.processes import HOST

RECORDS = web.AppKey("records", list[tuple[str | None, float, str, str]])


async def _receive(request: web.Request) -> web.Response:
    body = await request.read()
    at = time.time()
    fields: dict[str, object] = dict(request.query)
    if body[:1] == b"{":
        try:
            decoded = json.loads(body)
        except ValueError:
            decoded = {}
        if isinstance(decoded, dict):
            fields = decoded
    subject, status = str(fields.get("id", "")), str(fields.get("status", ""))
    request.app[RECORDS].append((request.headers.get("webhook-id"), at, subject, status))
    return web.Response(text="ok")


async def _records(request: web.Request) -> web.Response:
    return web.json_response(request.app[RECORDS])


async def _count(request: web.Request) -> web.Response:
    return web.json_response(len(request.app[RECORDS]))


async def _reset(request: web.Request) -> web.Response:
    request.app[RECORDS].clear()
    return web.json_response({"reset": True})


async def _health(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


def build_app() -> web.Application:
    """The receiver application, with no request recorded yet."""
    app = web.Application()
    app[RECORDS] = []
    app.router.add_get("/_receiver/records", _records)
    app.router.add_get("/_receiver/count", _count)
    app.router.add_post("/_receiver/reset", _reset)
    app.router.add_get("/_receiver/health", _health)
    app.router.add_route("*", "/{tail:.*}", _receive)
    return app


def main() -> None:
    """Serve on 127.0.0.1 at ``--port`` until SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser(prog="python -m bench.receiver")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    web.run_app(build_app(), host=HOST, port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
