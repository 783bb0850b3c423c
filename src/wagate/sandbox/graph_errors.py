"""Graph API errors as Meta answers them: an HTTP status and the ``{"error": …}`` envelope."""

from __future__ import annotations

import secrets

from aiohttp import web

INVALID_TOKEN_MESSAGE = "Invalid OAuth access token - Cannot parse access token"  # noqa: S105
TRANSIENT_MESSAGE = "An unexpected error has occurred. Please retry your request later."


def new_fbtrace_id() -> str:
    """A random trace id of the shape Meta puts on every error."""
    return "A" + secrets.token_urlsafe(16)[:22]


class GraphApiError(Exception):
    """An error the sandbox answers with, in Graph's envelope."""

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        *,
        subcode: int | None = None,
        is_transient: bool | None = None,
        error_type: str = "OAuthException",
        error_data: dict[str, object] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.subcode = subcode
        self.is_transient = is_transient
        self.error_type = error_type
        self.error_data = error_data

    def body(self) -> dict[str, object]:
        """The JSON body Meta sends for this error."""
        error: dict[str, object] = {
            "message": self.message,
            "type": self.error_type,
            "code": self.code,
        }
        if self.error_data is not None:
            error["error_data"] = self.error_data
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        if self.is_transient is not None:
            error["is_transient"] = self.is_transient
        error["fbtrace_id"] = new_fbtrace_id()
        return {"error": error}

    def response(self) -> web.Response:
        """The HTTP response that carries this error."""
        return web.json_response(self.body(), status=self.status)


def invalid_token() -> GraphApiError:
    """A missing or wrong access token: code 190."""
    return GraphApiError(401, 190, INVALID_TOKEN_MESSAGE)


def invalid_parameter(what: str, *, subcode: int | None = None) -> GraphApiError:
    """A missing or wrong parameter: code 100, ``what`` saying what is wrong."""
    return GraphApiError(400, 100, f"(#100) {what}", subcode=subcode)


def whatsapp_invalid_parameter(what: str, *, details: str | None = None) -> GraphApiError:
    """A Cloud API message parameter missing or wrong: code 100 with WhatsApp's ``error_data``."""
    return GraphApiError(
        400,
        100,
        f"(#100) {what}",
        error_data={"messaging_product": "whatsapp", "details": details or what},
    )


def unsupported_message_type(message_type: str) -> GraphApiError:
    """A message ``type`` the Cloud API does not send: code 131051."""
    return GraphApiError(
        400,
        131051,
        "(#131051) Unsupported message type",
        error_data={
            "messaging_product": "whatsapp",
            "details": f"Message type {message_type!r} is not currently supported",
        },
    )


def offset_mismatch(offset: int, expected: int) -> GraphApiError:
    """An upload chunk sent at an offset other than the bytes the session holds."""
    return invalid_parameter(
        f"file_offset {offset} does not match the {expected} bytes this upload session "
        f"holds; expected file_offset {expected}"
    )


def unexpected(status: int) -> GraphApiError:
    """Meta's catch-all server failure: code 2, marked transient."""
    return GraphApiError(status, 2, TRANSIENT_MESSAGE, is_transient=True)


def unknown_path() -> GraphApiError:
    """A path no Graph endpoint of the sandbox serves: code 2500."""
    return GraphApiError(400, 2500, "Unknown path components", error_type="OAuthException")


def throughput_exceeded() -> GraphApiError:
    """The number sent more than its throughput allows: code 130429."""
    return GraphApiError(
        400,
        130429,
        "(#130429) Rate limit hit",
        error_data={
            "messaging_product": "whatsapp",
            "details": "Cloud API message throughput has been reached.",
        },
    )


def bsuid_not_supported() -> GraphApiError:
    """A message Meta sends only to a phone number, addressed to a BSUID: code 131062."""
    return GraphApiError(
        400,
        131062,
        "(#131062) Business-scoped user ID (BSUID) recipients are not supported for this message",
        error_data={
            "messaging_product": "whatsapp",
            "details": "This message can only be sent to the user's phone number.",
        },
    )


def pair_rate_exceeded() -> GraphApiError:
    """Too many messages from the number to one user in a short time: code 131056."""
    return GraphApiError(
        400,
        131056,
        "(#131056) (Business Account, Consumer Account) pair rate limit hit",
        error_data={
            "messaging_product": "whatsapp",
            "details": "Too many messages sent from the sender phone number to the same "
            "recipient phone number in a short period of time.",
        },
    )
