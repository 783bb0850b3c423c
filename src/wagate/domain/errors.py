"""The one hierarchy of errors wagate raises.

    WagateError
    ├── AuthenticationFailed        wrong SID or API key
    ├── WhatsAppNotEnabled          the account has no WhatsApp plan
    ├── WabaNotFound                the WABA is not in the account
    ├── WabaWrongVersion            the WABA is on the other API version
    ├── InvalidPayload              the request body is not what the API takes
    ├── InvalidFileName             the file name breaks the naming rules
    ├── RateLimited                 too many accepted uploads in the window
    ├── PayloadTooLarge             the file is over the size limit
    ├── NotFound                    an id the caller may not see or that is gone
    ├── Conflict                    a create that collides with what exists
    └── DatabaseUnavailable         the database cannot be reached

Foreign exceptions (database drivers, HTTP clients) are translated into these
at the boundary of the layer that catches them.
"""

from __future__ import annotations


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


class PayloadTooLarge(WagateError):
    """The uploaded file is larger than the limit."""


class NotFound(WagateError):
    """The thing asked for does not exist for this caller."""


class Conflict(WagateError):
    """A create collides with something that already exists."""


class DatabaseUnavailable(WagateError):
    """The database cannot be reached or refused the operation."""
