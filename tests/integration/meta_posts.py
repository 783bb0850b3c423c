"""Meta's webhooks posted to the ingress service as ``api/meta_ingress.py`` posts them.

The API checks ``X-Hub-Signature-256`` while the body streams in, then stores the
webhook; these helpers do both with the whole body at once, for tests that talk to
:class:`~wagate.services.ingress.IngressService` without an HTTP server.
"""

from __future__ import annotations

from wagate.domain import errors
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
