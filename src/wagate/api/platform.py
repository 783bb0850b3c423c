"""The platform API's envelope (``/v1/{sid}/callback/…``): codes of the provider's RBC family."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wagate.api.envelope import CLOSE_CONNECTION, EnvelopeResponse, envelope
from wagate.domain import errors


def ok(
    data: Any, code: str = "RBC200", message: str = "Request processed successfully"
) -> EnvelopeResponse:
    """A success in the envelope."""
    return envelope(200, code, message, data, {})


def created(data: Any, code: str, message: str) -> EnvelopeResponse:
    """A created resource in the envelope."""
    return envelope(201, code, message, data, {})


def bad_request(details: Mapping[str, str]) -> EnvelopeResponse:
    """400 naming each field at fault."""
    return envelope(400, "RBC400", "Invalid request", {}, dict(details))


def for_error(exc: errors.WagateError, not_found: str) -> EnvelopeResponse:
    """The platform API's answer to a domain error."""
    match exc:
        case errors.AuthenticationFailed():
            message = "Incorrect SID or API key."
            return envelope(401, "RBC001", message, [], {"error": message})
        case errors.InvalidPayload():
            return bad_request(exc.details)
        case errors.NotFound():
            return envelope(404, "RBC302", not_found, {}, {"error": str(exc)})
        case errors.RequestTimeout():
            return envelope(
                408, "RBC408", "Request timeout", {}, {"error": exc.reason}, CLOSE_CONNECTION
            )
        case errors.DatabaseUnavailable():
            return envelope(
                503, "RBC503", "Please try again later", {}, {"error": "Service unavailable"}
            )
        case _:
            return envelope(
                500, "RBC500", "Please try again later", {}, {"error": "Internal server error"}
            )
