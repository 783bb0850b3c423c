"""The markdown of the event pipeline's figures: one table per measure, runs as rows."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from bench.report import table, times
from wagate.settings import Settings

if TYPE_CHECKING:
    from bench.pipeline import Figures, Sizes

#: Requests the gateway sends to one endpoint at once, by default: the batched baseline's.
PER_ENDPOINT = Settings().callback_endpoint_concurrency


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


Column = tuple[str, Callable[[dict[str, Any]], object]]
_TAIL: list[Column] = [
    ("never arrived", lambda r: r["missing"]),
    ("received twice", lambda r: r["twice"]),
    ("out of order", lambda r: r["out_of_order"]),
]
_TABLES: list[tuple[str, str, list[Column]]] = [
    (
        "sends",
        "### Sends",
        [
            ("messages", lambda r: r["count"]),
            ("gateway sends/s", lambda r: f"{r['gateway']:.0f}"),
            ("sandbox direct sends/s", lambda r: f"{r['baseline']:.0f}"),
            ("ratio", lambda r: times(r["gateway"] / r["baseline"])),
        ],
    ),
    (
        "batched",
        "### Batched webhooks (100 statuses each) to callbacks received",
        [
            ("statuses", lambda r: r["statuses"]),
            ("statuses/s", lambda r: f"{r['gateway']:.0f}"),
            (f"aiohttp {PER_ENDPOINT} in flight/s", lambda r: f"{r['baseline']:.0f}"),
            ("ratio", lambda r: times(r["gateway"] / r["baseline"])),
            ("CPU s per 1,000 statuses", lambda r: f"{r['cpu_per_1000']:.2f}"),
            ("statements per status", lambda r: f"{r['statements_per_status']:.2f}"),
            *_TAIL,
        ],
    ),
    (
        "acks",
        "### Single-status webhooks acknowledged, 64 in flight (the median round)",
        [
            ("rounds × webhooks", lambda r: f"{r['rounds']} × {r['webhooks']}"),
            ("acks/s", lambda r: f"{r['gateway']:.0f}"),
            ("p50 ack", lambda r: _ms(r["p50"])),
            ("p99 ack", lambda r: _ms(r["p99"])),
            ("bare aiohttp server acks/s", lambda r: f"{r['baseline']:.0f}"),
            ("ratio", lambda r: times(r["gateway"] / r["baseline"])),
            ("ratio, all rounds", lambda r: f"{r['lowest']:.2f}–{r['highest']:.2f}×"),
            ("all callbacks in after", lambda r: f"{r['all_delivered_after']:.1f} s"),
            *_TAIL,
        ],
    ),
    (
        "paced",
        "### Paced: single-status webhooks offered at a fixed rate, latency from our 200 "
        "to the customer's receipt",
        [
            ("webhooks", lambda r: r["webhooks"]),
            ("offered/s", lambda r: f"{r['offered']:.0f}"),
            ("callbacks arrived", lambda r: r["arrived"]),
            ("p50", lambda r: _ms(r["p50"])),
            ("p99", lambda r: _ms(r["p99"])),
            ("max", lambda r: _ms(r["max"])),
            *_TAIL,
        ],
    ),
    (
        "crash",
        "### SIGKILL mid-burst, then a restart",
        [
            ("webhooks", lambda r: r["webhooks"]),
            ("killed", lambda r: r["killed"]),
            ("after webhooks posted", lambda r: r["killed_at"]),
            ("posts retried", lambda r: r["retried"]),
            ("callbacks arrived", lambda r: r["arrived"]),
            *_TAIL,
        ],
    ),
]


def section(
    runs: list[Figures], skipped: str | None, sizes: dict[str, Sizes], introduction: str
) -> str:
    """The markdown of every measure, one table each, runs as rows, after ``introduction``
    (the pipeline module's docstring)."""
    lines = [
        "## The event pipeline",
        "",
        introduction.split("\n\n", 1)[1].split("\n\n``BENCH_BEFORE")[0].strip(),
        "",
    ]
    for label, size in sizes.items():
        lines += [
            f"Sizes of the `{label}` runs: {size.sends} sends; {size.batched_messages} messages' "
            f"statuses batched; {size.ack_rounds} × {size.ack_messages} messages' statuses one per "
            f"webhook; paced at "
            f"{size.paced_rate:.0f}/s for {size.paced_seconds:.0f} s; "
            f"{size.crash_messages} messages' statuses around the crash.",
            "",
        ]
    if skipped:
        lines += [f"PostgreSQL was left out: {skipped}.", ""]
    for key, title, columns in _TABLES:
        rows = [
            [run.label, run.database, *(get(found) for _, get in columns)]
            for run in runs
            if (found := run.rows.get(key))
        ]
        if rows:
            lines += [title, "", table(["run", "database", *(h for h, _ in columns)], rows), ""]
    return "\n".join(lines)
