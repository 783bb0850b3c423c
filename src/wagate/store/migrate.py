"""Alembic, driven from code: no alembic.ini, the scripts ship in the package."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

__all__ = ["SCRIPT_LOCATION", "alembic_config", "is_at_head", "upgrade_to_head"]

SCRIPT_LOCATION = "wagate.store:migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration for the packaged migrations, bound to ``connection``."""
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade_to_head(connection: Connection) -> None:
    """Apply every migration not yet applied, inside the caller's transaction."""
    command.upgrade(alembic_config(connection), "head")


def is_at_head(connection: Connection) -> bool:
    """Whether the database is at the newest migration."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    current = MigrationContext.configure(connection).get_current_revision()
    return current == head
