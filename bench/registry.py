"""The benchmarks ``python -m bench`` runs, and what a benchmark module must provide.

To add a benchmark, write a module in ``bench/`` with a ``NAME`` and a
``run(workdir, quick)`` returning its markdown section, and list it in
:data:`BENCHMARK_MODULES`.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Protocol, cast

#: Every benchmark, in the order they run and appear in ``docs/benchmarks.md``.
BENCHMARK_MODULES: tuple[str, ...] = (
    "bench.upload",
    "bench.transfer",
    "bench.deliveries",
    "bench.pipeline",
    "bench.scale_out",
    "bench.fairness",
    "bench.retention",
    "bench.sends",
    "bench.cli",
)


class Benchmark(Protocol):
    """A benchmark module: its ``NAME`` and its ``run`` function."""

    NAME: str

    def run(self, workdir: Path, quick: bool) -> str:
        """Measure, clean up what was written, and return a markdown section."""
        ...


def load_benchmarks(only: str | None = None) -> list[Benchmark]:
    """The registered benchmarks (just the one named ``only`` when given)."""
    loaded: list[Benchmark] = []
    for module_name in BENCHMARK_MODULES:
        module = importlib.import_module(module_name)
        if not isinstance(getattr(module, "NAME", None), str) or not callable(
            getattr(module, "run", None)
        ):
            raise TypeError(f"{module_name} must define NAME and run(workdir, quick)")
        loaded.append(cast(Benchmark, module))
    if only is None:
        return loaded
    chosen = [benchmark for benchmark in loaded if only == benchmark.NAME]
    if not chosen:
        names = ", ".join(benchmark.NAME for benchmark in loaded)
        raise SystemExit(f"no benchmark named {only!r}; there are: {names}")
    return chosen
