"""The demo's webhook events part: the customer opts in, hears of a template approval and
of a user's marketing opt-out, and the next marketing send to that user is refused.

The sandbox sends Meta's ``message_template_status_update`` (a MARKETING
template approved) and ``user_preferences`` (the user stops marketing
messages) webhooks; both reach the number's ``webhook_url`` as events. The
send of that template to that user is then answered 400 naming the user, and
goes with ``extra_info.ignore_marketing_opt_out``.
"""

from __future__ import annotations

import json
import time
from typing import Any

from wagate.cli.demo_messages import NUMBER, PHONE_NUMBER_ID, PUSH_PATH, RECIPIENT, Tenant
from wagate.cli.demo_support import CallbackReceiver, DemoFailed, call_json, console, show

TEMPLATE = "spring_sale"
EVENTS = ["user_preferences", "message_template_status_update"]


def _emit(tenant: Tenant, field: str, order: dict[str, Any]) -> None:
    answer = call_json("POST", f"{tenant.sandbox}/_sandbox/fields/{field}", None, order)
    if answer.get("responses") != [200]:
        raise DemoFailed(f"the gateway did not take Meta's {field} webhook: {answer}")


def _event(receiver: CallbackReceiver, event: str, timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for push in receiver.wait_for(10_000, timeout=0, path=PUSH_PATH):
            body: dict[str, Any] = json.loads(push["body"])
            if body.get("event") == event:
                return body
        time.sleep(0.05)
    raise DemoFailed(f"no {event} push reached the webhook_url")


def _send(tenant: Tenant, **extra_info: Any) -> Any:
    body = {
        "messaging_object": {
            "to": RECIPIENT,
            "type": "template",
            "template": {"name": TEMPLATE, "language": {"code": "en_US"}, "components": []},
        },
        "extra_info": extra_info,
    }
    url = f"{tenant.base}/v2/{tenant.sid}/whatsapp/{NUMBER}/messages"
    return call_json("POST", url, tenant.api_key, body)


def run_fields(tenant: Tenant, receiver: CallbackReceiver) -> None:
    """Opt in, hear of a template approval and an opt-out, see a marketing send refused."""
    console.rule("webhook events: a template approved, a user's opt-out, a send refused")
    opted = call_json(
        "PUT",
        f"{tenant.base}/v2/{tenant.sid}/whatsapp/{tenant.waba_id}/webhook_events",
        tenant.api_key,
        {"event_types": EVENTS},
    )
    if opted.get("code") != "WA200":
        raise DemoFailed(f"opting in failed: {opted}")
    console.print(f"WABA {tenant.waba_id} opts into {', '.join(EVENTS)}")
    _emit(
        tenant,
        "message_template_status_update",
        {"waba_id": tenant.waba_id, "name": TEMPLATE, "language": "en_US", "category": "MARKETING"},
    )
    show("the template approval, pushed to the webhook_url", _event(receiver, EVENTS[1]))
    _emit(
        tenant,
        "user_preferences",
        {"phone_number_id": PHONE_NUMBER_ID, "wa_id": RECIPIENT, "value": "stop"},
    )
    show("the user's opt-out, pushed to the webhook_url", _event(receiver, EVENTS[0]))
    refused = _send(tenant)
    if refused.get("code") != "WA-400":
        raise DemoFailed(f"the marketing send was not refused: {refused}")
    show(f"sending {TEMPLATE} (MARKETING) to {RECIPIENT} now", refused)
    forced = _send(tenant, ignore_marketing_opt_out=True)
    if forced.get("code") != "WA200":
        raise DemoFailed(f"the send with ignore_marketing_opt_out failed: {forced}")
    console.print("with extra_info.ignore_marketing_opt_out=true it goes: [green]WA200[/]")
