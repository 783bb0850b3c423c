from __future__ import annotations

from itertools import product

from wagate.domain.ids import api_key_matches, hash_api_key, new_api_key, new_upload_id
from wagate.domain.uploads import UploadStatus, can_transition

ALLOWED = {
    (UploadStatus.PENDING, UploadStatus.UPLOADED),
    (UploadStatus.PENDING, UploadStatus.FAILED),
    (UploadStatus.UPLOADED, UploadStatus.EXPIRED),
}


def test_the_state_machine_allows_exactly_the_documented_moves() -> None:
    for current, target in product(UploadStatus, UploadStatus):
        assert can_transition(current, target) == ((current, target) in ALLOWED)


def test_api_keys_are_stored_hashed_and_compared() -> None:
    key = new_api_key()
    assert len(key) == 32
    stored = hash_api_key(key)
    assert key not in stored
    assert api_key_matches(key, stored)
    assert not api_key_matches(key + "x", stored)
    assert not api_key_matches("", stored)


def test_upload_ids_are_unique() -> None:
    assert len({new_upload_id() for _ in range(1000)}) == 1000
