"""Everything a gateway process shares, built once at start-up."""

from __future__ import annotations

from dataclasses import dataclass

from wagate.blobs import LocalBlobStore
from wagate.services.tenancy import TenancyService
from wagate.services.uploads import UploadService
from wagate.settings import Settings
from wagate.store import Database

# A partial blob untouched for this long belongs to a request that died.
ABANDONED_BLOB_SECONDS = 3600.0


@dataclass
class Gateway:
    """The resources and services of one process."""

    settings: Settings
    database: Database
    blobs: LocalBlobStore
    tenancy: TenancyService
    uploads: UploadService

    @classmethod
    async def start(cls, settings: Settings) -> Gateway:
        """Open the database, migrate it, and build the services."""
        database = Database(settings.resolved_database_url())
        try:
            await database.upgrade_schema()
            blobs = LocalBlobStore(settings.media_dir)
            await blobs.remove_abandoned(ABANDONED_BLOB_SECONDS)
        except BaseException:
            await database.close()
            raise
        return cls(
            settings=settings,
            database=database,
            blobs=blobs,
            tenancy=TenancyService(database),
            uploads=UploadService(database, blobs, settings.upload_policy()),
        )

    async def stop(self) -> None:
        """Release what :meth:`start` opened."""
        await self.database.close()
