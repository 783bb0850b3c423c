"""Checks of the ``WAGATE_*`` values that are text: URLs, networks, a storage location.

Each check returns the value when it is usable and raises ValueError, with a
sentence saying what is wrong, when it is not: a wrong value stops a process
as it starts, not at the first request that needs it.
"""

from __future__ import annotations

from ipaddress import ip_network
from urllib.parse import urlsplit

_DATABASE_SCHEMES = ("sqlite", "sqlite+aiosqlite", "postgresql", "postgresql+asyncpg")


def check_http_url(value: str) -> str:
    """An ``http://`` or ``https://`` URL with a host."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value!r} is not an http:// or https:// URL with a host")
    return value


def check_database_url(value: str) -> str:
    """A SQLAlchemy URL of SQLite or PostgreSQL."""
    scheme, separator, _ = value.partition("://")
    if not separator or scheme not in _DATABASE_SCHEMES:
        raise ValueError(
            f"{value!r} is not a database URL: it starts with one of "
            + ", ".join(f"{name}://" for name in _DATABASE_SCHEMES)
        )
    return value


def check_storage_url(value: str) -> str:
    """Empty, a directory (``file://`` optional) or ``s3://bucket[/prefix]``."""
    if value.startswith("s3://"):
        if not value.removeprefix("s3://").split("/", 1)[0]:
            raise ValueError(f"{value!r} names no bucket: s3://bucket/prefix")
    elif "://" in value and not value.startswith("file://"):
        raise ValueError(f"{value!r} is neither a directory nor s3://bucket/prefix")
    return value


def check_networks(value: str) -> str:
    """Comma-separated networks in CIDR notation (``127.0.0.0/8,::1/128``)."""
    for part in value.split(","):
        if not part.strip():
            continue
        try:
            ip_network(part.strip(), strict=False)
        except ValueError:
            raise ValueError(f"{part.strip()!r} is not a network in CIDR notation") from None
    return value
