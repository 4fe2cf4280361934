"""The path index: which blob a logical artifact path points to."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from steward.artifacts.tables import ArtifactFileRow


@dataclass(frozen=True)
class ArtifactFile:
    path: str
    sha256: str
    size: int
    created_at: int


def _to_file(row: ArtifactFileRow) -> ArtifactFile:
    return ArtifactFile(row.path, row.sha256, row.size, row.created_at)


class ArtifactIndex:
    def __init__(self, session: Session) -> None:
        self.session = session

    def put(self, path: str, sha256: str, size: int, created_at: int) -> ArtifactFile:
        row = self.session.get(ArtifactFileRow, path)
        if row is None:
            row = ArtifactFileRow(path=path, sha256=sha256, size=size, created_at=created_at)
            self.session.add(row)
        else:
            row.sha256, row.size, row.created_at = sha256, size, created_at
        self.session.flush()
        return _to_file(row)

    def get(self, path: str) -> ArtifactFile | None:
        row = self.session.get(ArtifactFileRow, path)
        return _to_file(row) if row else None

    def list_prefix(self, prefix: str) -> list[ArtifactFile]:
        """Every file whose path starts with ``prefix`` (a folder path ending in '/')."""
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        rows = self.session.scalars(
            select(ArtifactFileRow)
            .where(ArtifactFileRow.path.like(escaped + "%", escape="\\"))
            .order_by(ArtifactFileRow.path)
        )
        return [_to_file(r) for r in rows]

    def delete(self, path: str) -> bool:
        row = self.session.get(ArtifactFileRow, path)
        if row is None:
            return False
        self.session.delete(row)
        return True
