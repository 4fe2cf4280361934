"""Use cases over artifacts: store bytes under a logical path, read them back verified, list a
folder. Paths are '/'-separated and relative; '..' and absolute paths are refused."""

from __future__ import annotations

from dataclasses import dataclass

from steward.artifacts.blobs import BlobStore
from steward.artifacts.repository import ArtifactFile
from steward.core.clock import now_ms
from steward.core.errors import InvalidArgument, NotFound
from steward.store.uow import UnitOfWork


def clean_path(path: str) -> str:
    parts = [p for p in path.replace("\\", "/").split("/") if p not in ("", ".")]
    if not parts or ".." in parts or path.startswith("/"):
        raise InvalidArgument(
            f"The artifact path must be relative, non-empty and without '..'. Got {path!r} instead.",
            field="path",
        )
    return "/".join(parts)


@dataclass(frozen=True)
class DirEntry:
    path: str
    is_dir: bool
    size: int | None


def put_artifact(uow: UnitOfWork, blobs: BlobStore, path: str, data: bytes) -> ArtifactFile:
    path = clean_path(path)
    digest = blobs.put(data)
    return uow.artifacts.put(path, digest, len(data), now_ms())


def read_artifact(uow: UnitOfWork, blobs: BlobStore, path: str) -> bytes:
    entry = uow.artifacts.get(clean_path(path))
    if entry is None:
        raise NotFound("artifact", path)
    return blobs.get(entry.sha256)


def list_dir(uow: UnitOfWork, folder: str) -> list[DirEntry]:
    """Direct children of ``folder`` (files with sizes, sub-folders once each)."""
    prefix = clean_path(folder) + "/" if folder.strip("/") else ""
    seen: dict[str, DirEntry] = {}
    for f in uow.artifacts.list_prefix(prefix):
        rest = f.path[len(prefix) :]
        head, sep, _ = rest.partition("/")
        if sep:
            seen.setdefault(head, DirEntry(prefix + head, True, None))
        else:
            seen[head] = DirEntry(f.path, False, f.size)
    return sorted(seen.values(), key=lambda e: e.path)
