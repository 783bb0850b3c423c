"""Recording an upload's status change as an event, inside the change's transaction."""

from __future__ import annotations

from datetime import datetime

from wagate.domain.events import RESUMABLE_MEDIA_FIELD, resumable_media_payload
from wagate.domain.uploads import Upload
from wagate.services.fanout import deliver_to_profile
from wagate.store import Connection, tenancy
from wagate.store import events as event_rows

__all__ = ["record_upload_event"]


async def record_upload_event(
    connection: Connection, upload: Upload, file_link: str | None, now: datetime
) -> str:
    """Write the seed 000 event for the upload's status, and its delivery to the WABA's profile."""
    account = await tenancy.require_account(connection, upload.sid)
    payload = resumable_media_payload(
        upload,
        company_id=account.company_id,
        file_link=file_link,
        at=now,
    )
    event_id = await event_rows.insert_event(
        connection,
        kind=RESUMABLE_MEDIA_FIELD,
        sid=upload.sid,
        waba_id=upload.waba_id,
        subject_id=upload.id,
        status=upload.status.value,
        payload=payload,
        now=now,
    )
    waba = await tenancy.get_waba(connection, upload.waba_id)
    if waba is not None and waba.callback_profile_id:
        await deliver_to_profile(
            connection,
            profile_id=waba.callback_profile_id,
            event_id=event_id,
            subject_id=upload.id,
            values=payload,
            now=now,
        )
    return event_id
