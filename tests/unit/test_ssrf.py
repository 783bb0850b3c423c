from __future__ import annotations

import socket
from ipaddress import IPv4Address, IPv6Address, ip_address

import aiohttp
import pytest

from wagate.delivery.resolver import CheckedResolver
from wagate.delivery.ssrf import AddressPolicy, check_url, parse_host, resolve_and_check
from wagate.domain.errors import CallbackTargetRefused

REFUSED = [
    "127.0.0.1",
    "10.0.0.1",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",
    "0.0.0.0",
    "100.64.0.1",
    "224.0.0.1",
    "255.255.255.255",
    "198.18.0.1",
    "192.0.2.1",
    "240.0.0.1",
    "::1",
    "::",
    "fe80::1",
    "fc00::1",
    "fd12:3456::1",
    "ff02::1",
    "2001:db8::1",
    "::ffff:127.0.0.1",
    "[::ffff:7f00:1]",
    "::ffff:10.0.0.1",
    "::127.0.0.1",
    "64:ff9b::a9fe:a9fe",
    "2002:7f00:1::1",
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",
    "2130706433",
    "0x7f000001",
    "0177.0.0.1",
    "127.1",
    "0x7f.1",
    "127.0.0.1.",
    "０x7f000001",
    "0",
]
ALLOWED = ["93.184.216.34", "2606:4700::1111", "8.8.8.8", "::ffff:93.184.216.34"]


def url_for(host: str) -> str:
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:8080/callback?x=1"


@pytest.mark.parametrize("host", REFUSED)
def test_forbidden_addresses_are_refused(host: str) -> None:
    ip = parse_host(host)
    assert ip is not None
    assert not AddressPolicy().is_allowed(ip)
    reason = check_url(url_for(host))
    assert reason is not None
    assert str(ip) in reason


@pytest.mark.parametrize("host", ALLOWED)
def test_public_addresses_are_allowed(host: str) -> None:
    ip = parse_host(host)
    assert ip is not None
    assert AddressPolicy().is_allowed(ip)
    assert check_url(url_for(host)) is None


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("10.1.258", "10.1.1.2"),
        ("0xA9.0376.43518", "169.254.169.254"),
        ("[::1]", "::1"),
        ("１２７.０.０.１", "127.0.0.1"),
    ],
)
def test_odd_ipv4_spellings_are_recognised(host: str, expected: str) -> None:
    assert parse_host(host) == ip_address(expected)


@pytest.mark.parametrize(
    "host", ["example.com", "localhost", "1.2.3.4.5", "08.1.1.1", "256.1.1.1", "0x", "1e3", "a.1"]
)
def test_names_are_left_to_resolution(host: str) -> None:
    if host == "0x":
        assert parse_host(host) == IPv4Address(0)
        return
    assert parse_host(host) is None
    assert check_url(f"https://{host}/") is None


def test_the_allow_list_lets_named_networks_through() -> None:
    policy = AddressPolicy.parse("127.0.0.0/8, ::1/128")
    assert policy.is_allowed(IPv4Address("127.0.0.1"))
    assert policy.is_allowed(IPv6Address("::1"))
    assert policy.is_allowed(IPv6Address("::ffff:127.0.0.1"))
    assert not policy.is_allowed(IPv4Address("10.0.0.1"))
    assert check_url("http://127.0.0.1:9000/cb", policy) is None
    assert check_url("http://2130706433/", policy) is None


def test_an_empty_allow_list_and_bad_networks() -> None:
    assert AddressPolicy.parse("").allowed == ()
    with pytest.raises(ValueError, match="CIDR"):
        AddressPolicy.parse("127.0.0.0/8,localhost")


def test_a_url_without_a_host_is_refused() -> None:
    assert check_url("http:///x") is not None


async def test_localhost_resolves_to_a_refused_address() -> None:
    with pytest.raises(CallbackTargetRefused) as refused:
        await resolve_and_check("localhost", 80, AddressPolicy())
    assert refused.value.host == "localhost"
    assert refused.value.address is not None


async def test_localhost_is_allowed_by_the_allow_list() -> None:
    policy = AddressPolicy(["127.0.0.0/8", "::1/128"])
    addresses = await resolve_and_check("localhost", 80, policy)
    assert addresses
    assert all(address.is_loopback for address in addresses)


async def test_a_literal_address_needs_no_resolution() -> None:
    assert await resolve_and_check("93.184.216.34", 443, AddressPolicy()) == [
        IPv4Address("93.184.216.34")
    ]
    with pytest.raises(CallbackTargetRefused):
        await resolve_and_check("0x7f.1", 80, AddressPolicy())


async def test_the_checked_resolver_refuses_and_allows() -> None:
    resolver = CheckedResolver(AddressPolicy())
    with pytest.raises(CallbackTargetRefused):
        await resolver.resolve("localhost", 80, socket.AF_INET)
    await resolver.close()
    allowing = CheckedResolver(AddressPolicy(["127.0.0.0/8"]))
    results = await allowing.resolve("localhost", 80, socket.AF_INET)
    assert [r["host"] for r in results] == ["127.0.0.1"]
    await allowing.close()


async def test_an_aiohttp_session_with_the_checked_resolver_never_connects() -> None:
    connector = aiohttp.TCPConnector(resolver=CheckedResolver(AddressPolicy()))
    async with aiohttp.ClientSession(connector=connector) as session:
        with pytest.raises(CallbackTargetRefused):
            await session.get("http://localhost:9/")
