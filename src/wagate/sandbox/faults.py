"""Faults the sandbox injects: cut an upload body or a download, fail requests, answer
slowly, give a wrong SHA-256."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

_FIELDS = (
    "cut_after_bytes",
    "fail_next",
    "fail_status",
    "delay_ms",
    "cut_download_after_bytes",
    "wrong_sha256_next",
)


def _non_negative_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer, not {value!r}")
    return value


@dataclass
class Faults:
    """The faults armed now.

    ``cut_after_bytes``: the next upload body is cut, the connection dropped
    without an answer, after that many of its bytes arrived (one-shot).
    ``fail_next``: that many next Graph requests answer ``fail_status``.
    ``delay_ms``: every Graph response waits that long, until reset.
    ``cut_download_after_bytes``: the next media download is cut, the connection
    dropped, after that many bytes of the file (one-shot).
    ``wrong_sha256_next``: that many next media lookups (``GET /{media-id}``) give a
    SHA-256 that is not the file's.
    """

    cut_after_bytes: int | None = None
    fail_next: int = 0
    fail_status: int = 503
    delay_ms: int = 0
    cut_download_after_bytes: int | None = None
    wrong_sha256_next: int = 0

    def __post_init__(self) -> None:
        self.update(self.as_json())

    def update(self, changes: Mapping[str, object]) -> None:
        """Set the given faults, leaving the others as they are; ValueError if one is wrong."""
        unknown = sorted(set(changes) - set(_FIELDS))
        if unknown:
            raise ValueError(f"unknown faults {unknown}; known: {list(_FIELDS)}")
        cut = changes.get("cut_after_bytes", self.cut_after_bytes)
        fail_next = _non_negative_int("fail_next", changes.get("fail_next", self.fail_next))
        status = _non_negative_int("fail_status", changes.get("fail_status", self.fail_status))
        delay = _non_negative_int("delay_ms", changes.get("delay_ms", self.delay_ms))
        cut_download = changes.get("cut_download_after_bytes", self.cut_download_after_bytes)
        wrong_sha256 = _non_negative_int(
            "wrong_sha256_next", changes.get("wrong_sha256_next", self.wrong_sha256_next)
        )
        if not 500 <= status <= 599:
            raise ValueError(f"fail_status must be a 5xx status, not {status}")
        self.cut_after_bytes = None if cut is None else _non_negative_int("cut_after_bytes", cut)
        self.fail_next = fail_next
        self.fail_status = status
        self.delay_ms = delay
        self.cut_download_after_bytes = (
            None
            if cut_download is None
            else _non_negative_int("cut_download_after_bytes", cut_download)
        )
        self.wrong_sha256_next = wrong_sha256

    def reset(self) -> None:
        """Disarm every fault."""
        self.cut_after_bytes = None
        self.fail_next = 0
        self.fail_status = 503
        self.delay_ms = 0
        self.cut_download_after_bytes = None
        self.wrong_sha256_next = 0

    def take_failure(self) -> int | None:
        """The status to fail the current request with, using up one; None to serve it."""
        if self.fail_next <= 0:
            return None
        self.fail_next -= 1
        return self.fail_status

    def take_cut(self) -> int | None:
        """After how many bytes to cut the current upload body, disarming it; None not to."""
        cut, self.cut_after_bytes = self.cut_after_bytes, None
        return cut

    def take_download_cut(self) -> int | None:
        """After how many bytes to cut the current download, disarming it; None not to."""
        cut, self.cut_download_after_bytes = self.cut_download_after_bytes, None
        return cut

    def take_wrong_sha256(self) -> bool:
        """Whether the current media lookup gives a wrong SHA-256, using one up."""
        if self.wrong_sha256_next <= 0:
            return False
        self.wrong_sha256_next -= 1
        return True

    def as_json(self) -> dict[str, object]:
        """The armed faults as JSON."""
        return {
            "cut_after_bytes": self.cut_after_bytes,
            "fail_next": self.fail_next,
            "fail_status": self.fail_status,
            "delay_ms": self.delay_ms,
            "cut_download_after_bytes": self.cut_download_after_bytes,
            "wrong_sha256_next": self.wrong_sha256_next,
        }
