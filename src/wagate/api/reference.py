"""The API reference: the OpenAPI document and the interactive page at ``/docs``.

Routes that parse their own bodies (the upload streams its multipart body;
the others answer the provider's errors rather than FastAPI's) describe them
with :func:`request_body` and their query parameters with :func:`query`;
:func:`responses` lists every answer an endpoint can give, with examples built
by the very functions that build the answers. :func:`install` serves the
document at ``/openapi.json`` with the ``api-key`` security scheme and
without FastAPI's 422, which this API never answers, and serves Swagger UI at
``/docs`` from files shipped in a Python package, so rendering it makes no
request beyond this gateway.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from importlib.resources import files
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel
from starlette.responses import FileResponse, HTMLResponse, Response

from wagate.api.schemas import ErrorEnvelope

REF = "#/components/schemas/{model}"
SECURITY_SCHEME = "apiKey"
DOCS_ASSETS = "/docs/assets"
#: The Swagger UI files the page loads, from the fastapi-offline package.
_ASSETS = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon.png": "image/png",
}
_REQUEST_MODELS: dict[str, type[BaseModel]] = {}

DESCRIPTIONS = {
    400: "The request is malformed: error names each field at fault.",
    401: "Wrong SID or API key, no WhatsApp plan, or a WABA or number not in the account.",
    404: "No such resource in this account.",
    408: "The request body stalled, crawled, or took too long; the connection is closed.",
    409: "An earlier request with this Idempotency-Key is still under way; retry later.",
    413: "The file is larger than 100 MB.",
    403: "Meta refused the message (the error is Meta's).",
    429: "Too many requests: uploads for this WABA in the last hour, uploads of the account "
    "in progress at once, or Meta's throttling.",
    500: "Something failed inside the gateway; try again later.",
    502: "Meta failed or could not be reached; the message may be sent again.",
    503: "The database is unavailable; try again later.",
}

INTRODUCTION = """\
The customer API of a wagate WhatsApp Business gateway.

**Authentication.** Every call sends the account's key in the `api-key`
header; the account's SID is the first path segment after the version.

**Answers.** Every answer is a JSON envelope, `{"code", "message", "data",
"error"}`: `data` holds the result, `error` what went wrong (field name →
sentence). The `/v2` WhatsApp endpoints answer the provider's `WA…` codes,
the `/v1` callback endpoints its `RBC…` codes.

**Callbacks.** What the gateway sends *to* you (status callbacks through your
callback profiles, webhook pushes to a number's `webhook_url`) is signed with
Standard Webhooks headers (`webhook-id`, `webhook-timestamp`,
`webhook-signature`); the customer guide shows every payload and how to
verify it.

**Not listed here**: `/webhooks/meta` (Meta's own webhooks, signed by Meta),
`/healthz`, `/readyz` and `/metrics` (for operators), and `/media/{token}`
(the `file_link` an upload's callbacks and record carry, and the `media_url` of
an incoming message's media: a capability URL, not an endpoint to call by
hand).

**Sends** take every Cloud API message type, checked before Meta sees it, and
an optional `Idempotency-Key`; a send over the number's rate, or that Meta
throttles, is answered `202` with `status: queued` and sent when allowed.
"""


def example(response: Response) -> Any:
    """The JSON body of an answer, for use as a documented example."""
    return json.loads(bytes(response.body))


def request_body(
    model: type[BaseModel],
    examples: Mapping[str, Any],
    description: str,
    *,
    required: bool = True,
) -> dict[str, Any]:
    """An ``openapi_extra`` that documents a JSON body as ``model``, with named examples.

    Not ``required``: an empty body is taken as ``{}``.
    """
    _REQUEST_MODELS[model.__name__] = model
    return {
        "requestBody": {
            "required": required,
            "description": description,
            "content": {
                "application/json": {
                    "schema": {"$ref": REF.format(model=model.__name__)},
                    "examples": {name: {"value": value} for name, value in examples.items()},
                }
            },
        }
    }


def query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    """One optional query parameter."""
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


def responses(
    ok: tuple[int, type[BaseModel], str],
    errors: Mapping[int, Mapping[str, Any]],
) -> dict[int | str, dict[str, Any]]:
    """Every answer of an endpoint: the success, and each error status with example bodies."""
    status, model, description = ok
    documented: dict[int | str, dict[str, Any]] = {
        status: {"model": model, "description": description}
    }
    for code, bodies in errors.items():
        documented[code] = {
            "model": ErrorEnvelope,
            "description": DESCRIPTIONS[code],
            "content": {
                "application/json": {
                    "examples": {name: {"value": body} for name, body in bodies.items()}
                }
            },
        }
    return documented


def install(app: FastAPI) -> None:
    """Serve the OpenAPI document at ``/openapi.json`` and Swagger UI at ``/docs``."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_document(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="wagate API reference",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon.png",
            oauth2_redirect_url=None,
            # No validator badge: it would send the document to a public validator.
            swagger_ui_parameters={"validatorUrl": None},
        )

    @app.get(DOCS_ASSETS + "/{name}", include_in_schema=False)
    async def docs_asset(name: str) -> Response:
        media_type = _ASSETS.get(name)
        if media_type is None:
            return Response(status_code=404)
        path = files("fastapi_offline") / "static" / name
        return FileResponse(
            str(path), media_type=media_type, headers={"Cache-Control": "public, max-age=86400"}
        )


def build_document(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``app``'s routes, completed."""
    document = get_openapi(
        title="wagate",
        version=app.version,
        openapi_version="3.1.0",
        description=INTRODUCTION,
        routes=app.routes,
    )
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for name, model in sorted(_REQUEST_MODELS.items()):
        schema = model.model_json_schema(ref_template=REF)
        schemas.update(schema.pop("$defs", {}))
        schemas[name] = schema
    components["securitySchemes"] = {
        SECURITY_SCHEME: {
            "type": "apiKey",
            "in": "header",
            "name": "api-key",
            "description": "The account's API key (wagate accounts create prints it).",
        }
    }
    for path in document.get("paths", {}).values():
        for operation in path.values():
            operation.get("responses", {}).pop("422", None)
            operation["security"] = [{SECURITY_SCHEME: []}]
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return document
