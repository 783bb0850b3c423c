"""Which migration a database is at, and which is the newest, without Alembic.

Every command and every process of ``wagate serve`` opens the database by
bringing its schema to the newest version. Alembic, which does that, takes a
third of a second to import and reads every migration script each time it
runs; a database already at the newest revision, nearly always the case, needs
neither. The scripts state their revisions in plain assignments, read here as
text; history this cannot read plainly (a merge of two branches) is left to
Alembic.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

__all__ = ["VERSIONS", "head_of", "newest_revision", "recorded_revision"]

VERSIONS = Path(__file__).parent / "migrations" / "versions"

_ASSIGNMENT = re.compile(
    r"""^(?P<name>revision|down_revision)\s*(?::[^=\n]+)?=\s*"""
    r"""(?:"(?P<double>[^"]*)"|'(?P<single>[^']*)'|(?P<none>None))\s*$""",
    re.MULTILINE,
)
_VERSION_TABLE = {
    "sqlite": "SELECT count(*) FROM sqlite_master "
    "WHERE type = 'table' AND name = 'alembic_version'",
    "postgresql": "SELECT count(*) FROM pg_catalog.pg_tables "
    "WHERE tablename = 'alembic_version' AND schemaname = current_schema()",
}


@cache
def newest_revision() -> str | None:
    """The newest revision of the packaged scripts (see :func:`head_of`)."""
    return head_of(VERSIONS)


def head_of(versions: Path) -> str | None:
    """The revision no script in ``versions`` names as its ``down_revision``; None when a
    script does not say both plainly or there is not exactly one such revision (then ask
    Alembic)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in versions.glob("*.py"):
        if script.name == "__init__.py":
            continue
        found = {
            match["name"]: match["double"] or match["single"]
            for match in _ASSIGNMENT.finditer(script.read_text(encoding="utf-8"))
        }
        if not found.get("revision") or "down_revision" not in found:
            return None
        revisions.add(found["revision"])
        if found["down_revision"]:
            parents.add(found["down_revision"])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


async def recorded_revision(connection: AsyncConnection) -> str | None:
    """The one revision the database records (Alembic's ``alembic_version``), or None
    when it records none, or several."""
    table_query = _VERSION_TABLE.get(connection.dialect.name)
    if table_query is None or not (await connection.execute(text(table_query))).scalar():
        return None
    rows = (await connection.execute(text("SELECT version_num FROM alembic_version"))).all()
    return str(rows[0][0]) if len(rows) == 1 else None
