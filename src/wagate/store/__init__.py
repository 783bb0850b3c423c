"""Persistence: the only package that speaks SQL. Alembic owns the schema."""

from sqlalchemy.ext.asyncio import AsyncConnection as Connection

from wagate.store.database import Database

__all__ = ["Connection", "Database"]
