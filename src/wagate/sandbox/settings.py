"""The sandbox's own settings: the Meta app it pretends to be, and where its webhooks go.

The sandbox stands apart from the gateway, so it does not read the gateway's
settings; ``wagate sandbox`` (and a test) hands it these, taken from any settings
that name the same Meta app (:meth:`SandboxSettings.of`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

__all__ = ["MetaAppSettings", "SandboxSettings"]


class MetaAppSettings(Protocol):
    """Settings that name a Meta app and the sandbox's webhook target, as the gateway's do."""

    @property
    def meta_app_id(self) -> str: ...

    @property
    def meta_access_token(self) -> str: ...

    @property
    def meta_app_secret(self) -> str: ...

    @property
    def sandbox_webhook_url(self) -> str: ...


@dataclass(frozen=True, slots=True)
class SandboxSettings:
    """What the sandbox needs to know; the defaults are the gateway's sandbox defaults."""

    #: The app id uploads are started under (``POST /{app_id}/uploads``).
    app_id: str = "wagate-sandbox-app"
    #: The bearer token every Graph request must carry.
    access_token: str = "wagate-sandbox-token"  # noqa: S105
    #: Signs the webhooks (``X-Hub-Signature-256``).
    app_secret: str = "wagate-sandbox-secret"  # noqa: S105
    #: Where the webhooks are sent (the gateway's ``/webhooks/meta``).
    webhook_url: str = "http://127.0.0.1:8080/webhooks/meta"

    @classmethod
    def of(cls, settings: MetaAppSettings) -> SandboxSettings:
        """The sandbox settings of the same Meta app as ``settings``."""
        return cls(
            app_id=settings.meta_app_id,
            access_token=settings.meta_access_token,
            app_secret=settings.meta_app_secret,
            webhook_url=settings.sandbox_webhook_url,
        )
