"""What the portal's routes depend on: the gateway's services, the session, a checked form.

The portal is mounted in the gateway's application and shares its services
(``app.state.gateway``, built by :class:`~wagate.wiring.app_context.AppContext`,
reader of account activity included); it adds only its session signer, made on
the first request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Protocol
from urllib.parse import parse_qsl, urlsplit

import structlog
from fastapi import Depends, Request

from wagate.domain.clock import utcnow
from wagate.domain.tenancy import Account
from wagate.portal.sessions import SESSION_COOKIE, Session, SessionSigner, load_or_create_key
from wagate.services.activity import ActivityService
from wagate.services.deliveries import DeliveryService
from wagate.services.file_links import FileLinks
from wagate.services.profiles import ProfileService
from wagate.services.tenancy import TenancyService
from wagate.services.uploads import UploadService
from wagate.settings import Settings
from wagate.store import Database

log = structlog.get_logger("wagate.portal")

#: The largest form body the portal reads (a profile's JSON template is the biggest field).
FORM_LIMIT_BYTES = 256 * 1024
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
#: Profiles whose titles a page names (an account has a handful; the rest show their ids).
PROFILE_TITLES_LIMIT = 100


class GatewayServices(Protocol):
    """The part of the gateway the portal uses."""

    settings: Settings
    database: Database
    links: FileLinks
    tenancy: TenancyService
    uploads: UploadService
    deliveries: DeliveryService
    profiles: ProfileService
    activity: ActivityService


@dataclass(frozen=True, slots=True)
class Portal:
    """The services behind the portal's pages."""

    gateway: GatewayServices
    activity: ActivityService
    signer: SessionSigner

    @classmethod
    def build(cls, gateway: GatewayServices) -> Portal:
        """The portal over a started gateway, with its session key loaded or made."""
        settings = gateway.settings
        configured = settings.portal_session_key
        key, created = load_or_create_key(
            configured.get_secret_value() if configured else None, settings.data_dir
        )
        if created:
            log.info("portal.session_key_created", directory=str(settings.data_dir))
        if configured is None and not gateway.database.is_sqlite:
            log.warning(
                "portal.session_key_from_data_dir",
                hint="set WAGATE_PORTAL_SESSION_KEY when API processes do not share "
                "a data directory, or a sign-in holds on one process only",
            )
        signer = SessionSigner(key, lifetime=timedelta(seconds=settings.portal_session_seconds))
        return cls(gateway, gateway.activity, signer)

    async def profile_titles(self, sid: str) -> dict[str, str]:
        """The titles of the account's profiles, by id (to name a delivery's target)."""
        profiles, _ = await self.gateway.profiles.list(
            sid, title=None, limit=PROFILE_TITLES_LIMIT, offset=0
        )
        return {profile.id: profile.title for profile in profiles}


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A request of a signed-in customer."""

    account: Account
    session: Session
    csrf_token: str

    @property
    def sid(self) -> str:
        return self.account.sid

    def page(self, section: str, **values: object) -> dict[str, object]:
        """A signed-in page's template context: the navigation's and the page's own values."""
        return {"signed_in": self, "section": section, "csrf_token": self.csrf_token, **values}


class SignInRequired(Exception):
    """The request needs a session and has none (or an expired one)."""


class CsrfRefused(Exception):
    """A request that changes something came without this session's CSRF token, or cross-site."""


class FormTooLarge(Exception):
    """A form body over :data:`FORM_LIMIT_BYTES`."""


def get_portal(request: Request) -> Portal:
    """The portal of this application, made on first use."""
    state = request.app.state
    portal: Portal | None = getattr(state, "portal", None)
    if portal is None:
        portal = Portal.build(state.gateway)
        state.portal = portal
    return portal


PortalDep = Annotated[Portal, Depends(get_portal)]


async def optional_session(request: Request, portal: PortalDep) -> SignedIn | None:
    """The signed-in customer, or None."""
    session = portal.signer.read(request.cookies.get(SESSION_COOKIE), utcnow())
    if session is None:
        return None
    account = await portal.gateway.tenancy.account(session.sid)
    if account is None or not portal.signer.matches_key(session, account.api_key_hash):
        return None
    return SignedIn(account, session, portal.signer.csrf_token(session))


async def required_session(
    signed_in: Annotated[SignedIn | None, Depends(optional_session)],
) -> SignedIn:
    """The signed-in customer; :class:`SignInRequired` otherwise."""
    if signed_in is None:
        raise SignInRequired()
    return signed_in


MaybeSignedInDep = Annotated[SignedIn | None, Depends(optional_session)]
SignedInDep = Annotated[SignedIn, Depends(required_session)]


def same_origin(request: Request, public_url: str) -> bool:
    """Whether a state-changing request comes from the portal's own pages.

    Browsers send ``Origin`` with every form POST and script request; it must
    name this host (as the request reached it, or as ``WAGATE_PUBLIC_URL``
    names it). A request without one is judged by its token alone.
    """
    origin = request.headers.get("origin")
    if origin is None:
        return True
    netloc = urlsplit(origin).netloc
    return bool(netloc) and netloc in {request.headers.get("host"), urlsplit(public_url).netloc}


async def read_form(request: Request) -> dict[str, str]:
    """A urlencoded form body, at most :data:`FORM_LIMIT_BYTES`; the last value of each field."""
    if request.headers.get("content-type", "").split(";")[0].strip() != FORM_CONTENT_TYPE:
        return {}
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > FORM_LIMIT_BYTES:
            raise FormTooLarge()
    pairs = parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    return dict(pairs)


async def checked_form(
    request: Request, signed_in: SignedInDep, portal: PortalDep
) -> dict[str, str]:
    """The form of a signed-in customer's change, once its origin and CSRF token are checked."""
    form = await read_form(request)
    token = form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER)
    if not same_origin(request, portal.gateway.settings.public_url) or not (
        portal.signer.csrf_valid(signed_in.session, token)
    ):
        log.warning("portal.csrf_refused", path=request.url.path, sid=signed_in.sid)
        raise CsrfRefused()
    return form


FormDep = Annotated[dict[str, str], Depends(checked_form)]
