"""The README documents every setting with its default."""

from __future__ import annotations

from pathlib import Path

import pytest

from wagate.settings import Settings

README = (Path(__file__).parents[2] / "README.md").read_text()


@pytest.mark.parametrize("name", list(Settings.model_fields))
def test_every_setting_is_in_the_readme_with_its_default(name: str) -> None:
    row = next(
        (line for line in README.splitlines() if line.startswith(f"| `WAGATE_{name.upper()}` |")),
        None,
    )
    assert row is not None, f"WAGATE_{name.upper()} is missing from the README"
    default = Settings.model_fields[name].default
    if default not in (None, ""):
        assert f"`{default}`" in row
