"""Meta's published webhook payloads, kept as JSON in ``tests/fixtures/meta``.

Each file is one object: ``_source`` says where its payloads come from (an SDK's
test data at a commit, or a Meta reference page), and every other key names
one notification exactly as Meta sends it. :func:`notification` hands out a
fresh copy, so a test may change what it gets.
"""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures" / "meta"


@functools.cache
def _file(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text("utf-8"))
    return document


def source(name: str) -> str:
    """Where the payloads of fixture file ``name`` come from."""
    return str(_file(name)["_source"])


def cases(name: str) -> dict[str, dict[str, Any]]:
    """Every notification of fixture file ``name``, by case (``_source`` left out)."""
    return {key: copy.deepcopy(value) for key, value in _file(name).items() if key != "_source"}


def notification(name: str, case: str) -> dict[str, Any]:
    """One notification of fixture file ``name``, a copy of it."""
    return copy.deepcopy(_file(name)[case])


def value_of(document: dict[str, Any]) -> dict[str, Any]:
    """The first change value of a notification."""
    value: dict[str, Any] = document["entry"][0]["changes"][0]["value"]
    return value


def with_phone_number_id(document: dict[str, Any], phone_number_id: str) -> dict[str, Any]:
    """The notification, about the business number ``phone_number_id`` instead."""
    shaped = copy.deepcopy(document)
    for entry in shaped["entry"]:
        for change in entry["changes"]:
            metadata = change["value"].get("metadata")
            if isinstance(metadata, dict):
                metadata["phone_number_id"] = phone_number_id
    return shaped


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
