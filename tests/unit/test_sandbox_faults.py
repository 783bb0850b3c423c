from __future__ import annotations

import pytest

from wagate.sandbox.faults import Faults


def test_failures_are_used_up_one_request_at_a_time() -> None:
    faults = Faults(fail_next=2, fail_status=500)
    assert [faults.take_failure() for _ in range(3)] == [500, 500, None]
    assert faults.fail_next == 0


def test_a_cut_is_one_shot() -> None:
    faults = Faults(cut_after_bytes=1024)
    assert faults.take_cut() == 1024
    assert faults.take_cut() is None


def test_an_update_changes_only_what_it_names() -> None:
    faults = Faults(delay_ms=250)
    faults.update({"fail_next": 3})
    assert faults.as_json() == {
        "cut_after_bytes": None,
        "fail_next": 3,
        "fail_status": 503,
        "delay_ms": 250,
        "cut_download_after_bytes": None,
        "wrong_sha256_next": 0,
    }
    faults.update({"cut_after_bytes": 10, "delay_ms": 0})
    faults.update({"cut_after_bytes": None})
    assert (faults.cut_after_bytes, faults.delay_ms) == (None, 0)


def test_reset_disarms_everything() -> None:
    faults = Faults(cut_after_bytes=1, fail_next=1, fail_status=500, delay_ms=1)
    faults.reset()
    assert faults == Faults()


@pytest.mark.parametrize(
    "changes",
    [
        {"fail_next": -1},
        {"fail_next": "3"},
        {"fail_next": True},
        {"fail_status": 404},
        {"delay_ms": 1.5},
        {"cut_after_bytes": -5},
        {"cut_the_cable": 1},
    ],
)
def test_wrong_faults_are_refused_and_change_nothing(changes: dict[str, object]) -> None:
    faults = Faults(fail_next=1)
    with pytest.raises(ValueError, match=r"."):
        faults.update(changes)
    assert faults == Faults(fail_next=1)


def test_wrong_faults_are_refused_at_construction() -> None:
    with pytest.raises(ValueError, match="fail_status"):
        Faults(fail_status=200)
