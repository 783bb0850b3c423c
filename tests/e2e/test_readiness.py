"""A server is ready only when its own process answers on its port, not whatever took
the port after it was chosen."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import pytest

from tests.support import free_port, listens_on, start_process


def test_a_listener_of_this_process_group_is_found() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert listens_on(os.getpgrp(), port)
        assert not listens_on(os.getpgrp() + 1_000_000, port)


def test_a_port_answered_by_another_process_is_not_ready(tmp_path: Path) -> None:
    port = free_port()
    impostor = start_process(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        env={},
        port=port,
        log_path=tmp_path / "impostor.log",
        ready_path="/",
    )
    try:
        with pytest.raises(RuntimeError, match=f"did not become ready on port {port}"):
            start_process(
                [sys.executable, "-c", "import time; time.sleep(60)"],
                env={},
                port=port,
                log_path=tmp_path / "sleeper.log",
                ready_path="/",
                timeout=3.0,
            )
    finally:
        impostor.stop()
