"""Steward's model format: how a trained model is stored, loaded and fed.

A model is a folder (``model/`` among a run's artifacts)::

    model/
      model.joblib       one scikit-learn Pipeline: preprocessing + estimator (joblib pickle)
      signature.json     the input / output contract, below
      requirements.txt   the packages (pinned) the model was trained with

``signature.json``::

    {
      "format_version": 1,
      "task": "classification" | "regression",
      "inputs": [{"name": "age", "type": "long", "categories": null, "nullable": false},
                 {"name": "sex", "type": "string", "categories": ["Female", "Male"], "nullable": true}],
      "outputs": {"prediction": {"type": "string"},
                  "probabilities": {"type": "double", "classes": ["<=50K", ">50K"]}},
      "classes": ["<=50K", ">50K"] | null,
      "files": {"model.joblib": "<sha256>"},
      "metadata": {...}                       # run id, spec hash, dataset version (optional)
    }

Input types are the logical types of ``steward.datasets``: ``double``, ``long``, ``string``,
``boolean``, ``datetime``. ``categories`` lists the values seen in training for a
categorical input (``null`` for the others).

Feeding a model: ``validate_input(frame, signature)`` checks a DataFrame against the
signature and returns it in signature order with training dtypes. A missing input, an extra
column (unless ``extra="drop"``), a value of the wrong type, or a missing value in a
non-nullable input raises ``InvalidArgument`` naming the field.

Unseen categories (a value of a categorical input never seen in training): by default
(``unseen="allow"``) they pass, and the model's encoder treats them as unknown: one-hot
encoding gives all zeros (or the "infrequent" column), ordinal encoding -1, target
encoding the training prior; ``unseen_categories`` lists them so a caller can log or flag
them. With ``unseen="error"`` they raise ``InvalidArgument`` naming the field and values.

``model.joblib`` is a pickle: load only models from a store you trust. ``load_model``
verifies its sha256 against ``signature.json`` before unpickling.

>>> from sklearn.linear_model import LogisticRegression
>>> import pandas as pd, tempfile
>>> X = pd.DataFrame({"x": [0.0, 1.0, 2.0, 3.0]}); y = [0, 0, 1, 1]
>>> sig = infer_signature(X, {"x": "numeric"}, task="classification", classes=[0, 1])
>>> folder = tempfile.mkdtemp()
>>> _ = save_model(folder, LogisticRegression().fit(X, y), sig)
>>> model, signature = load_model(folder)
>>> model.predict(validate_input(pd.DataFrame({"x": [3.5]}), signature)).tolist()
[1]
"""

from __future__ import annotations

import hashlib
import io
import json
import platform
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

import joblib
import numpy as np
import pandas as pd

from steward.core.errors import IntegrityError, InvalidArgument, NotFound
from steward.datasets.fingerprint import logical_type, to_arrow

FORMAT_VERSION = 1
MODEL_FILE = "model.joblib"
SIGNATURE_FILE = "signature.json"
REQUIREMENTS_FILE = "requirements.txt"
INPUT_TYPES = ("double", "long", "string", "boolean", "datetime")
_PINNED = ("mlsteward", "scikit-learn", "numpy", "pandas", "scipy", "joblib")


@dataclass(frozen=True)
class InputField:
    name: str
    type: str
    categories: list[Any] | None = None
    nullable: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "categories": self.categories,
            "nullable": self.nullable,
        }


@dataclass(frozen=True)
class Signature:
    inputs: list[InputField]
    outputs: dict[str, Any]
    task: Literal["classification", "regression"]
    classes: list[Any] | None = None
    files: dict[str, str] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.inputs]

    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": self.format_version,
            "task": self.task,
            "inputs": [f.to_dict() for f in self.inputs],
            "outputs": self.outputs,
            "classes": self.classes,
            "files": self.files,
            "metadata": self.metadata,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True, default=str)

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> Signature:
        try:
            version = int(doc.get("format_version", 1))
            if version > FORMAT_VERSION:
                raise InvalidArgument(
                    f"This model uses format version {version}; this Steward reads up to {FORMAT_VERSION}.",
                    field="format_version",
                )
            inputs = []
            for item in doc["inputs"]:
                if item["type"] not in INPUT_TYPES:
                    raise InvalidArgument(
                        f"Input {item['name']!r} has unknown type {item['type']!r}.", field=str(item["name"])
                    )
                inputs.append(
                    InputField(str(item["name"]), item["type"], item.get("categories"), bool(item.get("nullable")))
                )
            task = doc["task"]
            if task not in ("classification", "regression"):
                raise InvalidArgument(f"Unknown task {task!r} in signature.", field="task")
            return cls(
                inputs,
                dict(doc.get("outputs") or {}),
                task,
                doc.get("classes"),
                dict(doc.get("files") or {}),
                dict(doc.get("metadata") or {}),
                version,
            )
        except (KeyError, TypeError) as exc:
            raise InvalidArgument(f"signature.json is malformed: {exc!r}.", field="signature") from None


def _json_value(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def infer_signature(
    X: pd.DataFrame,  # noqa: N803
    feature_types: Mapping[str, str],
    *,
    task: Literal["classification", "regression"],
    classes: Sequence[Any] | None = None,
    nullable: Mapping[str, bool] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> Signature:
    """The signature of a model trained on ``X``: logical types from the data, categories as
    seen in training. ``nullable`` says which inputs may be missing (default: those that had
    missing values in training)."""
    arrow = to_arrow(X)
    inputs = []
    for name in feature_types:
        kind = logical_type(arrow.schema.field(name).type)
        cats = None
        if feature_types[name] == "categorical":
            cats = sorted({str(v) for v in X[name].dropna().tolist()})
        may_be_null = bool(X[name].isna().any()) if nullable is None else bool(nullable.get(name, False))
        inputs.append(InputField(name, kind, cats, may_be_null))
    class_list = [_json_value(c) for c in classes] if classes is not None else None
    if task == "classification":
        label_type = "string" if any(isinstance(c, str) for c in class_list or []) else "long"
        outputs: dict[str, Any] = {
            "prediction": {"type": label_type},
            "probabilities": {"type": "double", "classes": class_list},
        }
    else:
        outputs = {"prediction": {"type": "double"}}
    return Signature(inputs, outputs, task, class_list, metadata=dict(metadata or {}))


# feeding ----------------------------------------------------------------------------------
def _is_missing(s: pd.Series) -> np.ndarray:
    return np.asarray(s.isna().to_numpy(), dtype=bool)


def _coerce(f: InputField, s: pd.Series) -> pd.Series:
    missing = _is_missing(s)
    if missing.any() and not f.nullable:
        raise InvalidArgument(
            f"Input {f.name!r} must not be missing ({int(missing.sum())} missing value(s)).", field=f.name
        )
    present = s[~missing]
    bad: Any = None
    if f.type in ("double", "long"):
        if pd.api.types.is_bool_dtype(s.dtype):
            bad = present.iloc[0] if len(present) else None
        num = pd.to_numeric(s, errors="coerce")
        wrong = ~missing & num.isna().to_numpy()
        if wrong.any():
            bad = s[wrong].iloc[0]
        elif f.type == "long" and len(present) and not np.all(np.mod(num[~missing].to_numpy(dtype=float), 1) == 0):
            bad = s[~missing & (np.mod(num.to_numpy(dtype=float), 1) != 0)].iloc[0]
        if bad is None:
            out = num.astype("float64")
            return out.astype("int64") if f.type == "long" and not missing.any() else out
    elif f.type == "boolean":
        ok = present.map(lambda v: isinstance(v, bool | np.bool_))
        if not ok.all():
            bad = present[~ok].iloc[0]
        else:
            return s.astype(bool) if not missing.any() else s.astype(object)
    elif f.type == "datetime":
        try:
            return pd.to_datetime(s)
        except (ValueError, TypeError):
            bad = present.iloc[0] if len(present) else None
    else:
        ok = present.map(lambda v: isinstance(v, str | int | np.integer | bool | np.bool_))
        if not ok.all():
            bad = present[~ok].iloc[0]
        else:
            values = s.astype(object)
            return values.where(~pd.Series(missing, index=s.index), np.nan)
    bad = bad.item() if isinstance(bad, np.generic) else bad
    raise InvalidArgument(f"Input {f.name!r} must be of type {f.type}; got {bad!r}.", field=f.name)


def unseen_categories(frame: pd.DataFrame, signature: Signature) -> dict[str, list[str]]:
    """Values of categorical inputs that training never saw, per input."""
    out: dict[str, list[str]] = {}
    for f in signature.inputs:
        if f.categories is None or f.name not in frame.columns:
            continue
        known = set(f.categories)
        values = {str(v) for v in frame[f.name].dropna().tolist()}
        new = sorted(values - known)
        if new:
            out[f.name] = new
    return out


def validate_input(
    frame: pd.DataFrame,
    signature: Signature,
    *,
    extra: Literal["error", "drop"] = "error",
    unseen: Literal["allow", "error"] = "allow",
) -> pd.DataFrame:
    """Check ``frame`` against the signature; return it in signature order with training
    dtypes. See the module doc for the rules."""
    if not isinstance(frame, pd.DataFrame):
        raise InvalidArgument(f"Expected a pandas DataFrame, got {type(frame).__name__}.", field="inputs")
    names = signature.names
    missing = [n for n in names if n not in frame.columns]
    if missing:
        raise InvalidArgument(f"Missing input field(s) {missing}.", field=missing[0])
    extras = [str(c) for c in frame.columns if c not in set(names)]
    if extras and extra == "error":
        raise InvalidArgument(f"Unexpected input field(s) {extras}; the model takes {names}.", field=extras[0])
    if unseen == "error":
        new = unseen_categories(frame, signature)
        if new:
            name = next(iter(new))
            raise InvalidArgument(
                f"Input {name!r} has categories never seen in training: {new[name][:10]}.", field=name
            )
    return pd.DataFrame({f.name: _coerce(f, frame[f.name]) for f in signature.inputs}, index=frame.index)


# storing ----------------------------------------------------------------------------------
def requirements(extra_modules: Sequence[str] = ()) -> str:
    """Pinned versions of the packages a model needs, for ``requirements.txt``."""
    lines = [f"# python {platform.python_version()}"]
    for name in (*_PINNED, *extra_modules):
        try:
            lines.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            continue
    return "\n".join(dict.fromkeys(lines)) + "\n"


def model_files(estimator: Any, signature: Signature, *, extra_modules: Sequence[str] = ()) -> dict[str, bytes]:
    """The files of a model folder as bytes (for an artifact store); ``signature.files``
    gets the sha256 of the pickle."""
    buf = io.BytesIO()
    joblib.dump(estimator, buf)
    blob = buf.getvalue()
    signed = Signature(
        signature.inputs,
        signature.outputs,
        signature.task,
        signature.classes,
        {MODEL_FILE: hashlib.sha256(blob).hexdigest()},
        signature.metadata,
        signature.format_version,
    )
    return {
        MODEL_FILE: blob,
        SIGNATURE_FILE: signed.to_json().encode(),
        REQUIREMENTS_FILE: requirements(extra_modules).encode(),
    }


def save_model(path: str | Path, estimator: Any, signature: Signature, *, extra_modules: Sequence[str] = ()) -> Path:
    """Write a model folder; return its path."""
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in model_files(estimator, signature, extra_modules=extra_modules).items():
        (folder / name).write_bytes(data)
    return folder


def load_model_files(files: Mapping[str, bytes]) -> tuple[Any, Signature]:
    """Load a model from its files' bytes (``model.joblib``, ``signature.json``)."""
    if SIGNATURE_FILE not in files or MODEL_FILE not in files:
        absent = [n for n in (MODEL_FILE, SIGNATURE_FILE) if n not in files]
        raise NotFound("model file", absent[0], f"The model folder has no {absent[0]}.")
    try:
        doc = json.loads(files[SIGNATURE_FILE])
    except ValueError as exc:
        raise InvalidArgument(f"signature.json is not JSON: {exc}.", field="signature") from None
    signature = Signature.from_dict(doc)
    blob = files[MODEL_FILE]
    expected = signature.files.get(MODEL_FILE)
    actual = hashlib.sha256(blob).hexdigest()
    if expected and expected != actual:
        raise IntegrityError(f"{MODEL_FILE} hashes to {actual}, not {expected} as signed.", sha256=expected)
    return joblib.load(io.BytesIO(blob)), signature


def load_model(path: str | Path) -> tuple[Any, Signature]:
    """Load a model folder: ``(estimator, signature)``. The estimator is a fitted
    scikit-learn Pipeline that takes the frame ``validate_input`` returns."""
    folder = Path(path)
    if not folder.is_dir():
        raise NotFound("model", str(folder), f"No model folder at {str(folder)!r}.")
    files = {n: (folder / n).read_bytes() for n in (MODEL_FILE, SIGNATURE_FILE) if (folder / n).exists()}
    return load_model_files(files)
