"""Upload sessions of the sandbox: their bytes in files, their counters in memory."""

from __future__ import annotations

import asyncio
import base64
import enum
import hashlib
import secrets
import time
from collections.abc import AsyncIterable, Iterator
from pathlib import Path

SESSION_PREFIX = "upload:"
HANDLE_TTL_SECONDS = 30 * 24 * 3600


class BodyOutcome(enum.Enum):
    """How reading an upload body ended."""

    STORED = "stored"
    CUT = "cut"
    OVERFLOW = "overflow"


def bare_session_id(session_id: str) -> str:
    """The id without the ``upload:`` prefix."""
    return session_id.removeprefix(SESSION_PREFIX)


class UploadSession:
    """One upload session: what it promised, what it holds, what it was sent.

    ``bytes_received`` counts every body byte the upload endpoint read for the
    session: stored, cut off, or refused (wrong offset, past ``file_length``).
    Requests failed by an injected 5xx never reach the session and do not count;
    ``requests`` counts the upload POSTs that did, ``offset_reads`` the GETs.
    """

    def __init__(
        self,
        session_id: str,
        *,
        app_id: str,
        file_name: str,
        file_length: int,
        file_type: str,
        path: Path,
    ) -> None:
        self.id = session_id
        self.app_id = app_id
        self.file_name = file_name
        self.file_length = file_length
        self.file_type = file_type
        self.path = path
        self.file_offset = 0
        self.bytes_received = 0
        self.requests = 0
        self.offset_reads = 0
        self.handle: str | None = None
        self.lock = asyncio.Lock()
        self._digest = hashlib.sha256()
        path.touch()

    @property
    def graph_id(self) -> str:
        """The id as Graph shows it, ``upload:…``."""
        return SESSION_PREFIX + self.id

    @property
    def complete(self) -> bool:
        """Whether the session holds all ``file_length`` bytes."""
        return self.file_offset == self.file_length

    async def receive(self, chunks: AsyncIterable[bytes], *, cut_after: int | None) -> BodyOutcome:
        """Append a body's bytes at the current offset, as far as they go.

        Stops after ``cut_after`` bytes of this body when given (CUT), or at
        ``file_length`` when the body goes on past it (OVERFLOW, the rest read
        and dropped). Whatever arrived before is kept.
        """
        received = 0
        outcome = BodyOutcome.STORED
        with self.path.open("ab") as sink:
            async for chunk in chunks:
                if outcome is BodyOutcome.OVERFLOW:
                    self.bytes_received += len(chunk)
                    continue
                data = chunk
                if cut_after is not None and received + len(data) >= cut_after:
                    data = data[: cut_after - received]
                    outcome = BodyOutcome.CUT
                room = self.file_length - self.file_offset
                if len(data) > room:
                    self.bytes_received += len(data) - room
                    data = data[:room]
                    outcome = BodyOutcome.OVERFLOW
                sink.write(data)
                self._digest.update(data)
                received += len(data)
                self.file_offset += len(data)
                self.bytes_received += len(data)
                if outcome is BodyOutcome.CUT:
                    break
        if self.complete and self.handle is None:
            self.handle = self._new_handle()
        return outcome

    async def discard(self, chunks: AsyncIterable[bytes]) -> None:
        """Read a refused body to its end, counting its bytes as received."""
        async for chunk in chunks:
            self.bytes_received += len(chunk)

    def _new_handle(self) -> str:
        kind = base64.b64encode(self.file_type.encode()).decode()
        expires = int(time.time()) + HANDLE_TTL_SECONDS
        return (
            f"4::{kind}:{secrets.token_urlsafe(48)}:e:{expires}:{self.app_id}:"
            f"{secrets.randbelow(10**15)}:{secrets.token_urlsafe(24)}"
        )

    def sha256(self) -> str | None:
        """The SHA-256 of the stored file once complete, else None."""
        return self._digest.hexdigest() if self.complete else None

    def as_json(self) -> dict[str, object]:
        """What the sandbox's inspection endpoint shows of the session."""
        return {
            "id": self.graph_id,
            "file_name": self.file_name,
            "file_length": self.file_length,
            "file_type": self.file_type,
            "file_offset": self.file_offset,
            "bytes_received": self.bytes_received,
            "requests": self.requests,
            "offset_reads": self.offset_reads,
            "complete": self.complete,
            "handle": self.handle,
            "sha256": self.sha256(),
        }


class UploadSessionStore:
    """Every upload session of one sandbox, their bytes in files under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self._sessions: dict[str, UploadSession] = {}

    def create(
        self, *, app_id: str, file_name: str, file_length: int, file_type: str
    ) -> UploadSession:
        """Open a new, empty session."""
        session_id = secrets.token_urlsafe(24)
        session = UploadSession(
            session_id,
            app_id=app_id,
            file_name=file_name,
            file_length=file_length,
            file_type=file_type,
            path=self.root / f"{session_id}.bin",
        )
        self._sessions[session_id] = session
        return session

    def get(self, session_id: str) -> UploadSession | None:
        """The session with this id (``upload:`` prefix or not), or None."""
        return self._sessions.get(bare_session_id(session_id))

    def __iter__(self) -> Iterator[UploadSession]:
        return iter(list(self._sessions.values()))
