"""Graph's answers and failures, translated into :class:`~wagate.domain.errors.MetaError`."""

from __future__ import annotations

import json
import re
from typing import Final

from wagate.domain.errors import (
    GraphErrorFields,
    MetaError,
    MetaOffsetMismatch,
    MetaPermanentError,
    MetaTransientError,
)

__all__ = [
    "PERMANENT_CODES",
    "RETRYABLE_STATUSES",
    "TRANSIENT_CODES",
    "error_from_response",
    "is_transient",
]

#: Graph codes Meta documents as temporary: unknown, service, throttling, downtime.
TRANSIENT_CODES: Final = frozenset({1, 2, 4, 17, 32, 341, 613})
#: Graph codes that repeating the request cannot fix: parameters and tokens.
PERMANENT_CODES: Final = frozenset({100, 190})
#: 4xx statuses that mean "later", not "never".
RETRYABLE_STATUSES: Final = frozenset({408, 429})

_OFFSET_MISMATCH = re.compile(r"\bfile_offset\b.*\b(?:does not match|mismatch)", re.IGNORECASE)
_EXPECTED_OFFSET = re.compile(r"\bexpected file_offset\D{0,3}(\d+)", re.IGNORECASE)
_SNIPPET_CHARS = 200


def is_transient(status: int | None, code: int | None, flagged: bool | None = None) -> bool:
    """Whether a Graph failure may go away when the request is repeated.

    ``flagged`` is the envelope's ``is_transient``, which wins when true. No
    answer at all (``status`` None) is transient.
    """
    if flagged or status is None:
        return True
    if code in TRANSIENT_CODES:
        return True
    if code in PERMANENT_CODES:
        return False
    return status >= 500 or status in RETRYABLE_STATUSES


def error_from_response(status: int, body: bytes) -> MetaError:
    """The error a non-2xx Graph answer stands for."""
    envelope = _envelope(body)
    if envelope is None:
        text = body[:_SNIPPET_CHARS].decode("utf-8", "replace").strip()
        message = f"Graph answered HTTP {status}" + (f": {text}" if text else "")
        kind = MetaTransientError if is_transient(status, None) else MetaPermanentError
        return kind(message, status=status)
    message = _text(envelope.get("message")) or f"Graph answered HTTP {status}"
    code = _integer(envelope.get("code"))
    fields = GraphErrorFields(
        status=status,
        code=code,
        type=_text(envelope.get("type")),
        subcode=_integer(envelope.get("error_subcode")),
        fbtrace_id=_text(envelope.get("fbtrace_id")),
    )
    flagged = envelope.get("is_transient") is True
    if code == 100 and not flagged and _OFFSET_MISMATCH.search(message):
        found = _EXPECTED_OFFSET.search(message)
        expected_offset = int(found.group(1)) if found else None
        return MetaOffsetMismatch(message, expected_offset=expected_offset, **fields)
    kind = MetaTransientError if is_transient(status, code, flagged) else MetaPermanentError
    return kind(message, **fields)


def _envelope(body: bytes) -> dict[str, object] | None:
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    error = payload.get("error") if isinstance(payload, dict) else None
    return error if isinstance(error, dict) else None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _integer(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None
