"""FastAPI dependencies: the shared gateway and its services, as annotated aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from wagate.api.gateway import Gateway
from wagate.services.tenancy import TenancyService
from wagate.services.uploads import UploadService


async def get_gateway(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway


async def get_tenancy(request: Request) -> TenancyService:
    gateway: Gateway = request.app.state.gateway
    return gateway.tenancy


async def get_uploads(request: Request) -> UploadService:
    gateway: Gateway = request.app.state.gateway
    return gateway.uploads


GatewayDep = Annotated[Gateway, Depends(get_gateway)]
TenancyDep = Annotated[TenancyService, Depends(get_tenancy)]
UploadsDep = Annotated[UploadService, Depends(get_uploads)]
