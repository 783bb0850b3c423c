"""Wake-up channels: which lane new work is for, so that only that lane wakes."""

from __future__ import annotations

from typing import Final

__all__ = ["ALL", "DELIVERIES", "INBOX", "JOBS", "SENDS"]

#: Transfers, media downloads, expiry and purge jobs.
JOBS: Final = "jobs"
#: Inbox entries (Meta's webhooks, records of sent messages) to process.
INBOX: Final = "inbox"
#: Deliveries to send.
DELIVERIES: Final = "deliveries"
#: Messages queued until their number may send again.
SENDS: Final = "sends"
#: Every channel: what a process that may have missed wake-ups looks at again.
ALL: Final = (JOBS, INBOX, DELIVERIES, SENDS)
