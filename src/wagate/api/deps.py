"""FastAPI dependencies: the shared gateway and its services, the API key, the path parameters.

The path parameters are documented, not validated here (but for numbers,
which must be E.164 digits): an unknown SID, WABA or id gets the provider's
own answer from the service that looks it up.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request, Security
from fastapi.security import APIKeyHeader

from wagate.api.gateway import Gateway
from wagate.domain.tenancy import E164_DIGITS
from wagate.services.tenancy import TenancyService
from wagate.services.uploads import UploadService

api_key_header = APIKeyHeader(
    name="api-key",
    auto_error=False,
    scheme_name="apiKey",
    description="The account's API key.",
)


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
#: The ``api-key`` header (None when it is missing: the service answers 401).
ApiKeyDep = Annotated[str | None, Security(api_key_header)]


def _text(description: str, example: str, most: int) -> object:
    return Path(description=description, examples=[example], json_schema_extra={"maxLength": most})


def _number(description: str, example: str) -> object:
    # Anchored: a pattern in a schema matches anywhere in the value unless told otherwise.
    return Path(description=description, examples=[example], pattern=f"^{E164_DIGITS.pattern}$")


SidPath = Annotated[str, _text("The account SID.", "HXAP16XXXXXX97IN", 64)]
WabaIdPath = Annotated[str, _text("The WhatsApp Business Account id.", "15044XXXX142241", 64)]
#: Validated: anything but E.164 digits answers 400 (no such number can exist).
NumberPath = Annotated[
    str, _number("The business WhatsApp number, E.164 digits without '+'.", "15550783881")
]
ProfileIdPath = Annotated[
    str, _text("The profile id.", "stage_c466af67-1ab6-4f35-9a7b-9358952c9b19", 64)
]
DeliveryIdPath = Annotated[
    str, _text("The delivery id (its webhook-id).", "msg_4f50b3c1d2e34f5a8b9c0d1e2f3a4b5c", 64)
]
