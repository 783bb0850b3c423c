"""The portal's templates and static files ship inside the package."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from wagate.portal.pages import STATIC_FILES

ROOT = Path(__file__).parents[2]


def test_the_wheel_carries_the_templates_and_static_files(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(tmp_path)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    [wheel] = tmp_path.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    templates = {
        f"wagate/portal/templates/{path.name}"
        for path in (ROOT / "src/wagate/portal/templates").iterdir()
    }
    assert templates <= names
    assert "wagate/portal/templates/base.html" in names
    assert {f"wagate/portal/static/{name}" for name in STATIC_FILES} <= names
    assert {"portal.css", "portal.js"} <= set(STATIC_FILES)
