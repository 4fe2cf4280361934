"""Dataset version use cases: register a table as a version of a named dataset, find a
version, read its data back. Each takes a unit of work and never commits.

The same content always maps to the same version (the digest is order- and layout-free, see
``fingerprint``); new content under a name becomes a new version whose ``parent_id`` is the
newest version before it. Every version keeps a Parquet snapshot of its rows in the
content-addressed artifact store, so a run can be rebuilt from the exact data it saw.
"""

from __future__ import annotations

import io
import re

import pandas as pd

from steward.artifacts.blobs import BlobStore
from steward.core.clock import now_ms
from steward.core.errors import IntegrityError, InvalidArgument, NotFound
from steward.core.ids import new_id
from steward.datasets.fingerprint import fingerprint
from steward.datasets.models import DatasetVersion
from steward.datasets.profile import profile_of, schema_of
from steward.datasets.repository import DatasetRepository
from steward.store.uow import UnitOfWork

_NAME = re.compile(r"^[\w\-.]{1,200}$")
_ID = re.compile(r"^[0-9a-f]{32}$")


def _repo(uow: UnitOfWork) -> DatasetRepository:
    return DatasetRepository(uow.session)


def check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidArgument(
            f"The dataset name must be 1-200 letters, digits or '_-.'. Got {name!r} instead.", field="name"
        )
    return name


def snapshot_bytes(df: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    df.reset_index(drop=True).to_parquet(buf, index=False)
    return buf.getvalue()


def register_version(
    uow: UnitOfWork,
    blobs: BlobStore,
    name: str,
    df: pd.DataFrame,
    *,
    source_type: str = "dataframe",
    source: str = "",
) -> tuple[DatasetVersion, bool]:
    """Register ``df`` as a version of dataset ``name``; return the version and whether it is new.

    Registering the same content again returns the existing version unchanged."""
    check_name(name)
    if df.shape[1] == 0:
        raise InvalidArgument("A dataset version needs at least one column.", field="data")
    digest = fingerprint(df)
    repo = _repo(uow)
    existing = repo.by_digest(name, digest)
    if existing is not None:
        if existing.snapshot_sha256 is None:
            data = snapshot_bytes(df)
            repo.set_snapshot(existing.id, blobs.put(data), len(data), now_ms())
            existing = repo.by_id(existing.id) or existing
        return existing, False
    previous = repo.versions(name)
    version = DatasetVersion(
        id=new_id(),
        name=name,
        digest=digest,
        source_type=source_type,
        source=source,
        schema=schema_of(df),
        profile=profile_of(df),
        num_rows=len(df),
        parent_id=previous[0].id if previous else None,
        created_at=max(now_ms(), previous[0].created_at + 1) if previous else now_ms(),
    )
    repo.add(version)
    data = snapshot_bytes(df)
    sha = blobs.put(data)
    repo.set_snapshot(version.id, sha, len(data), version.created_at)
    return DatasetVersion(**{**version.__dict__, "snapshot_sha256": sha}), True


def get_version(uow: UnitOfWork, ref: str) -> DatasetVersion:
    """A version by id, by ``name@digest-prefix`` (at least 6 hex digits), or by ``name``
    (the newest version)."""
    repo = _repo(uow)
    ref = (ref or "").strip()
    if _ID.match(ref):
        found = repo.by_id(ref)
        if found is not None:
            return found
    name, sep, prefix = ref.partition("@")
    if sep:
        if len(prefix) < 6 or not re.fullmatch(r"[0-9a-f]+", prefix):
            raise InvalidArgument(
                f"A dataset version reference is name@<at least 6 hex digits of the digest>. Got {ref!r}.",
                field="dataset",
            )
        matches = repo.by_digest_prefix(name, prefix)
        if len(matches) > 1:
            raise InvalidArgument(f"The reference {ref!r} matches several versions; give more digits.", field="dataset")
        if matches:
            return matches[0]
        raise NotFound("dataset version", ref)
    versions = repo.versions(name)
    if not versions:
        raise NotFound("dataset version", ref)
    return versions[0]


def list_versions(uow: UnitOfWork, name: str) -> list[DatasetVersion]:
    return _repo(uow).versions(name)


def lineage(uow: UnitOfWork, version: DatasetVersion) -> list[DatasetVersion]:
    """The version and its ancestors, newest first."""
    repo = _repo(uow)
    out = [version]
    seen = {version.id}
    while out[-1].parent_id and out[-1].parent_id not in seen:
        parent = repo.by_id(out[-1].parent_id)
        if parent is None:
            break
        seen.add(parent.id)
        out.append(parent)
    return out


def load_data(blobs: BlobStore, version: DatasetVersion) -> pd.DataFrame:
    """The rows of a version, read from its snapshot and checked against its digest."""
    if version.snapshot_sha256 is None:
        raise NotFound("dataset snapshot", version.ref, f"Dataset version {version.ref} has no stored data.")
    df = pd.read_parquet(io.BytesIO(blobs.get(version.snapshot_sha256)))
    actual = fingerprint(df)
    if actual != version.digest:
        raise IntegrityError(
            f"The data of dataset version {version.ref} fingerprints to {actual[:12]}, not {version.digest[:12]}.",
            dataset=version.id,
        )
    return df
