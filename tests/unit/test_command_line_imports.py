"""The command line answers --help without importing the web stack or the database."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("fastapi", "starlette", "uvicorn", "sqlalchemy", "aiohttp", "alembic", "pydantic_settings")


def test_importing_the_command_line_imports_no_web_stack() -> None:
    probe = (
        "import sys, wagate.cli.main; "
        f"print(sorted(name for name in {HEAVY!r} if name in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"


def test_help_answers_for_every_command() -> None:
    from typer.testing import CliRunner

    from wagate.cli.main import app

    runner = CliRunner()
    top = runner.invoke(app, ["--help"])
    assert top.exit_code == 0, top.output
    for command in (
        ["serve"], ["worker"], ["sandbox"], ["listen"], ["upload"], ["migrate"], ["demo"],
        ["accounts", "list"], ["accounts", "create"], ["wabas", "attach"], ["numbers", "attach"],
        ["profiles", "create"], ["profiles", "update"], ["deliveries", "list"],
        ["uploads", "list"], ["webhooks", "list"], ["webhooks", "reprocess"],
        ["wabas", "webhook-events"], ["wabas", "graph-version"], ["numbers", "webhook-events"],
    ):  # fmt: skip
        result = runner.invoke(app, [*command, "--help"])
        assert result.exit_code == 0, (command, result.output)
        assert "Usage" in result.output, command


def test_a_worker_refuses_an_unknown_lane_and_names_the_known_ones() -> None:
    from typer.testing import CliRunner

    from wagate.cli.main import app

    result = CliRunner().invoke(app, ["worker", "--lanes", "inbox,callbacks"])
    assert result.exit_code == 2, result.output
    assert "unknown lane callbacks" in result.output
    assert "deliveries" in result.output
