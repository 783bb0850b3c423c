"""A WABA's own Graph API version picks the client its upstream calls go through."""

from __future__ import annotations

import aiohttp

from wagate.upstream.graph import GraphClient


class Versions:
    async def version_for(self, key: str) -> str | None:
        return {"WABA1": "v25.0", "PNID1": "v25.0"}.get(key)


async def test_calls_about_a_waba_with_its_own_version_use_it() -> None:
    async with aiohttp.ClientSession() as http:
        graph = GraphClient(
            http, base_url="http://127.0.0.1:9", version="v24.0", app_id="A",
            access_token="T", versions=Versions(),
        )  # fmt: skip
        assert (await graph.about("PNID1")).version == "v25.0"
        assert (await graph.about("WABA1")) is (await graph.about("PNID1"))
        assert (await graph.about("other")) is graph
        assert (await graph.about(None)) is graph
        assert graph.with_version("v24.0") is graph
        plain = GraphClient(http, base_url="http://x", version="v24.0", app_id="A",
                            access_token="T")  # fmt: skip
        assert (await plain.about("PNID1")) is plain
