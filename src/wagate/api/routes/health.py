"""``/healthz`` (the process is up), ``/readyz`` (it can serve), ``/metrics`` (Prometheus)."""

from __future__ import annotations

from fastapi import APIRouter
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.responses import JSONResponse, Response

from wagate.api.deps import GatewayDep

router = APIRouter()


@router.get("/healthz", include_in_schema=False)
async def healthz() -> JSONResponse:
    """Answer 200 while the process is alive."""
    return JSONResponse({"status": "ok"})


@router.get("/readyz", include_in_schema=False)
async def readyz(gateway: GatewayDep) -> JSONResponse:
    """200 when the database answers, the schema is current and storage is writable; else 503."""
    ready, body = await gateway.readiness_report()
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get("/metrics", include_in_schema=False)
async def prometheus_metrics(gateway: GatewayDep) -> Response:
    """Prometheus exposition of this process's counters and the stored state."""
    return Response(await gateway.metrics_exposition(), media_type=CONTENT_TYPE_LATEST)
