"""Persistence: the only package that speaks SQL. Alembic owns the schema."""

from wagate.store.database import Database

__all__ = ["Database"]
