"""``wagate demo``: the whole flow on the embedded default, against real processes.

It starts a gateway (and the Meta sandbox) on 127.0.0.1 in a temporary data
directory, creates a tenant with the operator commands, uploads a generated
PNG with the exact curl command of the provider's documentation, shows what
came back, and stops everything it started.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.syntax import Syntax

console = Console(highlight=False)

SID = "HXAP16DEMO97IN"
WABA_ID = "150440000142241"
COMPANY_ID = "Ze15c65DEMO"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _png(width: int = 64, height: int = 64) -> bytes:
    """A small, valid PNG: a colour gradient."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(
        b"\x00" + b"".join(bytes((x * 4, y * 4, 160)) for x in range(width)) for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def _wagate(*args: str, env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "wagate", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"wagate {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout.strip()


def _get_json(url: str, headers: dict[str, str] | None = None) -> Any:
    request = urllib.request.Request(url, headers=headers or {})  # noqa: S310 - loopback URL
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return json.loads(exc.read())


@contextmanager
def _process(
    name: str, args: list[str], env: dict[str, str], port: int, log: Path
) -> Iterator[str]:
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        process = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited early:\n{log.read_text()}")
            with suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start:\n{log.read_text()}")
            time.sleep(0.1)
        console.print(f"[green]started[/] {name} on {url} (pid {process.pid})")
        yield url
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        console.print(f"[green]stopped[/] {name} (exit {process.returncode})")


def _show(title: str, payload: Any) -> None:
    console.print(f"\n[bold]{title}[/]")
    console.print(Syntax(json.dumps(payload, indent=2, ensure_ascii=False), "json"))


def _wait_for_transfer(endpoint: str, upload_id: str, api_key: str) -> Any:
    """Poll the record until it leaves PENDING (or 30 s pass)."""
    deadline = time.monotonic() + 30
    while True:
        record = _get_json(f"{endpoint}?id={upload_id}", headers={"api-key": api_key})
        if record.get("data", {}).get("status") != "PENDING" or time.monotonic() > deadline:
            return record
        time.sleep(0.2)


def run_demo() -> int:
    """Run the demo; 0 when every step did what it should."""
    if shutil.which("curl") is None:
        console.print("[red]the demo runs the documented curl command: install curl first[/]")
        return 2
    with tempfile.TemporaryDirectory(prefix="wagate-demo-") as tmp:
        root = Path(tmp)
        port, sandbox_port = _free_port(), _free_port()
        env = {
            **os.environ,
            "WAGATE_DATA_DIR": str(root / "data"),
            "WAGATE_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "WAGATE_GRAPH_URL": f"http://127.0.0.1:{sandbox_port}",
        }
        console.rule("wagate demo: resumable media upload to Meta (sandbox)")
        api_key = _wagate("accounts", "create", "--sid", SID, "--company-id", COMPANY_ID, env=env)
        _wagate("wabas", "create", "--sid", SID, "--waba-id", WABA_ID, env=env)
        console.print(f"created account {SID} (API key {api_key[:4]}…) and WABA {WABA_ID}")
        image = root / "image.png"
        image.write_bytes(_png())

        serve = [
            sys.executable,
            "-m",
            "wagate",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ]
        sandbox = [sys.executable, "-m", "wagate", "sandbox", "--port", str(sandbox_port)]
        with (
            _process("Meta sandbox", sandbox, env, sandbox_port, root / "sandbox.log"),
            _process("gateway", serve, env, port, root / "gateway.log") as base,
        ):
            endpoint = f"{base}/v2/{SID}/whatsapp/{WABA_ID}/resumable_media"
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
            _show(f"HTTP {status}", answer)
            if status != "202" or answer.get("code") != "WA202":
                console.print("[red]the upload was not accepted[/]")
                return 1
            record = _wait_for_transfer(endpoint, answer["data"]["id"], api_key)
            _show("the record once the worker has transferred it to Meta", record)
            data = record.get("data", {})
            if data.get("status") != "UPLOADED" or not data.get("uploaded_file_handle"):
                console.print("[red]the upload did not reach UPLOADED; the gateway's log:[/]")
                console.print((root / "gateway.log").read_text()[-4000:], markup=False)
                return 1
            with urllib.request.urlopen(data["file_link"], timeout=10) as response:  # noqa: S310
                downloaded = response.read()
                kind = response.headers.get("Content-Type")
            same = downloaded == image.read_bytes()
            console.print(
                f"\nfile_link serves {len(downloaded)} bytes of {kind}: "
                + ("[green]identical to the upload[/]" if same else "[red]different![/]")
            )
            if not same:
                return 1
        console.rule("[green]demo finished[/]")
    return 0
