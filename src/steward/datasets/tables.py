"""Dataset tables beyond tracking's ``datasets``: the stored snapshot of each version's data,
so that a run can be rebuilt from the exact rows it trained on."""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from steward.store.base import Base


class DatasetSnapshotRow(Base):
    """The content of a dataset version as a Parquet blob in the artifact store."""

    __tablename__ = "dataset_snapshots"

    dataset_id: Mapped[str] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    format: Mapped[str] = mapped_column(String(16), default="parquet")
    size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[int] = mapped_column(BigInteger)
