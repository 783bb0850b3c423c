"""Recording the messages users sent, as a batch of the inbox finds them.

Each message is recorded once (by Meta's id, whatever batch brought it first),
and either forwarded at once or, when it carries media, once its download is
done: the download job is queued with the record.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from wagate.domain.callbacks import CallbackProfile
from wagate.domain.inbound import InboundMessage
from wagate.domain.messages import Message
from wagate.domain.tenancy import PhoneNumber
from wagate.services.incoming_fanout import incoming_writes
from wagate.services.status_fanout import Writes
from wagate.store import inbound as inbound_rows

__all__ = ["ArrivedMessages", "InboundRecording", "record_inbound"]


@dataclass(frozen=True, slots=True)
class ArrivedMessages:
    """The messages one inbox entry (at ``seq``) brought to a known business number;
    ``counts`` is that entry's tally, which recording adds to."""

    seq: int
    phone: PhoneNumber
    messages: Sequence[InboundMessage]
    counts: Counter[str]


@dataclass
class InboundRecording:
    """What a batch records of incoming messages: the new ones, and the media to fetch."""

    rows: list[tuple[str, inbound_rows.NewInbound]] = field(default_factory=list)
    downloads: list[str] = field(default_factory=list)


def record_inbound(
    arrived: Sequence[ArrivedMessages],
    *,
    replied_to: Mapping[str, Message],
    seen: Collection[str],
    profiles: Mapping[str, CallbackProfile],
    writes: Writes,
    now: datetime,
) -> InboundRecording:
    """Every message users sent, once each (by Meta's id): recorded, and either forwarded
    now (its event and deliveries added to ``writes``) or, when it carries media, once
    its download is done. ``seen`` holds the ids recorded before this batch,
    ``replied_to`` the messages of ours the batch's messages may reply to."""
    recorded = InboundRecording()
    known = set(seen)
    for entry in arrived:
        for message in entry.messages:
            if message.wamid in known:
                entry.counts["duplicate"] += 1
                continue
            known.add(message.wamid)
            inbound_id = inbound_rows.new_inbound_id()
            recorded.rows.append(
                (inbound_id, inbound_rows.NewInbound(message, entry.phone, entry.seq))
            )
            if message.media is not None:
                recorded.downloads.append(inbound_id)
                entry.counts["downloading"] += 1
                continue
            replied = replied_to.get(message.reply_to) if message.reply_to else None
            sent = incoming_writes(
                inbound_id,
                message,
                entry.phone,
                replied=replied,
                profiles=profiles,
                media=None,
                writes=writes,
                now=now,
            )
            entry.counts["forwarded" if sent else "recorded"] += 1
    return recorded
