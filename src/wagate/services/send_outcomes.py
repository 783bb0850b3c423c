"""What a send came to, as the API answers it and as an Idempotency-Key remembers it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from wagate.domain import errors

__all__ = ["SendOutcome", "answer_of", "outcome_of", "refusal_answer", "wamid_of"]


@dataclass(frozen=True, slots=True)
class SendOutcome:
    """Our id of a message and Meta's, or no wamid yet: it is queued."""

    id: str
    wamid: str | None

    @property
    def queued(self) -> bool:
        """Whether the message waits in the queue (answered 202)."""
        return self.wamid is None


def answer_of(message_id: str, wamid: str | None) -> dict[str, Any]:
    """The remembered answer of a send that Meta accepted (``wamid``) or that was queued."""
    if wamid is None:
        return {"id": message_id, "status": "queued"}
    return {"id": message_id, "wamid": wamid}


def refusal_answer(message_id: str, error: errors.MetaError) -> dict[str, Any]:
    """The remembered answer of a send Meta refused."""
    return {
        "id": message_id,
        "refused": {
            "transient": error.transient,
            "status": error.status,
            "code": error.code,
            "type": error.type,
            "subcode": error.subcode,
            "message": error.message,
            "fbtrace_id": error.fbtrace_id,
        },
    }


def outcome_of(answer: Mapping[str, Any]) -> SendOutcome:
    """The outcome a remembered answer stands for; a refusal is raised as Meta's error."""
    refused = answer.get("refused")
    if isinstance(refused, dict):
        kind = errors.MetaTransientError if refused.get("transient") else errors.MetaPermanentError
        raise kind(
            str(refused.get("message") or "Meta refused the message"),
            status=refused.get("status"),
            code=refused.get("code"),
            type=refused.get("type"),
            subcode=refused.get("subcode"),
            fbtrace_id=refused.get("fbtrace_id"),
        )
    wamid = answer.get("wamid")
    return SendOutcome(str(answer["id"]), str(wamid) if wamid else None)


def wamid_of(answer: dict[str, object]) -> str:
    """The wamid Meta's answer to a send gives the message."""
    sent = answer.get("messages")
    if isinstance(sent, list) and sent and isinstance(sent[0], dict):
        wamid = sent[0].get("id")
        if isinstance(wamid, str) and wamid:
            return wamid
    raise errors.MetaPermanentError(f"Meta accepted the message without an id: {answer}")
