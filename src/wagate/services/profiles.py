"""Callback profiles: creating, validating, rotating, attaching, deleting."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import timedelta
from urllib.parse import urlsplit

from wagate.delivery.render import template_placeholders, validate_template
from wagate.delivery.signing import new_secret
from wagate.delivery.ssrf import AddressPolicy, resolve_and_check
from wagate.domain import errors
from wagate.domain.callbacks import CallbackProfile, ProfileStatus, is_valid_title, new_profile_id
from wagate.domain.clock import Clock, utcnow
from wagate.domain.placeholders import INCOMING_MESSAGE_PLACEHOLDERS
from wagate.domain.tenancy import PhoneNumber
from wagate.services.fanout import rerender_waiting
from wagate.store import Connection, Database, delivery_queue, tenancy
from wagate.store import deliveries as delivery_rows
from wagate.store import profiles as profile_rows

__all__ = [
    "HEADER_NAME",
    "METHODS",
    "RESERVED_HEADERS",
    "SECRET_OVERLAP",
    "ProfileChanges",
    "ProfileService",
    "check_incoming_template",
    "profile_problems",
]

SECRET_OVERLAP = timedelta(hours=24)
HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
RESERVED_HEADERS = frozenset(
    {"host", "content-length", "transfer-encoding", "connection", "content-type"}
)
METHODS = ("GET", "POST")


@dataclass(frozen=True, slots=True)
class ProfileChanges:
    """The fields a PATCH may change; None leaves a field as it is."""

    title: str | None = None
    http_method: str | None = None
    url: str | None = None
    body: str | None = None
    headers: dict[str, str] | None = None
    status: ProfileStatus | None = None
    rotate_secret: bool = False


class ProfileService:
    """The use cases of the callback profiles API."""

    def __init__(
        self, database: Database, *, pod: str, addresses: AddressPolicy, clock: Clock = utcnow
    ) -> None:
        self._db = database
        self._pod = pod
        self._addresses = addresses
        self._clock = clock

    async def create(
        self,
        sid: str,
        *,
        title: str,
        http_method: str,
        url: str,
        body: str | None,
        headers: dict[str, str],
    ) -> CallbackProfile:
        """Validate and store a new profile with a fresh signing secret."""
        now = self._clock()
        profile = CallbackProfile(
            id=new_profile_id(self._pod),
            sid=sid,
            title=title,
            http_method=http_method.upper(),
            url=url,
            body=body,
            headers=headers,
            secret=new_secret(),
            previous_secret=None,
            previous_secret_expires_at=None,
            status=ProfileStatus.ACTIVE,
            failing_since=None,
            created_at=now,
            updated_at=now,
        )
        await self._validate(profile)
        async with self._db.transaction() as connection:
            await profile_rows.insert_profile(connection, profile)
        return profile

    async def get(self, sid: str, profile_id: str) -> CallbackProfile:
        """A profile of the account; :class:`NotFound` otherwise."""
        async with self._db.transaction() as connection:
            profile = await profile_rows.get_profile(connection, profile_id, sid)
        if profile is None:
            raise errors.NotFound(f"no callback profile {profile_id}")
        return profile

    async def list(
        self, sid: str, *, title: str | None, limit: int, offset: int
    ) -> tuple[list[CallbackProfile], int]:
        """A page of the account's profiles and the total."""
        async with self._db.transaction() as connection:
            return await profile_rows.list_profiles(
                connection, sid, title=title, limit=limit, offset=offset
            )

    async def update(self, sid: str, profile_id: str, changes: ProfileChanges) -> CallbackProfile:
        """Apply a PATCH; re-enabling a profile clears its failure streak.

        A new method, URL or body also applies to the deliveries still waiting
        (pending, or dead and replayable): they are re-rendered from their values.
        """
        current = await self.get(sid, profile_id)
        now = self._clock()
        updated = replace(
            current,
            title=changes.title if changes.title is not None else current.title,
            http_method=(changes.http_method or current.http_method).upper(),
            url=changes.url if changes.url is not None else current.url,
            body=changes.body if changes.body is not None else current.body,
            headers=changes.headers if changes.headers is not None else current.headers,
            updated_at=now,
        )
        if changes.status is not None:
            if changes.status is ProfileStatus.AUTO_DISABLED:
                raise errors.InvalidPayload({"status": "status must be 1 (active) or 3 (disabled)"})
            updated = replace(updated, status=changes.status, failing_since=None)
        if changes.rotate_secret:
            updated = replace(
                updated,
                secret=new_secret(),
                previous_secret=current.secret,
                previous_secret_expires_at=now + SECRET_OVERLAP,
            )
        await self._validate(updated)
        template_changed = (updated.http_method, updated.url, updated.body) != (
            current.http_method,
            current.url,
            current.body,
        )
        async with self._db.transaction() as connection:
            await profile_rows.save_profile(connection, updated)
            if template_changed:
                await rerender_waiting(connection, updated, now)
            if (
                updated.status is ProfileStatus.ACTIVE
                and current.status is not ProfileStatus.ACTIVE
            ):
                await delivery_queue.announce(connection)
        return updated

    async def delete(self, sid: str, profile_id: str) -> None:
        """Remove a profile, detach it, and cancel its pending deliveries."""
        await self.get(sid, profile_id)
        async with self._db.transaction() as connection:
            await delivery_rows.cancel_for_profile(connection, profile_id, self._clock())
            await profile_rows.delete_profile(connection, profile_id)

    async def attach_to_waba(self, sid: str, waba_id: str, profile_id: str | None) -> None:
        """Send the WABA's resumable-media status callbacks through this profile (None: none)."""
        async with self._db.transaction() as connection:
            waba = await tenancy.get_waba(connection, waba_id)
            if waba is None or waba.sid != sid:
                raise errors.WabaNotFound()
            if profile_id is not None:
                await self._require_own(connection, sid, profile_id)
            await tenancy.set_waba_profile(connection, waba_id, profile_id)

    async def attach_to_number(
        self,
        sid: str,
        waba_id: str,
        number: str,
        *,
        profile_id: str | None,
        webhook_url: str | None,
        clear_profile: bool = False,
        clear_webhook: bool = False,
        incoming_profile_id: str | None = None,
        clear_incoming_profile: bool = False,
    ) -> tuple[PhoneNumber, str]:
        """Set a number's message-status profile, incoming-message profile and/or webhook
        push URL.

        The incoming profile's template may use only the placeholders of an
        incoming message. Returns the number as it now is, and its signing
        secret: the secret signs the number's webhook pushes and the callbacks
        to per-message ``callback_url``s.
        """
        if webhook_url is not None:
            problems = validate_template("POST", webhook_url, None)
            if problems:
                raise errors.InvalidPayload({"webhook_url": "; ".join(problems)})
            await self._check_target(webhook_url, "webhook_url")
        async with self._db.transaction() as connection:
            phone = await tenancy.get_number(connection, number)
            if phone is None or phone.sid != sid or phone.waba_id != waba_id:
                raise errors.NotFound(f"number {number} is not in WABA {waba_id}")
            if profile_id is not None:
                await self._require_own(connection, sid, profile_id)
            if incoming_profile_id is not None:
                check_incoming_template(
                    await self._require_own(connection, sid, incoming_profile_id)
                )
            await tenancy.set_number_targets(
                connection,
                number,
                profile_id=profile_id,
                webhook_url=webhook_url,
                clear_profile=clear_profile,
                clear_webhook=clear_webhook,
                incoming_profile_id=incoming_profile_id,
                clear_incoming_profile=clear_incoming_profile,
            )
            secret = (await tenancy.webhook_secrets_of(connection, [number])).get(number)
            if secret is None:
                secret = new_secret()
                await tenancy.set_webhook_secret(connection, number, secret)
            updated = await tenancy.get_number(connection, number)
        assert updated is not None
        return updated, secret

    async def _require_own(
        self, connection: Connection, sid: str, profile_id: str
    ) -> CallbackProfile:
        profile = await profile_rows.get_profile(connection, profile_id, sid)
        if profile is None:
            raise errors.NotFound(f"no callback profile {profile_id}")
        return profile

    async def _validate(self, profile: CallbackProfile) -> None:
        problems = profile_problems(
            profile.title, profile.http_method, profile.url, profile.body, profile.headers
        )
        if problems:
            raise errors.InvalidPayload(problems)
        await self._check_target(profile.url, "url")

    async def _check_target(self, url: str, field: str) -> None:
        parts = urlsplit(url.replace("<", "").replace(">", ""))
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            await resolve_and_check(host, port, self._addresses)
        except errors.CallbackTargetRefused as exc:
            raise errors.InvalidPayload({field: str(exc)}) from exc
        except OSError as exc:
            raise errors.InvalidPayload({field: f"the host {host!r} does not resolve"}) from exc


def check_incoming_template(profile: CallbackProfile) -> None:
    """Refuse, as an incoming-message profile, one whose template uses a placeholder an
    incoming message does not fill."""
    foreign = template_placeholders(profile.url, profile.body) - INCOMING_MESSAGE_PLACEHOLDERS
    if foreign:
        names = ", ".join(f"<{name}>" for name in sorted(foreign))
        raise errors.InvalidPayload(
            {"incoming_callback_profile_id": f"the profile's template uses {names}, which an "
             "incoming message does not fill"}
        )  # fmt: skip


def profile_problems(
    title: str, http_method: str, url: str, body: str | None, headers: dict[str, str]
) -> dict[str, str]:
    """What is wrong with a profile's fields, a sentence per field; empty when nothing is.

    Everything but the target's address, which is checked (resolved) only when saved.
    """
    problems: dict[str, str] = {}
    if not is_valid_title(title):
        problems["title"] = (
            "title must be at least 3 characters of letters, digits, spaces, '-' and '_'"
        )
    if http_method not in METHODS:
        problems["http_method"] = "http_method must be GET or POST"
    else:
        for problem in validate_template(http_method, url, body):
            key = "body" if " body" in problem else "url"
            problems[key] = f"{problems[key]}; {problem}" if key in problems else problem
    for name, value in headers.items():
        if not HEADER_NAME.match(name) or "\r" in value or "\n" in value:
            problems["headers"] = f"header {name!r} is not a valid HTTP header"
        elif name.lower() in RESERVED_HEADERS or name.lower().startswith("webhook-"):
            problems["headers"] = f"header {name!r} is set by the gateway"
    return problems
