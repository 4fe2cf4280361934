"""Registered models as evaluation references: the champion a candidate is gated against, and
``NAME@alias`` / ``NAME/VERSION`` references for ``steward evaluate``.

The champion is the version the spec's ``registry.champion`` alias names when training starts.
It is scored on the candidate's own evaluation rows, so the two are compared on the same split.
Before the first promotion there is no champion: its gates are then not applicable (or fail,
when the spec sets ``registry.require_champion``).
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from steward.core.errors import InvalidArgument, NotFound, StewardError
from steward.pipelines import model_format
from steward.pipelines.model_format import Signature
from steward.pipelines.spec import PipelineSpec
from steward.registry.models import ModelVersion
from steward.runtime import Runtime

_REGISTRY_REF = re.compile(r"^[^@/]+(@[^@/]+|/\d+)$")


@dataclass
class Champion:
    """The registered version a candidate is compared with, or why there is none yet."""

    model: str
    alias: str
    version: int | None = None
    run_id: str | None = None
    estimator: Any = None
    signature: Signature | None = None
    missing: str = ""

    @property
    def found(self) -> bool:
        return self.version is not None

    @property
    def ref(self) -> str:
        """``NAME/VERSION`` of the champion compared with, or ``NAME@alias`` when there is none."""
        return f"{self.model}/{self.version}" if self.found else f"{self.model}@{self.alias}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "alias": self.alias,
            "version": self.version,
            "ref": self.ref,
            "run_id": self.run_id,
            "missing": self.missing or None,
        }


def is_registry_ref(text: str) -> bool:
    """Whether ``text`` reads as ``NAME@alias`` or ``NAME/VERSION`` (not a run id or a folder)."""
    return bool(_REGISTRY_REF.match(text.strip()))


def load_version_model(runtime: Runtime, version: ModelVersion) -> tuple[Any, Signature]:
    """The estimator and signature of a registered version's model folder."""
    names = (model_format.MODEL_FILE, model_format.SIGNATURE_FILE)
    if version.source.startswith("runs:/"):
        from steward.tracking import artifacts as run_artifacts

        run_id, _, folder = version.source.removeprefix("runs:/").partition("/")
        folder = folder.strip("/")
        with runtime.uow() as uow:
            paths = {n: f"{folder}/{n}" if folder else n for n in names}
            files = {n: run_artifacts.read_artifact(uow, runtime.blobs, run_id, path) for n, path in paths.items()}
        return model_format.load_model_files(files)
    from steward.serving.loader import materialize  # any other source: copy the folder, verified

    with tempfile.TemporaryDirectory(prefix="steward-model-") as tmp:
        with runtime.uow() as uow:
            folder_path = materialize(uow, runtime.blobs, version.source, Path(tmp) / "model")
        return model_format.load_model(folder_path)


def resolve_registered(runtime: Runtime, ref: str) -> tuple[ModelVersion, Any, Signature]:
    """Load the version ``NAME@alias`` or ``NAME/VERSION`` names; ``NotFound`` names ``ref``."""
    from steward.registry import service as registry
    from steward.serving.models import ModelRef

    parsed = ModelRef.parse(ref)
    with runtime.uow() as uow:
        try:
            if parsed.alias is not None:
                version = registry.version_by_alias(uow, parsed.name, parsed.alias)
            else:
                version = registry.get_version(uow, parsed.name, parsed.version)
        except NotFound as exc:
            raise NotFound(exc.kind, ref, f"No registered model version {ref!r}: {exc.message}") from None
    estimator, signature = load_version_model(runtime, version)
    return version, estimator, signature


def find_champion(runtime: Runtime, spec: PipelineSpec) -> Champion | None:
    """The champion the spec's ``registry`` section names, loaded; None without that section."""
    from steward.registry import service as registry

    if spec.registry is None:
        return None
    name, alias = spec.registry.model, spec.registry.champion
    with runtime.uow() as uow:
        try:
            version = registry.version_by_alias(uow, name, alias)
        except NotFound as exc:  # no such model, or no version holds the alias yet
            return Champion(name, alias, missing=f"no champion yet ({exc.message})")
    try:
        estimator, signature = load_version_model(runtime, version)
    except StewardError as exc:  # e.g. a version registered from a non-Steward model folder
        raise InvalidArgument(
            f"The champion {name}/{version.version} (alias {alias!r}) cannot be loaded: {exc.message}",
            field="registry.model",
        ) from exc
    return Champion(name, alias, version.version, version.run_id, estimator, signature)
