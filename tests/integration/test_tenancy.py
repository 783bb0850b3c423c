from __future__ import annotations

import pytest

from tests.integration.conftest import Services
from wagate.domain import errors
from wagate.domain.tenancy import ApiVersion


async def test_the_right_key_authenticates(services: Services) -> None:
    account = await services.tenancy.authenticate("SID1", services.api_key)
    assert account.company_id == "CID1"


@pytest.mark.parametrize(
    ("sid", "key"), [("SID1", "wrong"), ("SID1", None), ("NOPE", "x"), ("SID1", "")]
)
async def test_a_wrong_sid_or_key_fails(services: Services, sid: str, key: str | None) -> None:
    with pytest.raises(errors.AuthenticationFailed):
        await services.tenancy.authenticate(sid, key)


async def test_the_checks_come_in_the_seed_order(services: Services) -> None:
    tenancy = services.tenancy
    await tenancy.create_account("SID2", "CID2", api_key="K2", whatsapp_enabled=False)
    await tenancy.create_account("SID3", "CID3", api_key="K3")
    await tenancy.create_waba("SID3", "WABA3")
    await tenancy.create_waba("SID1", "WABA-V1", api_version=ApiVersion.V1)
    v2 = ApiVersion.V2
    with pytest.raises(errors.AuthenticationFailed):
        await tenancy.authorize_waba("SID2", "bad", "WABA3", api_version=v2)
    with pytest.raises(errors.WhatsAppNotEnabled):
        await tenancy.authorize_waba("SID2", "K2", "WABA1", api_version=v2)
    with pytest.raises(errors.WabaNotFound):
        await tenancy.authorize_waba("SID1", services.api_key, "WABA3", api_version=v2)
    with pytest.raises(errors.WabaNotFound):
        await tenancy.authorize_waba("SID1", services.api_key, "UNKNOWN", api_version=v2)
    with pytest.raises(errors.WabaWrongVersion):
        await tenancy.authorize_waba("SID1", services.api_key, "WABA-V1", api_version=v2)


async def test_duplicates_conflict(services: Services) -> None:
    with pytest.raises(errors.Conflict):
        await services.tenancy.create_account("SID1", "other")
    with pytest.raises(errors.Conflict):
        await services.tenancy.create_waba("SID1", "WABA1")
    await services.tenancy.create_number("SID1", "WABA1", "15550000911", "PNID1")
    with pytest.raises(errors.Conflict):
        await services.tenancy.create_number("SID1", "WABA1", "15550000912", "PNID1")


@pytest.mark.parametrize(
    "number", ["+1 555 abc", "+15550000914", "1555-000-0914", "0555000091", "12345", "1" * 16, ""]
)
async def test_a_number_must_be_e164_digits(services: Services, number: str) -> None:
    with pytest.raises(errors.InvalidPayload) as refused:
        await services.tenancy.create_number("SID1", "WABA1", number, "PNID1")
    assert "E.164" in refused.value.details["number"]
    _, numbers = await services.tenancy.wabas_and_numbers("SID1")
    assert numbers == []


async def test_a_number_needs_a_waba_of_the_same_account(services: Services) -> None:
    await services.tenancy.create_account("SID3", "CID3")
    with pytest.raises(errors.NotFound):
        await services.tenancy.create_number("SID3", "WABA1", "15550000913", "PNID3")
