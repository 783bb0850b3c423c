"""Profile health: when a callback profile that keeps failing is auto-disabled.

A profile fails from its first failed attempt after a success (``failing_since``)
until an attempt of it succeeds. One that has failed for longer than the limit,
with no success meanwhile, is auto-disabled: its deliveries wait until someone
enables it again. A batch of outcomes with any success of a profile counts as a
success of it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from wagate.domain.callbacks import ProfileStatus

__all__ = ["HealthVerdict", "ProfileHealth", "judge"]


@dataclass(frozen=True, slots=True)
class ProfileHealth:
    """What the verdict depends on: a profile's status and since when it fails."""

    status: ProfileStatus
    failing_since: datetime | None


@dataclass(frozen=True, slots=True)
class HealthVerdict:
    """What a batch of outcomes changes in its profiles' health."""

    #: Profiles that were failing and succeeded: no longer failing.
    recovered: frozenset[str]
    #: Profiles that were healthy and failed: failing from now.
    started_failing: frozenset[str]
    #: Active profiles failing past the limit: auto-disabled.
    disabled: frozenset[str]


def judge(
    health: Mapping[str, ProfileHealth],
    *,
    succeeded: Collection[str],
    failed: Collection[str],
    now: datetime,
    disable_after: timedelta,
) -> HealthVerdict:
    """The verdict of one batch of outcomes on the profiles in ``health`` (a profile
    missing from it was deleted: nothing changes for it)."""
    recovered = {
        profile_id
        for profile_id in succeeded
        if profile_id in health and health[profile_id].failing_since is not None
    }
    started: set[str] = set()
    disabled: set[str] = set()
    for profile_id in set(failed) - set(succeeded):
        current = health.get(profile_id)
        if current is None:
            continue
        since = current.failing_since
        if since is None:
            started.add(profile_id)
            since = now
        if current.status is ProfileStatus.ACTIVE and since <= now - disable_after:
            disabled.add(profile_id)
    return HealthVerdict(frozenset(recovered), frozenset(started), frozenset(disabled))
