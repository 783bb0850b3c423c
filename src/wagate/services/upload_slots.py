"""How many uploads each account is sending at once, kept within a limit.

An upload holds a connection, a task and a partial file for as long as its
body takes to arrive, so one account sending many at once (slowly, or on
purpose) would use up what every account shares. Each API process counts the
uploads it is receiving per account and refuses one more beyond the limit.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from wagate.domain import errors

__all__ = ["UploadSlots"]


class UploadSlots:
    """The uploads in progress in this process, per account, at most ``per_account`` each."""

    def __init__(self, per_account: int) -> None:
        self._per_account = per_account
        self._in_progress: Counter[str] = Counter()

    @contextmanager
    def hold(self, sid: str) -> Iterator[None]:
        """Count one upload of ``sid`` while the block runs;
        :class:`~wagate.domain.errors.TooManyUploadsInProgress` when it has no slot free."""
        if self._in_progress[sid] >= self._per_account:
            raise errors.TooManyUploadsInProgress()
        self._in_progress[sid] += 1
        try:
            yield
        finally:
            self._in_progress[sid] -= 1
            if not self._in_progress[sid]:
                del self._in_progress[sid]
