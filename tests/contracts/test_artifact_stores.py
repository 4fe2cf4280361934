"""Every blob store keeps the artifact contract: local folders and fsspec URLs alike."""

from __future__ import annotations

import uuid
from pathlib import Path

from steward.artifacts.blobs import FsspecBlobStore, LocalBlobStore, open_blob_store
from steward.testing import check_artifact_store


def test_local_store_keeps_the_contract(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)

    def corrupt(digest: str) -> None:
        (tmp_path / "sha256" / digest[:2] / digest[2:4] / digest).write_bytes(b"tampered")

    check_artifact_store(store, corrupt)


def test_fsspec_store_keeps_the_contract() -> None:
    url = f"memory://steward-{uuid.uuid4().hex}"
    store = FsspecBlobStore(url)

    def corrupt(digest: str) -> None:
        store.fs.pipe_file(store._path(digest), b"tampered")

    check_artifact_store(store, corrupt)


def test_open_blob_store_picks_by_url(tmp_path: Path) -> None:
    assert isinstance(open_blob_store(str(tmp_path)), LocalBlobStore)
    assert isinstance(open_blob_store(f"file://{tmp_path}"), LocalBlobStore)
    assert isinstance(open_blob_store("memory://x"), FsspecBlobStore)
