"""Where callbacks go: a profile for a WABA; a profile and a ``webhook_url`` for a number.

Also a profile's recovery: replaying every failed delivery since a time,
after showing how many that is.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import Request
from starlette.responses import RedirectResponse, Response

from wagate.domain import errors
from wagate.portal.context import FormDep, PortalDep, SignedInDep
from wagate.portal.pages import PREFIX, path_part, query, render, secured
from wagate.portal.routes.profiles import profiles_page
from wagate.portal.routing import portal_router

router = portal_router()


@router.post(PREFIX + "/wabas/{waba_id}/profile")
async def attach_to_waba(
    waba_id: str, request: Request, portal: PortalDep, signed_in: SignedInDep, form: FormDep
) -> Response:
    """Send the WABA's upload status callbacks through a profile (none: no callbacks)."""
    profile_id = form.get("profile_id") or None
    try:
        await portal.gateway.profiles.attach_to_waba(signed_in.sid, waba_id, profile_id)
    except (errors.WabaNotFound, errors.NotFound):
        raise errors.NotFound(f"no WABA {waba_id}") from None
    return secured(RedirectResponse(f"{PREFIX}/profiles?notice=attached", status_code=303))


@router.post(PREFIX + "/numbers/{number}/targets")
async def set_number_targets(
    number: str, request: Request, portal: PortalDep, signed_in: SignedInDep, form: FormDep
) -> Response:
    """Set the number's message-status profile and webhook push URL (empty: none).

    The page that answers shows the secret that signs the number's pushes.
    """
    _, numbers = await portal.gateway.tenancy.wabas_and_numbers(signed_in.sid)
    phone = next((n for n in numbers if n.number == number), None)
    if phone is None:
        raise errors.NotFound(f"no number {number}")
    profile_id = form.get("profile_id") or None
    webhook_url = form.get("webhook_url", "").strip() or None
    try:
        updated, secret = await portal.gateway.profiles.attach_to_number(
            signed_in.sid,
            phone.waba_id,
            number,
            profile_id=profile_id,
            webhook_url=webhook_url,
            clear_profile=profile_id is None,
            clear_webhook=webhook_url is None,
        )
    except errors.InvalidPayload as exc:
        problem = "; ".join(exc.details.values()) or str(exc)
        return await profiles_page(
            request, portal, signed_in, problems={number: problem}, status=400
        )
    shown = (number, secret) if updated.webhook_url else None
    return await profiles_page(request, portal, signed_in, secret=shown, saved=True)


def _since(raw: str | None) -> datetime:
    """The form's ``since`` (a ``datetime-local`` value, read as UTC)."""
    if not raw:
        raise errors.InvalidPayload({"since": "say since when"})
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise errors.InvalidPayload({"since": "is not a date and time"}) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


@router.post(PREFIX + "/profiles/{profile_id}/recover")
async def recover(
    profile_id: str, request: Request, portal: PortalDep, signed_in: SignedInDep, form: FormDep
) -> Response:
    """Count the profile's failed and dead deliveries since a time; replay them once confirmed."""
    profile = await portal.gateway.profiles.get(signed_in.sid, profile_id)
    since = _since(form.get("since"))
    confirmed = form.get("confirm") == "yes"
    count = await portal.gateway.deliveries.recover(
        signed_in.sid, profile.id, since, dry_run=not confirmed
    )
    if confirmed:
        location = f"{PREFIX}/deliveries" + query(profile=profile.id, notice="recovered")
        return secured(RedirectResponse(location, status_code=303))
    context = signed_in.page(
        "profiles",
        profile=profile,
        since=since,
        since_value=form.get("since", ""),
        count=count,
        back=f"{PREFIX}/profiles/{path_part(profile.id)}",
    )
    return render(request, "recover.html", context)
