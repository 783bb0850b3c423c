"""The API's JSON documents as schemas: what the OpenAPI reference says each answer holds.

The routes build their answers as plain dictionaries (``*_to_wire``); these
models describe them for the reference only, and the end-to-end fuzzing test
checks every answer against them. Every answer is in the provider's envelope:
``code``, ``message``, ``data`` and ``error``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

Timestamp = str  # ISO 8601 in UTC, e.g. 2025-02-07T09:18:10.123456Z


class Document(BaseModel):
    """A JSON object that may gain members: clients must ignore those they do not know."""

    model_config = ConfigDict(extra="allow")


class ErrorEnvelope(Document):
    """Every error answer. ``data`` is empty; ``error`` names what is wrong.

    As the provider's own answers, ``data`` is ``[]`` in some errors and ``{}``
    in others, and ``error`` is a string in ``WA-401``: clients parse them as
    they are.
    """

    code: str = Field(description="The error code, e.g. WA400, RBC001.")
    message: str = Field(description="What went wrong, in a sentence.")
    data: dict[str, Any] | list[Any]
    error: dict[str, Any] | str = Field(
        description="Field name → what is wrong with it, or a sentence."
    )


def envelope(data: Any, name: str, code: str, message: str) -> type[BaseModel]:
    """The success envelope ``{code, message, data, error: {}}`` around ``data``."""
    model: type[BaseModel] = create_model(
        name,
        __base__=Document,
        __doc__=f"A success: ``{code}`` with the result in ``data``.",
        code=(str, Field(description=f"Always {code}.", examples=[code])),
        message=(str, Field(examples=[message])),
        data=(data, ...),
        error=(dict[str, Any], Field(description="Always {}.")),
    )
    return model


def page_of(item: type[BaseModel], name: str) -> type[BaseModel]:
    """A page of ``item``: ``items``, ``total``, ``limit`` and ``offset``."""
    model: type[BaseModel] = create_model(
        name,
        __base__=Document,
        __doc__="One page of a list, newest or oldest first as the endpoint says.",
        items=(list[item], ...),  # type: ignore[valid-type]
        total=(int, Field(description="How many there are in all.")),
        limit=(int, ...),
        offset=(int, ...),
    )
    return model


class UploadAccepted(Document):
    """The upload is stored and will be transferred to Meta."""

    id: str = Field(description="The upload's id (resumable_media_id in callbacks).")
    status: Literal["PENDING"]


class Upload(Document):
    """One resumable-media upload."""

    id: str
    status: Literal["PENDING", "UPLOADED", "FAILED", "EXPIRED"]
    waba_id: str
    file_name: str
    type: str = Field(description="The media type, e.g. image/png.")
    size: int = Field(description="Bytes.")
    sha256: str = Field(description="Hex SHA-256 of the file.")
    created_at: Timestamp
    expires_at: Timestamp = Field(description="When UPLOADED becomes EXPIRED (24 h).")
    purge_at: Timestamp = Field(description="When everything about it is deleted (3 days).")
    uploaded_file_handle: str | None = Field(
        None, description="Meta's file handle (4:…), once UPLOADED; kept when EXPIRED."
    )
    file_link: str | None = Field(
        None, description="Where the stored file can be downloaded, until the purge."
    )
    bytes_transferred: int | None = Field(None, description="While PENDING: sent to Meta.")
    error: Any = Field(None, description="Once FAILED: Meta's error, or a sentence.")


UploadPage = page_of(Upload, "UploadPage")


class Profile(Document):
    """A callback profile."""

    profile_id: str = Field(examples=["stage_c466af67-1ab6-4f35-9a7b-9358952c9b19"])
    title: str
    http_method: Literal["GET", "POST"]
    url: str = Field(description="The endpoint; a GET's query template holds the placeholders.")
    body: str | None = Field(description="A POST's body template (JSON text), or null.")
    headers: dict[str, str] = Field(description="Headers sent with every callback.")
    status: Literal[1, 2, 3] = Field(
        description="1 active, 2 disabled by the gateway after a day of failures, 3 disabled."
    )
    created_at: Timestamp
    updated_at: Timestamp
    secret: str | None = Field(
        None,
        description="The whsec_… signing secret: on create, on GET of one profile, and after "
        "a rotation.",
    )


ProfilePage = page_of(Profile, "ProfilePage")


class ProfileDeleted(Document):
    """The deleted profile's id."""

    profile_id: str


class Recovered(Document):
    """How many failed or dead deliveries were replayed (or would be, with dry_run)."""

    profile_id: str
    count: int
    dry_run: bool


class Delivery(Document):
    """One callback or push to one endpoint, retried until it succeeds or dies."""

    id: str = Field(description="Sent as webhook-id on every attempt.", examples=["msg_4f50b…"])
    event_id: str
    subject_id: str = Field(description="The upload or message it is about.")
    profile_id: str | None
    method: Literal["GET", "POST"]
    url: str
    body: str | None
    status: Literal["queued", "pending", "succeeded", "dead", "cancelled"] = Field(
        description="queued: waiting behind an earlier callback of the same message to the "
        "same endpoint; pending: due (or retrying); then succeeded, dead or cancelled."
    )
    endpoint: str = Field(description="The scheme, host and port the request goes to.")
    endpoint_state: Literal["healthy", "slow", "open", "probing"] = Field(
        description="What the workers know of the endpoint: healthy; slow (answers late: one "
        "request at a time); open (failing: nothing is sent until it cools down); probing "
        "(one request to see whether it recovered)."
    )
    attempts: int
    next_attempt_at: Timestamp | None
    last_response_status: int | None
    last_error: str | None
    created_at: Timestamp
    delivered_at: Timestamp | None


class Attempt(Document):
    """One HTTP request of a delivery."""

    id: str
    number: int
    trigger: Literal["scheduled", "manual"]
    method: str
    url: str
    request_headers: dict[str, str] = Field(description="As sent, credentials redacted.")
    response_status: int | None
    response_body: str | None = Field(description="The first bytes of the answer.")
    duration_ms: int
    error_class: str | None
    error: str | None
    next_attempt_at: Timestamp | None
    created_at: Timestamp


class DeliveryWithAttempts(Delivery):
    """A delivery and every attempt it had."""

    attempt_log: list[Attempt]


DeliveryPage = page_of(Delivery, "DeliveryPage")


class WabaTargets(Document):
    """Which profile gets the WABA's resumable-media status callbacks."""

    waba_id: str
    callback_profile_id: str | None


class NumberTargets(Document):
    """A number's message-status profile, its webhook URL, and the secret that signs pushes."""

    number: str
    callback_profile_id: str | None
    incoming_callback_profile_id: str | None = None
    webhook_url: str | None
    webhook_secret: str = Field(
        description="Signs the number's webhook pushes and its messages' callback_url callbacks."
    )


class MessageQueued(Document):
    """Our id of a message that waits until its number may send; its callbacks follow."""

    id: str = Field(examples=["ad97e2f3-c923-4b1e-b3a3-0b1d2e3f4d97:0"])
    status: Literal["queued"]


class MediaUploaded(Document):
    """Meta's id of the uploaded file: send it as ``image.id``, ``document.id``…"""

    id: str = Field(examples=["1037543291543636"])


class IncomingMessage(Document):
    """A message a user sent to the number, with its media's state."""

    id: str = Field(
        description="Meta's message id.",
        examples=["wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA="],
    )
    type: str = Field(examples=["image"])
    from_: str = Field(alias="from", examples=["16505551234"])
    created_at: Timestamp
    media_status: Literal["pending", "stored", "failed"] | None = Field(
        None, description="pending (being downloaded), stored, or failed; absent without media."
    )
    media_url: str | None = Field(None, description="Our link to the stored media.")
    mime_type: str | None = None
    error: str | None = Field(None, description="Why the media could not be had.")


class MessageSent(Document):
    """Our id of the message (the id of its status callbacks) and Meta's."""

    id: str = Field(examples=["ad97e2f3-c923-4b1e-b3a3-0b1d2e3f4d97:0"])
    wamid: str = Field(examples=["wamid.HBgNOTE5ODc2NTQzMjEwFQIAERgSMjhFNzI3MUZENUZBNDBCRDVEAA=="])


class WabaListed(Document):
    """A WABA of the account."""

    waba_id: str = Field(examples=["150440000142241"])
    api_version: Literal["v2", "v1"] = Field(description="The API version the WABA is used on.")
    callback_profile_id: str | None = Field(
        description="Gets the WABA's resumable-media status callbacks."
    )
    created_at: Timestamp


WabaPage = page_of(WabaListed, "WabaPage")


class NumberListed(Document):
    """A WhatsApp number of the account, and where its callbacks and pushes go."""

    number: str = Field(examples=["15550783881"])
    waba_id: str
    phone_number_id: str = Field(description="Meta's id of the number.")
    callback_profile_id: str | None
    incoming_callback_profile_id: str | None
    webhook_url: str | None
    created_at: Timestamp


NumberPage = page_of(NumberListed, "NumberPage")


class StatusReported(Document):
    """A status Meta reported about a message, once per status, in the order recorded."""

    status: Literal["sent", "delivered", "read", "failed", "deleted"]
    timestamp: str | None = Field(description="Meta's timestamp (epoch seconds).")
    forwarded: bool = Field(
        description="Whether callbacks were sent for it (false: it arrived after a later one)."
    )
    errors: list[dict[str, Any]] | None = Field(None, description="Meta's errors, for failed.")
    recorded_at: Timestamp


class MessageLookedUp(Document):
    """A sent message with its status timeline."""

    id: str = Field(examples=["ad97e2f3-c923-4b1e-b3a3-0b1d2e3f4d97:0"])
    wamid: str | None = Field(description="Meta's id; null while the message is queued.")
    to: str = Field(description="The number it went to; empty when it went to a BSUID only.")
    recipient: str | None = Field(
        None, description="The business-scoped user id (BSUID) it went to, when the send named one."
    )
    type: str
    template_name: str | None
    ref: str | None
    ref1: str | None
    ref2: str | None
    status: str = Field(description="The status the customer's callbacks last carried.")
    price: str | None = Field(description="The price the delivered callback carried.")
    created_at: Timestamp
    statuses: list[StatusReported]


MessageLookupPage = page_of(MessageLookedUp, "MessageLookupPage")
