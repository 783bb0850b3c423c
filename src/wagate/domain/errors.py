"""The one hierarchy of errors wagate raises.

    WagateError
    ├── AuthenticationFailed        wrong SID or API key
    ├── WhatsAppNotEnabled          the account has no WhatsApp plan
    ├── WabaNotFound                the WABA is not in the account
    ├── WabaWrongVersion            the WABA is on the other API version
    ├── InvalidPayload              the request body is not what the API takes
    ├── InvalidFileName             the file name breaks the naming rules
    ├── RateLimited                 too many accepted uploads in the window
    │   └── TooManyUploadsInProgress    the account is sending too many uploads at once
    ├── RequestTimeout              a request body stalled, crawled or ran past its deadline
    ├── PayloadTooLarge             the file is over the size limit
    ├── NotFound                    an id the caller may not see or that is gone
    ├── Conflict                    a create that collides with what exists
    ├── DatabaseUnavailable         the database cannot be reached
    ├── CallbackTargetRefused       a callback URL points at a forbidden address
    ├── SignatureInvalid            a webhook's signature does not match its body
    ├── Forbidden                   the caller may not do this
    └── MetaError                   Meta's Graph API failed or refused a request
        ├── MetaTransientError      worth retrying: network, timeout, 5xx, throttling
        ├── MetaPermanentError      not worth retrying: token, parameters, other 4xx
        └── MetaOffsetMismatch      the upload offset is not Meta's; re-read it

Foreign exceptions (database drivers, HTTP clients) are translated into these
at the boundary of the layer that catches them.
"""

from __future__ import annotations

from typing import TypedDict, Unpack

__all__ = [
    "AuthenticationFailed",
    "CallbackTargetRefused",
    "Conflict",
    "DatabaseUnavailable",
    "Forbidden",
    "GraphErrorFields",
    "InvalidFileName",
    "InvalidPayload",
    "MetaError",
    "MetaOffsetMismatch",
    "MetaPermanentError",
    "MetaTransientError",
    "NotFound",
    "PayloadTooLarge",
    "RateLimited",
    "RequestTimeout",
    "SignatureInvalid",
    "TooManyUploadsInProgress",
    "WabaNotFound",
    "WabaWrongVersion",
    "WagateError",
    "WhatsAppNotEnabled",
]


class WagateError(Exception):
    """Base of every error wagate raises on purpose."""


class AuthenticationFailed(WagateError):
    """The SID does not exist or the API key does not match it."""


class WhatsAppNotEnabled(WagateError):
    """The account exists but has no WhatsApp plan."""


class WabaNotFound(WagateError):
    """The WABA id is unknown or belongs to another account."""


class WabaWrongVersion(WagateError):
    """The WABA is onboarded on another version of the WhatsApp API."""


class InvalidPayload(WagateError):
    """The request body is malformed or misses or misstates a field.

    ``details`` maps a field name to a sentence that says what is wrong with it.
    """

    def __init__(self, details: dict[str, str] | None = None) -> None:
        self.details = dict(details or {})
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.details.items()) or "payload")


class InvalidFileName(WagateError):
    """The file name is empty, too long, or has a forbidden character."""


class RateLimited(WagateError):
    """The WABA has used up its uploads for the current window."""


class TooManyUploadsInProgress(RateLimited):
    """The account already has as many uploads arriving as it may have at once."""


class RequestTimeout(WagateError):
    """A request body sent nothing for too long, arrived too slowly, or ran past its deadline.

    ``reason`` says which, in a sentence the client is told.
    """

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class PayloadTooLarge(WagateError):
    """The uploaded file is larger than the limit."""


class NotFound(WagateError):
    """The thing asked for does not exist for this caller."""


class Conflict(WagateError):
    """A create collides with something that already exists."""


class DatabaseUnavailable(WagateError):
    """The database cannot be reached or refused the operation."""


class GraphErrorFields(TypedDict, total=False):
    """What a failed Graph call told of itself: the keywords of :class:`MetaError`."""

    status: int | None
    code: int | None
    type: str | None
    subcode: int | None
    fbtrace_id: str | None


class MetaError(WagateError):
    """Meta's Graph API failed or refused a request.

    ``status`` is the HTTP status (None when no answer came), ``code``,
    ``type``, ``subcode`` and ``fbtrace_id`` come from Graph's error envelope
    when there was one, and ``transient`` says whether the same request may
    succeed later.
    """

    transient: bool = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: int | None = None,
        type: str | None = None,
        subcode: int | None = None,
        fbtrace_id: str | None = None,
    ) -> None:
        self.message = message
        self.status = status
        self.code = code
        self.type = type
        self.subcode = subcode
        self.fbtrace_id = fbtrace_id
        super().__init__(message)

    def __str__(self) -> str:
        parts = [f"HTTP {self.status}" if self.status is not None else "no answer"]
        if self.code is not None:
            parts.append(f"code {self.code}")
        if self.fbtrace_id:
            parts.append(f"fbtrace_id {self.fbtrace_id}")
        return f"{self.message} ({', '.join(parts)})"


class MetaTransientError(MetaError):
    """A failure that may go away: a broken connection, a timeout, a 5xx, throttling."""

    transient = True


class MetaPermanentError(MetaError):
    """A refusal that repeating will not change: a bad token, a bad parameter, a 4xx."""


class MetaOffsetMismatch(MetaError):
    """An upload chunk was sent at an offset Meta does not hold; re-read the offset.

    ``expected_offset`` is Meta's offset when its message says it, else None.
    """

    def __init__(
        self,
        message: str,
        *,
        expected_offset: int | None = None,
        **fields: Unpack[GraphErrorFields],
    ) -> None:
        self.expected_offset = expected_offset
        super().__init__(message, **fields)


class CallbackTargetRefused(WagateError):
    """A callback URL's host is, or resolves to, an address the operator does not allow.

    ``host`` is the host as written, ``address`` the refused address when there
    is one, and ``reason`` a sentence that says why.
    """

    def __init__(self, host: str, reason: str, *, address: str | None = None) -> None:
        self.host = host
        self.reason = reason
        self.address = address
        super().__init__(f"callback target {host} refused by policy: {reason}")


class SignatureInvalid(WagateError):
    """A webhook's signature is missing or does not match its body."""


class Forbidden(WagateError):
    """The caller may not do this (e.g. a wrong webhook verify token)."""
