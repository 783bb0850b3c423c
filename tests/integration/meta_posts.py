"""Meta's webhooks posted to the ingress service as ``api/meta_ingress.py`` posts them.

The API checks ``X-Hub-Signature-256`` while the body streams in, then stores the
webhook; these helpers do both with the whole body at once, for tests that talk to
:class:`~wagate.services.ingress.IngressService` without an HTTP server.
"""

from __future__ import annotations

import hashlib
import hmac

from wagate.domain import errors
from wagate.services.inbox_processing import InboxProcessor
from wagate.services.ingress import IngressService, SignatureCheck


def signature_matches(app_secret: str, body: bytes, header: str | None) -> bool:
    """Whether ``header`` signs ``body`` with ``app_secret``, checked as the API checks it."""
    check = SignatureCheck(app_secret)
    check.update(body)
    return check.matches(header)


async def post_webhook(ingress: IngressService, body: bytes, signature: str | None) -> None:
    """Check the signature and store the webhook as ``POST /webhooks/meta`` does;
    :class:`SignatureInvalid` (the API's 401) when it does not sign the body."""
    check = ingress.signature_check()
    check.update(body)
    if not check.matches(signature):
        raise errors.SignatureInvalid("X-Hub-Signature-256 does not match the body")
    await ingress.store(body)


def meta_signature(app_secret: str, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` Meta sends with ``body``."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


async def feed_signed(
    ingress: IngressService, processor: InboxProcessor, app_secret: str, bodies: list[bytes]
) -> None:
    """Post each body signed as Meta signs it, then process the inbox until it is empty."""
    for body in bodies:
        await post_webhook(ingress, body, meta_signature(app_secret, body))
    while (await processor.process_next()).processed:
        pass
