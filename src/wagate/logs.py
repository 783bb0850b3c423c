"""Structured logging for every process: console lines, or JSON for machines.

No secret is logged at any level. wagate's own lines name ids, never keys,
tokens, signing secrets or headers; the libraries beneath it are another
matter: at DEBUG (or INFO) SQLAlchemy prints every statement with its
parameters (profile secrets, custom header values), aiosqlite every call with
its arguments, HTTP clients and servers their requests. Those loggers are
held at WARNING whatever the level, and as a last guard every line is
scrubbed of what has the shape of a signing secret (``whsec_…``) or a bearer
token.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from wagate.settings import Settings

#: Libraries whose debug and info lines carry SQL parameters, request headers or bodies.
QUIET_LIBRARIES = (
    "sqlalchemy",
    "aiosqlite",
    "asyncpg",
    "alembic",
    "aiohttp",
    "uvicorn.access",
    "multipart",
    "python_multipart",
    "httpx",
    "httpcore",
    "hpack",
    "urllib3",
    "botocore",
    "s3transfer",
)
_SECRET = re.compile(r"whsec_[A-Za-z0-9+/=_-]+|\b[Bb][Ee][Aa][Rr][Ee][Rr]\s+[^\s\"',;}]+")


def _mask(match: re.Match[str]) -> str:
    found = match.group(0)
    return "whsec_…" if found.startswith("whsec_") else found.split()[0] + " …"


def redact_secrets(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Mask signing secrets and bearer tokens in every text value of a log line."""
    for key, value in event_dict.items():
        if isinstance(value, str) and ("whsec_" in value or "earer" in value or "EARER" in value):
            event_dict[key] = _SECRET.sub(_mask, value)
    return event_dict


def configure_logging(settings: Settings) -> None:
    """Route stdlib and structlog records through one renderer at the configured level."""
    level = logging.getLevelNamesMapping().get(settings.log_level.upper(), logging.INFO)
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if settings.log_format == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        # Filtering first: a line below the level costs a level check, not the whole chain.
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redact_secrets,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))
