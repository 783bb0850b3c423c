"""Every ``WAGATE_*`` value is checked when the settings are read; unknown names are reported."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from wagate.cli.environment import unknown_setting_warnings
from wagate.settings import Settings


def settings_from(monkeypatch: pytest.MonkeyPatch, **values: str) -> Settings:
    for name, value in values.items():
        monkeypatch.setenv(f"WAGATE_{name.upper()}", value)
    return Settings()


def refusal(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> str:
    with pytest.raises(ValidationError) as raised:
        settings_from(monkeypatch, **{name: value})
    errors = raised.value.errors()
    assert [error["loc"] for error in errors] == [(name,)]
    return str(errors[0]["msg"])


def test_the_log_level_is_one_of_the_five_names_in_any_case(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert settings_from(monkeypatch, log_level="debug").log_level == "DEBUG"
    said = refusal(monkeypatch, "log_level", "LOUD")
    for level in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        assert level in said


@pytest.mark.parametrize(
    ("name", "value", "said"),
    [
        ("graph_url", "graph.facebook.com", "not an http:// or https:// URL"),
        ("public_url", "ftp://gateway", "not an http:// or https:// URL"),
        ("s3_endpoint", "minio:9000", "not an http:// or https:// URL"),
        ("database_url", "mysql://db", "not a database URL"),
        ("storage_url", "s3://", "names no bucket"),
        ("storage_url", "gs://bucket", "neither a directory nor s3://"),
        ("callback_allowed_networks", "127.0.0.0/8,localhost", "'localhost' is not a network"),
        ("retry_schedule", "5,soon", "'soon' is not a wait"),
        ("graph_version", "21.0", "should match pattern"),
        ("pod", "Stage 1", "should match pattern"),
        ("upload_max_bytes", "0", "greater than or equal to 1"),
        ("worker_poll_seconds", "0", "greater than 0"),
        ("delivery_concurrency", "0", "greater than or equal to 1"),
        ("portal_enabled", "perhaps", "valid boolean"),
    ],
)
def test_a_wrong_value_is_refused_with_what_is_wrong(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, said: str
) -> None:
    assert said in refusal(monkeypatch, name, value)


def test_usable_values_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = settings_from(
        monkeypatch,
        graph_url="http://127.0.0.1:8090",
        database_url="postgresql+asyncpg://postgres@127.0.0.1/wagate",
        storage_url="s3://bucket/prefix",
        callback_allowed_networks="127.0.0.0/8, ::1/128",
        retry_schedule="5s,10m,2h,1d",
    )
    assert settings.storage_url == "s3://bucket/prefix"
    assert settings_from(monkeypatch, storage_url="/var/lib/wagate/media").storage_url


def test_unknown_names_are_reported_with_the_setting_they_resemble() -> None:
    warnings = unknown_setting_warnings(
        {
            "WAGATE_LOG_LEVL": "DEBUG",
            "WAGATE_LOG_LEVEL": "DEBUG",
            "WAGATE_API_KEY": "key",
            "WAGATE_NOTHING_LIKE_IT": "1",
            "PATH": "/usr/bin",
        }
    )
    assert warnings == [
        "WAGATE_LOG_LEVL is not a wagate setting and is ignored (did you mean WAGATE_LOG_LEVEL?)",
        "WAGATE_NOTHING_LIKE_IT is not a wagate setting and is ignored",
    ]
