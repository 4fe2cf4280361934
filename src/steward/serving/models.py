"""Serving domain types: what to serve (model references, deployments) and what can go wrong.

Pure: no I/O, no web framework.

>>> ModelRef.parse("churn@champion")
ModelRef(name='churn', alias='champion', version=None, path=None)
>>> parse_deployment("churn/3=churn-api").model.version
3
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from steward.core.errors import InvalidArgument, StewardError

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_ALIAS = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,255}$")


def check_name(kind: str, value: str) -> str:
    if not _NAME.match(value):
        raise InvalidArgument(
            f"The {kind} name must be 1-128 letters, digits, '.', '_' or '-', starting with a letter or "
            f"digit. Got {value!r} instead.",
            field=kind,
        )
    return value


@dataclass(frozen=True)
class ModelRef:
    """A model to serve: ``NAME@alias``, ``NAME/VERSION`` or a local model folder ``path:DIR``."""

    name: str
    alias: str | None = None
    version: int | None = None
    path: str | None = None

    @classmethod
    def parse(cls, text: str) -> ModelRef:
        text = text.strip()
        if text.startswith("path:"):
            path = text.removeprefix("path:")
            if not path:
                raise InvalidArgument("A 'path:' model reference needs a folder. Got 'path:'.", field="model")
            name = path.rstrip("/").rsplit("/", 1)[-1] or "model"
            return cls(name=re.sub(r"[^A-Za-z0-9._-]", "-", name), path=path)
        if "@" in text:
            name, _, alias = text.partition("@")
            if not _ALIAS.match(alias):
                raise InvalidArgument(
                    f"The alias in model reference {text!r} must be letters, digits, '.', '_' or '-'. "
                    f"Got {alias!r} instead.",
                    field="model",
                )
            return cls(name=_model_name(name, text), alias=alias)
        if "/" in text:
            name, _, version = text.rpartition("/")
            if not version.isdigit() or int(version) < 1:
                raise InvalidArgument(
                    f"The version in model reference {text!r} must be a positive integer. Got {version!r} instead.",
                    field="model",
                )
            return cls(name=_model_name(name, text), version=int(version))
        raise InvalidArgument(
            f"A model reference is NAME@alias, NAME/VERSION or path:DIR. Got {text!r} instead.", field="model"
        )

    def __str__(self) -> str:
        if self.path is not None:
            return f"path:{self.path}"
        return f"{self.name}@{self.alias}" if self.alias else f"{self.name}/{self.version}"


def _model_name(name: str, text: str) -> str:
    if not name or not name.strip() or len(name) > 256:
        raise InvalidArgument(f"The model name in {text!r} must be 1-256 characters.", field="model")
    return name


@dataclass(frozen=True)
class Batching:
    """Micro-batching limits of one deployment.

    ``max_wait_ms`` is how long the first request of a batch may wait for company. The default 0
    means "take whatever queued while the model was busy": under load batches fill by
    themselves, and a lone request never waits.
    """

    max_batch_size: int = 64
    max_wait_ms: float = 0.0
    # Native (OpenMP / BLAS) threads of one model call. One by default: a few rows do not split
    # well, and under load the spin-waiting pool of a HistGradientBoosting model made 10-row calls
    # 3-4x slower at the median here (0.4 ms against 1.5 ms); concurrency comes from workers.
    threads: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.max_batch_size <= 100_000:
            raise InvalidArgument(
                f"The 'max_batch_size' must be an integer in [1, 100000]. Got {self.max_batch_size} instead.",
                field="max_batch_size",
            )
        if not 1 <= self.threads <= 1024:
            raise InvalidArgument(
                f"The 'threads' must be an integer in [1, 1024]. Got {self.threads} instead.", field="threads"
            )
        if not 0 <= self.max_wait_ms <= 10_000:
            raise InvalidArgument(
                f"The 'max_wait_ms' must be a number of milliseconds in [0, 10000]. Got {self.max_wait_ms} instead.",
                field="max_wait_ms",
            )


@dataclass(frozen=True)
class DeploymentSpec:
    """One deployment of the model server: a name callers use and the model behind it."""

    name: str
    model: ModelRef
    batching: Batching = field(default_factory=Batching)


def parse_deployment(text: str, batching: Batching | None = None) -> DeploymentSpec:
    """``MODEL_REF[=DEPLOYMENT]``; the deployment is named after the model when omitted."""
    ref_text, sep, dep = text.rpartition("=") if "=" in text else (text, "", "")
    ref = ModelRef.parse(ref_text)
    name = dep if sep else ref.name
    return DeploymentSpec(check_name("deployment", name), ref, batching or Batching())


@dataclass(frozen=True)
class ResolvedModel:
    """A model reference pinned to one version and a local folder, resolved once at start-up."""

    name: str
    version: str
    path: str
    ref: str = ""


class InputError(InvalidArgument):
    """A request does not match the model's signature; ``field`` names the offending input."""

    code = "invalid_input"

    def __init__(self, message: str, *, field: str | None = None, errors: list[dict[str, str]] | None = None):
        super().__init__(message, field=field)
        self.errors = errors or [{"field": field or "", "message": message}]


class ModelError(StewardError):
    """The model raised while predicting (user code); counted and reported, never a bare 500."""

    code = "model_error"

    def __init__(self, deployment: str, version: str, cause: BaseException) -> None:
        super().__init__(
            f"Model {deployment!r} version {version} failed to predict: {type(cause).__name__}: {cause}"[:1000],
            deployment=deployment,
            version=version,
        )
        self.cause = cause
