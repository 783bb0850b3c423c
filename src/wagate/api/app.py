"""The FastAPI application of a gateway process, and its error handling."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from wagate.api import envelope, platform, reference
from wagate.api.body_bounds import BodyBounds, BodyLimits
from wagate.api.gateway import Gateway
from wagate.api.meta_ingress import MetaIngress
from wagate.api.request_log import RequestLogMiddleware
from wagate.api.routes import (
    account_reads,
    callback_profiles,
    deliveries,
    health,
    incoming,
    media,
    message_media,
    messages,
    meta_webhooks,
    resumable_media,
    wabas,
    webhook_events,
)
from wagate.domain.errors import WagateError
from wagate.portal import install_portal
from wagate.settings import Settings
from wagate.wiring.heap import settle_after_start
from wagate.wiring.open_files import raise_open_files_limit

log = structlog.get_logger("wagate.api")


def create_app(
    settings: Settings | None = None,
    *,
    run_worker: bool = True,
    lock_fd: int | None = None,
    long_running: bool = False,
) -> FastAPI:
    """A gateway application; its lifespan opens and closes the shared resources.

    With ``run_worker`` the worker runs beside it, in child processes
    (:class:`~wagate.api.worker_process.WorkerProcess`) that start and stop with it,
    and hold the data directory's lock (``lock_fd``) with it. ``long_running``: the
    process is a server of its own, not a test's; its open-files limit is raised
    before it starts (:mod:`wagate.wiring.open_files`) and its garbage collector settled
    once it has (:mod:`wagate.wiring.heap`).
    """
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if long_running:
            raise_open_files_limit()
        gateway = await Gateway.start(settings)
        await gateway.open_ingress_spool()
        if run_worker:
            await gateway.start_worker_processes(lock_fd=lock_fd)
        app.state.gateway = gateway
        if long_running:
            settle_after_start()
        try:
            yield
        finally:
            await gateway.stop()

    app = FastAPI(
        title="wagate",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        # The gateway's telemetry is its Prometheus metrics and its logs: FastAPI's own
        # OpenTelemetry would look up the global providers on every request, Meta's
        # webhooks included.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    reference.install(app)
    limits = BodyLimits(
        idle_seconds=settings.request_idle_timeout_seconds,
        deadline_seconds=settings.request_body_deadline_seconds,
        min_bytes_per_second=settings.upload_min_bytes_per_second,
    )
    app.add_middleware(BodyBounds, limits=limits, streamed=resumable_media.receives_upload)
    app.add_middleware(RequestLogMiddleware)
    # Outermost: Meta's webhooks are answered before the rest of the stack is entered.
    app.add_middleware(MetaIngress, ingress=lambda: app.state.gateway.ingress, limits=limits)
    app.include_router(health.router)
    app.include_router(resumable_media.router)
    app.include_router(media.router)
    app.include_router(callback_profiles.router)
    app.include_router(deliveries.router)
    app.include_router(wabas.router)
    app.include_router(webhook_events.router)
    app.include_router(account_reads.router)
    app.include_router(messages.router)
    app.include_router(message_media.router)
    app.include_router(incoming.router)
    app.include_router(meta_webhooks.router)
    if settings.portal_enabled:
        install_portal(app)

    @app.exception_handler(WagateError)
    async def on_domain_error(request: Request, exc: WagateError) -> Response:
        path = request.url.path
        if path.startswith("/v1/") and "/callback/" in path:
            what = "Callback profile not found" if "/profiles" in path else "Delivery not found"
            return platform.for_error(exc, what)
        return envelope.for_error(exc)

    @app.exception_handler(RequestValidationError)
    async def on_validation_error(request: Request, exc: RequestValidationError) -> Response:
        details = {
            ".".join(str(part) for part in error["loc"]): str(error["msg"])
            for error in exc.errors()
        }
        return envelope.invalid_payload(details)

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(request: Request, exc: StarletteHTTPException) -> Response:
        return envelope.envelope(
            exc.status_code,
            f"WA-{exc.status_code}",
            str(exc.detail),
            {},
            {"error": exc.detail},
            headers=exc.headers,  # e.g. Allow, on 405
        )

    @app.exception_handler(Exception)
    async def on_unexpected_error(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error", path=request.url.path)
        return envelope.internal_error()

    return app
