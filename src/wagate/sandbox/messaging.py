"""The messaging half of the sandbox: accepted messages and the webhooks about them.

``Messaging`` holds the state the send endpoint and the control endpoints
share: the messages accepted, the business numbers, the conversations opened,
the webhook driver and the automatic progression.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

import structlog

from wagate.sandbox.conversations import Conversation, Conversations
from wagate.sandbox.driver import WebhookDriver, WebhookRecord
from wagate.sandbox.inbound import InboundOrder, inbound_webhook
from wagate.sandbox.limits import Limits
from wagate.sandbox.media import MediaStore
from wagate.sandbox.messages import MessageStore, SentMessage, new_wamid
from wagate.sandbox.numbers import BusinessNumbers
from wagate.sandbox.orders import ButtonOrder, StatusOrder
from wagate.sandbox.progression import AutoProgression, Progressions
from wagate.sandbox.send import SendRequest
from wagate.sandbox.service_windows import ServiceWindows, free_service_pricing
from wagate.sandbox.settings import SandboxSettings
from wagate.sandbox.webhooks import (
    UNDELIVERABLE,
    button_webhook,
    conversation_object,
    pricing_object,
    status_object,
    status_webhook,
)

log = structlog.get_logger("wagate.sandbox")

#: The statuses of a template message that carry its conversation and pricing.
_PRICED_STATUSES = frozenset({"sent", "delivered"})
#: The message types whose object names a media file.
MEDIA_TYPES = frozenset({"image", "video", "audio", "document", "sticker"})


class Messaging:
    """Accepts messages and sends the status, button and inbound webhooks about them.

    ``start`` must run before webhooks can be sent; ``close`` cancels every
    pending progression and closes the HTTP client.
    """

    def __init__(
        self,
        settings: SandboxSettings,
        *,
        webhook_url: str | None = None,
        auto: AutoProgression | None = None,
        driver: WebhookDriver | None = None,
        media: MediaStore | None = None,
    ) -> None:
        self.access_token = settings.access_token
        self.messages = MessageStore()
        self.media = media if media is not None else MediaStore()
        self.limits = Limits()
        self.numbers = BusinessNumbers(settings.app_id)
        self.conversations = Conversations()
        self.service_windows = ServiceWindows()
        self.driver = driver or WebhookDriver(
            settings.app_secret, webhook_url or settings.webhook_url
        )
        self.auto = auto if auto is not None else AutoProgression()
        self.progressions = Progressions(self._progress)

    async def start(self) -> None:
        """Open the webhook driver's HTTP client."""
        await self.driver.start()

    async def close(self) -> None:
        """Cancel the pending progressions, then close the HTTP client."""
        await self.progressions.cancel_all()
        await self.driver.close()

    def accept(self, phone_number_id: str, request: SendRequest) -> SentMessage:
        """Remember an accepted message and start its progression when that is on."""
        message = SentMessage(
            wamid=new_wamid(request.wa_id or request.user_id or ""),
            phone_number_id=phone_number_id,
            to=request.to,
            wa_id=request.wa_id,
            user_id=request.user_id,
            type=request.type,
            request=request.body,
            template_name=request.template_name,
            template_language=request.template_language,
        )
        self.messages.add(message)
        log.info(
            "sandbox.message.accepted",
            wamid=message.wamid,
            phone_number_id=phone_number_id,
            type=message.type,
            template=message.template_name,
        )
        if self.auto.enabled:
            self.progressions.schedule(message, self.auto.plan())
        return message

    async def configure_auto(self, changes: Mapping[str, object]) -> None:
        """Change the automatic progression; turning it off cancels the pending ones."""
        self.auto.update(changes)
        if not self.auto.enabled:
            await self.progressions.cancel_all()

    def status_payload(
        self, message: SentMessage, order: StatusOrder, timestamp: int
    ) -> dict[str, object]:
        """The notification ``order`` asks for, with Meta's defaults where it left them out."""
        conversation, pricing = order.conversation, order.pricing
        opened = None
        if isinstance(conversation, str) or isinstance(pricing, str):
            opened = self._conversation_of(message, order.status, order.category, timestamp)
        if isinstance(conversation, str):
            conversation = None
            if opened is not None:
                expires = opened.expires if order.status == "sent" else None
                conversation = conversation_object(opened.id, opened.category, expires=expires)
        if isinstance(pricing, str):
            pricing = self._pricing_of(message, order.status, opened, timestamp)
        errors: list[object] | None = None
        if not isinstance(order.errors, str):
            errors = order.errors
        elif order.status == "failed":
            errors = [dict(UNDELIVERABLE)]
        entry = status_object(
            message,
            order.status,
            timestamp,
            conversation=conversation,
            pricing=pricing,
            errors=errors,
        )
        return status_webhook(self.numbers.get(message.phone_number_id), entry)

    def _pricing_of(
        self, message: SentMessage, status: str, opened: Conversation | None, timestamp: int
    ) -> dict[str, object] | None:
        """Meta's ``pricing`` of this status: within the user's service window a reply, and
        a utility template, are free (``free_customer_service``); other templates billed."""
        if status not in _PRICED_STATUSES:
            return None
        users = (message.wa_id, message.user_id)
        in_window = self.service_windows.is_open(message.phone_number_id, users, timestamp)
        if opened is None:
            return (
                free_service_pricing("service") if in_window and not message.is_template else None
            )
        if in_window and opened.category == "utility":
            return free_service_pricing("utility")
        return pricing_object(opened.category)

    def _conversation_of(
        self, message: SentMessage, status: str, category: str, timestamp: int
    ) -> Conversation | None:
        """The conversation Meta names in this status of ``message``, opened if need be.

        Only a template message's ``sent`` and ``delivered`` name one.
        """
        if not message.is_template or status not in _PRICED_STATUSES:
            return None
        if message.conversation is None:
            message.conversation = self.conversations.open(
                message.phone_number_id, message.wa_id or message.user_id or "", category, timestamp
            )
        return message.conversation

    async def send_status(
        self, message: SentMessage, order: StatusOrder
    ) -> tuple[dict[str, object], list[WebhookRecord]]:
        """Send the status webhook ``order`` asks for, and its duplicates."""
        timestamp = order.timestamp if order.timestamp is not None else int(time.time())
        payload = self.status_payload(message, order, timestamp)
        message.statuses.append(order.status)
        records = await self.driver.send(
            "status", message.wamid, payload, copies=1 + order.duplicate
        )
        return payload, records

    async def click_button(
        self, message: SentMessage, order: ButtonOrder
    ) -> tuple[dict[str, object], list[WebhookRecord]]:
        """Send the webhook of a user tapping a quick-reply button of ``message``."""
        sender = order.from_wa_id or message.wa_id
        payload = button_webhook(
            self.numbers.get(message.phone_number_id),
            message,
            reply_id=new_wamid(sender),
            from_wa_id=sender,
            name=order.name,
            payload=order.payload,
            text=order.text,
            timestamp=order.timestamp if order.timestamp is not None else int(time.time()),
        )
        records = await self.driver.send("button", message.wamid, payload)
        return payload, records

    async def inbound(self, order: InboundOrder) -> tuple[dict[str, object], list[WebhookRecord]]:
        """Send the webhook of a user's message to a business number, and its duplicates.

        A media message naming a file the sandbox holds gets the file's
        ``mime_type`` and ``sha256`` where the order left them out, as Meta's do.
        """
        members = dict(order.members)
        body = members.get(order.type)
        if order.type in MEDIA_TYPES and isinstance(body, dict):
            media = self.media.get(str(body.get("id", "")))
            if media is not None:
                members[order.type] = {
                    "mime_type": media.mime_type, "sha256": media.sha256, **body
                }  # fmt: skip
        order = InboundOrder(**{**order.__dict__, "members": members})
        message_id = order.id or new_wamid(order.from_wa_id or order.user_id or "")
        timestamp = order.timestamp if order.timestamp is not None else int(time.time())
        payload = inbound_webhook(
            self.numbers.get(order.phone_number_id),
            order,
            message_id=message_id,
            timestamp=timestamp,
        )
        self.service_windows.user_wrote(
            order.phone_number_id, (order.from_wa_id, order.user_id), timestamp
        )
        records = await self.driver.send("inbound", message_id, payload, copies=1 + order.duplicate)
        return payload, records

    async def _progress(
        self, message: SentMessage, status: str, timestamp: int, copies: int
    ) -> None:
        order = StatusOrder(status=status, timestamp=timestamp, duplicate=copies - 1)
        await self.send_status(message, order)
