"""``wagate worker --lanes``: its help is written out so that ``--help`` stays quick
(the lanes are defined beside the server, which ``--help`` does not import)."""

from __future__ import annotations

import inspect

from wagate.cli.main import run_worker
from wagate.wiring.lanes import LANES


def test_the_lanes_help_names_every_lane_a_worker_can_run_and_no_other() -> None:
    option = inspect.signature(run_worker).parameters["lanes"].default
    named = option.help.rsplit(": ", 1)[1].removesuffix(".").split(", ")
    assert sorted(named) == sorted(LANES)
    assert len(named) == len(set(named))
