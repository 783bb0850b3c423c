"""The garbage collector of a long-running gateway process, set once it has started.

Python's cyclic collector looks, every so often, at every object that
survived its earlier looks. Start-up leaves hundreds of thousands of them
(modules, the schema, compiled statements, the OpenAPI document, templates)
that live as long as the process, so under a burst a worker spent 10–15% of
its time collecting and stopped its event loop for up to 60 ms at a time,
with callbacks answered and waiting. :func:`settle_after_start` takes what
start-up made out of the collector's sight and collects the youngest objects
less often: a burst's objects are freed by their reference counts, the
collector only finds cycles.
"""

from __future__ import annotations

import gc

__all__ = ["YOUNG_GENERATION_THRESHOLD", "settle_after_start"]

#: New objects (less those freed) between two collections of the youngest generation
#: (Python's default is 700).
YOUNG_GENERATION_THRESHOLD = 10_000


def settle_after_start() -> None:
    """Freeze what exists now (it is never collected, as it is never garbage) and make
    young collections rarer. Call once, when the process has started."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD, middle, old)
