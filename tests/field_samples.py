"""Meta's payloads of non-message webhook fields, from ``tests/fixtures/meta/fields_*.json``.

Each file names its source in ``_source`` (public SDK fixtures or Meta's pages) and holds
its notifications under ``samples``.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures" / "meta"


def field_samples(name: str) -> dict[str, dict[str, Any]]:
    """The notifications of ``fields_<name>.json``, by sample name (fresh copies)."""
    document = json.loads((FIXTURES / f"fields_{name}.json").read_text("utf-8"))
    assert document["_source"], f"fields_{name}.json names no source"
    return copy.deepcopy(document["samples"])


def sample(name: str, key: str) -> dict[str, Any]:
    """One notification of ``fields_<name>.json``."""
    return field_samples(name)[key]


def readdressed(
    notification: dict[str, Any],
    *,
    waba_id: str,
    phone_number_id: str | None = None,
    display_number: str | None = None,
) -> dict[str, Any]:
    """A notification moved to another WABA (and number, for a number's change)."""
    moved = copy.deepcopy(notification)
    for entry in moved["entry"]:
        entry["id"] = waba_id
        for change in entry["changes"]:
            metadata = change["value"].get("metadata")
            if metadata is not None and phone_number_id is not None:
                metadata["phone_number_id"] = phone_number_id
                if display_number is not None:
                    metadata["display_phone_number"] = display_number
    return moved
