from __future__ import annotations

import base64
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from wagate.delivery.render import render_get
from wagate.delivery.signing import (
    headers_for,
    new_secret,
    request_target,
    sign,
    signature_header,
    signed_payload,
)


def now() -> int:
    return int(time.time())


def test_a_new_secret_is_whsec_and_24_random_bytes() -> None:
    secret = new_secret()
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 24
    assert new_secret() != secret


def test_the_standard_webhooks_reference_vector() -> None:
    signature = sign(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        1614265330,
        b'{"test": 2432232314}',
    )
    assert signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_a_post_body_verifies_with_the_standard_webhooks_library() -> None:
    secret = new_secret()
    body = '{"status":"UPLOADED","file_name":"ü.pdf"}'.encode()
    timestamp = now()
    headers = headers_for("dlv_1", timestamp, signature_header([secret], "dlv_1", timestamp, body))
    assert set(headers) == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert Webhook(secret).verify(body, headers) == {"status": "UPLOADED", "file_name": "ü.pdf"}


def test_a_get_request_target_verifies() -> None:
    secret = new_secret()
    rendered = render_get(
        'https://h.example/cb?s="<status>"&f=<file_name>',
        {
            "status": "UPLOADED",
            "file_name": "a&b é",
        },
    )
    timestamp = now()
    signatures = [sign(secret, "dlv_2", timestamp, signed_payload(rendered.url, rendered.body))]
    headers = headers_for("dlv_2", timestamp, signatures)
    Webhook(secret).verify(request_target(rendered.url), headers, json_parse=False)


def test_during_a_rotation_both_secrets_verify_and_others_do_not() -> None:
    old, new = new_secret(), new_secret()
    body = b'{"a":1}'
    timestamp = now()
    header = signature_header([old, new], "dlv_3", timestamp, body)
    assert len(header.split(" ")) == 2
    headers = headers_for("dlv_3", timestamp, header)
    Webhook(old).verify(body, headers)
    Webhook(new).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(body, headers)


def test_a_changed_payload_id_or_timestamp_fails() -> None:
    secret = new_secret()
    timestamp = now()
    headers = headers_for("dlv_4", timestamp, [sign(secret, "dlv_4", timestamp, b'{"a":1}')])
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(b'{"a":2}', headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(b'{"a":1}', {**headers, "webhook-id": "dlv_5"})
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(b'{"a":1}', {**headers, "webhook-timestamp": str(timestamp - 1)})


def test_bad_secrets_are_refused() -> None:
    with pytest.raises(ValueError, match="base64"):
        sign("whsec_not base64!", "id", 1, b"")
    with pytest.raises(ValueError, match="empty"):
        sign("whsec_", "id", 1, b"")
    with pytest.raises(ValueError, match="at least one"):
        signature_header([], "id", 1, b"")


@settings(max_examples=50)
@given(
    payload=st.text(),
    msg_id=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1),
)
def test_any_payload_verifies(payload: str, msg_id: str) -> None:
    secret = new_secret()
    timestamp = now()
    data = payload.encode()
    headers = headers_for(msg_id, timestamp, signature_header([secret], msg_id, timestamp, data))
    Webhook(secret).verify(data, headers, json_parse=False)
