"""Query parameters shared by list endpoints."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import Request

from wagate.domain import errors

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
#: The largest offset a list takes: past it, no database has rows to skip.
MAX_OFFSET = 2**31 - 1
PAGE_PARAMETERS = [
    {
        "name": "limit",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE, "default": 20},
        "description": f"How many items to answer, 1 to {MAX_PAGE_SIZE}.",
    },
    {
        "name": "offset",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0},
        "description": "How many items to skip.",
    },
]


def int_param(raw: str | None, name: str, default: int, low: int, high: int | None) -> int:
    """An integer query parameter within bounds, or :class:`InvalidPayload`."""
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise errors.InvalidPayload({name: "must be an integer"}) from None
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise errors.InvalidPayload({name: f"must be {bound}"})
    return value


def page_params(request: Request) -> tuple[int, int]:
    """``limit`` (1–100, default 20) and ``offset`` (0 to 2³¹ − 1)."""
    query = request.query_params
    limit = int_param(query.get("limit"), "limit", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    offset = int_param(query.get("offset"), "offset", 0, 0, MAX_OFFSET)
    return limit, offset


def parse_time(value: datetime | int | str | None, name: str = "since") -> datetime:
    """An epoch-seconds or ISO 8601 time as an aware UTC datetime; a time no calendar
    of the databases can hold is :class:`InvalidPayload`."""
    if value is None:
        raise errors.InvalidPayload({name: "is required"})
    try:
        if isinstance(value, datetime):
            parsed = value
        elif isinstance(value, int) or value.isdigit():
            parsed = datetime.fromtimestamp(int(value), UTC)
        else:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
    except (ValueError, OverflowError, OSError):
        raise errors.InvalidPayload({name: "must be epoch seconds or ISO 8601"}) from None
