"""The API process's gateway: the shared services (:class:`~wagate.wiring.app_context.AppContext`)
and what only the API does with them.

``wagate serve`` runs the worker in child processes (:mod:`wagate.api.worker_process`),
woken whenever this process adds work; the API spools Meta's webhooks on SQLite and
answers readiness and metrics for itself and its children.
"""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass, field
from typing import Any

from wagate import metrics
from wagate.api.worker_process import WorkerProcess
from wagate.settings import Settings
from wagate.wiring.app_context import AppContext
from wagate.wiring.lanes import CHILD_LANES

__all__ = ["Gateway"]


@dataclass
class Gateway(AppContext):
    """The resources and services of the API process, and its worker children."""

    worker_processes: list[WorkerProcess] = field(default_factory=list)

    @classmethod
    async def start(cls, settings: Settings) -> Gateway:
        """Open the database, migrate it and build the services."""
        return await cls.open(settings)

    async def open_ingress_spool(self) -> None:
        """On the embedded SQLite file, acknowledge Meta's webhooks once spooled
        (:mod:`wagate.store.ingress_spool`), beside the database file; for the process
        that serves the API, which holds the data directory's lock."""
        path = self.settings.sqlite_path()
        if path is not None:
            await self.ingress.open_spool(path.with_name(f"{path.name}-ingress"))

    async def start_worker_processes(self, *, lock_fd: int | None = None) -> None:
        """Run the worker in child processes, woken whenever this process adds work (and
        holding the data directory's lock, ``lock_fd``, with this one).

        Callbacks go out from a child of their own (:data:`CHILD_LANES`), so that
        sending them and processing Meta's webhooks each have a core. On SQLite the
        children hear of each other's work through this process; on PostgreSQL,
        through NOTIFY.
        """
        for index, lanes in enumerate(CHILD_LANES):
            child = WorkerProcess(
                grace_seconds=self.settings.worker_grace_seconds,
                niceness=self.settings.worker_niceness,
                lock_fd=lock_fd,
                lanes=lanes,
                on_report=(
                    functools.partial(self._wake_children, besides=index)
                    if self.database.is_sqlite
                    else None
                ),
            )
            self.worker_processes.append(child)
            self.database.on_work_added(child.wake)
        for child in self.worker_processes:
            await child.start()

    def _wake_children(self, channels: set[str], *, besides: int) -> None:
        for index, child in enumerate(self.worker_processes):
            if index != besides:
                child.wake(channels)

    async def readiness_report(self) -> tuple[bool, dict[str, Any]]:
        """Whether this process (and its worker children) are ready, and the ``/readyz`` body."""
        extra = {}
        if self.worker_processes:
            answers = await asyncio.gather(*(c.readiness() for c in self.worker_processes))
            failing = [
                f"{'+'.join(child.lanes or ('all lanes',))}: {answer}"
                for child, answer in zip(self.worker_processes, answers, strict=True)
                if answer != "ok"
            ]
            extra["worker"] = "; ".join(failing) or "ok"
        return await self.operations.readiness_report(extra)

    async def metrics_exposition(self) -> bytes:
        """The ``/metrics`` exposition: this process's, with its worker children's counters
        added."""
        own = await self.operations.metrics_exposition()
        if not self.worker_processes:
            return own
        children = await asyncio.gather(*(c.metrics() for c in self.worker_processes))
        return metrics.merge(own, [child for child in children if child is not None])

    async def stop(self) -> None:
        """Stop the worker children (within their grace period) and release what
        :meth:`start` opened."""
        await asyncio.gather(*(child.stop() for child in self.worker_processes))
        await self.close()
