"""An aiohttp resolver that refuses names resolving to forbidden addresses."""

from __future__ import annotations

import socket
from ipaddress import ip_address

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from wagate.delivery.ssrf import AddressPolicy
from wagate.domain.errors import CallbackTargetRefused

__all__ = ["CheckedResolver"]


class CheckedResolver(AbstractResolver):
    """Resolves with aiohttp's default resolver, then refuses if any address is forbidden.

    Give it to the sender's ``TCPConnector(resolver=...)``: the connector then
    connects only to addresses the policy allows, whatever the name resolves to
    at that moment. :class:`~wagate.domain.errors.CallbackTargetRefused`
    propagates out of the request unchanged. aiohttp does not resolve a host
    written as an address, so check the URL with
    :func:`~wagate.delivery.ssrf.check_url` before sending.
    """

    def __init__(self, policy: AddressPolicy, inner: AbstractResolver | None = None) -> None:
        self._policy = policy
        self._inner = inner

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """The resolved addresses of ``host``, every one of them allowed."""
        if self._inner is None:
            self._inner = DefaultResolver()
        results = await self._inner.resolve(host, port, family)
        for result in results:
            reason = self._policy.refusal(ip_address(result["host"]))
            if reason is not None:
                raise CallbackTargetRefused(host, reason, address=result["host"])
        return results

    async def close(self) -> None:
        """Release the inner resolver."""
        if self._inner is not None:
            await self._inner.close()
