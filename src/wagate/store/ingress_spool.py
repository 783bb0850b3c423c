"""The ingress spool: Meta's webhooks in append-only files, written before they are acknowledged.

On the embedded SQLite one process writes at a time, and the worker's
transactions (a batch of statuses, a batch of delivery outcomes) take tens of
milliseconds. Were every webhook committed to the inbox table before its
``200``, each acknowledgement would wait for the worker's turn to end. The
API instead appends the webhook to a segment file here, answers, and moves
spooled webhooks into the inbox table in batches, in the order they were
spooled, recording in the same transaction how far it has moved
(:func:`wagate.store.inbox.spool_position`). At start-up it moves what a
crash left behind, so each webhook reaches the inbox exactly once.

A write to a file survives the process that made it, as a SQLite commit
under ``synchronous=NORMAL`` does; neither survives the machine losing power
before the operating system flushes it. Each record carries its length, a
CRC-32 and its number, so a record cut short by a full disk is found and
dropped (it was never acknowledged). A segment is deleted once every record
in it has been moved, and the spool starts a new segment past
:data:`SEGMENT_BYTES`, so it stays as small as the backlog of unmoved webhooks.
"""

from __future__ import annotations

import os
import struct
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

__all__ = ["SEGMENT_BYTES", "IngressSpool", "SpoolWriteFailed", "SpooledWebhook"]

#: Length of the body, CRC-32 of what follows it, the record's number, its receipt time.
_HEADER = struct.Struct(">IIQd")
#: A new segment file is started once the current one is this large.
SEGMENT_BYTES = 16 * 1024 * 1024
_SUFFIX = ".spool"


class SpoolWriteFailed(OSError):
    """A webhook could not be appended to the spool (the disk is full, say)."""


@dataclass(frozen=True, slots=True)
class SpooledWebhook:
    """A webhook's body as received, its number in the spool and when it arrived."""

    number: int
    received_at: datetime
    body: bytes


class IngressSpool:
    """The spool directory of one API process (the data directory's lock makes it the only one)."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self._segments: list[tuple[int, Path]] = sorted(
            (int(path.stem), path) for path in directory.glob(f"*{_SUFFIX}") if path.stem.isdigit()
        )
        self._fd: int | None = None
        self._size = 0
        self._last_number = 0

    def read_unmoved(self, moved_through: int) -> list[SpooledWebhook]:
        """Every intact record numbered above ``moved_through``, in order; appending then
        continues past both."""
        found: list[SpooledWebhook] = []
        last = moved_through
        for _, path in self._segments:
            for record in _records(path.read_bytes()):
                last = max(last, record.number)
                if record.number > moved_through:
                    found.append(record)
        self._last_number = last
        return found

    def append(self, body: bytes, received_at: datetime) -> int:
        """Append one webhook; its number once the write is complete.

        :class:`SpoolWriteFailed` when the write fails; nothing is left of it then.
        """
        number = self._last_number + 1
        if self._fd is None or self._size >= SEGMENT_BYTES:
            self._start_segment(number)
        assert self._fd is not None
        meta = struct.pack(">Qd", number, received_at.timestamp())
        crc = zlib.crc32(body, zlib.crc32(meta))
        record = _HEADER.pack(len(body), crc, number, received_at.timestamp()) + body
        try:
            written = os.write(self._fd, record)
        except OSError as exc:
            self._cut_back()
            raise SpoolWriteFailed(f"cannot append to the ingress spool: {exc}") from exc
        if written != len(record):
            self._cut_back()
            raise SpoolWriteFailed("the ingress spool took only part of a webhook")
        self._size += written
        self._last_number = number
        return number

    def moved_through(self, number: int) -> None:
        """Every record up to ``number`` is in the inbox: delete the segments that hold
        nothing else, and empty the current one when nothing newer was appended."""
        while len(self._segments) > 1 and self._segments[1][0] <= number + 1:
            _, path = self._segments.pop(0)
            path.unlink(missing_ok=True)
        if number >= self._last_number and self._fd is not None:
            os.ftruncate(self._fd, 0)
            self._size = 0
        elif number >= self._last_number and self._segments:
            for _, path in self._segments:
                path.unlink(missing_ok=True)
            self._segments.clear()

    def close(self) -> None:
        """Close the current segment (what it holds stays for the next start)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _start_segment(self, first_number: int) -> None:
        self.close()
        path = self._directory / f"{first_number:020d}{_SUFFIX}"
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        self._size = os.fstat(self._fd).st_size
        self._segments.append((first_number, path))

    def _cut_back(self) -> None:
        """Drop a partly written record, so the next one starts where it did."""
        if self._fd is not None:
            try:
                os.ftruncate(self._fd, self._size)
            except OSError:
                self.close()


def _records(data: bytes) -> list[SpooledWebhook]:
    """The intact records of a segment's bytes, up to the first that is cut or corrupt."""
    records: list[SpooledWebhook] = []
    offset = 0
    while offset + _HEADER.size <= len(data):
        length, crc, number, timestamp = _HEADER.unpack_from(data, offset)
        start = offset + _HEADER.size
        body = data[start : start + length]
        meta = struct.pack(">Qd", number, timestamp)
        if len(body) != length or zlib.crc32(body, zlib.crc32(meta)) != crc:
            break
        records.append(SpooledWebhook(number, datetime.fromtimestamp(timestamp, UTC), body))
        offset = start + length
    return records
