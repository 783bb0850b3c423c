"""The ``WAGATE_*`` names in an environment that no part of wagate reads."""

from __future__ import annotations

import difflib
from collections.abc import Mapping

#: Names read by the command line's own options, not by the settings.
_COMMAND_NAMES = frozenset({"WAGATE_API_KEY", "WAGATE_LISTEN_SECRET"})
#: Names read by the project's test suite and benchmarks, which run the command line.
_DEVELOPMENT_NAMES = frozenset(
    {
        "WAGATE_REQUIRE_POSTGRES",
        "WAGATE_REQUIRE_BROWSER",
        "WAGATE_TEST_CHROMIUM",
        "WAGATE_TEST_POSTGRES_DSN",
        "WAGATE_BENCH_COUNTS_DIR",
    }
)


def setting_names() -> frozenset[str]:
    """Every ``WAGATE_*`` name a setting is read from."""
    from wagate.settings import Settings

    return frozenset(f"WAGATE_{name.upper()}" for name in Settings.model_fields)


def unknown_setting_warnings(environ: Mapping[str, str]) -> list[str]:
    """One sentence per ``WAGATE_*`` name in ``environ`` that nothing reads."""
    settings = setting_names()
    known = settings | _COMMAND_NAMES | _DEVELOPMENT_NAMES
    warnings = []
    for name in sorted(key for key in environ if key.upper().startswith("WAGATE_")):
        if name.upper() in known:
            continue
        close = difflib.get_close_matches(name.upper(), sorted(settings), n=1, cutoff=0.7)
        hint = f" (did you mean {close[0]}?)" if close else ""
        warnings.append(f"{name} is not a wagate setting and is ignored{hint}")
    return warnings
