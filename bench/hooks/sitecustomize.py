"""Counts, in every process of a gateway under benchmark, its SQL statements and CPU time.

Loaded by Python at start-up when ``bench/hooks`` is on ``PYTHONPATH`` and
``WAGATE_BENCH_COUNTS_DIR`` names a directory: each process writes
``<pid>.json`` there (statements sent through SQLAlchemy, user + system CPU
seconds) four times a second and at exit. It works the same on any version of
wagate, so two versions can be compared by one method.
"""

from __future__ import annotations

import atexit
import json
import os
import resource
import threading
from pathlib import Path

_DIRECTORY = os.environ.get("WAGATE_BENCH_COUNTS_DIR")
_counts = {"statements": 0}


def _write() -> None:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    record = {"statements": _counts["statements"], "cpu": usage.ru_utime + usage.ru_stime}
    path = Path(str(_DIRECTORY)) / f"{os.getpid()}.json"
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(record))
    temporary.replace(path)


def _keep_writing() -> None:
    stop = threading.Event()
    while not stop.wait(0.25):
        try:
            _write()
        except OSError:
            return


def _install() -> None:
    try:
        from sqlalchemy import event
        from sqlalchemy.engine import Engine
    except ImportError:
        return

    @event.listens_for(Engine, "before_cursor_execute")
    def _count(*_args: object) -> None:
        _counts["statements"] += 1

    atexit.register(_write)
    threading.Thread(target=_keep_writing, name="bench-counts", daemon=True).start()


if _DIRECTORY:
    _install()
