"""A local receiver of the gateway's callbacks and pushes that checks their signatures.

It is what a customer runs while building their endpoint (``wagate listen``):
every request is printed as it arrives with whether its Standard Webhooks
signature verifies. The signed payload is the body of a POST and the request
target (path and query, byte for byte as sent) of a GET; the signature must
be within ``tolerance`` seconds of now, so a captured request cannot be
replayed later. Verified requests are answered 200, the others 401, so the
gateway retries what a real endpoint would refuse.

Only the standard library and :mod:`wagate.delivery.signing`: it starts at once.
"""

from __future__ import annotations

import hmac
import json
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TextIO
from urllib.parse import parse_qsl, urlsplit

from wagate.delivery.signing import sign

#: Seconds a signature's timestamp may be away from now (the Standard Webhooks default).
DEFAULT_TOLERANCE_SECONDS = 300
MAX_BODY_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class Verdict:
    """Whether a request's signature verifies, and a sentence that says why (not)."""

    verified: bool
    reason: str


def verify(
    secrets: Sequence[str],
    headers: dict[str, str],
    method: str,
    target: str,
    body: bytes,
    *,
    now: float,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
) -> Verdict:
    """Check a request's ``webhook-signature`` against every secret (``headers`` lower-cased)."""
    msg_id = headers.get("webhook-id")
    timestamp = headers.get("webhook-timestamp", "")
    given = headers.get("webhook-signature")
    if not msg_id or not given:
        return Verdict(False, "no webhook-id or webhook-signature header")
    if not timestamp.isascii() or not timestamp.isdigit():
        return Verdict(False, f"webhook-timestamp {timestamp!r} is not a number")
    age = now - int(timestamp)
    if abs(age) > tolerance:
        return Verdict(False, f"webhook-timestamp is {age:+.0f} s from now (over {tolerance} s)")
    payload = target.encode("utf-8") if method == "GET" else body
    signatures = given.split(" ")
    for secret in secrets:
        expected = sign(secret, msg_id, int(timestamp), payload)
        if any(hmac.compare_digest(expected, signature) for signature in signatures):
            return Verdict(True, "signature verified")
    return Verdict(False, "signature does not match (tampered, or signed with another secret)")


@dataclass(frozen=True)
class Received:
    """One request as the receiver got it."""

    at: float
    method: str
    target: str
    headers: dict[str, str]
    body: bytes
    verdict: Verdict

    def as_json(self) -> dict[str, Any]:
        """The request as one JSON object (``--json``)."""
        document: dict[str, Any] = {
            "method": self.method,
            "target": self.target,
            "webhook_id": self.headers.get("webhook-id"),
            "webhook_timestamp": self.headers.get("webhook-timestamp"),
            "webhook_signature": self.headers.get("webhook-signature"),
            "verified": self.verdict.verified,
            "reason": self.verdict.reason,
        }
        if self.method == "GET":
            document["query"] = dict(parse_qsl(urlsplit(self.target).query, True))
        else:
            document["body"] = _decoded(self.body)
        return document

    def as_text(self) -> str:
        """The request as a few lines for a person."""
        mark = "verified" if self.verdict.verified else f"REJECTED: {self.verdict.reason}"
        clock = time.strftime("%H:%M:%S", time.localtime(self.at))
        lines = [
            f"{clock}  {self.method} {self.target}",
            f"  webhook-id {self.headers.get('webhook-id', '-')}  {mark}",
        ]
        if self.method == "GET":
            for name, value in parse_qsl(urlsplit(self.target).query, True):
                lines.append(f"  {name} = {value}")
        else:
            decoded = _decoded(self.body)
            text = (
                json.dumps(decoded, indent=2, ensure_ascii=False)
                if not isinstance(decoded, str)
                else decoded
            )
            lines.extend("  " + line for line in text.splitlines())
        return "\n".join(lines)


def _decoded(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace")


class Listener:
    """An HTTP server on ``host:port`` that prints and verifies every request it gets."""

    def __init__(
        self,
        host: str,
        port: int,
        secrets: Sequence[str],
        *,
        out: TextIO = sys.stdout,
        as_json: bool = False,
        tolerance: int = DEFAULT_TOLERANCE_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._lock = threading.Lock()
        listener = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _receive(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_BODY_BYTES:
                    self._answer(413, {"error": "body too large"})
                    return
                body = self.rfile.read(length) if length else b""
                headers = {name.lower(): value for name, value in self.headers.items()}
                now = clock()
                verdict = verify(
                    secrets, headers, self.command, self.path, body, now=now, tolerance=tolerance
                )
                listener.show(Received(now, self.command, self.path, headers, body, verdict))
                if verdict.verified:
                    self._answer(200, {"received": True})
                else:
                    self._answer(401, {"error": verdict.reason})

            def _answer(self, status: int, document: dict[str, Any]) -> None:
                data = json.dumps(document).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = _receive  # noqa: N815 - http.server's naming
            do_POST = _receive  # noqa: N815

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._out = out
        self._as_json = as_json
        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        bound_host, bound_port = self.server.server_address[:2]
        self.url = f"http://{bound_host!s}:{bound_port}"

    def show(self, received: Received) -> None:
        """Print one request (a JSON line with ``as_json``), whole, at once."""
        text = (
            json.dumps(received.as_json(), ensure_ascii=False)
            if self._as_json
            else received.as_text()
        )
        with self._lock:
            self._out.write(text + "\n")
            self._out.flush()

    def serve_forever(self) -> None:
        """Serve until :meth:`shutdown` (or a KeyboardInterrupt)."""
        try:
            self.server.serve_forever()
        finally:
            self.server.server_close()

    def shutdown(self) -> None:
        """Stop serving."""
        self.server.shutdown()
