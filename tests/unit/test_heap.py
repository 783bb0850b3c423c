"""A started gateway process freezes what start-up made and collects young objects less often."""

from __future__ import annotations

import subprocess
import sys

from wagate.wiring.heap import YOUNG_GENERATION_THRESHOLD

PROBE = """
import gc
kept = [object() for _ in range(1000)]
before = gc.get_threshold()
from wagate.wiring.heap import settle_after_start
settle_after_start()
print(gc.get_freeze_count() >= 1000, gc.get_threshold()[0], gc.get_threshold()[1:] == before[1:])
"""


def test_settling_freezes_the_start_up_objects_and_raises_the_young_threshold() -> None:
    # In a process of its own: the collector's settings are the whole process's.
    answer = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=120
    ).stdout.split()
    assert answer == ["True", str(YOUNG_GENERATION_THRESHOLD), "True"]
