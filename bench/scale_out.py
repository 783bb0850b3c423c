"""Scale-out on PostgreSQL: one API and 1, 2 and 4 ``wagate worker`` processes.

The API (``wagate serve --no-worker``) and the workers (each running every
lane) share one PostgreSQL database, and the same batched Meta status webhooks
(100 statuses each, every message's sent, then delivered, then read, 4 posted
at a time) are turned into callbacks to ``bench.receiver`` through a callback
profile on the number, as in the pipeline's batched measure; beside each run,
aiohttp POSTs as many bodies to the receiver, as many at a time as the gateway
may send to one endpoint. Every callback is checked to arrive once per message
and status, in order. All the traffic is about one business number: its inbox
partition is processed by one worker at a time, whatever the number of workers,
since statuses of one number are applied in the order Meta sent them.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from bench import pipeline
from bench.clients import client_session
from bench.processes import databases, running_receiver, sandbox_and_receiver, scratch_directory
from bench.report import table

NAME = "scale_out"
WORKER_COUNTS = (1, 2, 4)


async def _measure(
    gateway: pipeline.Gateway, receiver: Any, sizes: pipeline.Sizes, figures: pipeline.Figures
) -> None:
    async with client_session(1024, pipeline.TIMEOUT) as session:
        await pipeline.attach_profile(session, gateway, receiver)
        await pipeline.measure_batched(session, gateway, receiver, sizes, figures)


def _row(workers: int, batched: dict[str, Any]) -> list[object]:
    return [
        f"API + {workers}",
        f"{batched['statuses']:,}",
        f"{batched['gateway']:,.0f}",
        f"{batched['gateway'] / workers:,.0f}",
        f"{batched['baseline']:,.0f}",
        f"**{batched['gateway'] / batched['baseline']:.2f}×**",
        f"{batched['cpu_per_1000']:.2f}",
        batched["missing"],
        batched["twice"],
        batched["out_of_order"],
    ]


def run(workdir: Path, quick: bool) -> str:
    """Measure each worker count on a PostgreSQL database of its own."""
    sizes = pipeline.QUICK if quick else pipeline.FULL
    rows: list[list[object]] = []
    skipped: str | None = None
    with scratch_directory(workdir, NAME) as directory:
        for workers in WORKER_COUNTS:
            with databases() as (variants, skipped):
                env = variants.get("PostgreSQL")
                if env is None:
                    break
                place = directory / f"workers-{workers}"
                place.mkdir(parents=True)
                figures = pipeline.Figures(f"API + {workers}", "PostgreSQL")
                with (
                    sandbox_and_receiver(place) as (sandbox, receiver),
                    running_receiver(place / "bare.log"),
                    pipeline.deployed(
                        place / "gateway", sandbox, env, None, workers, separate=True
                    ) as gateway,
                ):
                    asyncio.run(_measure(gateway, receiver, sizes, figures))
                rows.append(_row(workers, figures.rows["batched"]))
    header = [
        "processes", "statuses", "statuses/s", "per worker", "aiohttp 32 in flight/s", "ratio",
        "CPU s per 1,000 statuses", "never arrived", "received twice", "out of order",
    ]  # fmt: skip
    parts = ["## Scale-out on PostgreSQL", "", (__doc__ or "").split("\n\n", 1)[1].strip(), ""]
    parts.append(f"Sizes: {sizes.batched_messages} messages' statuses batched per run.")
    if skipped:
        parts += ["", f"Not measured: {skipped}."]
    if rows:
        parts += ["", table(header, rows)]
    return "\n".join(parts)
