"""The account's uploads: the list, and one upload with the callbacks it caused."""

from __future__ import annotations

from fastapi import Request
from starlette.responses import Response

from wagate.domain.clock import utcnow
from wagate.portal.context import PortalDep, SignedInDep
from wagate.portal.pages import PAGE_SIZE, PREFIX, page_number, pager, render
from wagate.portal.routing import portal_router

router = portal_router()


@router.get(f"{PREFIX}/uploads")
async def list_uploads(request: Request, portal: PortalDep, signed_in: SignedInDep) -> Response:
    """Every upload of the account's WABAs, newest first, a page at a time."""
    number = page_number(request)
    uploads, total = await portal.gateway.uploads.list_for_account(
        signed_in.sid, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE
    )
    context = signed_in.page("uploads", uploads=uploads, pager=pager(number, total=total))
    return render(request, "uploads.html", context, live="uploads_live.html")


@router.get(PREFIX + "/uploads/{upload_id}")
async def show_upload(
    upload_id: str, request: Request, portal: PortalDep, signed_in: SignedInDep
) -> Response:
    """One upload: its Meta handle, its ``file_link``, and the callbacks about it."""
    upload = await portal.gateway.uploads.get_for_account(signed_in.sid, upload_id)
    file_link = await portal.gateway.links.for_upload(upload, utcnow())
    deliveries = await portal.activity.deliveries_about(signed_in.sid, upload.id)
    context = signed_in.page(
        "uploads",
        upload=upload,
        file_link=file_link,
        deliveries=deliveries,
        kinds={d.id: d.kind for d in deliveries},
        titles=await portal.profile_titles(signed_in.sid),
    )
    return render(request, "upload.html", context, live="upload_live.html")
