"""How quickly the command line answers ``--help``.

Each command is run as a whole process (``python -m wagate … --help``), one
after another, and timed from start to exit; the baseline is the same
interpreter starting and exiting (``python -c pass``) in the same run. The
CLI imports what a command needs only when the command runs, so ``--help``
pays for typer and rich, not for the server, the database or the HTTP
clients.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.report import table, times

NAME = "cli"
FULL_REPEATS = 15
QUICK_REPEATS = 3
COMMANDS: tuple[tuple[str, ...], ...] = (
    ("--help",),
    ("uploads", "--help"),
    ("deliveries", "list", "--help"),
    ("numbers", "create", "--help"),
    ("serve", "--help"),
)


def timed(arguments: list[str], repeats: int) -> list[float]:
    """Wall seconds of ``repeats`` runs of ``arguments``, each checked to exit 0."""
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run(arguments, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        seconds.append(time.perf_counter() - started)
    return seconds


def run(workdir: Path, quick: bool) -> str:
    """Time each command's ``--help`` and the bare interpreter; one table."""
    repeats = QUICK_REPEATS if quick else FULL_REPEATS
    baseline = statistics.median(timed([sys.executable, "-c", "pass"], repeats))
    rows: list[list[object]] = [["`python -c pass`", f"{baseline * 1000:.0f} ms", "", "1×"]]
    for command in COMMANDS:
        runs = timed([sys.executable, "-m", "wagate", *command], repeats)
        median = statistics.median(runs)
        rows.append(
            [
                f"`wagate {' '.join(command)}`",
                f"{median * 1000:.0f} ms",
                f"{max(runs) * 1000:.0f} ms",
                times(median / baseline),
            ]
        )
    return "\n".join(
        [
            "## Command line: `--help`",
            "",
            __doc__.split("\n\n", 1)[1].strip(),
            "",
            f"Each figure is over {repeats} runs.",
            "",
            table(["command", "median", "slowest", "median / baseline"], rows),
            "",
        ]
    )
