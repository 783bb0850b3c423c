"""JSON text as the gateway stores and sends it, from encoders built once.

``json.dumps`` with any option builds a new encoder for every call; the hot
paths write several documents per status, thousands a second.
"""

from __future__ import annotations

import json

__all__ = ["compact", "compact_unicode", "sorted_keys"]

_COMPACT = json.JSONEncoder(separators=(",", ":"))
_COMPACT_UNICODE = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
_SORTED = json.JSONEncoder(sort_keys=True)


def compact(value: object) -> str:
    """``value`` without spaces, non-ASCII escaped: what ``json.dumps(value,
    separators=(",", ":"))`` writes."""
    return _COMPACT.encode(value)


def compact_unicode(value: object) -> str:
    """``value`` without spaces, non-ASCII kept as it is."""
    return _COMPACT_UNICODE.encode(value)


def sorted_keys(value: object) -> str:
    """``value`` with its keys sorted, as ``json.dumps(value, sort_keys=True)`` writes."""
    return _SORTED.encode(value)
