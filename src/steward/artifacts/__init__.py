"""Immutable, content-addressed artifact storage (sha256), verified on every read."""

from steward.artifacts.blobs import BlobStore, FsspecBlobStore, LocalBlobStore, open_blob_store

__all__ = ["BlobStore", "FsspecBlobStore", "LocalBlobStore", "open_blob_store"]
