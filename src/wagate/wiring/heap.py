"""The heap of a long-running gateway process, set once it has started.

Python's cyclic collector looks, every so often, at every object that
survived its earlier looks. Start-up leaves hundreds of thousands of them
(modules, the schema, compiled statements, the OpenAPI document, templates)
that live as long as the process, so under a burst a worker spent 10–15% of
its time collecting and stopped its event loop for up to 60 ms at a time,
with callbacks answered and waiting. :func:`settle_after_start` takes what
start-up made out of the collector's sight and collects the youngest objects
less often: a burst's objects are freed by their reference counts, the
collector only finds cycles.

glibc's allocator raises its mmap threshold each time a large block is freed,
so after one burst of large bodies (webhooks of up to 3 MB, upload chunks) the
next ones come from the heap, which does not give them back: the process kept
2 to 9 MiB more after each such burst. A fixed threshold keeps every block of
128 KiB or more in its own mapping, returned to the system when freed.
"""

from __future__ import annotations

import ctypes
import gc

__all__ = [
    "LARGE_BLOCK_BYTES",
    "YOUNG_GENERATION_THRESHOLD",
    "quicken_start_up",
    "settle_after_start",
]

#: New objects (less those freed) between two collections of the youngest generation
#: (Python's default is 700).
YOUNG_GENERATION_THRESHOLD = 10_000
#: Blocks this large or larger get a mapping of their own (glibc's default start value).
LARGE_BLOCK_BYTES = 128 * 1024
#: glibc's mallopt parameters: the mmap threshold, and the free top of the heap it keeps.
_M_MMAP_THRESHOLD = -3
_M_TRIM_THRESHOLD = -1


def quicken_start_up() -> None:
    """Collect the youngest objects as rarely while the process starts as once it has.

    Imports make objects that live as long as the process: with Python's default the
    collector looked at them again and again, a tenth of the CPU of starting a gateway
    process or running a command."""
    young, middle, old = gc.get_threshold()
    gc.set_threshold(max(YOUNG_GENERATION_THRESHOLD, young), middle, old)


def settle_after_start() -> None:
    """Freeze what exists now (it is never collected, as it is never garbage) and make
    young collections rarer; large blocks mapped on their own. Call once, when the process
    has started."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD, middle, old)
    _fix_mmap_threshold()


def _fix_mmap_threshold() -> None:
    """Large blocks always mapped on their own (glibc only; elsewhere nothing to do)."""
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library the interpreter runs on
    except (OSError, AttributeError):
        return
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    mallopt(_M_MMAP_THRESHOLD, LARGE_BLOCK_BYTES)
    # Start-up's frees raised this one too (to twice the threshold, each time).
    mallopt(_M_TRIM_THRESHOLD, LARGE_BLOCK_BYTES)
