"""The provider's ``code / message / data / error`` envelope, and every body seed 001 shows.

The bodies are kept here exactly as the seed writes them, including where the
seed is inconsistent (``data`` is ``[]`` in some errors and ``{}`` in others,
and ``error`` is a string in WA-401), because clients parse them as they are.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from starlette.responses import Response

from wagate.domain import errors

WA400_FILE_NAME = (
    "file_name can not contain these special characters '/' (forward slash), "
    "'\\' (backward slash),'<' (less than),'@' (at the rate),'%' (percentage),"
    "' ' (space). additionaly file_name length must be between 1 to 255 characters"
)
WA401_WABA = "Waba_Id is not present or does not belong to the account."
WA401_VERSION = (
    "The waba_id you're using is associated with different Version of our WA API. "
    "Please use the appropriate endpoint."
)
#: An answer given before the body was read whole ends the connection: what the
#: client still sends is not read.
CLOSE_CONNECTION = {"Connection": "close"}
WA_401_NOT_AVAILABLE = (
    "API is not available for given customer.Please contact support for more info"
)


class EnvelopeResponse(Response):
    """A JSON response in the provider's compact serialisation."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return json.dumps(
            content, ensure_ascii=False, allow_nan=False, separators=(",", ":")
        ).encode("utf-8")


def envelope(
    status_code: int,
    code: str,
    message: str,
    data: Any,
    error: Any,
    headers: Mapping[str, str] | None = None,
) -> EnvelopeResponse:
    """One response in the envelope, fields in the seed's order."""
    body = {"code": code, "message": message, "data": data, "error": error}
    return EnvelopeResponse(body, status_code=status_code, headers=headers)


def accepted(upload_id: str, status: str) -> EnvelopeResponse:
    """``202 WA202``: the upload is stored and will be transferred."""
    return envelope(
        202,
        "WA202",
        "Request Processed Successfully",
        {"id": upload_id, "status": status},
        {},
    )


def ok(data: Any) -> EnvelopeResponse:
    """``200 WA200`` with ``data``."""
    return envelope(200, "WA200", "Request Processed Successfully", data, {})


def internal_error() -> EnvelopeResponse:
    """``500 WA-500``: never says more, whatever went wrong."""
    return envelope(500, "WA-500", "Please try again later", {}, {"error": "Internal server error"})


def invalid_payload(details: Mapping[str, str] | None = None) -> EnvelopeResponse:
    """``400 WA-400``; ``details`` name the field at fault beside the seed's own words."""
    error = {"payload": "Incorrect payload format", **(details or {})}
    return envelope(400, "WA-400", "Refer to correct payload format", {}, error)


def for_error(exc: errors.WagateError) -> EnvelopeResponse:
    """The response the seed gives for a domain error."""
    match exc:
        case errors.AuthenticationFailed():
            message = "Incorrect SID or API key."
            return envelope(401, "RBC001", message, [], {"error": message})
        case errors.WhatsAppNotEnabled():
            return envelope(401, "WA-401", WA_401_NOT_AVAILABLE, {}, WA_401_NOT_AVAILABLE)
        case errors.WabaNotFound():
            return envelope(401, "WA401", WA401_WABA, {}, {"waba_id": WA401_WABA})
        case errors.WabaWrongVersion():
            return envelope(401, "WA401", WA401_VERSION, {}, {"waba_id": WA401_VERSION})
        case errors.InvalidPayload():
            return invalid_payload(exc.details)
        case errors.InvalidFileName():
            return envelope(400, "WA400", WA400_FILE_NAME, [], {"file_name": WA400_FILE_NAME})
        case errors.TooManyUploadsInProgress():
            return envelope(
                429,
                "WA429",
                "Too many requests",
                {},
                {
                    "error": "Too many uploads in progress for this account, "
                    "please try again when one has finished"
                },
            )
        case errors.RateLimited():
            return envelope(
                429,
                "WA429",
                "Too many requests",
                {},
                {
                    "error": "Too many requests sent from this waba in a short period of time, "
                    "please try after sometime"
                },
            )
        case errors.PayloadTooLarge():
            return envelope(
                413,
                "WA413",
                "Request size is too large",
                {},
                {
                    "error": "The file size exceeds the 100 MB limit. "
                    "Please upload a file smaller than 100 MB."
                },
                headers=CLOSE_CONNECTION,
            )
        case errors.RequestTimeout():
            return envelope(
                408, "WA408", "Request timeout", {}, {"error": exc.reason}, CLOSE_CONNECTION
            )
        case errors.NotFound():
            return envelope(404, "WA404", "Resource not found", {}, {"error": str(exc)})
        case errors.Conflict():
            return envelope(409, "WA409", "Conflict", {}, {"error": str(exc)})
        case errors.DatabaseUnavailable():
            return envelope(
                503, "WA-503", "Please try again later", {}, {"error": "Service unavailable"}
            )
        case _:
            return internal_error()
