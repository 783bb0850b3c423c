"""``/healthz``: the process is up and serving."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import JSONResponse

router = APIRouter()


@router.get("/healthz", include_in_schema=False)
async def healthz() -> JSONResponse:
    """Answer 200 while the process is alive."""
    return JSONResponse({"status": "ok"})
