"""Persistence of dataset versions (tracking's ``datasets`` table) and their snapshots."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from steward.datasets.models import DatasetVersion
from steward.datasets.tables import DatasetSnapshotRow
from steward.tracking.tables import DatasetRow


class DatasetRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def _version(self, row: DatasetRow | None) -> DatasetVersion | None:
        if row is None:
            return None
        snap = self.session.get(DatasetSnapshotRow, row.id)
        return DatasetVersion(
            row.id,
            row.name,
            row.digest,
            row.source_type,
            row.source,
            row.schema,
            row.profile,
            row.num_rows,
            row.parent_id,
            row.created_at,
            snap.sha256 if snap else None,
        )

    def by_id(self, dataset_id: str) -> DatasetVersion | None:
        return self._version(self.session.get(DatasetRow, dataset_id))

    def by_digest(self, name: str, digest: str) -> DatasetVersion | None:
        return self._version(
            self.session.scalars(select(DatasetRow).where(DatasetRow.name == name, DatasetRow.digest == digest)).first()
        )

    def by_digest_prefix(self, name: str, prefix: str) -> list[DatasetVersion]:
        rows = self.session.scalars(
            select(DatasetRow).where(DatasetRow.name == name, DatasetRow.digest.startswith(prefix)).limit(2)
        )
        return [v for v in (self._version(r) for r in rows) if v is not None]

    def versions(self, name: str) -> list[DatasetVersion]:
        """Versions of a name, newest first."""
        rows = self.session.scalars(
            select(DatasetRow)
            .where(DatasetRow.name == name)
            .order_by(DatasetRow.created_at.desc(), DatasetRow.id.desc())
        )
        return [v for v in (self._version(r) for r in rows) if v is not None]

    def add(self, version: DatasetVersion) -> None:
        self.session.add(
            DatasetRow(
                id=version.id,
                name=version.name,
                digest=version.digest,
                source_type=version.source_type,
                source=version.source,
                schema=version.schema,
                profile=version.profile,
                num_rows=version.num_rows,
                parent_id=version.parent_id,
                created_at=version.created_at,
            )
        )
        self.session.flush()

    def set_snapshot(self, dataset_id: str, sha256: str, size: int, created_at: int) -> None:
        if self.session.get(DatasetSnapshotRow, dataset_id) is None:
            self.session.add(
                DatasetSnapshotRow(
                    dataset_id=dataset_id, sha256=sha256, format="parquet", size=size, created_at=created_at
                )
            )
            self.session.flush()
