"""The inbox: one ordered stream of what the processor must apply, per business number.

Two things enter it, each at the moment it becomes durable:

- Meta's webhooks, exactly as received, before they are acknowledged;
- our own record that Meta accepted a message and named it (the wamid), written
  once Meta answered a send.

Entries are numbered in the order they were committed (``seq``) and belong to
the partition of the business number they are about, so that everything Meta
says of one number, and everything we learn of its messages, is applied in
order by one processor at a time, while other numbers' partitions proceed in
parallel. A webhook that speaks of several numbers becomes one entry per
number, each applying only its own number's changes; its changes about a WABA
as a whole (template and account updates) are one more entry, of no number.
"""

from __future__ import annotations

import enum
import json
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

from wagate.domain import json_text, json_values

__all__ = [
    "NO_NUMBER_PARTITION",
    "PARTITIONS",
    "InboxEntry",
    "InboxKind",
    "SentRecord",
    "change_values",
    "parse_document",
    "partition_of",
    "phone_number_id_of",
    "sent_entries",
    "sent_pairs",
    "webhook_entries",
]

#: Partitions of the stream. Fixed: an entry keeps the partition it was stored with.
PARTITIONS: Final = 64
#: The partition of entries that name no known business number (unparsable bodies).
NO_NUMBER_PARTITION: Final = 0


class InboxKind(enum.StrEnum):
    """What an inbox entry holds."""

    META_WEBHOOK = "meta"
    SENT = "sent"


def partition_of(phone_number_id: str) -> int:
    """The partition of a business number (Meta's phone number id), stable across processes."""
    return zlib.crc32(phone_number_id.encode("utf-8")) % PARTITIONS


@dataclass(frozen=True, slots=True)
class InboxEntry:
    """An entry to store: its kind, partition, the number it is about, its body and size.

    ``scope`` is the phone number id whose changes the entry applies (None when
    the body names none); ``items`` is how many statuses and messages it
    carries, which bounds how many entries one batch takes.
    """

    kind: InboxKind
    partition: int
    scope: str | None
    body: str
    items: int


def parse_document(body: str) -> dict[str, Any] | None:
    """A webhook body as a JSON object, or None when it is not one."""
    try:
        document = json.loads(body)
    except ValueError:
        return None
    return document if isinstance(document, dict) else None


def change_values(document: dict[str, Any]) -> list[dict[str, Any]]:
    """Every ``entry[].changes[].value`` object of a Meta notification, in order."""
    values: list[dict[str, Any]] = []
    for entry in json_values.objects(document.get("entry")):
        for change in json_values.objects(entry.get("changes")):
            value = change.get("value")
            if isinstance(value, dict):
                values.append(value)
    return values


def phone_number_id_of(value: dict[str, Any]) -> str:
    """The business number (Meta's phone number id) a change value is about; "" if none."""
    metadata = value.get("metadata")
    if not isinstance(metadata, dict):
        return ""
    return str(metadata.get("phone_number_id") or "")


def webhook_entries(body: str) -> list[InboxEntry]:
    """The inbox entries of one Meta webhook: one per business number it names, and one
    (scope None) for its changes about a WABA as a whole when it has any, or when it
    names no number at all."""
    document = parse_document(body)
    sizes: dict[str, int] = {}
    numberless = False
    if document is not None:
        for value in change_values(document):
            number = phone_number_id_of(value)
            if number:
                sizes[number] = sizes.get(number, 0) + _item_count(value)
            else:
                numberless = True
    entries = [
        InboxEntry(InboxKind.META_WEBHOOK, partition_of(number), number, body, max(1, items))
        for number, items in sizes.items()
    ]
    if numberless or not sizes:
        entries.append(InboxEntry(InboxKind.META_WEBHOOK, NO_NUMBER_PARTITION, None, body, 1))
    return entries


@dataclass(frozen=True, slots=True)
class SentRecord:
    """Meta accepted a message we sent from ``phone_number_id`` and calls it ``wamid``."""

    phone_number_id: str
    message_id: str
    wamid: str


def sent_entries(records: Iterable[SentRecord]) -> list[InboxEntry]:
    """The inbox entries announcing sent messages: one per business number."""
    by_number: dict[str, list[list[str]]] = {}
    for record in records:
        by_number.setdefault(record.phone_number_id, []).append([record.message_id, record.wamid])
    return [
        InboxEntry(
            InboxKind.SENT,
            partition_of(number),
            number,
            json_text.compact(pairs),
            len(pairs),
        )
        for number, pairs in by_number.items()
    ]


def sent_pairs(body: str) -> list[tuple[str, str]]:
    """The (message id, wamid) pairs of a SENT entry's body."""
    document = json.loads(body)
    return [(str(pair[0]), str(pair[1])) for pair in document]


def _item_count(value: dict[str, Any]) -> int:
    statuses = value.get("statuses")
    messages = value.get("messages")
    return (len(statuses) if isinstance(statuses, list) else 0) + (
        len(messages) if isinstance(messages, list) else 0
    )
