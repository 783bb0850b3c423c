"""The Graph API version of each WABA's upstream calls: its own where set, else the default.

The versions of the WABAs that have one of their own (``wagate wabas
graph-version``) are read once a minute at most, so a change reaches running
servers within a minute; :meth:`GraphClient.about
<wagate.upstream.graph.GraphClient.about>` asks before each call.
"""

from __future__ import annotations

import time

from wagate.store import Database
from wagate.store import webhook_events as field_rows

__all__ = ["REFRESH_SECONDS", "GraphVersions"]

#: How long the versions read are used before they are read again.
REFRESH_SECONDS = 60.0


class GraphVersions:
    """The WABAs' own Graph API versions, by WABA id and by phone number id."""

    def __init__(self, database: Database, refresh_seconds: float = REFRESH_SECONDS) -> None:
        self._db = database
        self._refresh = refresh_seconds
        self._versions: dict[str, str] = {}
        self._read_at: float | None = None

    async def version_for(self, key: str) -> str | None:
        """The version of the WABA ``key`` names (its id, or a number's phone number id)."""
        now = time.monotonic()
        if self._read_at is None or now - self._read_at >= self._refresh:
            async with self._db.transaction() as connection:
                self._versions = await field_rows.graph_versions_by_key(connection)
            self._read_at = now
        return self._versions.get(key)
