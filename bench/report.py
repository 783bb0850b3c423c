"""Markdown for ``docs/benchmarks.md``: tables, units, and the document around the sections."""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Iterable, Mapping, Sequence

MB = 1_000_000
MIB = 1024 * 1024

_SECTION = re.compile(
    r"<!-- bench:(?P<name>[\w-]+) -->\n(?P<body>.*?)<!-- /bench:(?P=name) -->", re.DOTALL
)


def median(values: Sequence[float]) -> float:
    """The median of at least one value."""
    return float(statistics.median(values))


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile (``fraction`` 0.5 for p50, 0.99 for p99) of some values."""
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return float(ordered[rank - 1])


def ms(seconds: float) -> str:
    """Seconds as milliseconds, one decimal."""
    return f"{seconds * 1000:.1f} ms"


def times(ratio: float) -> str:
    """A ratio, bold: two decimals, or two significant digits below 0.1."""
    return f"**{ratio:.2f}×**" if ratio >= 0.1 else f"**{ratio:.2g}×**"


def mb_per_second(size: int, seconds: float) -> float:
    """Throughput in MB/s (10^6 bytes per second)."""
    return size / seconds / MB


def mib(size: int) -> str:
    """A byte count in MiB, one decimal."""
    return f"{size / MIB:.1f} MiB"


def table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A markdown table; the first column left-aligned, the others right-aligned."""
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join([":---"] + ["---:"] * (len(header) - 1)) + "|",
    ]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def wrap_section(name: str, markdown: str) -> str:
    """A section between markers, so a later ``--only`` run can replace just it."""
    return f"<!-- bench:{name} -->\n{markdown.strip()}\n<!-- /bench:{name} -->"


def existing_sections(document: str) -> dict[str, str]:
    """The marked sections of an earlier ``docs/benchmarks.md``, by benchmark name."""
    return {
        match["name"]: wrap_section(match["name"], match["body"])
        for match in _SECTION.finditer(document)
    }


def document(header: str, order: Sequence[str], sections: Mapping[str, str]) -> str:
    """The whole file: the header, then each known section in ``order``."""
    parts = [header.strip()]
    parts += [sections[name] for name in order if name in sections]
    return "\n\n".join(parts) + "\n"
