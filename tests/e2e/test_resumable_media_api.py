"""The upload API of seed 001 over HTTP, against a real gateway process."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import GatewayFactory
from tests.e2e.uploads import create_tenant, make_png
from tests.support import RunningProcess, local_http, run_wagate
from tests.unit.test_envelope import SEED_SAMPLES, compact

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"


@pytest.fixture(scope="module")
def gateway(start_module_gateway: GatewayFactory) -> RunningProcess:
    gateway = start_module_gateway()
    env = gateway.env
    create_tenant(env)
    run_wagate(
        "wabas", "create", "--sid", "SID1", "--waba-id", "WABA-V1", "--api-version", "v1", env=env
    )
    run_wagate(
        "accounts",
        "create",
        "--sid",
        "SID2",
        "--company-id",
        "C2",
        "--api-key",
        "KEY2",
        "--no-whatsapp",
        env=env,
    )
    create_tenant(env, sid="SID3", waba_id="WABA3", api_key="KEY3")
    return gateway


def url(gateway: RunningProcess, sid: str = "SID1", waba: str = "WABA1") -> str:
    return f"{gateway.url}/v2/{sid}/whatsapp/{waba}/resumable_media"


def post(
    gateway: RunningProcess,
    *,
    sid: str = "SID1",
    waba: str = "WABA1",
    key: str = "KEY1",
    content: bytes = b"",
    file_name: str = "image.png",
    media_type: str | None = "image/png",
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    data = {"type": media_type} if media_type is not None else {}
    return local_http.post(
        url(gateway, sid, waba),
        headers={"api-key": key, **(headers or {})},
        files={"file": (file_name, content, "application/octet-stream")},
        data=data,
        timeout=30,
    )


def test_the_documented_curl_command_works_verbatim(
    gateway: RunningProcess, tmp_path: Path
) -> None:
    image = make_png(tmp_path / "image.png", 70_000)
    result = subprocess.run(
        [
            "curl",
            "-s",
            "-L",
            "-X",
            "POST",
            url(gateway),
            "-H",
            "api-key: KEY1",
            "-H",
            "content-type: application/json",
            "-F",
            f'file=@"{image}"',
            "-F",
            'type="image/png"',
            "-w",
            "\n%{http_code}",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    body, status = result.stdout.rsplit("\n", 1)
    assert status == "202"
    answer = json.loads(body)
    assert answer["code"] == "WA202"
    assert answer["message"] == "Request Processed Successfully"
    assert answer["data"]["status"] == "PENDING"
    assert answer["error"] == {}

    record = local_http.get(
        url(gateway), params={"id": answer["data"]["id"]}, headers={"api-key": "KEY1"}
    ).json()
    assert record["code"] == "WA200"
    assert record["data"]["file_name"] == "image.png"
    assert record["data"]["type"] == "image/png"
    assert record["data"]["size"] == 70_000
    assert record["data"]["status"] == "PENDING"


def test_a_pdf_in_ordinary_form_data_is_accepted(gateway: RunningProcess) -> None:
    response = post(gateway, content=PDF, file_name="report.pdf", media_type="application/pdf")
    assert response.status_code == 202
    assert response.json()["data"]["status"] == "PENDING"


@pytest.mark.parametrize(
    ("kwargs", "status", "sample"),
    [
        ({"key": "WRONG"}, 401, "RBC001"),
        ({"sid": "NOSUCHSID"}, 401, "RBC001"),
        ({"sid": "SID2", "key": "KEY2"}, 401, "WA-401"),
        ({"waba": "WABA3"}, 401, "WA401-waba"),
        ({"waba": "UNKNOWN"}, 401, "WA401-waba"),
        ({"waba": "WABA-V1"}, 401, "WA401-version"),
        ({"media_type": None}, 400, "WA-400"),
        ({"file_name": "my image.png"}, 400, "WA400"),
        ({"file_name": "a@b.png"}, 400, "WA400"),
        ({"file_name": "x" * 256 + ".png"}, 400, "WA400"),
    ],
)
def test_each_error_of_the_seed_byte_for_byte(
    gateway: RunningProcess, kwargs: dict[str, str], status: int, sample: str
) -> None:
    response = post(gateway, content=b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, **kwargs)
    assert response.status_code == status
    if sample == "WA-400":
        body = response.json()
        assert body["code"] == "WA-400"
        assert body["message"] == "Refer to correct payload format"
        assert body["error"]["payload"] == "Incorrect payload format"
    else:
        assert response.content == compact(SEED_SAMPLES[sample])


def test_a_json_body_is_the_seed_incorrect_payload(gateway: RunningProcess) -> None:
    response = local_http.post(
        url(gateway), headers={"api-key": "KEY1"}, json={"file": "x", "type": "image/png"}
    )
    assert response.status_code == 400
    assert response.json()["code"] == "WA-400"


@pytest.mark.parametrize(
    ("content", "declared", "says"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "application/pdf", "image/png"),
        (b"hello, this is only text\n", "image/png", "text"),
    ],
)
def test_a_type_that_does_not_match_the_content_is_refused(
    gateway: RunningProcess, content: bytes, declared: str, says: str
) -> None:
    response = post(gateway, content=content, media_type=declared)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "WA-400"
    assert declared in body["error"]["type"]
    assert says in body["error"]["type"]


def test_an_idempotency_key_replays_the_first_answer(gateway: RunningProcess) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\x01" * 64
    first = post(gateway, content=png, headers={"Idempotency-Key": "order-1"})
    second = post(gateway, content=png, headers={"Idempotency-Key": "order-1"})
    assert first.status_code == second.status_code == 202
    assert first.content == second.content
    listing = local_http.get(url(gateway), headers={"api-key": "KEY1"}).json()
    assert (
        sum(item["sha256"] == hashlib.sha256(png).hexdigest() for item in listing["data"]["items"])
        == 1
    )


def test_an_unknown_id_is_not_found(gateway: RunningProcess) -> None:
    response = local_http.get(url(gateway), params={"id": "nope"}, headers={"api-key": "KEY1"})
    assert response.status_code == 404
    assert response.json()["code"] == "WA404"


def test_bad_paging_is_an_incorrect_payload(gateway: RunningProcess) -> None:
    response = local_http.get(url(gateway), params={"limit": "lots"}, headers={"api-key": "KEY1"})
    assert response.status_code == 400
    assert response.json()["error"]["limit"] == "must be an integer"
