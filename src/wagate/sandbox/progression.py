"""Automatic progression: every accepted message is sent, then delivered, then read.

When on, each message the send endpoint accepts gets exactly three status
webhooks, ``delays_ms`` after its acceptance. ``duplicates`` sends each twice,
as Meta sometimes does; ``out_of_order`` lets ``delivered`` arrive after
``read`` (its timestamp still no later than read's), as Meta's may.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

import structlog

from wagate.sandbox.messages import SentMessage

log = structlog.get_logger("wagate.sandbox")

DEFAULT_DELAYS_MS = (100, 300, 600)
MAX_DELAY_MS = 3_600_000
#: Messages whose progression may be pending at once; later ones get none.
MAX_PENDING = 10_000
_FIELDS = ("enabled", "delays_ms", "duplicates", "out_of_order")

#: Sends one status webhook: (message, status, timestamp, copies).
Emit = Callable[[SentMessage, str, int, int], Awaitable[object]]


def _flag(name: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false, not {value!r}")
    return value


def _delays(value: object) -> tuple[int, int, int]:
    if (
        not isinstance(value, list | tuple)
        or len(value) != 3
        or not all(isinstance(d, int) and not isinstance(d, bool) for d in value)
    ):
        raise ValueError(f"delays_ms must be 3 integers [sent, delivered, read], not {value!r}")
    sent, delivered, read = value
    if not 0 <= sent <= delivered <= read <= MAX_DELAY_MS:
        raise ValueError(f"delays_ms must rise from 0 to at most {MAX_DELAY_MS}, not {value!r}")
    return sent, delivered, read


@dataclass(frozen=True)
class Step:
    """One status of a progression.

    It is sent ``at`` seconds after the message was accepted, and its timestamp
    says it happened ``happened_at`` seconds after.
    """

    at: float
    status: str
    happened_at: float
    copies: int


@dataclass
class AutoProgression:
    """Whether and how accepted messages progress on their own."""

    enabled: bool = False
    delays_ms: tuple[int, int, int] = DEFAULT_DELAYS_MS
    duplicates: bool = False
    out_of_order: bool = False

    def __post_init__(self) -> None:
        self.update(self.as_json())

    def update(self, changes: Mapping[str, object]) -> None:
        """Set the given fields, leaving the others as they are; ValueError if one is wrong."""
        unknown = sorted(set(changes) - set(_FIELDS))
        if unknown:
            raise ValueError(f"unknown fields {unknown}; known: {list(_FIELDS)}")
        enabled = _flag("enabled", changes.get("enabled", self.enabled))
        delays = _delays(changes.get("delays_ms", self.delays_ms))
        duplicates = _flag("duplicates", changes.get("duplicates", self.duplicates))
        out_of_order = _flag("out_of_order", changes.get("out_of_order", self.out_of_order))
        self.enabled, self.delays_ms = enabled, delays
        self.duplicates, self.out_of_order = duplicates, out_of_order

    def as_json(self) -> dict[str, object]:
        """The settings as JSON."""
        return {
            "enabled": self.enabled,
            "delays_ms": list(self.delays_ms),
            "duplicates": self.duplicates,
            "out_of_order": self.out_of_order,
        }

    def plan(self) -> list[Step]:
        """The three steps of a message's progression, in the order they are sent."""
        sent, delivered, read = (d / 1000 for d in self.delays_ms)
        copies = 2 if self.duplicates else 1
        if self.out_of_order:
            return [
                Step(sent, "sent", sent, copies),
                Step(delivered, "read", delivered, copies),
                Step(read, "delivered", delivered, copies),
            ]
        return [
            Step(sent, "sent", sent, copies),
            Step(delivered, "delivered", delivered, copies),
            Step(read, "read", read, copies),
        ]


class Progressions:
    """The pending progressions, one task per message, all cancelled by ``cancel_all``."""

    def __init__(self, emit: Emit) -> None:
        self._emit = emit
        self._tasks: set[asyncio.Task[None]] = set()

    def __len__(self) -> int:
        return len(self._tasks)

    def schedule(self, message: SentMessage, plan: Sequence[Step]) -> bool:
        """Start ``message``'s progression; False when too many are pending already."""
        if len(self._tasks) >= MAX_PENDING:
            log.warning("sandbox.auto.full", wamid=message.wamid, pending=len(self._tasks))
            return False
        loop = asyncio.get_running_loop()
        task = loop.create_task(self._run(message, list(plan), loop.time()))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def cancel_all(self) -> None:
        """Cancel every pending progression and wait until they stopped."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _run(self, message: SentMessage, plan: list[Step], started: float) -> None:
        loop = asyncio.get_running_loop()
        for step in plan:
            pause = started + step.at - loop.time()
            if pause > 0:
                await asyncio.sleep(pause)
            timestamp = int(message.accepted_at + step.happened_at)
            try:
                await self._emit(message, step.status, timestamp, step.copies)
            except Exception:
                log.exception("sandbox.auto.failed", wamid=message.wamid, status=step.status)
