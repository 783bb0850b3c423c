"""The account's messages: a searchable list, and one message's statuses and callbacks."""

from __future__ import annotations

from fastapi import Request
from starlette.responses import Response

from wagate.portal.context import PortalDep, SignedInDep
from wagate.portal.pages import PAGE_SIZE, PREFIX, page_number, pager, render
from wagate.portal.routing import portal_router

router = portal_router()
SEARCH_MAX_CHARS = 200


@router.get(f"{PREFIX}/messages")
async def list_messages(request: Request, portal: PortalDep, signed_in: SignedInDep) -> Response:
    """Messages, newest first; ``q`` finds them by recipient, ref or id."""
    search = request.query_params.get("q", "").strip()[:SEARCH_MAX_CHARS]
    number = page_number(request)
    found = await portal.activity.messages(
        signed_in.sid, search=search, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE
    )
    context = signed_in.page(
        "messages",
        messages=found.items,
        search=search,
        pager=pager(number, has_next=found.has_more),
    )
    return render(request, "messages.html", context, live="messages_live.html")


@router.get(PREFIX + "/messages/{message_id}")
async def show_message(
    message_id: str, request: Request, portal: PortalDep, signed_in: SignedInDep
) -> Response:
    """One message: every status Meta sent (forwarded or not) and its callbacks and pushes."""
    history = await portal.activity.message(signed_in.sid, message_id)
    context = signed_in.page(
        "messages",
        view=history.view,
        deliveries=history.deliveries,
        kinds={d.id: d.kind for d in history.deliveries},
        titles=await portal.profile_titles(signed_in.sid),
    )
    return render(request, "message.html", context, live="message_live.html")
