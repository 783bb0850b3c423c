"""A client of the Graph API endpoints wagate uses, over aiohttp."""

from __future__ import annotations

import json
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Final, Protocol

import aiohttp
from aiohttp import payload as aiohttp_payload

from wagate.domain.errors import MetaError, MetaPermanentError, MetaTransientError
from wagate.upstream.graph_errors import error_from_response

__all__ = ["DEFAULT_TIMEOUT", "GraphClient", "MediaInfo", "UploadProgress", "transport_failure"]

#: Connecting may take 10 s and each read of the answer 60 s; a body may take as long as it needs.
DEFAULT_TIMEOUT: Final = aiohttp.ClientTimeout(total=None, connect=10, sock_read=60)


@dataclass(frozen=True)
class UploadProgress:
    """What Meta answered to an upload chunk: the handle once complete, else the new offset."""

    file_offset: int
    handle: str | None = None

    @property
    def complete(self) -> bool:
        """Whether Meta holds the whole file and gave its handle."""
        return self.handle is not None


@dataclass(frozen=True)
class MediaInfo:
    """What Meta says of a media file it holds: where to download it, and what it is."""

    url: str
    mime_type: str | None
    sha256: str | None
    file_size: int | None


class VersionSource(Protocol):
    """Where a WABA's own Graph API version is found (by WABA id or phone number id)."""

    async def version_for(self, key: str) -> str | None:
        """The version of the WABA ``key`` names, None for the configured one."""
        ...


class GraphClient:
    """Talks to Graph (or the sandbox) for one app; the caller owns the aiohttp session.

    Every failure is raised as a :class:`~wagate.domain.errors.MetaError`:
    transient, permanent, or an upload offset mismatch.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        base_url: str,
        version: str,
        app_id: str,
        access_token: str,
        timeout: aiohttp.ClientTimeout = DEFAULT_TIMEOUT,
        versions: VersionSource | None = None,
    ) -> None:
        self._session = session
        self._versions = versions
        self._base_url = base_url
        self.version = version.strip("/")
        self._root = f"{base_url.rstrip('/')}/{self.version}"
        self._app_id = app_id
        self._access_token = access_token
        self._timeout = timeout
        self._siblings: dict[str, GraphClient] = {}

    async def about(self, key: str | None) -> GraphClient:
        """The client for calls about a WABA or one of its numbers (its id or phone number
        id): on the WABA's own Graph API version where it has one."""
        if self._versions is None or not key:
            return self
        return self.with_version(await self._versions.version_for(key))

    def with_version(self, version: str | None) -> GraphClient:
        """The same client on another Graph API version (itself for None or its own)."""
        if version is None or version.strip("/") == self.version:
            return self
        sibling = self._siblings.get(version)
        if sibling is None:
            sibling = GraphClient(
                self._session,
                base_url=self._base_url,
                version=version,
                app_id=self._app_id,
                access_token=self._access_token,
                timeout=self._timeout,
            )
            self._siblings[version] = sibling
        return sibling

    async def start_upload_session(self, file_name: str, file_length: int, file_type: str) -> str:
        """Open a resumable upload session for a file; its id, ``upload:…``."""
        payload = await self._request(
            "POST",
            f"{self._root}/{self._app_id}/uploads",
            params={
                "file_name": file_name,
                "file_length": str(file_length),
                "file_type": file_type,
                "access_token": self._access_token,
            },
        )
        session_id = payload.get("id")
        if not isinstance(session_id, str) or not session_id:
            raise MetaPermanentError(f"Graph opened an upload session without an id: {payload}")
        return session_id

    async def get_upload_offset(self, session_id: str) -> int:
        """How many bytes of the file Meta holds for this session."""
        payload = await self._request("GET", self._session_url(session_id), headers=self._auth())
        return _offset_of(payload)

    async def upload_from(
        self, session_id: str, offset: int, body: AsyncIterable[bytes], length: int
    ) -> UploadProgress:
        """Send ``length`` bytes from ``body`` as the file's bytes from ``offset`` on.

        ``body`` must give exactly ``length`` bytes; if it fails or gives
        another count, that error (not a Meta one) is raised.
        """
        problems: list[Exception] = []
        headers = {
            **self._auth(),
            "file_offset": str(offset),
            "Content-Length": str(length),
            "Content-Type": "application/octet-stream",
        }
        try:
            payload = await self._request(
                "POST",
                self._session_url(session_id),
                headers=headers,
                data=_exactly(body, length, problems),
            )
        except Exception as exc:
            if problems and problems[0] is not exc:
                raise problems[0] from exc
            raise
        handle = payload.get("h")
        if isinstance(handle, str) and handle:
            return UploadProgress(file_offset=offset + length, handle=handle)
        return UploadProgress(file_offset=_offset_of(payload))

    async def send_message(
        self, phone_number_id: str, message: Mapping[str, object]
    ) -> dict[str, object]:
        """Send a Cloud API message object from a business number; Meta's answer."""
        body = json.dumps(message, separators=(",", ":")).encode("utf-8")
        return await self._request(
            "POST",
            f"{self._root}/{phone_number_id}/messages",
            headers={
                "Authorization": f"Bearer {self._access_token}",
                "Content-Type": "application/json",
            },
            data=body,
        )

    async def upload_media(
        self,
        phone_number_id: str,
        *,
        file_name: str,
        media_type: str,
        body: AsyncIterable[bytes],
    ) -> str:
        """Upload a file to Meta's media endpoint of a business number; its media id."""
        form = aiohttp.MultipartWriter("form-data")
        product = form.append("whatsapp")
        product.set_content_disposition("form-data", name="messaging_product")
        kind = form.append(media_type)
        kind.set_content_disposition("form-data", name="type")
        file_part = aiohttp_payload.AsyncIterablePayload(body, content_type=media_type)
        file_part.set_content_disposition("form-data", name="file", filename=file_name)
        form.append_payload(file_part)
        payload = await self._request(
            "POST",
            f"{self._root}/{phone_number_id}/media",
            headers={"Authorization": f"Bearer {self._access_token}"},
            data=form,
        )
        media_id = payload.get("id")
        if not isinstance(media_id, str | int) or isinstance(media_id, bool) or not media_id:
            raise MetaPermanentError(f"Meta stored the media without an id: {payload}")
        return str(media_id)

    async def media_info(self, media_id: str) -> MediaInfo:
        """Where Meta serves a media file (the URL lives a few minutes), and its type and hash."""
        payload = await self._request(
            "GET",
            f"{self._root}/{media_id}",
            headers={"Authorization": f"Bearer {self._access_token}"},
        )
        url = payload.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise MetaPermanentError(f"Meta named no download URL for media {media_id}")
        size = payload.get("file_size")
        return MediaInfo(
            url=url,
            mime_type=_optional_text(payload.get("mime_type")),
            sha256=_optional_text(payload.get("sha256")),
            file_size=int(size) if isinstance(size, int | str) and str(size).isdigit() else None,
        )

    async def download_media(
        self, url: str, sink: Callable[[bytes], Awaitable[None]], *, max_bytes: int
    ) -> str | None:
        """Stream a media file's bytes from Meta's download ``url`` into ``sink``; its
        ``Content-Type``. A body cut short is a :class:`MetaTransientError`."""
        headers = {"Authorization": f"Bearer {self._access_token}"}
        received = 0
        try:
            async with self._session.get(
                url, headers=headers, timeout=self._timeout, allow_redirects=False
            ) as response:
                if not 200 <= response.status < 300:
                    raise error_from_response(response.status, await response.read())
                async for chunk in response.content.iter_chunked(256 * 1024):
                    received += len(chunk)
                    if received > max_bytes:
                        raise MetaPermanentError(
                            f"the media is larger than the {max_bytes} bytes allowed"
                        )
                    await sink(chunk)
                return response.content_type
        except (OSError, aiohttp.ClientError) as exc:
            raise transport_failure(exc, "the media download", self._redact(exc)) from exc

    def _session_url(self, session_id: str) -> str:
        return f"{self._root}/{session_id}"

    def _redact(self, exc: Exception) -> str:
        """The exception's text without the access token a URL may carry."""
        text = str(exc)
        return text.replace(self._access_token, "<access_token>") if self._access_token else text

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"OAuth {self._access_token}"}

    async def _request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        data: AsyncIterable[bytes] | aiohttp.MultipartWriter | bytes | None = None,
    ) -> dict[str, object]:
        try:
            async with self._session.request(
                method,
                url,
                params=params,
                headers=headers,
                data=data,
                timeout=self._timeout,
                allow_redirects=False,
            ) as response:
                status = response.status
                raw = await response.read()
        except (OSError, aiohttp.ClientError) as exc:
            raise transport_failure(exc, f"Graph {method}", self._redact(exc)) from exc
        if not 200 <= status < 300:
            raise error_from_response(status, raw)
        try:
            payload = json.loads(raw)
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            raise MetaPermanentError(
                f"Graph answered HTTP {status} with something not a JSON object", status=status
            )
        return payload


def _optional_text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _offset_of(payload: Mapping[str, object]) -> int:
    offset = payload.get("file_offset")
    if isinstance(offset, str) and offset.isdigit():
        offset = int(offset)
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise MetaPermanentError(f"Graph answered without a valid file_offset: {payload}")
    return offset


async def _exactly(
    source: AsyncIterable[bytes], length: int, problems: list[Exception]
) -> AsyncIterator[bytes]:
    """``source``'s bytes, checked to be ``length`` of them; its failures noted in ``problems``."""
    sent = 0
    try:
        async for chunk in source:
            sent += len(chunk)
            if sent > length:
                raise ValueError(f"the upload body gives more than the {length} bytes announced")
            yield chunk
        if sent != length:
            raise ValueError(f"the upload body gives {sent} bytes, not the {length} announced")
    except Exception as exc:
        problems.append(exc)
        raise


def transport_failure(exc: OSError | aiohttp.ClientError, what: str, detail: str) -> MetaError:
    """What an HTTP client's failure to reach Meta means (``what`` names the request,
    ``detail`` is the exception's text with secrets removed): a URL that cannot be
    requested is permanent; a timeout (:class:`TimeoutError` is an :class:`OSError`), a
    connection refused or reset, or a body cut short is transient, worth trying again."""
    if isinstance(exc, aiohttp.InvalidURL):
        return MetaPermanentError(f"{what}: invalid URL: {detail}")
    if isinstance(exc, TimeoutError):
        return MetaTransientError(f"{what} timed out")
    return MetaTransientError(f"{what} failed: {type(exc).__name__}: {detail}")
