"""Model loading behind two small ports.

- :class:`ModelResolver` pins a :class:`ModelRef` (``NAME@alias``, ``NAME/VERSION``,
  ``path:DIR``) to one version and a local folder. :class:`RegistryResolver` asks the registry
  once, at start-up, and copies the version's artifacts (verified against their sha256) into a
  local cache, so that the model server never touches the database on the request path.
- :class:`ModelLoader` turns a model folder into ``(estimator, signature)``.
  :func:`load_model_folder` is the real one: Steward's model format
  (``steward.pipelines.model_format``: ``model.joblib`` + ``signature.json``).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from steward.artifacts.blobs import BlobStore
from steward.core.errors import InvalidArgument, NotFound
from steward.serving.models import ModelRef, ResolvedModel
from steward.store.uow import UnitOfWork, UnitOfWorkFactory


@dataclass(frozen=True)
class LoadedModel:
    estimator: Any
    signature: dict[str, Any]


class ModelLoader(Protocol):
    def __call__(self, path: str) -> LoadedModel: ...


class ModelResolver(Protocol):
    def resolve(self, ref: ModelRef) -> ResolvedModel: ...


def signature_dict(signature: Any) -> dict[str, Any]:
    """The signature as the plain mapping of ``signature.json``, whatever object carries it."""
    if isinstance(signature, Mapping):
        return dict(signature)
    for method in ("to_dict", "model_dump", "as_dict"):
        if hasattr(signature, method):
            out = getattr(signature, method)()
            if isinstance(out, Mapping):
                return dict(out)
    if dataclasses.is_dataclass(signature) and not isinstance(signature, type):
        return dataclasses.asdict(signature)
    raise TypeError(f"Cannot read a model signature from {type(signature).__name__}.")


def load_model_folder(path: str) -> LoadedModel:
    """Load a Steward model folder with the model format's own loader."""
    from steward.pipelines.model_format import load_model

    estimator, signature = load_model(Path(path))
    return LoadedModel(estimator, signature_dict(signature))


class RegistryResolver:
    """Resolves through the registry and materialises the version's folder under ``cache``."""

    def __init__(self, uow: UnitOfWorkFactory, blobs: BlobStore, cache: str | Path) -> None:
        self.uow = uow
        self.blobs = blobs
        self.cache = Path(cache)

    def resolve(self, ref: ModelRef) -> ResolvedModel:
        if ref.path is not None:
            return resolve_path(ref)
        with self.uow() as uow:
            name, version, source = registry_version(uow, ref)
            target = self.cache / _safe(name) / f"v{version}"
            if not target.exists():
                materialize(uow, self.blobs, source, target)
        return ResolvedModel(name, str(version), str(target), str(ref))


class PathResolver:
    """Resolves only ``path:DIR`` references (no registry needed)."""

    def resolve(self, ref: ModelRef) -> ResolvedModel:
        if ref.path is None:
            raise InvalidArgument(f"{ref} names a registered model; this resolver serves folders only.", field="model")
        return resolve_path(ref)


def resolve_path(ref: ModelRef) -> ResolvedModel:
    assert ref.path is not None
    path = Path(ref.path).expanduser().resolve()
    if not path.is_dir():
        raise NotFound("model folder", str(path))
    return ResolvedModel(ref.name, "local", str(path), str(ref))


def registry_version(uow: UnitOfWork, ref: ModelRef) -> tuple[str, int, str]:
    """(model name, version, source) of the version ``ref`` names right now."""
    from steward.registry import service as registry

    if ref.alias is not None:
        v = registry.version_by_alias(uow, ref.name, ref.alias)
    else:
        v = registry.get_version(uow, ref.name, ref.version)
    return v.model_name, v.version, v.source


def artifact_prefix(uow: UnitOfWork, source: str) -> str | None:
    """The artifact-index folder a version's ``source`` points to (None for a local folder)."""
    if source.startswith("runs:/"):
        from steward.tracking.artifacts import run_prefix

        run_id, _, sub = source.removeprefix("runs:/").partition("/")
        run = uow.tracking.run_row(run_id)
        if run is None:
            raise NotFound("run", run_id)
        return f"{run_prefix(run.experiment_id, run.id)}/{sub.strip('/')}".rstrip("/")
    if source.startswith("mlflow-artifacts:"):
        rest = source.removeprefix("mlflow-artifacts:").lstrip("/")
        if source.startswith("mlflow-artifacts://"):
            rest = rest.partition("/")[2]  # drop the host
        return rest.strip("/")
    if source.startswith("models:/"):
        logged = uow.registry.logged_model_row(source.removeprefix("models:/").strip("/"))
        if logged is None:
            raise NotFound("logged_model", source)
        return artifact_prefix(uow, logged.artifact_location)
    if source.startswith("file://") or source.startswith("/"):
        return None
    return source.strip("/")


def materialize(uow: UnitOfWork, blobs: BlobStore, source: str, target: Path) -> Path:
    """Copy the model folder ``source`` names to ``target`` (atomically: all files or none)."""
    prefix = artifact_prefix(uow, source)
    if prefix is None:
        local = Path(source.removeprefix("file://"))
        if not local.is_dir():
            raise NotFound("model folder", str(local))
        files = [(p.relative_to(local).as_posix(), p.read_bytes()) for p in local.rglob("*") if p.is_file()]
    else:
        entries = uow.artifacts.list_prefix(prefix + "/")
        files = [(e.path[len(prefix) + 1 :], blobs.get(e.sha256)) for e in entries]
    if not files:
        raise InvalidArgument(f"The model source {source!r} holds no files.", field="source")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}-"))
    try:
        for rel, data in files:
            out = staging / rel
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(data)
        os.replace(staging, target)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)
        if not target.exists():
            raise
    return target


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in name)
