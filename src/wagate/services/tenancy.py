"""Accounts, WABAs and numbers: creating them and checking who is calling."""

from __future__ import annotations

from dataclasses import dataclass

from wagate.delivery.signing import new_secret
from wagate.domain import errors
from wagate.domain.clock import Clock, utcnow
from wagate.domain.ids import api_key_matches, hash_api_key, new_api_key
from wagate.domain.tenancy import (
    ACCOUNT_TYPES,
    E164_PROBLEM,
    Account,
    ApiVersion,
    PhoneNumber,
    Waba,
    is_e164_digits,
)
from wagate.services.profiles import check_incoming_template
from wagate.services.recent import RecentlyRead
from wagate.store import Connection, Database, tenancy
from wagate.store import profiles as profile_rows

__all__ = ["ACCOUNT_CACHE_SECONDS", "TenancyService", "WabaAccess"]

#: How long an account read to authenticate a request is reused for later ones.
ACCOUNT_CACHE_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class WabaAccess:
    """An authenticated caller and the WABA it may use."""

    account: Account
    waba: Waba


class TenancyService:
    """Creates tenants and authenticates their API calls."""

    def __init__(self, database: Database, clock: Clock = utcnow) -> None:
        self._db = database
        self._clock = clock
        self._accounts: RecentlyRead[str, Account] = RecentlyRead(ACCOUNT_CACHE_SECONDS)

    async def create_account(
        self,
        sid: str,
        company_id: str,
        *,
        api_key: str | None = None,
        whatsapp_enabled: bool = True,
        account_type: str = "postpaid",
        rate_card: dict[str, str] | None = None,
    ) -> str:
        """Create an account and return its API key (generated unless given).

        ``account_type`` (postpaid, prepaid, tech_provider) and ``rate_card``
        (conversation category → price) decide the ``price`` of delivered callbacks.
        """
        if not sid.strip() or not company_id.strip():
            raise errors.InvalidPayload({"sid": "SID and company id must not be empty"})
        if account_type not in ACCOUNT_TYPES:
            raise errors.InvalidPayload(
                {"account_type": f"must be one of {', '.join(ACCOUNT_TYPES)}"}
            )
        key = api_key or new_api_key()
        account = Account(
            sid=sid,
            company_id=company_id,
            api_key_hash=hash_api_key(key),
            whatsapp_enabled=whatsapp_enabled,
            created_at=self._clock(),
            account_type=account_type,
            rate_card=dict(rate_card or {}),
        )
        async with self._db.transaction() as connection:
            await tenancy.insert_account(connection, account)
        return key

    async def create_waba(
        self,
        sid: str,
        waba_id: str,
        *,
        api_version: ApiVersion = ApiVersion.V2,
        callback_profile_id: str | None = None,
    ) -> Waba:
        """Add a WABA to an account, optionally with its resumable-media callback profile."""
        waba = Waba(
            waba_id=waba_id,
            sid=sid,
            api_version=api_version,
            callback_profile_id=callback_profile_id,
            created_at=self._clock(),
        )
        async with self._db.transaction() as connection:
            await tenancy.require_account(connection, sid)
            await _require_profile(connection, sid, callback_profile_id)
            await tenancy.insert_waba(connection, waba)
        return waba

    async def create_number(
        self,
        sid: str,
        waba_id: str,
        number: str,
        phone_number_id: str,
        *,
        callback_profile_id: str | None = None,
        incoming_callback_profile_id: str | None = None,
    ) -> PhoneNumber:
        """Add a WhatsApp number to a WABA of the account, optionally with its status profile
        and its incoming-message profile.

        The number gets its signing secret at once, so the callbacks to its
        messages' ``callback_url`` are signed even before a ``webhook_url`` is set.
        A number that is not E.164 digits is :class:`InvalidPayload`.
        """
        if not is_e164_digits(number):
            raise errors.InvalidPayload({"number": E164_PROBLEM})
        phone = PhoneNumber(
            number=number,
            sid=sid,
            waba_id=waba_id,
            phone_number_id=phone_number_id,
            callback_profile_id=callback_profile_id,
            webhook_url=None,
            created_at=self._clock(),
            incoming_callback_profile_id=incoming_callback_profile_id,
        )
        async with self._db.transaction() as connection:
            await tenancy.require_account(connection, sid)
            waba = await tenancy.get_waba(connection, waba_id)
            if waba is None or waba.sid != sid:
                raise errors.NotFound(f"WABA {waba_id} is not in account {sid}")
            await _require_profile(connection, sid, callback_profile_id)
            if incoming_callback_profile_id is not None:
                profile = await profile_rows.get_profile(
                    connection, incoming_callback_profile_id, sid
                )
                if profile is None:
                    raise errors.NotFound(f"no callback profile {incoming_callback_profile_id}")
                check_incoming_template(profile)
            await tenancy.insert_number(connection, phone)
            await tenancy.set_webhook_secret(connection, number, new_secret())
        return phone

    async def authenticate(self, sid: str, api_key: str | None) -> Account:
        """The account calling, or :class:`~wagate.domain.errors.AuthenticationFailed`.

        An account read is kept for :data:`ACCOUNT_CACHE_SECONDS`, so that a burst
        of requests costs one read, not one per request.
        """
        account = self._accounts.get(sid)
        if account is None:
            async with self._db.transaction() as connection:
                account = await tenancy.get_account(connection, sid)
            if account is not None:
                self._accounts.put(sid, account)
        if account is None or not api_key or not api_key_matches(api_key, account.api_key_hash):
            raise errors.AuthenticationFailed()
        return account

    async def account(self, sid: str) -> Account | None:
        """The account with this SID, or None (no key check: the caller has one)."""
        async with self._db.transaction() as connection:
            return await tenancy.get_account(connection, sid)

    async def wabas_and_numbers(self, sid: str) -> tuple[list[Waba], list[PhoneNumber]]:
        """The account's WABAs and WhatsApp numbers, oldest first."""
        async with self._db.transaction() as connection:
            return await tenancy.wabas_of(connection, sid), await tenancy.numbers_of(
                connection, sid
            )

    async def authorize_waba(
        self, sid: str, api_key: str | None, waba_id: str, *, api_version: ApiVersion
    ) -> WabaAccess:
        """Check, in the seed's order, that the caller may use this WABA on this API version."""
        account = await self.authenticate(sid, api_key)
        if not account.whatsapp_enabled:
            raise errors.WhatsAppNotEnabled()
        async with self._db.transaction() as connection:
            waba = await tenancy.get_waba(connection, waba_id)
        if waba is None or waba.sid != account.sid:
            raise errors.WabaNotFound()
        if waba.api_version != api_version:
            raise errors.WabaWrongVersion()
        return WabaAccess(account=account, waba=waba)


async def _require_profile(connection: Connection, sid: str, profile_id: str | None) -> None:
    if (
        profile_id is not None
        and await profile_rows.get_profile(connection, profile_id, sid) is None
    ):
        raise errors.NotFound(f"no callback profile {profile_id} in account {sid}")
