from __future__ import annotations

import json

import pytest

from wagate.domain.errors import (
    MetaError,
    MetaOffsetMismatch,
    MetaPermanentError,
    MetaTransientError,
    WagateError,
)
from wagate.sandbox import graph_errors as sandbox_errors
from wagate.upstream.graph_errors import error_from_response, is_transient


def envelope(code: int, message: str = "boom", **extra: object) -> bytes:
    error = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "Atrace"}
    error.update(extra)
    return json.dumps({"error": error}).encode()


@pytest.mark.parametrize("code", [1, 2, 4, 17, 32, 341, 613])
def test_graph_codes_meta_calls_temporary_are_transient_even_on_a_4xx(code: int) -> None:
    error = error_from_response(400, envelope(code))
    assert isinstance(error, MetaTransientError)
    assert error.transient
    assert error.code == code


@pytest.mark.parametrize(("status", "code"), [(401, 190), (400, 190), (400, 100), (403, 10)])
def test_token_parameter_and_other_4xx_errors_are_permanent(status: int, code: int) -> None:
    error = error_from_response(status, envelope(code))
    assert isinstance(error, MetaPermanentError)
    assert not error.transient


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_a_5xx_is_transient(status: int) -> None:
    assert isinstance(error_from_response(status, envelope(9999)), MetaTransientError)
    assert isinstance(error_from_response(status, b"<html>Bad gateway</html>"), MetaTransientError)


def test_is_transient_in_the_envelope_wins() -> None:
    assert isinstance(
        error_from_response(400, envelope(100, is_transient=True)), MetaTransientError
    )


@pytest.mark.parametrize(
    ("status", "code", "flagged", "expected"),
    [
        (None, None, None, True),
        (429, None, None, True),
        (408, None, None, True),
        (404, None, None, False),
        (500, 190, None, False),
        (500, 190, True, True),
        (200, 4, False, True),
    ],
)
def test_is_transient(
    status: int | None, code: int | None, flagged: bool | None, expected: bool
) -> None:
    assert is_transient(status, code, flagged) is expected


def test_every_field_of_the_envelope_is_carried() -> None:
    error = error_from_response(401, envelope(190, "Invalid OAuth access token", error_subcode=463))
    assert isinstance(error, MetaError)
    assert isinstance(error, WagateError)
    assert (error.status, error.code, error.subcode) == (401, 190, 463)
    assert (error.type, error.fbtrace_id) == ("OAuthException", "Atrace")
    assert error.message == "Invalid OAuth access token"
    assert "code 190" in str(error)


def test_a_body_that_is_not_an_envelope_still_says_what_came() -> None:
    error = error_from_response(418, b"I'm a teapot")
    assert isinstance(error, MetaPermanentError)
    assert error.code is None
    assert "418" in error.message
    assert "teapot" in error.message


def test_an_offset_mismatch_is_its_own_error_with_the_expected_offset() -> None:
    body = sandbox_errors.offset_mismatch(10, 4096).body()
    error = error_from_response(400, json.dumps(body).encode())
    assert isinstance(error, MetaOffsetMismatch)
    assert error.expected_offset == 4096
    assert error.code == 100


def test_other_parameter_errors_are_not_offset_mismatches() -> None:
    body = sandbox_errors.invalid_parameter("Header file_offset must be a non-negative integer")
    error = error_from_response(400, json.dumps(body.body()).encode())
    assert type(error) is MetaPermanentError


@pytest.mark.parametrize(
    ("made", "kind", "status", "code"),
    [
        (sandbox_errors.invalid_token(), MetaPermanentError, 401, 190),
        (sandbox_errors.invalid_parameter("Param file_type …"), MetaPermanentError, 400, 100),
        (sandbox_errors.unexpected(503), MetaTransientError, 503, 2),
        (sandbox_errors.unexpected(500), MetaTransientError, 500, 2),
        (sandbox_errors.unknown_path(), MetaPermanentError, 400, 2500),
    ],
)
def test_the_sandbox_errors_are_classified_like_metas(
    made: sandbox_errors.GraphApiError, kind: type[MetaError], status: int, code: int
) -> None:
    body = made.body()
    error = error_from_response(made.status, json.dumps(body).encode())
    assert type(error) is kind
    assert (error.status, error.code) == (status, code)
    assert error.fbtrace_id


def test_the_sandbox_envelope_has_metas_shape() -> None:
    body = sandbox_errors.unexpected(503).body()
    assert body == {
        "error": {
            "message": "An unexpected error has occurred. Please retry your request later.",
            "type": "OAuthException",
            "code": 2,
            "is_transient": True,
            "fbtrace_id": body["error"]["fbtrace_id"],  # type: ignore[index]
        }
    }
