"""Where media bytes live: a small interface and its implementations."""

from wagate.blobs.base import BlobStore, BlobWriter
from wagate.blobs.local import LocalBlobStore

__all__ = ["BlobStore", "BlobWriter", "LocalBlobStore"]
