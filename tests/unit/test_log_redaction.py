"""What logging lets through: no library's debug lines, and no secret-shaped text."""

from __future__ import annotations

import logging

from wagate.logs import QUIET_LIBRARIES, configure_logging, redact_secrets
from wagate.settings import Settings


def test_signing_secrets_and_bearer_tokens_are_masked() -> None:
    line = {
        "event": "executing ('whsec_MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0', '{\"Authorization\": "
        '"Bearer abc.DEF-123"}\')',
        "other": "authorization: BEARER xyz",
        "count": 3,
    }
    redacted = redact_secrets(None, "debug", dict(line))
    assert redacted["event"] == ("executing ('whsec_…', '{\"Authorization\": \"Bearer …\"}')")
    assert redacted["other"] == "authorization: BEARER …"
    assert redacted["count"] == 3
    plain = {"event": "http.request", "path": "/v1/SID1/callback/profiles"}
    assert redact_secrets(None, "info", dict(plain)) == plain


def test_libraries_stay_at_warning_whatever_the_level() -> None:
    configure_logging(Settings(log_level="DEBUG"))
    try:
        assert logging.getLogger().isEnabledFor(logging.DEBUG)
        for name in (*QUIET_LIBRARIES, "sqlalchemy.engine.Engine", "aiosqlite"):
            logger = logging.getLogger(name)
            assert not logger.isEnabledFor(logging.INFO), name
            assert logger.isEnabledFor(logging.WARNING), name
    finally:
        configure_logging(Settings())
