"""What operators ask a process: is it ready, and what does the stored state look like."""

from __future__ import annotations

import uuid
from typing import Any

from wagate import metrics
from wagate.blobs import BlobStore
from wagate.domain.clock import Clock, utcnow
from wagate.store import Database, stats

__all__ = ["OperationsService"]


class OperationsService:
    """Readiness checks and the figures behind ``/metrics``."""

    def __init__(self, database: Database, blobs: BlobStore, clock: Clock = utcnow) -> None:
        self._db = database
        self._blobs = blobs
        self._clock = clock

    async def readiness(self) -> dict[str, str]:
        """Each check and its result: ``ok`` or why not."""
        checks: dict[str, str] = {}
        try:
            await self._db.ping()
            checks["database"] = "ok"
            checks["migrations"] = (
                "ok" if await self._db.schema_is_current() else "not at the newest migration"
            )
        except Exception as exc:
            checks["database"] = f"unreachable: {_reason(exc)}"
            checks["migrations"] = "unknown"
        try:
            writer = self._blobs.create(f"readiness/{uuid.uuid4().hex}")
            await writer.write(b"ok")
            await writer.commit()
            await self._blobs.delete(writer.key)
            checks["storage"] = "ok"
        except Exception as exc:
            checks["storage"] = f"not writable: {type(exc).__name__}"
        return checks

    async def readiness_report(
        self, extra: dict[str, str] | None = None
    ) -> tuple[bool, dict[str, Any]]:
        """Whether the process is ready, and the body ``/readyz`` answers with; ``extra``
        checks (``ok`` or why not) are added to this process's own."""
        checks = {**await self.readiness(), **(extra or {})}
        ready = all(value == "ok" for value in checks.values())
        return ready, {"status": "ready" if ready else "not ready", "checks": checks}

    async def metrics_exposition(self) -> bytes:
        """The Prometheus exposition ``/metrics`` answers with; without the stored
        state when the database cannot be read, so the process's own counters still go out."""
        try:
            counts, age = await self.state()
        except Exception:
            counts, age = {}, 0.0
        return metrics.render(counts, age)

    async def state(self) -> tuple[dict[str, dict[str, float]], float]:
        """Stored-state counts and the age of the oldest due work."""
        async with self._db.transaction() as connection:
            counts = await stats.state_counts(connection)
            age = await stats.oldest_due_age(connection, self._clock())
        return counts, age


def _reason(exc: Exception, limit: int = 200) -> str:
    """What went wrong, in one short line: the error's class and message."""
    message = " ".join(str(exc).split())
    text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"
