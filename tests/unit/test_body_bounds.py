"""The pacing of request bodies: which bodies are cut, and why, with a stand-in client."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator

import pytest

from wagate.api.body_bounds import BodyLimits, PacedBody, closing, has_body
from wagate.domain.errors import RequestTimeout

LIMITS = BodyLimits(idle_seconds=0.2, deadline_seconds=0.5, min_bytes_per_second=1000)


def client(chunks: Iterator[tuple[float, bytes]]):  # type: ignore[no-untyped-def]
    """A receive that sends each chunk after its pause, the last with more_body False."""
    items = list(chunks)

    async def receive() -> dict[str, object]:
        if not items:
            await asyncio.Event().wait()  # a client that sends nothing more
        pause, body = items.pop(0)
        await asyncio.sleep(pause)
        return {"type": "http.request", "body": body, "more_body": bool(items)}

    return receive


async def drain(body: PacedBody) -> bytes:
    received = b""
    while True:
        message = await body.receive()
        received += message["body"]
        if not message["more_body"]:
            return received


async def test_a_prompt_body_passes_whole() -> None:
    chunks = [(0.0, b"a" * 5000), (0.0, b"b" * 5000)]
    for streamed in (False, True):
        body = PacedBody(client(iter(chunks)), LIMITS, streamed=streamed)
        assert await drain(body) == b"a" * 5000 + b"b" * 5000
        assert body.complete
        assert not body.cut


@pytest.mark.parametrize("streamed", [False, True])
async def test_a_body_that_stops_sending_is_cut_after_the_idle_timeout(streamed: bool) -> None:
    limits = BodyLimits(idle_seconds=0.2, deadline_seconds=30, min_bytes_per_second=0)
    body = PacedBody(client(iter([(0.0, b"start"), (30.0, b"end")])), limits, streamed=streamed)
    with pytest.raises(RequestTimeout, match=re.escape("sent nothing for 0.2 s")):
        await drain(body)
    assert body.cut
    with pytest.raises(RequestTimeout):
        await body.receive()


async def test_a_trickle_below_the_minimum_rate_is_cut_when_streamed() -> None:
    trickle = ((0.02, b"x") for _ in range(1000))
    body = PacedBody(client(trickle), LIMITS, streamed=True)
    with pytest.raises(RequestTimeout, match="slower than 1000 bytes a second"):
        await drain(body)


async def test_a_trickle_that_is_not_streamed_is_cut_at_its_deadline() -> None:
    trickle = ((0.02, b"x") for _ in range(1000))
    body = PacedBody(client(trickle), LIMITS, streamed=False)
    with pytest.raises(RequestTimeout, match=re.escape("took longer than 0.5 s")):
        await drain(body)


def test_a_body_is_announced_by_a_length_or_chunks() -> None:
    def scope(*headers: tuple[bytes, bytes]) -> dict[str, object]:
        return {"headers": list(headers)}

    assert has_body(scope((b"content-length", b"12")))
    assert has_body(scope((b"transfer-encoding", b"chunked")))
    assert not has_body(scope((b"content-length", b"0")))
    assert not has_body(scope((b"host", b"x")))


def test_closing_adds_connection_close_once() -> None:
    start = {"type": "http.response.start", "status": 408, "headers": [(b"a", b"b")]}
    closed = closing(start)
    assert closed["headers"] == [(b"a", b"b"), (b"connection", b"close")]
    assert closing(closed)["headers"] == closed["headers"]
