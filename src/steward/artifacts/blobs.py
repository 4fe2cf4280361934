"""Blob stores: bytes kept under their sha256, so a blob is immutable by construction and a
read can prove it is intact.

Layout: ``<root>/sha256/<aa>/<bb>/<full digest>``. Writes go to a temporary name first and
are renamed into place, so a crash never leaves a half-written blob under a real digest.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Protocol

from steward.core.errors import IntegrityError, InvalidArgument, NotFound

_CHUNK = 1 << 20


def _relpath(digest: str) -> str:
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise InvalidArgument(f"Not a sha256 hex digest: {digest!r}.", field="sha256")
    return f"sha256/{digest[:2]}/{digest[2:4]}/{digest}"


class BlobStore(Protocol):
    """The port every artifact backend implements."""

    def put(self, data: bytes) -> str:
        """Store ``data``; return its sha256 hex digest. Idempotent."""
        ...

    def get(self, digest: str) -> bytes:
        """Return the bytes stored under ``digest``; raise IntegrityError if they changed."""
        ...

    def exists(self, digest: str) -> bool: ...


def _verified(digest: str, data: bytes) -> bytes:
    actual = hashlib.sha256(data).hexdigest()
    if actual != digest:
        raise IntegrityError(f"Blob {digest} is corrupt: its content hashes to {actual}.", sha256=digest)
    return data


class LocalBlobStore:
    """Blobs in a local folder (the embedded default)."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        target = self.root / _relpath(digest)
        if target.exists():
            return digest
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return digest

    def get(self, digest: str) -> bytes:
        target = self.root / _relpath(digest)
        try:
            data = target.read_bytes()
        except FileNotFoundError:
            raise NotFound("blob", digest) from None
        return _verified(digest, data)

    def exists(self, digest: str) -> bool:
        return (self.root / _relpath(digest)).exists()


class FsspecBlobStore:
    """Blobs behind any fsspec URL (``s3://bucket/prefix``, ``memory://``, ``gcs://`` ...)."""

    def __init__(self, url: str) -> None:
        import fsspec

        self.fs, self.root = fsspec.core.url_to_fs(url)

    def _path(self, digest: str) -> str:
        return f"{self.root.rstrip('/')}/{_relpath(digest)}"

    def put(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        path = self._path(digest)
        if not self.fs.exists(path):
            self.fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
            self.fs.pipe_file(path, data)
        return digest

    def get(self, digest: str) -> bytes:
        try:
            data = self.fs.cat_file(self._path(digest))
        except FileNotFoundError:
            raise NotFound("blob", digest) from None
        return _verified(digest, bytes(data))

    def exists(self, digest: str) -> bool:
        return bool(self.fs.exists(self._path(digest)))


def open_blob_store(root: str) -> BlobStore:
    """A local store for a path or ``file://`` URL, fsspec for anything else."""
    if "://" not in root:
        return LocalBlobStore(root)
    if root.startswith("file://"):
        return LocalBlobStore(root.removeprefix("file://"))
    return FsspecBlobStore(root)
