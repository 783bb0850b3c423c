"""A server process raises its soft open-files limit towards the hard one, never lowers it."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import resource
from wagate.wiring.open_files import WANTED_OPEN_FILES, raise_open_files_limit
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
low = min(256, soft)
resource.setrlimit(resource.RLIMIT_NOFILE, (low, hard))
raised = raise_open_files_limit()
expected = WANTED_OPEN_FILES if hard == resource.RLIM_INFINITY else min(hard, WANTED_OPEN_FILES)
again = raise_open_files_limit()
print(raised == expected == resource.getrlimit(resource.RLIMIT_NOFILE)[0], again == raised)
"""


def test_the_soft_limit_rises_to_the_hard_one_within_the_ceiling() -> None:
    # In a process of its own: the limit is the whole process's.
    answer = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=120
    ).stdout.split()
    assert answer == ["True", "True"]
