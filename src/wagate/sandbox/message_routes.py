"""The sandbox's messaging endpoints: Meta's send endpoint and the webhook controls.

Graph (as Meta serves it):

- ``POST /{version}/{phone_number_id}/messages``: send a message.

Controls (the sandbox's own, under ``/_sandbox/``):

- ``GET /_sandbox/messages``, ``GET /_sandbox/messages/{wamid}``: accepted messages.
- ``POST /_sandbox/messages/{wamid}/statuses``: send a status webhook.
- ``POST /_sandbox/messages/{wamid}/button``: send a quick-reply click webhook.
- ``POST /_sandbox/inbound``: send the webhook of a user's message of any type.
- ``GET|POST /_sandbox/limits``: Meta's throughput limits (130429, 131056).
- ``GET|DELETE /_sandbox/webhooks``: the webhooks sent (``?wamid=`` filters).
- ``GET|POST /_sandbox/numbers``: business numbers the webhooks name.
- ``GET|POST /_sandbox/config``: where webhooks go (``webhook_url``).
- ``GET|POST /_sandbox/auto``: automatic sent → delivered → read.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from aiohttp import web

from wagate.sandbox import graph_errors
from wagate.sandbox.auth import authenticate
from wagate.sandbox.driver import WebhookRecord
from wagate.sandbox.inbound import InboundOrder
from wagate.sandbox.messages import SentMessage
from wagate.sandbox.messaging import MEDIA_TYPES, Messaging
from wagate.sandbox.orders import ButtonOrder, StatusOrder
from wagate.sandbox.send import SendRequest, parse_send_request, send_response

MESSAGING = web.AppKey("messaging", Messaging)


def add_message_routes(app: web.Application, messaging: Messaging, *, version: str) -> None:
    """Serve ``messaging`` on ``app``; ``version`` is the route pattern of the Graph version.

    Call it before adding any catch-all route.
    """
    app[MESSAGING] = messaging
    app.cleanup_ctx.append(_lifetime)
    app.router.add_post(f"/{version}/{{phone_number_id}}/messages", _send_message)
    app.router.add_get("/_sandbox/messages", _list_messages)
    app.router.add_get("/_sandbox/messages/{wamid}", _show_message)
    app.router.add_post("/_sandbox/messages/{wamid}/statuses", _send_status)
    app.router.add_post("/_sandbox/messages/{wamid}/button", _click_button)
    app.router.add_post("/_sandbox/inbound", _send_inbound)
    app.router.add_get("/_sandbox/limits", _get_limits)
    app.router.add_post("/_sandbox/limits", _set_limits)
    app.router.add_get("/_sandbox/webhooks", _list_webhooks)
    app.router.add_delete("/_sandbox/webhooks", _clear_webhooks)
    app.router.add_get("/_sandbox/numbers", _list_numbers)
    app.router.add_post("/_sandbox/numbers", _register_number)
    app.router.add_get("/_sandbox/config", _get_config)
    app.router.add_post("/_sandbox/config", _set_config)
    app.router.add_get("/_sandbox/auto", _get_auto)
    app.router.add_post("/_sandbox/auto", _set_auto)


async def _lifetime(app: web.Application) -> AsyncIterator[None]:
    messaging = app[MESSAGING]
    await messaging.start()
    try:
        yield
    finally:
        await messaging.close()


def _bad_request(message: str) -> web.Response:
    return web.json_response({"error": message}, status=400)


async def _json_object(request: web.Request) -> dict[str, object]:
    """The request's JSON object body (empty when there is none); ValueError if it is not one."""
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise ValueError(f"the body is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    return body


def _message(request: web.Request) -> SentMessage:
    wamid = request.match_info["wamid"]
    message = request.app[MESSAGING].messages.get(wamid)
    if message is None:
        raise web.HTTPNotFound(
            text=json.dumps({"error": f"no message {wamid!r}"}), content_type="application/json"
        )
    return message


def _sent(payload: dict[str, object], records: list[WebhookRecord]) -> web.Response:
    return web.json_response(
        {
            "body": payload,
            "responses": [r.status for r in records],
            "webhooks": [r.as_json() for r in records],
        }
    )


async def _send_message(request: web.Request) -> web.Response:
    """``POST /{version}/{phone_number_id}/messages``: accept a message as Meta does."""
    messaging = request.app[MESSAGING]
    authenticate(request, messaging.access_token)
    raw = await request.read()
    try:
        body: object = json.loads(raw) if raw else {}
    except ValueError:
        body = {}
    send = parse_send_request(body)
    phone_number_id = request.match_info["phone_number_id"]
    _check_media(messaging, send)
    refused = messaging.limits.admit(phone_number_id, send.wa_id or send.user_id or "")
    if refused == "throughput":
        raise graph_errors.throughput_exceeded()
    if refused == "pair":
        raise graph_errors.pair_rate_exceeded()
    message = messaging.accept(phone_number_id, send)
    return web.json_response(send_response(send, message.wamid))


def _check_media(messaging: Messaging, send: SendRequest) -> None:
    """A media message by id must name a file the sandbox holds, as with Meta."""
    body = send.body.get(send.type)
    if not (send.type in MEDIA_TYPES and isinstance(body, dict) and "id" in body):
        return
    if messaging.media.get(str(body["id"])) is None:
        raise graph_errors.whatsapp_invalid_parameter(
            "Invalid parameter", details=f"Param {send.type}['id'] is not a valid media id"
        )


async def _list_messages(request: web.Request) -> web.Response:
    return web.json_response({"data": [m.as_json() for m in request.app[MESSAGING].messages]})


async def _show_message(request: web.Request) -> web.Response:
    return web.json_response(_message(request).as_json())


async def _send_status(request: web.Request) -> web.Response:
    message = _message(request)
    try:
        order = StatusOrder.parse(await _json_object(request))
    except ValueError as exc:
        return _bad_request(str(exc))
    payload, records = await request.app[MESSAGING].send_status(message, order)
    return _sent(payload, records)


async def _click_button(request: web.Request) -> web.Response:
    message = _message(request)
    if not message.is_template:
        return _bad_request("only template messages have quick-reply buttons")
    try:
        order = ButtonOrder.parse(await _json_object(request))
    except ValueError as exc:
        return _bad_request(str(exc))
    payload, records = await request.app[MESSAGING].click_button(message, order)
    return _sent(payload, records)


async def _send_inbound(request: web.Request) -> web.Response:
    try:
        order = InboundOrder.parse(await _json_object(request))
    except ValueError as exc:
        return _bad_request(str(exc))
    payload, records = await request.app[MESSAGING].inbound(order)
    return _sent(payload, records)


async def _get_limits(request: web.Request) -> web.Response:
    return web.json_response(request.app[MESSAGING].limits.as_json())


async def _set_limits(request: web.Request) -> web.Response:
    limits = request.app[MESSAGING].limits
    try:
        limits.update(await _json_object(request))
    except ValueError as exc:
        return _bad_request(str(exc))
    return web.json_response(limits.as_json())


async def _list_webhooks(request: web.Request) -> web.Response:
    records = request.app[MESSAGING].driver.records(request.query.get("wamid"))
    return web.json_response({"data": [r.as_json() for r in records]})


async def _clear_webhooks(request: web.Request) -> web.Response:
    request.app[MESSAGING].driver.clear()
    return web.json_response({"data": []})


async def _list_numbers(request: web.Request) -> web.Response:
    return web.json_response({"data": [n.as_json() for n in request.app[MESSAGING].numbers]})


async def _register_number(request: web.Request) -> web.Response:
    try:
        number = request.app[MESSAGING].numbers.register(await _json_object(request))
    except ValueError as exc:
        return _bad_request(str(exc))
    return web.json_response(number.as_json())


def _config(messaging: Messaging) -> dict[str, object]:
    return {"webhook_url": messaging.driver.target}


async def _get_config(request: web.Request) -> web.Response:
    return web.json_response(_config(request.app[MESSAGING]))


async def _set_config(request: web.Request) -> web.Response:
    messaging = request.app[MESSAGING]
    try:
        changes = await _json_object(request)
        unknown = sorted(set(changes) - {"webhook_url"})
        if unknown:
            raise ValueError(f"unknown fields {unknown}; known: ['webhook_url']")
        if "webhook_url" in changes:
            messaging.driver.retarget(changes["webhook_url"])
    except ValueError as exc:
        return _bad_request(str(exc))
    return web.json_response(_config(messaging))


async def _get_auto(request: web.Request) -> web.Response:
    messaging = request.app[MESSAGING]
    return web.json_response({**messaging.auto.as_json(), "pending": len(messaging.progressions)})


async def _set_auto(request: web.Request) -> web.Response:
    messaging = request.app[MESSAGING]
    try:
        await messaging.configure_auto(await _json_object(request))
    except ValueError as exc:
        return _bad_request(str(exc))
    return web.json_response({**messaging.auto.as_json(), "pending": len(messaging.progressions)})
