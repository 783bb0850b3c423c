"""Where media bytes live: a small interface and its implementations."""

from wagate.blobs.base import BlobStore, BlobWriter
from wagate.blobs.local import LocalBlobStore
from wagate.blobs.s3 import S3BlobStore

__all__ = ["BlobStore", "BlobWriter", "LocalBlobStore", "S3BlobStore"]
