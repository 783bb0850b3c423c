"""The demo's messages part: a template message out, Meta's webhooks back, both callback styles.

A number gets a seed 002 callback profile (the provider's GET query template)
and a seed 003 ``webhook_url``; a template message goes through the gateway to
the Meta sandbox, which reports it sent, delivered (billable) and read on its
own (``wagate sandbox --auto``), and is then told to have the user tap a
quick-reply button, each as a signed Meta webhook to the gateway; the
receiver's callbacks are shown with their signatures checked.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from wagate.cli.demo_support import (
    CallbackReceiver,
    DemoFailed,
    call_json,
    console,
    show,
    signature_verifies,
    wagate,
)

NUMBER = "15550783881"
PHONE_NUMBER_ID = "106540352242922"
RECIPIENT = "919876543210"
SEED_002_QUERY = (
    "?id=<id>&custom_response=<custom_response>&timestamp=<timestamp>&mobile=<mobile>"
    "&message=<message>&status=<status>&phone_number=<phone_number>&error=<error>"
    "&error_code=<error_code>&ref=<ref>&ref1=<ref1>&ref2=<ref2>&price=<price>"
    "&whatsapp_number=<whatsapp_number>"
)  # the seed's GET example, and whatsapp_number that its sample callback shows
TEMPLATE = {
    "to": RECIPIENT,
    "type": "template",
    "template": {
        "name": "order_update",
        "language": {"code": "en_US"},
        "components": [
            {
                "type": "body",
                "parameters": [{"type": "text", "text": "A/42"}, {"type": "text", "text": "Ana"}],
            },
            {
                "type": "button",
                "sub_type": "quick_reply",
                "index": "0",
                "parameters": [{"type": "payload", "payload": "TRACK_A42"}],
            },
        ],
    },
}
STATUS_PATH = "/callbacks/messages"
PUSH_PATH = "/webhooks/whatsapp"


@dataclass(frozen=True)
class Tenant:
    """Where the demo's gateway and sandbox are, and whose the number is."""

    base: str
    sandbox: str
    sid: str
    waba_id: str
    api_key: str

    def create_profile(self, profile: dict[str, Any], what: str) -> dict[str, Any]:
        """A callback profile of the account (its id and secret); ``what`` names it in
        the error should the gateway refuse it."""
        answer = call_json(
            "POST", f"{self.base}/v1/{self.sid}/callback/profiles", self.api_key, profile
        )
        if answer.get("code") != "RBC024":
            raise DemoFailed(f"creating the {what} failed: {answer}")
        created: dict[str, Any] = answer["data"]
        return created

    def attach_to_number(self, targets: dict[str, Any], what: str) -> dict[str, Any]:
        """Point the number's callbacks at ``targets``; the answer, with its webhook secret."""
        answer = call_json(
            "PATCH",
            f"{self.base}/v2/{self.sid}/whatsapp/{self.waba_id}/numbers/{NUMBER}",
            self.api_key,
            targets,
        )
        if answer.get("code") != "WA200":
            raise DemoFailed(f"attaching the {what} failed: {answer}")
        attached: dict[str, Any] = answer["data"]
        return attached


def _attach(tenant: Tenant, receiver: CallbackReceiver) -> tuple[str, str]:
    """A seed 002 profile and a seed 003 webhook URL on the number; their two secrets."""
    profile = tenant.create_profile(
        {
            "title": "message status GET",
            "http_method": "GET",
            "url": f"{receiver.url}{STATUS_PATH}{SEED_002_QUERY}",
        },
        "message-status profile",
    )
    attached = tenant.attach_to_number(
        {"callback_profile_id": profile["profile_id"], "webhook_url": receiver.url + PUSH_PATH},
        "profile and the webhook URL",
    )
    console.print(
        f"number {NUMBER}: profile {profile['profile_id']} (GET, seed 002) "
        f"and webhook_url {receiver.url}{PUSH_PATH} (seed 003)",
        soft_wrap=True,
    )
    return str(profile["secret"]), str(attached["webhook_secret"])


def _send(tenant: Tenant) -> tuple[str, str]:
    endpoint = f"{tenant.base}/v2/{tenant.sid}/whatsapp/{NUMBER}/messages"
    body = {
        "messaging_object": TEMPLATE,
        "extra_info": {"ref": "order-A42", "tag_name": "order-updates", "template_id": "233"},
    }
    console.print(f"\n[bold]POST {endpoint.removeprefix(tenant.base)}[/]")
    console.print(json.dumps(body, ensure_ascii=False), soft_wrap=True, markup=False)
    answer = call_json("POST", endpoint, tenant.api_key, body)
    show("the answer: our message id and Meta's wamid", answer)
    if answer.get("code") != "WA200":
        raise DemoFailed("the message was not sent")
    return str(answer["data"]["id"]), str(answer["data"]["wamid"])


def _drive(tenant: Tenant, wamid: str, receiver: CallbackReceiver) -> None:
    """Let Meta report sent, delivered and read on its own, then have the user tap a button."""
    if len(receiver.wait_for(3, path=PUSH_PATH)) < 3:
        raise DemoFailed("the sandbox's sent, delivered and read did not all arrive")
    control = f"{tenant.sandbox}/_sandbox/messages/{wamid}/button"
    tap = {"payload": "TRACK_A42", "text": "Track order", "name": "Ana"}
    answer = call_json("POST", control, None, tap)
    if answer.get("responses") != [200]:
        raise DemoFailed(f"the gateway did not take Meta's webhook: {answer}")
    if len(receiver.wait_for(4, path=PUSH_PATH)) < 4:
        raise DemoFailed("the receiver got no push for the button tap")
    console.print(
        "\nMeta (the sandbox, run with --auto) reported sent, delivered (billable) and read on\n"
        "its own, as signed webhooks to the gateway; then POST /_sandbox/messages/{wamid}/button\n"
        "had the user tap the quick-reply button"
    )


def _verify(callbacks: list[dict[str, Any]], secret: str, what: str) -> None:
    failed = [c for c in callbacks if not signature_verifies(c, secret)]
    if failed:
        raise DemoFailed(f"{len(failed)} {what} do not verify")


def _show_received(
    receiver: CallbackReceiver, message_id: str, profile_secret: str, push_secret: str
) -> None:
    callbacks = receiver.wait_for(3, path=STATUS_PATH)
    if len(callbacks) < 3:
        raise DemoFailed(f"the receiver got {len(callbacks)} of 3 status callbacks")
    _verify(callbacks, profile_secret, "status callbacks")
    queries = [dict(parse_qsl(urlsplit(c["target"]).query)) for c in callbacks]
    console.print(
        f"\n[bold]{len(callbacks)} seed 002 callbacks[/] (GET, the profile's query template), "
        "signatures [green]verified[/]: "
        + ", ".join(
            q.get("status", "?") + (f" (price {q['price']})" if "price" in q else "")
            for q in queries
        ),
        soft_wrap=True,
    )
    delivered = next((q for q in queries if q.get("status") == "delivered"), None)
    if delivered is None or delivered.get("id") != message_id or "price" not in delivered:
        raise DemoFailed(f"no delivered callback with a price for {message_id}: {queries}")
    show("the delivered callback's query parameters", delivered)

    pushes = receiver.wait_for(4, path=PUSH_PATH)
    _verify(pushes, push_secret, "webhook pushes")
    bodies = [json.loads(p["body"]) for p in pushes]
    kinds = [b["statuses"][0]["status"] if "statuses" in b else "button" for b in bodies]
    console.print(
        f"\n[bold]{len(pushes)} seed 003 pushes[/] (POST to the number's webhook_url), "
        f"signatures [green]verified[/]: {', '.join(kinds)}",
        soft_wrap=True,
    )
    show("the delivered push", bodies[kinds.index("delivered")])
    show("the button push", bodies[kinds.index("button")])


def run_messages(tenant: Tenant, receiver: CallbackReceiver, env: dict[str, str]) -> None:
    """Add a number, send a template message, and show the callbacks Meta's webhooks became."""
    console.rule("messages: a template message, Meta's webhooks, seed 002 and seed 003")
    wagate(
        "numbers", "create", "--sid", tenant.sid, "--waba-id", tenant.waba_id,
        "--number", NUMBER, "--phone-number-id", PHONE_NUMBER_ID, env=env,
    )  # fmt: skip
    registered = call_json(
        "POST",
        f"{tenant.sandbox}/_sandbox/numbers",
        None,
        {
            "phone_number_id": PHONE_NUMBER_ID,
            "display_phone_number": NUMBER,
            "waba_id": tenant.waba_id,
        },
    )
    if registered.get("phone_number_id") != PHONE_NUMBER_ID:
        raise DemoFailed(f"the sandbox did not take the number: {registered}")
    console.print(
        f"number {NUMBER} (Meta's phone number id {PHONE_NUMBER_ID}) in WABA {tenant.waba_id}",
        soft_wrap=True,
    )
    profile_secret, push_secret = _attach(tenant, receiver)
    message_id, wamid = _send(tenant)
    _drive(tenant, wamid, receiver)
    _show_received(receiver, message_id, profile_secret, push_secret)
