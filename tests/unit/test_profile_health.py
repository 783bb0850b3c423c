from __future__ import annotations

from datetime import UTC, datetime, timedelta

from wagate.domain.callbacks import ProfileStatus
from wagate.domain.profile_health import HealthVerdict, ProfileHealth, judge

NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)
LIMIT = timedelta(hours=1)


def verdict(health: dict[str, ProfileHealth], *, ok: set[str], bad: set[str]) -> HealthVerdict:
    return judge(health, succeeded=ok, failed=bad, now=NOW, disable_after=LIMIT)


def test_a_first_failure_starts_the_clock_and_a_success_stops_it() -> None:
    healthy = ProfileHealth(ProfileStatus.ACTIVE, None)
    failing = ProfileHealth(ProfileStatus.ACTIVE, NOW - timedelta(minutes=5))
    got = verdict({"a": healthy, "b": failing}, ok={"b"}, bad={"a"})
    assert got == HealthVerdict(frozenset({"b"}), frozenset({"a"}), frozenset())


def test_failing_past_the_limit_disables_an_active_profile_only() -> None:
    long_ago = NOW - LIMIT
    health = {
        "active": ProfileHealth(ProfileStatus.ACTIVE, long_ago),
        "off": ProfileHealth(ProfileStatus.DISABLED, long_ago),
        "recent": ProfileHealth(ProfileStatus.ACTIVE, NOW - timedelta(minutes=59)),
    }
    got = verdict(health, ok=set(), bad=set(health))
    assert got.disabled == {"active"}
    assert not got.started_failing
    assert not got.recovered


def test_any_success_in_the_batch_counts_and_a_deleted_profile_is_left_alone() -> None:
    failing = ProfileHealth(ProfileStatus.ACTIVE, NOW - 2 * LIMIT)
    got = verdict({"a": failing}, ok={"a", "gone"}, bad={"a", "gone"})
    assert got == HealthVerdict(frozenset({"a"}), frozenset(), frozenset())


def test_a_zero_limit_disables_at_the_first_failure() -> None:
    got = judge(
        {"a": ProfileHealth(ProfileStatus.ACTIVE, None)},
        succeeded=(),
        failed={"a"},
        now=NOW,
        disable_after=timedelta(0),
    )
    assert got.started_failing == {"a"}
    assert got.disabled == {"a"}
