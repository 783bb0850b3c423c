"""The delivery log: every callback and push, each attempt, and replay."""

from __future__ import annotations

from fastapi import Request
from starlette.responses import RedirectResponse, Response

from wagate.domain.activity import delivery_kind, redact_headers
from wagate.domain.callbacks import DeliveryStatus
from wagate.portal.context import FormDep, PortalDep, SignedInDep
from wagate.portal.pages import (
    PAGE_SIZE,
    PREFIX,
    notice,
    page_number,
    pager,
    path_part,
    render,
    secured,
)
from wagate.portal.routing import portal_router

router = portal_router()
#: The most profiles the filter offers (an account has a handful).
PROFILE_CHOICES = 100


@router.get(f"{PREFIX}/deliveries")
async def list_deliveries(request: Request, portal: PortalDep, signed_in: SignedInDep) -> Response:
    """Deliveries, newest first, filtered by ``status`` and ``profile``."""
    raw_status = request.query_params.get("status", "")
    status = DeliveryStatus(raw_status) if raw_status in set(DeliveryStatus) else None
    profile_id = request.query_params.get("profile", "") or None
    number = page_number(request)
    deliveries, total = await portal.gateway.deliveries.list(
        signed_in.sid,
        profile_id=profile_id,
        status=status,
        since=None,
        until=None,
        limit=PAGE_SIZE,
        offset=(number - 1) * PAGE_SIZE,
    )
    profiles, _ = await portal.gateway.profiles.list(
        signed_in.sid, title=None, limit=PROFILE_CHOICES, offset=0
    )
    context = signed_in.page(
        "deliveries",
        deliveries=deliveries,
        kinds={d.id: delivery_kind(d.profile_id, d.method) for d in deliveries},
        statuses=list(DeliveryStatus),
        status=status.value if status else "",
        profiles=profiles,
        profile_id=profile_id or "",
        titles={p.id: p.title for p in profiles},
        pager=pager(number, total=total),
        notice=notice(request),
    )
    return render(request, "deliveries.html", context, live="deliveries_live.html")


@router.get(PREFIX + "/deliveries/{delivery_id}")
async def show_delivery(
    delivery_id: str, request: Request, portal: PortalDep, signed_in: SignedInDep
) -> Response:
    """One delivery with every attempt; its ``Replay`` button sends it again now."""
    delivery, attempts = await portal.gateway.deliveries.get(signed_in.sid, delivery_id)
    subject = await portal.activity.subject_kind(signed_in.sid, delivery.subject_id)
    context = signed_in.page(
        "deliveries",
        delivery=delivery,
        kind=delivery_kind(delivery.profile_id, delivery.method),
        subject=subject,
        titles=await portal.profile_titles(signed_in.sid),
        attempts=[(a, redact_headers(a.request_headers)) for a in reversed(attempts)],
        notice=notice(request),
    )
    return render(request, "delivery.html", context, live="delivery_live.html")


@router.post(PREFIX + "/deliveries/{delivery_id}/replay")
async def replay_delivery(
    delivery_id: str, portal: PortalDep, signed_in: SignedInDep, form: FormDep
) -> Response:
    """Queue the delivery to be sent again now, whatever its state."""
    replayed = await portal.gateway.deliveries.replay(signed_in.sid, delivery_id)
    location = f"{PREFIX}/deliveries/{path_part(replayed.id)}?notice=replayed"
    return secured(RedirectResponse(location, status_code=303))
