"""The portal in the gateway's application, in process, on a real SQLite file."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from wagate.api.app import create_app
from wagate.settings import Settings


@asynccontextmanager
async def served(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The gateway's app, started by its own lifespan, and a client of it."""
    app = create_app(settings, run_worker=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            yield client


async def test_the_portal_is_served_unless_turned_off(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, graph_url="http://127.0.0.1:9")
    async with served(settings) as client:
        page = await client.get("/portal/login")
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert 'name="api_key"' in page.text
        unknown = await client.get("/portal/nothing-here")
        assert unknown.status_code == 404
        assert unknown.headers["content-type"].startswith("text/html")
        redirect = await client.get("/portal/uploads")
        assert redirect.status_code == 303
        assert redirect.headers["location"] == "/portal/login?next=%2Fportal%2Fuploads"
    async with served(settings.model_copy(update={"portal_enabled": False})) as client:
        answer = await client.get("/portal/login")
        assert answer.status_code == 404
        assert answer.headers["content-type"].startswith("application/json")
