"""Where a run's artifacts live in the path index: ``<experiment>/<run>/artifacts/<path>``, the
same layout MLflow's artifact proxy uses, so both APIs see the same files."""

from __future__ import annotations

from steward.artifacts import service as artifacts
from steward.artifacts.blobs import BlobStore
from steward.artifacts.repository import ArtifactFile
from steward.store.uow import UnitOfWork
from steward.tracking.service import get_run


def run_prefix(experiment_id: int, run_id: str) -> str:
    return f"{experiment_id}/{run_id}/artifacts"


def log_artifact(uow: UnitOfWork, blobs: BlobStore, run_id: str, path: str, data: bytes) -> ArtifactFile:
    run = get_run(uow, run_id)
    return artifacts.put_artifact(
        uow, blobs, f"{run_prefix(run.experiment_id, run.id)}/{artifacts.clean_path(path)}", data
    )


def read_artifact(uow: UnitOfWork, blobs: BlobStore, run_id: str, path: str) -> bytes:
    run = get_run(uow, run_id)
    return artifacts.read_artifact(uow, blobs, f"{run_prefix(run.experiment_id, run.id)}/{path}")


def list_artifacts(uow: UnitOfWork, run_id: str, folder: str = "") -> list[artifacts.DirEntry]:
    run = get_run(uow, run_id)
    prefix = run_prefix(run.experiment_id, run.id)
    base = f"{prefix}/{artifacts.clean_path(folder)}" if folder.strip("/") else prefix
    return [artifacts.DirEntry(e.path[len(prefix) + 1 :], e.is_dir, e.size) for e in artifacts.list_dir(uow, base)]
