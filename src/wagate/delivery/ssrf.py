"""Refuse callback targets on private, loopback, link-local and other non-public addresses.

A host is checked twice: when written as an address (:func:`check_url`,
including the odd IPv4 spellings libc accepts, such as ``2130706433`` or
``127.1``), and after resolution (:func:`resolve_and_check`, and
:class:`~wagate.delivery.resolver.CheckedResolver` for aiohttp), where every
resolved address must pass, so the connection can only go to checked
addresses. An operator's allow-list of networks overrides the refusal.
"""

from __future__ import annotations

import asyncio
import functools
import re
import socket
import unicodedata
from collections.abc import Iterable
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from typing import Final
from urllib.parse import urlsplit

from wagate.domain.errors import CallbackTargetRefused

__all__ = [
    "AddressPolicy",
    "IPAddress",
    "IPNetwork",
    "check_url",
    "parse_host",
    "resolve_and_check",
]

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network


def _table(rows: Iterable[tuple[str, str]]) -> tuple[tuple[IPNetwork, str], ...]:
    return tuple((ip_network(cidr), label) for cidr, label in rows)


_FORBIDDEN_V4: Final = _table(
    [
        ("0.0.0.0/8", "a 'this network' address"),
        ("10.0.0.0/8", "a private address"),
        ("100.64.0.0/10", "a shared (carrier-grade NAT) address"),
        ("127.0.0.0/8", "a loopback address"),
        ("169.254.0.0/16", "a link-local address"),
        ("172.16.0.0/12", "a private address"),
        ("192.0.0.0/24", "an IETF protocol assignment"),
        ("192.0.2.0/24", "a documentation address"),
        ("192.88.99.0/24", "a 6to4 relay anycast address"),
        ("192.168.0.0/16", "a private address"),
        ("198.18.0.0/15", "a benchmarking address"),
        ("198.51.100.0/24", "a documentation address"),
        ("203.0.113.0/24", "a documentation address"),
        ("224.0.0.0/4", "a multicast address"),
        ("255.255.255.255/32", "the broadcast address"),
        ("240.0.0.0/4", "a reserved address"),
    ]
)
_FORBIDDEN_V6: Final = _table(
    [
        ("::/128", "the unspecified address"),
        ("::1/128", "a loopback address"),
        ("::/96", "an IPv4-compatible address (deprecated)"),
        ("64:ff9b:1::/48", "a local-use NAT64 address"),
        ("100::/64", "a discard-only address"),
        ("2001::/32", "a Teredo address"),
        ("2001:db8::/32", "a documentation address"),
        ("2001::/23", "an IETF protocol assignment"),
        ("3fff::/20", "a documentation address"),
        ("5f00::/16", "an SRv6 segment identifier"),
        ("fc00::/7", "a unique local (private) address"),
        ("fe80::/10", "a link-local address"),
        ("fec0::/10", "a site-local address (deprecated)"),
        ("ff00::/8", "a multicast address"),
    ]
)
_GLOBAL_UNICAST_V6: Final = ip_network("2000::/3")
_NAT64_V6: Final = ip_network("64:ff9b::/96")
_NUMBER_RE: Final = re.compile(r"0x[0-9a-f]*|0[0-7]*|[1-9][0-9]*")


class AddressPolicy:
    """Which addresses callbacks may go to: public ones, and those in ``allowed`` networks.

    ``allowed`` holds CIDR strings or networks, e.g. from
    ``WAGATE_CALLBACK_ALLOWED_NETWORKS="127.0.0.0/8,::1/128"``.
    """

    __slots__ = ("allowed",)

    def __init__(self, allowed: Iterable[str | IPNetwork] = ()) -> None:
        networks: list[IPNetwork] = []
        for network in allowed:
            if isinstance(network, str):
                try:
                    network = ip_network(network.strip(), strict=False)
                except ValueError as exc:
                    raise ValueError(f"{network!r} is not a network in CIDR notation") from exc
            networks.append(network)
        self.allowed: tuple[IPNetwork, ...] = tuple(networks)

    @classmethod
    def parse(cls, networks: str) -> AddressPolicy:
        """A policy from a comma-separated list of networks; empty means nothing extra."""
        return cls(part for part in networks.split(",") if part.strip())

    def __repr__(self) -> str:
        return f"AddressPolicy({[str(n) for n in self.allowed]!r})"

    def is_allowed(self, ip: IPAddress) -> bool:
        """Whether a callback may connect to ``ip``."""
        return self.refusal(ip) is None

    def refusal(self, ip: IPAddress) -> str | None:
        """Why ``ip`` is refused, as a sentence; None when it is allowed."""
        if self._listed(ip):
            return None
        embedded = _embedded_ipv4(ip) if isinstance(ip, IPv6Address) else None
        if embedded is not None:
            if self._listed(embedded):
                return None
            label = _forbidden_label(embedded)
            return None if label is None else f"{ip} embeds {embedded}, {label}"
        label = _forbidden_label(ip)
        return None if label is None else f"{ip} is {label}"

    def _listed(self, ip: IPAddress) -> bool:
        return any(ip.version == network.version and ip in network for network in self.allowed)


#: The policy that allows public addresses only.
_PUBLIC_ONLY: Final = AddressPolicy()


def _embedded_ipv4(ip: IPv6Address) -> IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64_V6:
        return IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.sixtofour


def _forbidden_label(ip: IPAddress) -> str | None:
    table = _FORBIDDEN_V4 if isinstance(ip, IPv4Address) else _FORBIDDEN_V6
    for network, label in table:
        if ip in network:
            return label
    if isinstance(ip, IPv6Address) and ip not in _GLOBAL_UNICAST_V6:
        return "not a global unicast address"
    if ip.is_private or ip.is_reserved or ip.is_multicast or ip.is_link_local:
        return "not a public address"
    if ip.is_loopback or ip.is_unspecified or not ip.is_global:
        return "not a public address"
    return None


def parse_host(host: str) -> IPAddress | None:
    """The address a URL host stands for when it is one, else None (a name to resolve).

    Understands bracketed IPv6 and the IPv4 spellings that browsers and libc
    accept: fewer than four parts (``127.1``), decimal, octal (``0177``) or hex
    (``0x7f``) parts, one number for the whole address (``2130706433``), a
    trailing dot, and full-width digits.
    """
    text = host.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        return ip_address(text)
    except ValueError:
        pass
    text = unicodedata.normalize("NFKC", text).lower().removesuffix(".")
    return _legacy_ipv4(text)


def _legacy_ipv4(text: str) -> IPv4Address | None:
    parts = text.split(".")
    if not 1 <= len(parts) <= 4 or not all(_NUMBER_RE.fullmatch(p) for p in parts):
        return None
    numbers = [_number(part) for part in parts]
    *head, last = numbers
    if any(n > 255 for n in head) or last >= 256 ** (5 - len(numbers)):
        return None
    value = last
    for index, number in enumerate(head):
        value += number << (8 * (3 - index))
    return IPv4Address(value)


def _number(part: str) -> int:
    if part.startswith("0x"):
        return int(part[2:] or "0", 16)
    if len(part) > 1 and part.startswith("0"):
        return int(part[1:], 8)
    return int(part)


def check_url(url: str, policy: AddressPolicy | None = None) -> str | None:
    """Why ``url`` is refused when its host is a forbidden address; None otherwise.

    None also when the host is a name: :func:`resolve_and_check` or the
    :class:`~wagate.delivery.resolver.CheckedResolver` checks what it resolves to.
    """
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return "the url cannot be parsed"
    if not host:
        return "the url has no host"
    return _host_refusal(host, policy or _PUBLIC_ONLY)


@functools.lru_cache(maxsize=4096)
def _host_refusal(host: str, policy: AddressPolicy) -> str | None:
    """Why ``host`` is refused under ``policy``; None when allowed or a name (resolved and
    checked on connect). Kept per host: every callback to an endpoint asks the same, and
    parsing and matching the address took an eighth of a busy worker's time."""
    ip = parse_host(host)
    if ip is None:
        return None
    return policy.refusal(ip)


async def resolve_and_check(host: str, port: int | None, policy: AddressPolicy) -> list[IPAddress]:
    """The addresses ``host`` resolves to, each one allowed by ``policy``.

    Raises :class:`~wagate.domain.errors.CallbackTargetRefused` when any of
    them is refused (connect only to the addresses returned, so the name cannot
    be rebound in between), and :class:`OSError` (``socket.gaierror``) when the
    name does not resolve.
    """
    literal = parse_host(host)
    if literal is not None:
        addresses: list[IPAddress] = [literal]
    else:
        loop = asyncio.get_running_loop()
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        addresses = []
        for info in infos:
            address = ip_address(info[4][0])
            if address not in addresses:
                addresses.append(address)
    if not addresses:
        raise CallbackTargetRefused(host, "it resolves to no address")
    for address in addresses:
        reason = policy.refusal(address)
        if reason is not None:
            raise CallbackTargetRefused(host, reason, address=str(address))
    return addresses
