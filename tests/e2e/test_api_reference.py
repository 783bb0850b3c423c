"""The API reference against a real gateway: /docs, /openapi.json, and fuzzing by its schema.

One ``wagate serve`` (with a Meta sandbox, so sends reach a Graph API) serves
the module; Schemathesis generates requests from the served OpenAPI document
with a valid key and checks that no answer is a 5xx and that every answer is
documented, status, content type, headers and body.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate

from tests.e2e.conftest import GatewayFactory
from tests.e2e.messaging import META_ENV, messages_env
from tests.e2e.sandbox import Sandbox, sandbox_process
from tests.e2e.uploads import create_number, create_tenant
from tests.support import RunningProcess, local_http, run_wagate

REPOSITORY = Path(__file__).parents[2]
NUMBER, PHONE_NUMBER_ID = "15550001001", "106540000000001"
#: Bounded to add well under a minute on two cores; a fixed seed makes a failure reproducible.
FUZZ_OPTIONS = ("--max-examples", "40", "--seed", "20251130", "--workers", "1")
FUZZ_CHECKS = (
    "not_a_server_error,status_code_conformance,content_type_conformance,"
    "response_headers_conformance,response_schema_conformance,ignored_auth,"
    "missing_required_header,unsupported_method"
)
CUSTOMER_PATHS = re.compile(r"^/v[12]/\{sid\}/")


@pytest.fixture(scope="module")
def world(
    start_module_gateway: GatewayFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[RunningProcess, Sandbox, str]]:
    directory = tmp_path_factory.mktemp("reference")
    env = {
        "WAGATE_DATA_DIR": str(directory / "data"),
        "WAGATE_CALLBACK_ALLOWED_NETWORKS": "127.0.0.0/8",
    }
    create_tenant(env)
    create_number(env, NUMBER, PHONE_NUMBER_ID)
    profile = json.loads(
        run_wagate(
            "profiles", "create", "--sid", "SID1", "--title", "fuzzed profile",
            "--method", "GET", "--url", "http://127.0.0.1:9/status?status=<status>", env=env,
        )
    )  # fmt: skip
    with sandbox_process(directory, env=META_ENV) as meta:
        gateway = start_module_gateway(
            env={**messages_env(meta), **env}, data_dir=directory / "data"
        )
        yield gateway, meta, profile["profile_id"]


def test_docs_render_from_files_the_gateway_serves(
    world: tuple[RunningProcess, Sandbox, str],
) -> None:
    gateway = world[0]
    page = local_http.get(gateway.url + "/docs", timeout=10)
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    assert not re.search(r"https?://", page.text), "the page names an external URL"
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert assets, page.text
    for asset in assets:
        assert asset.startswith("/"), asset
        answer = local_http.get(gateway.url + asset, timeout=10)
        assert answer.status_code == 200, asset
        assert len(answer.content) > 0
    assert "'/openapi.json'" in page.text
    assert '"validatorUrl": null' in page.text  # no badge fetched from a public validator
    assert local_http.get(gateway.url + "/redoc", timeout=10).status_code == 404


def test_the_document_is_valid_openapi_3_1_and_complete(
    world: tuple[RunningProcess, Sandbox, str],
) -> None:
    document: dict[str, Any] = local_http.get(world[0].url + "/openapi.json", timeout=10).json()
    validate(document)
    assert document["openapi"].startswith("3.1")
    scheme = document["components"]["securitySchemes"]["apiKey"]
    assert scheme == {**scheme, "type": "apiKey", "in": "header", "name": "api-key"}
    operations = [
        (path, method, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]
    assert {path for path, _, _ in operations} == {
        path for path in document["paths"] if CUSTOMER_PATHS.match(path)
    }, "only the customer API is listed: Meta's, health and metrics routes are left out"
    assert len(operations) == 25
    for path, method, operation in operations:
        where = f"{method.upper()} {path}"
        assert operation["security"] == [{"apiKey": []}], where
        assert "422" not in operation["responses"], where
        assert {"401", "500"} <= set(operation["responses"]), where
        if method in ("post", "patch") and not path.endswith("/replay"):
            assert "requestBody" in operation, where
        for parameter in operation.get("parameters", []):
            assert parameter.get("description"), f"{where}: {parameter['name']}"
    upload = document["paths"]["/v2/{sid}/whatsapp/{waba_id}/resumable_media"]["post"]
    assert set(upload["requestBody"]["content"]) == {"application/json", "multipart/form-data"}
    assert set(upload["responses"]) == {"202", "400", "401", "408", "413", "429", "500", "503"}
    unauthorized = upload["responses"]["401"]["content"]["application/json"]["examples"]
    codes = sorted(example["value"]["code"] for example in unauthorized.values())
    assert codes == ["RBC001", "WA-401", "WA401", "WA401"]
    listing = document["paths"]["/v1/{sid}/callback/deliveries"]["get"]
    limits = {p["name"]: p["schema"] for p in listing["parameters"] if p["in"] == "query"}
    assert limits["limit"]["maximum"] == 100
    assert limits["offset"]["maximum"] == 2**31 - 1


def test_huge_offsets_answer_400_in_the_envelope(
    world: tuple[RunningProcess, Sandbox, str],
) -> None:
    gateway = world[0]
    for path in (
        "/v1/SID1/callback/deliveries",
        "/v1/SID1/callback/profiles",
        "/v2/SID1/whatsapp/WABA1/resumable_media",
    ):
        answer = local_http.get(
            gateway.url + path,
            params={"offset": "99999999999999999999"},
            headers={"api-key": "KEY1"},
            timeout=10,
        )
        assert answer.status_code == 400, (path, answer.text)
        assert "offset" in answer.json()["error"], answer.text


def test_numbers_that_are_not_e164_digits_answer_400_in_the_envelope(
    world: tuple[RunningProcess, Sandbox, str],
) -> None:
    gateway = world[0]
    for number in ("+1%20555%20abc", "1555000100199999999", "0555000100"):
        for method, path in (
            ("PATCH", f"/v2/SID1/whatsapp/WABA1/numbers/{number}"),
            ("POST", f"/v2/SID1/whatsapp/{number}/messages"),
        ):
            answer = local_http.request(
                method, gateway.url + path, headers={"api-key": "KEY1"}, json={}, timeout=30
            )
            assert answer.status_code == 400, (path, answer.text)
            assert answer.json()["code"] == "WA-400", answer.text


def test_schemathesis_finds_no_server_error_and_no_undocumented_answer(
    world: tuple[RunningProcess, Sandbox, str], tmp_path: Path
) -> None:
    gateway, _, profile_id = world
    config = tmp_path / "schemathesis.toml"
    config.write_text(
        'hooks = "tests.e2e.fuzz_hooks"\n'
        "[parameters]\n"
        'sid = "SID1"\n'
        'waba_id = "WABA1"\n'
        f'number = "{NUMBER}"\n'
        f'phone_number = "{NUMBER}"\n'
        f'profile_id = "{profile_id}"\n'
    )
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "st"), "--config-file", str(config), "--no-color",
            "run", f"{gateway.url}/openapi.json", "--header", "api-key: KEY1",
            "--checks", FUZZ_CHECKS, "--phases", "examples,coverage,fuzzing",
            "--request-timeout", "30", *FUZZ_OPTIONS,
        ],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPOSITORY)},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-20000:] + result.stderr[-5000:]
