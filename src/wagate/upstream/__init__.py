"""The client side of Meta's Graph API: requests, error translation, resumable upload."""

from wagate.upstream.graph import GraphClient, UploadProgress
from wagate.upstream.resumable import DEFAULT_CHUNK_BYTES, send_resumable

__all__ = ["DEFAULT_CHUNK_BYTES", "GraphClient", "UploadProgress", "send_resumable"]
