"""``python -m bench``: run the benchmarks and write ``docs/benchmarks.md``.

``--only NAME`` runs one benchmark and keeps the other sections of the
existing file; ``--quick`` uses small sizes for a smoke run and, unless
``--output`` says otherwise, writes to ``.bench/benchmarks-quick.md`` so the
published figures are not replaced by smoke-run ones.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

from bench.machine import describe
from bench.registry import load_benchmarks
from bench.report import document, existing_sections, wrap_section

ROOT = Path(__file__).resolve().parent.parent
SCRATCH = ROOT / ".bench"
PUBLISHED = ROOT / "docs" / "benchmarks.md"
QUICK_OUTPUT = SCRATCH / "benchmarks-quick.md"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line: ``--only NAME``, ``--quick``, ``--output PATH``."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", metavar="NAME", help="run just this benchmark")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--output", type=Path, help="where to write the markdown")
    return parser.parse_args(argv)


def header(workdir: Path, quick: bool, kept: list[str]) -> str:
    """The top of the file: what it is, the machine, and how to re-run."""
    lines = [
        "# Benchmarks",
        "",
        "Written by `python -m bench`. Re-run everything with `make bench`, or one "
        "section with `.venv/bin/python -m bench --only NAME` (`--quick` for a smoke run "
        "with small sizes, written to `.bench/benchmarks-quick.md`). Figures come from real "
        "processes on 127.0.0.1 on the machine below; MB/s is 10^6 bytes per second. "
        "Re-measure before relying on them.",
    ]
    if kept:
        lines += ["", f"Sections kept from an earlier run, not re-measured: {', '.join(kept)}."]
    if quick:
        lines += ["", "**Smoke run (`--quick`): small sizes, one repeat; not for comparison.**"]
    lines += ["", "Measured on:", "", *describe(workdir, ROOT)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the chosen benchmarks in a scratch directory under ``.bench/``; write the file."""
    # A SIGTERM (a timeout, a CI stop) unwinds like Ctrl-C, so every server started is stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    args = parse_args(argv)
    output: Path = args.output or (QUICK_OUTPUT if args.quick else PUBLISHED)
    benchmarks = load_benchmarks(args.only)
    SCRATCH.mkdir(exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="run-", dir=SCRATCH))
    sections = existing_sections(output.read_text()) if args.only and output.exists() else {}
    kept = [name for name in sections if name != args.only]
    try:
        top = header(workdir, args.quick, kept)
        for benchmark in benchmarks:
            print(f"bench: running {benchmark.NAME}…", file=sys.stderr, flush=True)
            started = time.monotonic()
            markdown = benchmark.run(workdir, args.quick)
            sections[benchmark.NAME] = wrap_section(benchmark.NAME, markdown)
            took = time.monotonic() - started
            print(f"bench: {benchmark.NAME} took {took:.1f}s", file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    order = [benchmark.NAME for benchmark in load_benchmarks()]
    order += [name for name in sections if name not in order]
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(document(top, order, sections))
    print(f"bench: wrote {output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
