"""What the demo needs around it: processes, HTTP calls, a PNG, a callback receiver."""

from __future__ import annotations

import hmac
import json
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from rich.console import Console

from wagate.delivery.signing import sign

console = Console(highlight=False)


class DemoFailed(Exception):
    """A step did not do what it should; the message says which."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def png(width: int = 64, height: int = 64) -> bytes:
    """A small, valid PNG: a colour gradient."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(
        b"\x00" + b"".join(bytes((x * 4, y * 4, 160)) for x in range(width)) for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def wagate(*args: str, env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "wagate", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"wagate {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout.strip()


def get_json(url: str, headers: dict[str, str] | None = None) -> Any:
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 - loopback URL
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return json.loads(exc.read())


@contextmanager
def process(name: str, args: list[str], env: dict[str, str], port: int, log: Path) -> Iterator[str]:
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        process = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited early:\n{log.read_text()}")
            with suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start:\n{log.read_text()}")
            time.sleep(0.1)
        console.print(f"[green]started[/] {name} on {url} (pid {process.pid})")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        console.print(f"[green]stopped[/] {name} (exit {process.returncode})")


def show(title: str, payload: Any) -> None:
    """Print a titled JSON document, long values unbroken."""
    console.print(f"\n[bold]{title}[/]")
    console.print(json.dumps(payload, indent=2, ensure_ascii=False), soft_wrap=True, markup=False)


def wait_for_transfer(endpoint: str, upload_id: str, api_key: str) -> Any:
    """Poll the record until it leaves PENDING (or 30 s pass)."""
    deadline = time.monotonic() + 30
    while True:
        record = get_json(f"{endpoint}?id={upload_id}", headers={"api-key": api_key})
        if record.get("data", {}).get("status") != "PENDING" or time.monotonic() > deadline:
            return record
        time.sleep(0.2)


def call_json(method: str, url: str, api_key: str | None, payload: Any) -> Any:
    """A JSON request (to the gateway with ``api_key``); the decoded answer, whatever its status."""
    data = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"}
    if api_key is not None:
        headers["api-key"] = api_key
    request = urllib.request.Request(  # noqa: S310 - loopback URL
        url, data=data, method=method, headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return json.loads(exc.read())


def signature_verifies(callback: dict[str, Any], secret: str) -> bool:
    """Whether a recorded callback's ``webhook-signature`` is the Standard Webhooks one.

    The signed payload is the body of a POST and the request target of a GET.
    """
    headers = callback["headers"]
    if "webhook-signature" not in headers:
        return False
    payload = callback["body"] if callback["method"] == "POST" else callback["target"].encode()
    expected = sign(secret, headers["webhook-id"], int(headers["webhook-timestamp"]), payload)
    return any(
        hmac.compare_digest(expected, given) for given in headers["webhook-signature"].split(" ")
    )


class CallbackReceiver:
    """A small HTTP server in a thread that records every request it gets."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        #: Paths whose first request is answered 503, as an endpoint that is down once.
        self.fail_once: set[str] = set()
        lock = self._lock = threading.Lock()
        received = self.requests
        failing = self.fail_once

        class Handler(BaseHTTPRequestHandler):
            def _record(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with lock:
                    down = next((p for p in failing if self.path.startswith(p)), None)
                    failing.discard(down or "")
                    received.append(
                        {
                            "method": self.command,
                            "target": self.path,
                            "headers": {k.lower(): v for k, v in self.headers.items()},
                            "body": body,
                            "answered": 503 if down else 200,
                        }
                    )
                self.send_response(503 if down else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = _record  # noqa: N815 - http.server's naming
            do_POST = _record  # noqa: N815

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> CallbackReceiver:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def wait_for(self, count: int, timeout: float = 20.0, path: str = "/") -> list[dict[str, Any]]:
        """The first ``count`` requests to ``path`` or below, waiting up to ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                found = [r for r in self.requests if r["target"].startswith(path)]
            if len(found) >= count or time.monotonic() > deadline:
                return found[:count]
            time.sleep(0.05)
