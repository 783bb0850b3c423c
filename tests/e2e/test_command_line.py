"""The operator's command line on a real data directory: listings, profiles, errors.

Every command runs as its own process, as a person would run it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.uploads import create_number, create_tenant
from tests.support import free_port, wagate_command

NUMBER, PHONE_NUMBER_ID = "15550001001", "106540000000001"
LONG_WABA = "1504400001422419876543210987654321"
LONG_URL = "http://127.0.0.1:9/callbacks/message-status?id=<id>&status=<status>&ref=<ref>"
LISTINGS = (
    ("accounts", "list"),
    ("wabas", "list"),
    ("numbers", "list"),
    ("profiles", "list", "--sid", "SID1"),
    ("deliveries", "list", "--sid", "SID1"),
    ("uploads", "list", "--sid", "SID1", "--waba-id", "WABA1"),
)


def wagate(
    env: dict[str, str], *args: str, columns: int | None = None
) -> subprocess.CompletedProcess[str]:
    extra = {"COLUMNS": str(columns)} if columns else {}
    return subprocess.run(
        wagate_command(*args),
        env={**os.environ, **env, **extra},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def ok(env: dict[str, str], *args: str, columns: int | None = None) -> str:
    result = wagate(env, *args, columns=columns)
    assert result.returncode == 0, f"wagate {' '.join(args)}: {result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory with SID1/WABA1, a second WABA with a long id, a number and a profile."""
    directory = tmp_path_factory.mktemp("cli-tenant")
    env = {"WAGATE_DATA_DIR": str(directory), "WAGATE_CALLBACK_ALLOWED_NETWORKS": "127.0.0.0/8"}
    create_tenant(env)
    ok(env, "wabas", "create", "--sid", "SID1", "--waba-id", LONG_WABA)
    create_number(env, NUMBER, PHONE_NUMBER_ID)
    ok(
        env, "profiles", "create", "--sid", "SID1", "--title", "media status",
        "--method", "POST", "--url", "http://127.0.0.1:9/callbacks",
        "--body", '{"status": "<status>", "file_name": "<file_name>"}',
    )  # fmt: skip
    ok(
        env, "profiles", "create", "--sid", "SID1", "--title", "message status by GET",
        "--method", "GET", "--url", LONG_URL,
    )  # fmt: skip
    return directory


@pytest.fixture
def env(template: Path, tmp_path: Path) -> dict[str, str]:
    target = tmp_path / "data"
    shutil.copytree(template, target)
    return {"WAGATE_DATA_DIR": str(target), "WAGATE_CALLBACK_ALLOWED_NETWORKS": "127.0.0.0/8"}


def profile_id(env: dict[str, str]) -> str:
    listed = json.loads(ok(env, "profiles", "list", "--sid", "SID1", "--json"))
    found: str = listed["items"][0]["profile_id"]
    return found


def test_every_listing_prints_one_json_document(env: dict[str, str]) -> None:
    for listing in LISTINGS:
        document: dict[str, Any] = json.loads(ok(env, *listing, "--json"))
        assert set(document) == {"items", "total", "limit", "offset"}, listing
        assert document["total"] == len(document["items"]), listing
    wabas = json.loads(ok(env, "wabas", "list", "--sid", "SID1", "--json"))["items"]
    assert {w["waba_id"] for w in wabas} == {"WABA1", LONG_WABA}
    numbers = json.loads(ok(env, "numbers", "list", "--waba-id", "WABA1", "--json"))["items"]
    assert [n["number"] for n in numbers] == [NUMBER]
    assert "webhook_secret" not in numbers[0]
    profiles = json.loads(ok(env, "profiles", "list", "--sid", "SID1", "--json"))["items"]
    assert "secret" not in profiles[0]


def test_tables_fit_60_and_80_columns_with_ids_whole_and_urls_wrapped(
    env: dict[str, str],
) -> None:
    profiles = [p["profile_id"] for p in json.loads(ok(env, "profiles", "list", "--sid", "SID1",
                                                         "--json"))["items"]]  # fmt: skip
    for args, ids in (
        (("profiles", "list", "--sid", "SID1"), profiles),
        (("wabas", "list"), ["WABA1", LONG_WABA]),
        (("numbers", "list"), [NUMBER, PHONE_NUMBER_ID]),
        (("accounts", "list"), ["SID1"]),
    ):
        for columns in (60, 80):
            lines = ok(env, *args, columns=columns).splitlines()
            assert all(len(line) <= columns for line in lines), (args, columns, lines)
            for wanted in ids:
                assert any(wanted in line.split() for line in lines), (args, columns, wanted)
    for columns in (60, 80):
        lines = ok(env, "profiles", "list", "--sid", "SID1", columns=columns).splitlines()
        assert len(lines) < 20, lines  # a URL wraps onto a few lines, not one per character
        url_lines = [line for line in lines if "<" in line or "http" in line]
        joined = "".join(line.split()[-1] for line in url_lines if "/9/callbacks?" not in line)
        assert LONG_URL in joined, (columns, lines)


def test_piped_or_wide_tables_are_one_line_per_row(env: dict[str, str]) -> None:
    piped = {**env, "COLUMNS": ""}
    lines = ok(piped, "profiles", "list", "--sid", "SID1").splitlines()
    assert len(lines) == 3, lines
    assert lines[2].split()[-1] == LONG_URL
    wide = ok(env, "profiles", "list", "--sid", "SID1", "--wide", columns=60).splitlines()
    assert wide == lines


def test_profiles_from_create_to_delete(env: dict[str, str]) -> None:
    profile = profile_id(env)
    shown = json.loads(ok(env, "profiles", "show", profile, "--sid", "SID1"))
    assert shown["status"] == 1
    assert shown["secret"].startswith("whsec_")
    disabled = json.loads(ok(env, "profiles", "update", profile, "--sid", "SID1", "--disable"))
    assert disabled["status"] == 3
    rotated = json.loads(
        ok(env, "profiles", "update", profile, "--sid", "SID1", "--enable", "--rotate-secret")
    )
    assert rotated["status"] == 1
    assert rotated["secret"] != shown["secret"]
    attached = json.loads(
        ok(env, "wabas", "attach", "WABA1", "--sid", "SID1", "--profile-id", profile)
    )
    assert attached == {"waba_id": "WABA1", "callback_profile_id": profile}
    number = json.loads(
        ok(
            env, "numbers", "attach", NUMBER, "--sid", "SID1", "--waba-id", "WABA1",
            "--profile-id", profile, "--webhook-url", "http://127.0.0.1:9/push",
        )
    )  # fmt: skip
    assert number["callback_profile_id"] == profile
    assert number["webhook_url"] == "http://127.0.0.1:9/push"
    assert number["webhook_secret"].startswith("whsec_")
    again = json.loads(ok(env, "numbers", "attach", NUMBER, "--sid", "SID1", "--waba-id", "WABA1"))
    assert again == number  # no option: nothing changes, the secret is printed again
    wabas = json.loads(ok(env, "wabas", "list", "--sid", "SID1", "--json"))["items"]
    assert {w["waba_id"]: w["callback_profile_id"] for w in wabas}["WABA1"] == profile
    assert ok(env, "profiles", "delete", profile, "--sid", "SID1").strip() == profile
    gone = wagate(env, "profiles", "show", profile, "--sid", "SID1")
    assert gone.returncode == 1
    assert gone.stderr == f"error: no callback profile {profile}\n"
    numbers = json.loads(ok(env, "numbers", "list", "--json"))["items"]
    assert numbers[0]["callback_profile_id"] is None


def test_mistakes_are_one_line_on_stderr_without_a_traceback(
    env: dict[str, str], tmp_path: Path
) -> None:
    image = tmp_path / "image.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    closed = f"http://127.0.0.1:{free_port()}"
    upload = ("upload", str(image), "--sid", "SID1", "--waba-id", "WABA1", "--api-key", "K")
    for args, said in (
        (("deliveries", "list", "--sid", "NOPE"), "no account with SID NOPE"),
        (("profiles", "list", "--sid", "NOPE"), "no account with SID NOPE"),
        (("wabas", "list", "--sid", "NOPE"), "no account with SID NOPE"),
        (("uploads", "list", "--sid", "SID1", "--waba-id", "NOPE"), "no WABA NOPE"),
        (("deliveries", "show", "msg_nope", "--sid", "SID1"), "no delivery msg_nope"),
        (("webhooks", "show", "999"), "no stored Meta webhook has seq 999"),
        (("profiles", "update", "stage_nope", "--sid", "SID1", "--disable"), "stage_nope"),
        (("wabas", "attach", "WABA1", "--sid", "SID1", "--profile-id", "nope"), "nope"),
        ((*upload, "--url", closed), "cannot connect"),
        ((*upload, "--url", "127.0.0.1:8080"), "not a gateway URL"),
        (
            ("numbers", "create", "--sid", "SID1", "--waba-id", "WABA1",
             "--number", "+1 555 abc", "--phone-number-id", "PN-BAD"),
            "number: must be an E.164 number",
        ),
    ):  # fmt: skip
        result = wagate(env, *args)
        assert result.returncode != 0, args
        assert "Traceback" not in result.stderr, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, (args, result.stderr)
        assert lines[0].startswith("error: "), (args, lines)
        assert said in lines[0], (args, lines)
    bad_setting = wagate({**env, "WAGATE_DATABASE_POOL_SIZE": "many"}, "accounts", "list")
    assert bad_setting.returncode == 1
    assert bad_setting.stderr.startswith("error: WAGATE_DATABASE_POOL_SIZE"), bad_setting.stderr
    loud = wagate({**env, "WAGATE_LOG_LEVEL": "LOUD"}, "accounts", "list")
    assert loud.returncode == 1
    assert loud.stderr.startswith("error: WAGATE_LOG_LEVEL=LOUD: "), loud.stderr
    assert "'DEBUG', 'INFO', 'WARNING', 'ERROR' or 'CRITICAL'" in loud.stderr
    misspelt = wagate({**env, "WAGATE_LOG_LEVL": "DEBUG"}, "accounts", "list")
    assert misspelt.returncode == 0
    assert "WAGATE_LOG_LEVL is not a wagate setting" in misspelt.stderr
    assert "did you mean WAGATE_LOG_LEVEL?" in misspelt.stderr
