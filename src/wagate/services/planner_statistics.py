"""Planner statistics of the pipeline's tables, refreshed between autovacuum's rounds
(:mod:`wagate.store.planner_statistics`)."""

from __future__ import annotations

import structlog

from wagate.store import Database, planner_statistics

__all__ = ["CHANGED_ROWS", "CHANGED_SHARE", "PlannerStatistics"]

log = structlog.get_logger("wagate.worker")

#: A table is analyzed once this many rows changed, plus :data:`CHANGED_SHARE` of its rows.
CHANGED_ROWS = 1000
CHANGED_SHARE = 0.2


class PlannerStatistics:
    """Analyzes the pipeline's tables on PostgreSQL when they changed enough."""

    def __init__(self, database: Database) -> None:
        self._db = database

    @property
    def needed(self) -> bool:
        """Whether the database has a planner to keep informed (PostgreSQL)."""
        return not self._db.is_sqlite

    async def refresh(self) -> list[str]:
        """Analyze the tables that changed enough since they last were; their names."""
        if not self.needed:
            return []
        async with self._db.transaction() as connection:
            analyzed = await planner_statistics.analyze_stale(
                connection, changes=CHANGED_ROWS, share=CHANGED_SHARE
            )
        if analyzed:
            log.info("statistics.analyzed", tables=analyzed)
        return analyzed
