"""The demo's incoming part: a user's text and photo reach the customer, one callback retried.

The number gets an incoming callback profile (a POST of every incoming field)
whose endpoint is down for its first request: the gateway retries it on its
schedule. The sandbox then sends Meta's webhooks of a user's text and of a
photo it holds; the gateway downloads the photo from Meta and the customer's
callback carries our ``media_url`` to it. Last, a user known only by
business-scoped user id (a username, no phone number) writes: the callback
names them by ``user_id``, with no ``from``.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from wagate.cli.demo_messages import NUMBER, PHONE_NUMBER_ID, PUSH_PATH, Tenant
from wagate.cli.demo_support import (
    CallbackReceiver,
    DemoFailed,
    call_json,
    console,
    png,
    show,
    signature_verifies,
)

INCOMING_PATH = "/callbacks/incoming"
USER = "919876543210"
BSUID = "IN.13491208655302741918"


def _attach_incoming_profile(tenant: Tenant, receiver: CallbackReceiver) -> str:
    profile = tenant.create_profile(
        {"title": "incoming POST", "http_method": "POST", "url": receiver.url + INCOMING_PATH},
        "incoming profile",
    )
    tenant.attach_to_number(
        {"incoming_callback_profile_id": profile["profile_id"]}, "incoming profile"
    )
    return str(profile["secret"])


def _sandbox_media(tenant: Tenant) -> str:
    """A photo the user sent, as Meta holds it: its media id."""
    request = urllib.request.Request(  # noqa: S310 - the sandbox on 127.0.0.1
        f"{tenant.sandbox}/_sandbox/media",
        data=png(32, 32),
        headers={"Content-Type": "image/png"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
        return str(json.loads(answer.read())["id"])


def _inbound(tenant: Tenant, message: dict[str, Any]) -> None:
    sent = {"phone_number_id": PHONE_NUMBER_ID, "name": "Ana", **message}
    if "user_id" not in sent:
        sent["from"] = USER
    answer = call_json("POST", f"{tenant.sandbox}/_sandbox/inbound", None, sent)
    if answer.get("responses") != [200]:
        raise DemoFailed(f"the gateway did not take Meta's webhook: {answer}")


def run_incoming(tenant: Tenant, receiver: CallbackReceiver) -> None:
    """A user's text and photo, to the incoming profile (down once) and the webhook_url."""
    console.rule("incoming: a user's text and photo, and a callback retried")
    secret = _attach_incoming_profile(tenant, receiver)
    receiver.fail_once.add(INCOMING_PATH)
    console.print(
        f"number {NUMBER}: incoming profile POST {receiver.url}{INCOMING_PATH}, "
        "which answers its first request 503",
        soft_wrap=True,
    )
    pushes_before = len(receiver.wait_for(100, timeout=0, path=PUSH_PATH))
    _inbound(tenant, {"type": "text", "text": {"body": "Where is my order?"}})
    _inbound(
        tenant,
        {"type": "image", "image": {"id": _sandbox_media(tenant), "caption": "arrived broken"}},
    )
    console.print("the sandbox sent Meta's webhooks of a text and of a photo from the user")

    callbacks = receiver.wait_for(3, timeout=60, path=INCOMING_PATH)
    if len(callbacks) < 3 or callbacks[0]["answered"] != 503:
        raise DemoFailed(f"expected a refused callback and two delivered: {callbacks}")
    if not all(signature_verifies(c, secret) for c in callbacks):
        raise DemoFailed("an incoming callback does not verify")
    first = json.loads(callbacks[0]["body"])
    retried = [c for c in callbacks[1:] if json.loads(c["body"])["id"] == first["id"]]
    if not retried or retried[0]["headers"]["webhook-id"] != callbacks[0]["headers"]["webhook-id"]:
        raise DemoFailed("the refused callback was not retried")
    console.print(
        f"\n[bold]the {first['type']} callback was answered 503, then retried[/] with the same "
        f"webhook-id {callbacks[0]['headers']['webhook-id']}, and delivered",
        soft_wrap=True,
    )
    bodies = [json.loads(c["body"]) for c in callbacks if c["answered"] == 200]
    by_type = {body["type"]: body for body in bodies}
    if set(by_type) != {"text", "image"} or not by_type["image"].get("media_url"):
        raise DemoFailed(f"the text and the photo with its media_url did not arrive: {bodies}")
    show("the incoming text", by_type["text"])
    show("the incoming photo, with our media_url to it", by_type["image"])
    pushes = receiver.wait_for(pushes_before + 2, timeout=30, path=PUSH_PATH)[pushes_before:]
    kinds = [json.loads(p["body"])["messages"][0]["type"] for p in pushes]
    console.print(f"\nand {len(pushes)} seed 003 pushes to the webhook_url: {', '.join(kinds)}")
    _user_without_number(tenant, receiver, len(callbacks))


def _user_without_number(tenant: Tenant, receiver: CallbackReceiver, before: int) -> None:
    """A user known only by BSUID writes; the callback names them by ``user_id``."""
    _inbound(
        tenant,
        {"user_id": BSUID, "username": "@ravi", "name": "Ravi", "type": "text",
         "text": {"body": "Is the shop open today?"}},
    )  # fmt: skip
    found = receiver.wait_for(before + 1, timeout=30, path=INCOMING_PATH)[before:]
    bodies = [json.loads(c["body"]) for c in found if c["answered"] == 200]
    if not bodies or bodies[0].get("user_id") != BSUID or "from" in bodies[0]:
        raise DemoFailed(f"the BSUID user's message did not arrive by user_id: {bodies}")
    show("a user known only by BSUID (no phone number: no from)", bodies[0])
