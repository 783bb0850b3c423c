"""send_resumable against a scripted, in-memory Meta: retries, resumes, give-ups."""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Callable, Sequence
from dataclasses import dataclass

import pytest

from wagate.domain.errors import (
    MetaOffsetMismatch,
    MetaPermanentError,
    MetaTransientError,
)
from wagate.upstream.graph import UploadProgress
from wagate.upstream.resumable import send_resumable

SESSION = "upload:fake"
HANDLE = "4::fake-handle"


@dataclass(frozen=True)
class Cut:
    """Keep this many bytes of the body, then break the connection."""

    after: int


class LoseAnswer:
    """Keep the whole body, then break the connection before answering."""


PostFault = Exception | Cut | LoseAnswer | None


class FakeMeta:
    """Holds the bytes it was sent; fails requests as scripted."""

    def __init__(
        self,
        size: int,
        *,
        posts: Sequence[PostFault] | None = None,
        gets: Sequence[Exception | None] | None = None,
        held: bytes = b"",
    ) -> None:
        self.size = size
        self.held = bytearray(held)
        self.bytes_received = 0
        self.posts: deque[PostFault] = deque(posts or [])
        self.gets: deque[Exception | None] = deque(gets or [])
        self.calls: list[tuple[str, int]] = []

    async def get_upload_offset(self, session_id: str) -> int:
        assert session_id == SESSION
        self.calls.append(("get", len(self.held)))
        fault = self.gets.popleft() if self.gets else None
        if fault is not None:
            raise fault
        return len(self.held)

    async def upload_from(
        self, session_id: str, offset: int, body: AsyncIterable[bytes], length: int
    ) -> UploadProgress:
        assert session_id == SESSION
        self.calls.append(("post", offset))
        fault = self.posts.popleft() if self.posts else None
        if isinstance(fault, Exception):
            raise fault
        data = b"".join([chunk async for chunk in body])
        assert len(data) == length
        if isinstance(fault, Cut):
            data = data[: fault.after]
        self.bytes_received += len(data)
        if offset != len(self.held):
            raise MetaOffsetMismatch("does not match", expected_offset=len(self.held))
        self.held += data
        if isinstance(fault, Cut | LoseAnswer):
            raise MetaTransientError("connection reset")
        if len(self.held) == self.size:
            return UploadProgress(file_offset=self.size, handle=HANDLE)
        return UploadProgress(file_offset=len(self.held))


def make_reader(
    data: bytes, reads: list[tuple[int, int]]
) -> Callable[[int, int], AsyncIterator[bytes]]:
    async def read(offset: int, length: int) -> AsyncIterator[bytes]:
        reads.append((offset, length))
        for start in range(offset, offset + length, 3):
            yield data[start : min(start + 3, offset + length)]

    return read


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


def backoff(attempt: int) -> float:
    return float(attempt)


DATA = bytes(range(10))


async def send(meta: FakeMeta, **options: object) -> tuple[str, Sleeps, list[tuple[int, int]]]:
    sleeps = Sleeps()
    reads: list[tuple[int, int]] = []
    arguments: dict[str, object] = {"chunk_bytes": 4, "backoff": backoff, "sleep": sleeps}
    arguments.update(options)
    handle = await send_resumable(
        meta,
        SESSION,
        len(DATA),
        make_reader(DATA, reads),
        **arguments,  # type: ignore[arg-type]
    )
    return handle, sleeps, reads


async def test_the_file_goes_in_chunks_each_at_its_offset() -> None:
    meta = FakeMeta(len(DATA))
    seen: list[int] = []

    async def progress(offset: int) -> None:
        seen.append(offset)

    handle, sleeps, reads = await send(meta, on_progress=progress)
    assert handle == HANDLE
    assert bytes(meta.held) == DATA
    assert reads == [(0, 4), (4, 4), (8, 2)]
    assert seen == [4, 8, 10]
    assert sleeps.delays == []


async def test_a_cut_body_resumes_from_metas_offset_and_sends_only_the_rest() -> None:
    meta = FakeMeta(len(DATA), posts=[None, Cut(after=1)])
    handle, sleeps, reads = await send(meta)
    assert handle == HANDLE
    assert bytes(meta.held) == DATA
    assert meta.bytes_received == len(DATA)
    assert reads == [(0, 4), (4, 4), (5, 4), (9, 1)]
    assert ("get", 5) in meta.calls
    assert sleeps.delays == [1.0]


async def test_failures_without_progress_back_off_longer_and_longer() -> None:
    unavailable = MetaTransientError("Service unavailable", status=503, code=2)
    meta = FakeMeta(len(DATA), posts=[unavailable], gets=[unavailable, unavailable])
    handle, sleeps, _ = await send(meta)
    assert handle == HANDLE
    assert sleeps.delays == [1.0, 2.0, 3.0]
    assert [kind for kind, _ in meta.calls[:4]] == ["post", "get", "get", "get"]


async def test_progress_resets_the_count_of_failures() -> None:
    meta = FakeMeta(len(DATA), posts=[Cut(after=1), Cut(after=1), Cut(after=1), Cut(after=1)])
    handle, sleeps, _ = await send(meta, max_attempts=2)
    assert handle == HANDLE
    assert bytes(meta.held) == DATA
    assert sleeps.delays == [1.0, 1.0, 1.0, 1.0]


async def test_a_permanent_error_is_raised_at_once() -> None:
    refused = MetaPermanentError("Invalid OAuth access token", status=401, code=190)
    meta = FakeMeta(len(DATA), posts=[refused])
    with pytest.raises(MetaPermanentError) as caught:
        await send(meta)
    assert caught.value is refused
    assert meta.calls == [("post", 0)]


async def test_the_last_transient_error_is_raised_after_max_attempts() -> None:
    errors = [MetaTransientError(f"failure {n}", status=503) for n in range(10)]
    meta = FakeMeta(len(DATA), posts=[errors[0]], gets=errors[1:])
    with pytest.raises(MetaTransientError, match="failure 3"):
        await send(meta, max_attempts=4)
    assert len(meta.calls) == 4


async def test_an_offset_mismatch_rereads_the_offset_without_waiting() -> None:
    meta = FakeMeta(len(DATA), held=DATA[:6])
    handle, sleeps, reads = await send(meta)
    assert handle == HANDLE
    assert bytes(meta.held) == DATA
    assert sleeps.delays == []
    assert reads == [(0, 4), (6, 4)]


async def test_a_known_start_offset_skips_what_meta_holds() -> None:
    meta = FakeMeta(len(DATA), held=DATA[:6])
    handle, _, reads = await send(meta, start_offset=6)
    assert handle == HANDLE
    assert reads == [(6, 4)]


async def test_a_lost_final_answer_is_recovered_with_an_empty_chunk() -> None:
    meta = FakeMeta(len(DATA), posts=[None, None, LoseAnswer()])
    handle, _, reads = await send(meta)
    assert handle == HANDLE
    assert reads[-1] == (10, 0)
    assert meta.bytes_received == len(DATA)


async def test_an_offset_beyond_the_file_is_permanent() -> None:
    meta = FakeMeta(len(DATA), posts=[MetaTransientError("reset")], held=DATA + b"extra")
    with pytest.raises(MetaPermanentError, match="outside"):
        await send(meta)


@pytest.mark.parametrize(
    "options", [{"chunk_bytes": 0}, {"max_attempts": 0}, {"start_offset": -1}, {"start_offset": 11}]
)
async def test_nonsense_arguments_are_refused(options: dict[str, int]) -> None:
    with pytest.raises(ValueError, match=r"."):
        await send(FakeMeta(len(DATA)), **options)
