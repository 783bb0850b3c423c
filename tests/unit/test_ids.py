"""Time-ordered UUIDs: valid version-7 UUIDs, later ones sorting after earlier ones."""

from __future__ import annotations

import time
import uuid

from wagate.domain.callbacks import new_delivery_id
from wagate.domain.ids import time_ordered_uuid


def test_a_time_ordered_uuid_is_a_version_7_uuid_of_the_rfc_variant() -> None:
    value = time_ordered_uuid()
    assert value.version == 7
    assert value.variant == uuid.RFC_4122
    assert uuid.UUID(str(value)) == value


def test_its_first_48_bits_are_the_time_in_milliseconds() -> None:
    before = time.time_ns() // 1_000_000
    value = time_ordered_uuid()
    after = time.time_ns() // 1_000_000
    assert before <= value.int >> 80 <= after


def test_ids_of_later_milliseconds_sort_after_and_none_repeat() -> None:
    first = [str(time_ordered_uuid()) for _ in range(1000)]
    deadline = time.monotonic() + 5
    while time.time_ns() // 1_000_000 <= uuid.UUID(first[-1]).int >> 80:
        assert time.monotonic() < deadline  # the clock moves on within a few milliseconds
    later = str(time_ordered_uuid())
    assert all(earlier < later for earlier in first)
    assert len(set(first)) == len(first)


def test_a_delivery_id_keeps_its_shape() -> None:
    delivery_id = new_delivery_id()
    assert delivery_id.startswith("msg_")
    assert uuid.UUID(hex=delivery_id.removeprefix("msg_")).version == 7
