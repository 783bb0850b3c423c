from __future__ import annotations

import pytest

from wagate.domain.ids import api_key_matches, hash_api_key, new_api_key, new_upload_id
from wagate.domain.uploads import (
    TO_EXPIRED,
    TO_FAILED,
    TO_UPLOADED,
    UploadStatus,
    transition_to,
)

ALLOWED = {
    (UploadStatus.PENDING, UploadStatus.UPLOADED),
    (UploadStatus.PENDING, UploadStatus.FAILED),
    (UploadStatus.UPLOADED, UploadStatus.EXPIRED),
}


def test_the_state_machine_allows_exactly_the_documented_moves() -> None:
    moves = set()
    for target in UploadStatus:
        if target is UploadStatus.PENDING:
            with pytest.raises(ValueError, match="no upload moves to PENDING"):
                transition_to(target)
            continue
        move = transition_to(target)
        assert move.target is target
        moves |= {(source, target) for source in move.sources}
    assert moves == ALLOWED


def test_the_moves_the_services_apply_are_the_state_machine_s() -> None:
    assert TO_UPLOADED.sources == {UploadStatus.PENDING}
    assert TO_FAILED.sources == {UploadStatus.PENDING}
    assert TO_EXPIRED.sources == {UploadStatus.UPLOADED}


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
