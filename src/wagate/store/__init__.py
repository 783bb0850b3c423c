"""Persistence: the only package that speaks SQL. Alembic owns the schema."""

from wagate.store.database import Connection, Database

__all__ = ["Connection", "Database"]
