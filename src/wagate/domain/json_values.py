"""Values read leniently out of a decoded JSON document (Meta's webhooks), where a field
may be missing or of another type than documented."""

from __future__ import annotations

from typing import Any

__all__ = ["objects", "text"]


def objects(value: object) -> list[dict[str, Any]]:
    """The objects of a JSON list; none when ``value`` is not a list."""
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, dict)]


def text(value: object) -> str:
    """``value`` as text; "" when it is missing (None)."""
    return "" if value is None else str(value)
