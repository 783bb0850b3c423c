# ruff: noqa: E501  (the seed samples are kept as the seed prints them)
"""Every response of seed 001, compared byte for byte with the seed's own sample."""

from __future__ import annotations

import json

import pytest

from wagate.api import envelope
from wagate.domain import errors

# The samples as seed 001 prints them.
SEED_SAMPLES = {
    "RBC001": """{
    "code": "RBC001",
    "message": "Incorrect SID or API key.",
    "data": [],
    "error": {
        "error": "Incorrect SID or API key."
    }
}""",
    "WA-401": """{
    "code": "WA-401",
    "message": "API is not available for given customer.Please contact support for more info",
    "data": {},
    "error": "API is not available for given customer.Please contact support for more info"
}""",
    "WA401-waba": """{
    "code": "WA401",
    "message": "Waba_Id is not present or does not belong to the account.",
    "data": {},
    "error": {
        "waba_id": "Waba_Id is not present or does not belong to the account."
    }
}""",
    "WA401-version": """{
    "code": "WA401",
    "message": "The waba_id you're using is associated with different Version of our WA API. Please use the appropriate endpoint.",
    "data": {},
    "error": {
        "waba_id": "The waba_id you're using is associated with different Version of our WA API. Please use the appropriate endpoint."
    }
}""",
    "WA-400": """{
    "code": "WA-400",
    "message": "Refer to correct payload format",
    "data": {},
    "error": {
        "payload": "Incorrect payload format"
    }
}""",
    "WA400": r"""{
    "code": "WA400",
    "message": "file_name can not contain these special characters '/' (forward slash), '\\' (backward slash),'<' (less than),'@' (at the rate),'%' (percentage),' ' (space). additionaly file_name length must be between 1 to 255 characters",
    "data": [],
    "error": {
        "file_name": "file_name can not contain these special characters '/' (forward slash), '\\' (backward slash),'<' (less than),'@' (at the rate),'%' (percentage),' ' (space). additionaly file_name length must be between 1 to 255 characters"
    }
}""",
    "WA429": """{
    "code": "WA429",
    "message": "Too many requests",
    "data": {},
    "error": {
        "error": "Too many requests sent from this waba in a short period of time, please try after sometime"
    }
}""",
    "WA-500": """{
    "code": "WA-500",
    "message": "Please try again later",
    "data": {},
    "error": {
        "error": "Internal server error"
    }
}""",
    "WA413": """{
    "code": "WA413",
    "message": "Request size is too large",
    "data": {},
    "error": {
        "error": "The file size exceeds the 100 MB limit. Please upload a file smaller than 100 MB."
    }
}""",
}


def compact(sample: str) -> bytes:
    """The seed sample in the gateway's compact serialisation."""
    return json.dumps(json.loads(sample), ensure_ascii=False, separators=(",", ":")).encode()


@pytest.mark.parametrize(
    ("error", "sample", "status"),
    [
        (errors.AuthenticationFailed(), "RBC001", 401),
        (errors.WhatsAppNotEnabled(), "WA-401", 401),
        (errors.WabaNotFound(), "WA401-waba", 401),
        (errors.WabaWrongVersion(), "WA401-version", 401),
        (errors.InvalidPayload(), "WA-400", 400),
        (errors.InvalidFileName(), "WA400", 400),
        (errors.RateLimited(), "WA429", 429),
        (errors.PayloadTooLarge(), "WA413", 413),
    ],
)
def test_each_error_answers_the_seed_body_byte_for_byte(
    error: errors.WagateError, sample: str, status: int
) -> None:
    response = envelope.for_error(error)
    assert response.status_code == status
    assert response.body == compact(SEED_SAMPLES[sample])


def test_an_unexpected_error_is_the_seed_500_and_says_nothing_more() -> None:
    response = envelope.for_error(errors.WagateError("secret detail"))
    assert response.status_code == 500
    assert response.body == compact(SEED_SAMPLES["WA-500"])
    assert envelope.internal_error().body == compact(SEED_SAMPLES["WA-500"])


def test_the_202_has_the_seed_shape() -> None:
    response = envelope.accepted("abc", "PENDING")
    assert response.status_code == 202
    assert json.loads(response.body) == {
        "code": "WA202",
        "message": "Request Processed Successfully",
        "data": {"id": "abc", "status": "PENDING"},
        "error": {},
    }


def test_a_detailed_400_keeps_the_seed_payload_member() -> None:
    response = envelope.for_error(errors.InvalidPayload({"type": "declared image/png, got text"}))
    body = json.loads(response.body)
    assert body["code"] == "WA-400"
    assert body["error"] == {
        "payload": "Incorrect payload format",
        "type": "declared image/png, got text",
    }
