"""Schemathesis hooks for the fuzzing test: keep generated requests on this machine.

Callback targets are resolved by name before they are accepted; generated
host names would be looked up in DNS. Every URL member of a generated body
is replaced by one on 127.0.0.1 (a literal address: nothing to look up),
which the gateway refuses by policy or accepts: both are documented answers.
"""

from __future__ import annotations

from typing import Any

import schemathesis

URL_MEMBERS = frozenset({"url", "webhook_url", "callback_url"})
LOCAL_URL = "http://127.0.0.1:9/fuzz?status=<status>"


def _localised(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: (LOCAL_URL if key in URL_MEMBERS and isinstance(item, str) else _localised(item))
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_localised(item) for item in value]
    return value


@schemathesis.hook
def before_call(context: Any, case: Any, **kwargs: Any) -> None:
    """Point every generated URL at 127.0.0.1 before the request is sent."""
    if isinstance(case.body, dict | list):
        case.body = _localised(case.body)
