"""Dataset version: a named table identified by the fingerprint of its content."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class DatasetVersion:
    """One version of a named dataset. ``parent_id`` is the version it replaced (lineage)."""

    id: str
    name: str
    digest: str
    source_type: str
    source: str
    schema: dict[str, Any] | None
    profile: dict[str, Any] | None
    num_rows: int | None
    parent_id: str | None
    created_at: int
    snapshot_sha256: str | None = None

    @property
    def ref(self) -> str:
        """A short human reference, ``name@digest12``, accepted wherever a version is named."""
        return f"{self.name}@{self.digest[:12]}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "digest": self.digest,
            "ref": self.ref,
            "source_type": self.source_type,
            "source": self.source,
            "num_rows": self.num_rows,
            "parent_id": self.parent_id,
            "created_at": self.created_at,
            "snapshot_sha256": self.snapshot_sha256,
        }
