"""Rendering the portal's pages: Jinja2 templates, their filters, the headers every page gets.

Every response of the portal forbids loading anything from another host
(``Content-Security-Policy``) and being framed, and HTML is never cached.
A request with ``X-Portal-Fragment: 1`` (the pages' own polling script) gets
only the part of a page that updates while it is open.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from typing import Any, Final
from urllib.parse import quote, urlencode

from fastapi.templating import Jinja2Templates
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import Response

PREFIX: Final = "/portal"
FRAGMENT_HEADER: Final = "x-portal-fragment"
SECURITY_HEADERS: Final = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
STATIC_TYPES: Final = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}


def _load_static() -> dict[str, bytes]:
    folder = resources.files("wagate.portal").joinpath("static")
    return {
        item.name: item.read_bytes()
        for item in folder.iterdir()
        if item.is_file() and any(item.name.endswith(ext) for ext in STATIC_TYPES)
    }


#: The stylesheet and the script, shipped in the package and served by the portal itself.
STATIC_FILES: Final = _load_static()
_STATIC_VERSIONS: Final = {
    name: hashlib.sha256(content).hexdigest()[:12] for name, content in STATIC_FILES.items()
}


def static_url(name: str) -> str:
    """The URL of a static file, with its content hash so that a new version is fetched anew."""
    return f"{PREFIX}/static/{name}?v={_STATIC_VERSIONS[name]}"


def when(value: datetime | None) -> str:
    """A time as the portal writes it: UTC, to the second."""
    if value is None:
        return "—"
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def iso(value: datetime | None) -> str:
    """A time for a ``<time datetime=…>`` attribute."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def epoch(value: str | None) -> str:
    """Meta's epoch-seconds timestamp as a time."""
    if not value or not value.isdigit():
        return value or "—"
    return when(datetime.fromtimestamp(int(value), UTC))


def size(value: int) -> str:
    """A byte count for people."""
    amount = float(value)
    for unit in ("bytes", "KB", "MB", "GB"):
        if amount < 1024 or unit == "GB":
            return f"{int(amount)} bytes" if unit == "bytes" else f"{amount:.1f} {unit}"
        amount /= 1024
    return f"{value} bytes"


def path_part(value: str) -> str:
    """An id made safe for one segment of a URL path."""
    return quote(value, safe=":")


def query(**params: object) -> str:
    """A query string of the parameters that have a value, with its ``?`` (or nothing)."""
    present = {key: str(value) for key, value in params.items() if value not in (None, "")}
    return f"?{urlencode(present)}" if present else ""


def _environment() -> Environment:
    environment = Environment(
        loader=PackageLoader("wagate.portal", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters.update(when=when, iso=iso, epoch=epoch, size=size, path_part=path_part)
    environment.globals.update(static_url=static_url, query=query, prefix=PREFIX)
    return environment


templates = Jinja2Templates(env=_environment())


def secured(response: Response, *, cache: bool = False) -> Response:
    """The response with the portal's security headers (and no caching unless ``cache``)."""
    response.headers.update(SECURITY_HEADERS)
    if not cache:
        response.headers["Cache-Control"] = "no-store"
    return response


def wants_fragment(request: Request) -> bool:
    """Whether the page's polling script asks for the part that updates."""
    return request.headers.get(FRAGMENT_HEADER) == "1"


def render(
    request: Request,
    name: str,
    context: dict[str, Any],
    *,
    status: int = 200,
    live: str | None = None,
) -> Response:
    """Render a page, or only its ``live`` template when the page's script polls for it."""
    template = live if live is not None and wants_fragment(request) else name
    response = templates.TemplateResponse(request, template, context, status_code=status)
    return secured(response)


PAGE_SIZE: Final = 25
#: What a page says after a change, chosen by its ``notice`` parameter (never free text).
NOTICES: Final = {
    "signed-out": "You are signed out.",
    "replayed": "The delivery is queued: it is sent again now.",
    "recovered": "The failed deliveries are queued: they are sent again now.",
    "saved": "Saved.",
    "enabled": "The profile is enabled.",
    "disabled": "The profile is disabled: its callbacks wait until it is enabled again.",
    "deleted": "The profile is deleted; its pending deliveries are cancelled.",
    "attached": "Saved: callbacks go where the table shows.",
}


@dataclass(frozen=True, slots=True)
class Pager:
    """Which page of a list is shown, and whether others come before or after it."""

    number: int
    size: int
    has_next: bool
    total: int | None = None

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.size

    @property
    def pages(self) -> int | None:
        """How many pages there are, when the total is known."""
        return None if self.total is None else max(1, -(-self.total // self.size))


def page_number(request: Request) -> int:
    """The ``page`` query parameter (1 when absent or not a positive number)."""
    raw = request.query_params.get("page", "1")
    return int(raw) if raw.isdigit() and 0 < int(raw) < 1_000_000 else 1


def pager(number: int, *, total: int | None = None, has_next: bool | None = None) -> Pager:
    """A page of :data:`PAGE_SIZE` items of a list of ``total`` (or with ``has_next`` known)."""
    if has_next is None:
        has_next = total is not None and number * PAGE_SIZE < total
    return Pager(number, PAGE_SIZE, has_next, total)


def notice(request: Request) -> str | None:
    """The sentence a ``notice`` parameter stands for."""
    return NOTICES.get(request.query_params.get("notice", ""))
