"""``wagate demo``: the whole flow on the embedded default, against real processes.

It starts the Meta sandbox and a gateway on 127.0.0.1 in a temporary data
directory, creates a tenant with the operator commands and two callback
profiles (the provider's GET query template and its POST body template),
uploads a generated PNG with the exact curl command of the provider's
documentation, follows it to UPLOADED, downloads its file_link, shows the
callbacks a local receiver got with their signatures checked; then sends a
template message and shows the status callbacks and webhook pushes Meta's
webhooks became (:mod:`wagate.cli.demo_messages`), a user's messages
(:mod:`wagate.cli.demo_inbound`), the webhook events the customer opts into and
an opt-out refusing a marketing send (:mod:`wagate.cli.demo_fields`), and stops
everything it started.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from wagate.cli.demo_fields import run_fields
from wagate.cli.demo_inbound import run_incoming
from wagate.cli.demo_messages import Tenant, run_messages
from wagate.cli.demo_support import (
    CallbackReceiver,
    DemoFailed,
    call_json,
    console,
    free_port,
    png,
    process,
    show,
    signature_verifies,
    wagate,
    wait_for_transfer,
)

SID = "HXAP16DEMO97IN"
COMPANY_ID = "Ze15c65DEMO"
WABA_GET = "150440000142241"
WABA_POST = "150440000142242"
RATE_CARD = {"marketing": "0.0107"}
SEED_GET_QUERY = (
    '?status="<status>"&uploaded_file_handle="<uploaded_file_handle>"&file_name="<file_name>"'
    '&file_link="<file_link>"&resumable_media_id="<resumable_media_id>"&waba_id="<waba_id>"'
    '&company_id="<company_id>"&field="<field>"&time="<time>"'
    '&callback_profile_id="<callback_profile_id>"'
)
SEED_POST_BODY = {
    "status": "<status>",
    "uploaded_file_handle": "<uploaded_file_handle>",
    "file_name": "<file_name>",
    "file_link": "<file_link>",
    "resumable_media_id": "<resumable_media_id>",
    "waba_id": "<waba_id>",
    "company_id": "<company_id>",
    "field": "<field>",
    "time": "<time>",
    "callback_profile_id": "<callback_profile_id>",
}


def _upload_with_curl(base: str, waba: str, api_key: str, image: Path) -> str:
    endpoint = f"{base}/v2/{SID}/whatsapp/{waba}/resumable_media"
    command = [
        "curl", "-s", "-L", "-X", "POST", endpoint,
        "-H", f"api-key: {api_key}",
        "-H", "content-type: application/json",
        "-F", f'file=@"{image}"',
        "-F", 'type="image/png"',
        "-w", "\n%{http_code}",
    ]  # fmt: skip
    console.print("\n[bold]the documented request[/]")
    shown = " ".join(f"'{a}'" if " " in a else a for a in command[:-2])
    console.print(shown.replace(api_key, "<api-key>"), soft_wrap=True)
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    body, _, status = result.stdout.rpartition("\n")
    answer = json.loads(body)
    show(f"HTTP {status}", answer)
    if status != "202" or answer.get("code") != "WA202":
        raise DemoFailed("the upload was not accepted")
    upload_id: str = answer["data"]["id"]
    return upload_id


def _follow_to_uploaded(base: str, waba: str, api_key: str, upload_id: str, image: Path) -> None:
    endpoint = f"{base}/v2/{SID}/whatsapp/{waba}/resumable_media"
    record = wait_for_transfer(endpoint, upload_id, api_key)
    show("the record once the worker has transferred it to Meta", record)
    data = record.get("data", {})
    if data.get("status") != "UPLOADED" or not data.get("uploaded_file_handle"):
        raise DemoFailed("the upload did not reach UPLOADED")
    with urllib.request.urlopen(data["file_link"], timeout=10) as response:  # noqa: S310
        downloaded = response.read()
        kind = response.headers.get("Content-Type")
    if downloaded != image.read_bytes():
        raise DemoFailed("file_link served different bytes")
    console.print(
        f"\nfile_link serves {len(downloaded)} bytes of {kind}: [green]identical to the upload[/]"
    )


def _create_profile(base: str, api_key: str, waba: str, fields: dict[str, Any]) -> dict[str, Any]:
    answer = call_json("POST", f"{base}/v1/{SID}/callback/profiles", api_key, fields)
    if answer.get("code") != "RBC024":
        raise DemoFailed(f"creating a profile failed: {answer}")
    profile: dict[str, Any] = answer["data"]
    attached = call_json(
        "PATCH",
        f"{base}/v2/{SID}/whatsapp/{waba}",
        api_key,
        {"callback_profile_id": profile["profile_id"]},
    )
    if attached.get("code") != "WA200":
        raise DemoFailed(f"attaching the profile failed: {attached}")
    console.print(
        f"profile {profile['profile_id']} ({fields['http_method']}) attached to WABA {waba}"
    )
    return profile


def _show_callback(callback: dict[str, Any], secret: str) -> None:
    headers = callback["headers"]
    verified = signature_verifies(callback, secret)
    if callback["method"] == "GET":
        pairs = dict(parse_qsl(urlsplit(callback["target"]).query, keep_blank_values=True))
        show("the GET callback's query parameters", pairs)
    else:
        show("the POST callback's body", json.loads(callback["body"]))
    console.print(
        f"webhook-id {headers['webhook-id']}, signature "
        + ("[green]verified[/]" if verified else "[red]does not verify[/]")
    )
    if not verified:
        raise DemoFailed("a callback's signature does not verify")


def run_demo() -> int:
    """Run the demo; 0 when every step did what it should."""
    if shutil.which("curl") is None:
        console.print("[red]the demo runs the documented curl command: install curl first[/]")
        return 2
    with tempfile.TemporaryDirectory(prefix="wagate-demo-") as tmp, CallbackReceiver() as receiver:
        root = Path(tmp)
        port, sandbox_port = free_port(), free_port()
        env = {
            **os.environ,
            "WAGATE_DATA_DIR": str(root / "data"),
            "WAGATE_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "WAGATE_GRAPH_URL": f"http://127.0.0.1:{sandbox_port}",
            "WAGATE_CALLBACK_ALLOWED_NETWORKS": "127.0.0.0/8",
        }
        console.rule("wagate demo: resumable media upload to Meta (sandbox), with callbacks")
        api_key = wagate(
            "accounts", "create", "--sid", SID, "--company-id", COMPANY_ID,
            "--rate-card", json.dumps(RATE_CARD), env=env,
        )  # fmt: skip
        for waba in (WABA_GET, WABA_POST):
            wagate("wabas", "create", "--sid", SID, "--waba-id", waba, env=env)
        console.print(
            f"created account {SID} (postpaid, rate card {RATE_CARD}, API key {api_key[:4]}…), "
            f"WABAs {WABA_GET}, {WABA_POST}"
        )
        image = root / "image.png"
        image.write_bytes(png())
        python = [sys.executable, "-m", "wagate"]
        serve = [*python, "serve", "--host", "127.0.0.1", "--port", str(port)]
        webhooks = f"http://127.0.0.1:{port}/webhooks/meta"
        sandbox = [
            *python, "sandbox", "--port", str(sandbox_port), "--webhook-url", webhooks, "--auto",
        ]  # fmt: skip
        try:
            with (
                process("Meta sandbox", sandbox, env, sandbox_port, root / "sandbox.log"),
                process("gateway", serve, env, port, root / "gateway.log") as base,
            ):
                get_profile = _create_profile(
                    base, api_key, WABA_GET,
                    {"title": "media status GET", "http_method": "GET",
                     "url": f"{receiver.url}/callbacks/media{SEED_GET_QUERY}"},
                )  # fmt: skip
                post_profile = _create_profile(
                    base, api_key, WABA_POST,
                    {"title": "media status POST", "http_method": "POST",
                     "url": f"{receiver.url}/callbacks/media", "body": SEED_POST_BODY},
                )  # fmt: skip
                first = _upload_with_curl(base, WABA_GET, api_key, image)
                _follow_to_uploaded(base, WABA_GET, api_key, first, image)
                second = _upload_with_curl(base, WABA_POST, api_key, image)
                _follow_to_uploaded(base, WABA_POST, api_key, second, image)
                callbacks = receiver.wait_for(2, path="/callbacks/media")
                if len(callbacks) < 2:
                    raise DemoFailed(f"the receiver got {len(callbacks)} of 2 callbacks")
                by_method = {c["method"]: c for c in callbacks}
                _show_callback(by_method["GET"], get_profile["secret"])
                _show_callback(by_method["POST"], post_profile["secret"])
                sandbox_url = f"http://127.0.0.1:{sandbox_port}"
                tenant = Tenant(base, sandbox_url, SID, WABA_GET, api_key)
                run_messages(tenant, receiver, env)
                run_incoming(tenant, receiver)
                run_fields(tenant, receiver)
        except DemoFailed as exc:
            console.print(f"[red]{exc}; the gateway's log:[/]")
            console.print((root / "gateway.log").read_text()[-4000:], markup=False)
            return 1
        console.rule("[green]demo finished[/]")
    return 0
