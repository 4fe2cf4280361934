"""The training pipeline spec: a YAML document validated with pydantic.

Unknown keys and wrong types are refused with the line and the key named, e.g.::

    line 12: split.test_sise: unknown key
    line 4: data.sample: must be an integer (got 'many')

``steward init`` writes a commented example; ``load_spec`` reads one.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    model_validator,
)

from steward.core.errors import InvalidArgument
from steward.datasets.validation import Rule
from steward.evaluation.fairness import FairnessThresholds
from steward.evaluation.gates import parse_gates
from steward.pipelines._yaml import Loc, Located, load_located

SPEC_VERSION = 1
PACKAGE_DATASETS = ("adult", "acs_employment")


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class FileSource(_Spec):
    """A CSV or Parquet file; a relative path is relative to the spec's folder."""

    path: str
    format: Literal["csv", "parquet"] | None = None
    na_values: list[str] = Field(default_factory=list)


class PackageSource(_Spec):
    """A real dataset that ships inside an installed package (works offline)."""

    package_dataset: Literal["adult", "acs_employment"]


class DatasetSource(_Spec):
    """A registered dataset version: ``name`` (newest), ``name@digest-prefix`` or an id."""

    dataset: str


def _source_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        for key in ("path", "package_dataset", "dataset"):
            if key in value:
                return key
        return None
    if isinstance(value, BaseModel):
        return {FileSource: "path", PackageSource: "package_dataset", DatasetSource: "dataset"}.get(type(value))
    return None


Source = Annotated[
    Annotated[FileSource, Tag("path")]
    | Annotated[PackageSource, Tag("package_dataset")]
    | Annotated[DatasetSource, Tag("dataset")],
    Discriminator(
        _source_kind,
        custom_error_type="source_kind",
        custom_error_message="needs one of the keys 'path', 'package_dataset' or 'dataset'",
    ),
]

FeatureType = Literal["numeric", "categorical", "boolean"]


class DataSpec(_Spec):
    source: Source
    name: str | None = Field(default=None, description="Dataset name for versioning; default from the source.")
    target: str
    features: dict[str, FeatureType] | None = Field(
        default=None, description="Feature columns and their types; default every other column, inferred."
    )
    drop: list[str] = Field(default_factory=list)
    sample: int | None = Field(default=None, gt=0, description="Train on a seeded sample of this many rows.")
    positive_class: str | int | bool | None = None


class SplitSpec(_Spec):
    strategy: Literal["random", "stratified", "group", "temporal", "kfold"] = "stratified"
    test_size: float = Field(default=0.2, gt=0.0, lt=1.0)
    group_column: str | None = None
    time_column: str | None = None
    folds: int = Field(default=5, ge=2, le=50)

    @model_validator(mode="after")
    def _needs_columns(self) -> SplitSpec:
        if self.strategy == "group" and not self.group_column:
            raise ValueError("the group strategy needs 'group_column'")
        if self.strategy == "temporal" and not self.time_column:
            raise ValueError("the temporal strategy needs 'time_column'")
        return self


LeakageCheck = Literal["identical_rows", "group_overlap", "temporal_order", "target_leakage"]
_BLOCK_BY_DEFAULT: tuple[LeakageCheck, ...] = ("group_overlap", "temporal_order", "target_leakage")


class LeakageSpec(_Spec):
    block: list[LeakageCheck] = Field(
        default_factory=lambda: list(_BLOCK_BY_DEFAULT),
        description="Checks whose findings stop training; the others are reported only.",
    )
    threshold: float = Field(default=0.99, gt=0.5, le=1.0, description="AUC / R^2 of one feature alone.")
    max_identical_fraction: float = Field(default=0.0, ge=0.0, le=1.0)


class NumericPrep(_Spec):
    impute: Literal["mean", "median", "most_frequent", "none"] = "median"
    scale: Literal["standard", "minmax", "robust", "none"] = "standard"
    clip_quantiles: list[float] | None = Field(default=None, description="[lower, upper], e.g. [0.01, 0.99].")

    @model_validator(mode="after")
    def _clip(self) -> NumericPrep:
        q = self.clip_quantiles
        if q is not None and (len(q) != 2 or not 0.0 <= q[0] < q[1] <= 1.0):
            raise ValueError("clip_quantiles must be [lower, upper] with 0 <= lower < upper <= 1")
        return self


class CategoricalPrep(_Spec):
    impute: Literal["most_frequent", "constant", "none"] = "constant"
    encode: Literal["onehot", "ordinal", "target"] = "onehot"
    max_categories: int | None = Field(default=20, ge=2)


class PreprocessingSpec(_Spec):
    numeric: NumericPrep = NumericPrep()
    categorical: CategoricalPrep = CategoricalPrep()


class EstimatorSpec(_Spec):
    estimator: str = Field(description="Import path, e.g. sklearn.ensemble.HistGradientBoostingClassifier.")
    params: dict[str, Any] = Field(default_factory=dict)


class SearchParam(_Spec):
    type: Literal["int", "float", "categorical"]
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: list[str | int | float | bool | None] | None = None

    @model_validator(mode="after")
    def _shape(self) -> SearchParam:
        if self.type == "categorical":
            if not self.choices:
                raise ValueError("a categorical search parameter needs 'choices'")
        elif self.low is None or self.high is None or self.low >= self.high:
            raise ValueError("an int or float search parameter needs 'low' < 'high'")
        return self


class SearchSpec(_Spec):
    trials: int = Field(default=10, ge=1, le=10_000)
    metric: str | None = Field(default=None, description="A scikit-learn scorer name; default roc_auc / r2.")
    cv: int = Field(default=3, ge=2, le=20)
    space: dict[str, SearchParam]


def _check_fairness(value: dict[str, float | None]) -> dict[str, float | None]:
    try:
        FairnessThresholds.model_validate(value)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ValueError(f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from None
    return value


class EvaluationSpec(_Spec):
    metrics: list[str] = Field(
        default_factory=list,
        description="Headline metrics shown first by `steward train` (every metric is computed and logged).",
    )
    sensitive: list[str] = Field(default_factory=list)
    slices: list[str] = Field(default_factory=list)
    bootstrap: int = Field(default=200, ge=0, le=10_000)
    fairness: Annotated[dict[str, float | None], AfterValidator(_check_fairness)] | None = Field(
        default=None,
        description="Limits of the fairness checks, e.g. {demographic_parity_difference: 0.1}; null turns one off.",
    )
    learning_curve: bool = Field(
        default=True, description="Cross-validated learning curve on the training rows (random / stratified splits)."
    )
    min_support: int = Field(default=30, ge=1)


def _check_gate(value: dict[str, Any]) -> dict[str, Any]:
    try:
        parse_gates([value])
    except InvalidArgument as exc:
        raise ValueError(exc.message.replace("Gate 0 ", "gate ")) from None
    return value


GateSpec = Annotated[dict[str, Any], AfterValidator(_check_gate)]
"""A gate of ``steward.evaluation.gates``: ``{metric, op, value}``, e.g. ``accuracy > 0.8``,
or ``{metric, relative_to: baseline, max_degradation}``: no worse than the baseline by more
than that fraction."""


class RegistrySpec(_Spec):
    """The registered model this pipeline trains candidates for, and the alias of its champion:
    a gate ``relative_to: champion`` compares with the version that alias names at training time,
    scored on the same evaluation rows."""

    model: str = Field(min_length=1, max_length=256, description="The registered model's name.")
    champion: str = Field(default="champion", min_length=1, max_length=256, description="The champion's alias.")
    require_champion: bool = Field(
        default=False,
        description="Fail champion gates when there is no champion yet; by default they are not applicable.",
    )


REFERENCES = ("baseline", "champion")


class ReproduceSpec(_Spec):
    tolerance: float = Field(default=0.0, ge=0.0, description="Largest allowed |difference| of predictions.")
    threads: int = Field(
        default=1,
        ge=1,
        le=256,
        description="Native threads (OpenMP / BLAS) while training; 1 makes float sums bitwise-repeatable.",
    )


class CardSpec(_Spec):
    """What only people know, for the model card (the rest is filled in from the evaluation)."""

    description: str | None = None
    owners: list[str] = Field(default_factory=list)
    intended_use: str | None = None
    out_of_scope_use: str | None = None
    limitations: list[str] = Field(default_factory=list)
    ethical_considerations: str | None = None


class PipelineSpec(_Spec):
    version: Literal[1] = 1
    name: str = Field(min_length=1, max_length=200)
    experiment: str | None = None
    task: Literal["classification", "regression"]
    seed: int = 0
    data: DataSpec
    validation: list[Rule] = Field(default_factory=list)
    split: SplitSpec = SplitSpec()
    leakage: LeakageSpec = LeakageSpec()
    preprocessing: PreprocessingSpec = PreprocessingSpec()
    model: EstimatorSpec
    baseline: EstimatorSpec | None = None
    search: SearchSpec | None = None
    evaluation: EvaluationSpec = EvaluationSpec()
    gates: list[GateSpec] = Field(default_factory=list)
    registry: RegistrySpec | None = None
    reproduce: ReproduceSpec = ReproduceSpec()
    card: CardSpec = CardSpec()

    @model_validator(mode="after")
    def _consistent(self) -> PipelineSpec:
        if self.split.strategy == "stratified" and self.task == "regression":
            raise ValueError("the stratified split needs a classification task; use 'random'")
        for i, gate in enumerate(self.gates):
            ref = gate.get("relative_to")
            if ref is not None and ref not in REFERENCES:
                raise ValueError(f"gates[{i}].relative_to must be 'baseline' or 'champion' (got {ref!r})")
            if ref == "champion" and self.registry is None:
                raise ValueError(
                    f"gates[{i}] compares with the champion: add 'registry: {{model: NAME, champion: ALIAS}}'"
                )
        return self

    @property
    def champion_gates(self) -> bool:
        return any(g.get("relative_to") == "champion" for g in self.gates)

    @property
    def experiment_name(self) -> str:
        return self.experiment or self.name

    def canonical_json(self) -> str:
        """The spec with every default filled in, keys sorted: what the spec hash covers.
        An absent ``registry`` section is left out, so specs written before it hash as before."""
        doc = self.model_dump(mode="json")
        if doc.get("registry") is None:
            doc.pop("registry", None)
        return json.dumps(doc, sort_keys=True, separators=(",", ":"))

    def sha256(self) -> str:
        return hashlib.sha256(self.canonical_json().encode()).hexdigest()


# errors ----------------------------------------------------------------------------------------
def _walk(loc: tuple[Any, ...], data: Any) -> tuple[Loc, bool]:
    """The part of a pydantic error location that exists in the document (union tags dropped),
    and whether its last element is a key that is absent from the document."""
    path: list[str | int] = []
    node = data
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        in_dict = isinstance(node, dict) and part in node and (last or isinstance(node[part], dict | list))
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if in_dict or in_list:
            path.append(part)
            node = node[part]
        elif last and isinstance(part, str):
            path.append(part)
            return tuple(path), True
    return tuple(path), False


_TYPE_WORDS = {
    "int_type": "an integer",
    "float_type": "a number",
    "string_type": "a string",
    "bool_type": "true or false",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
}


def _message(err: Any, value_present: bool) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        return "unknown key"
    if kind == "missing":
        return "required key is missing"
    if kind in _TYPE_WORDS:
        return f"must be {_TYPE_WORDS[kind]} (got {err.get('input')!r})"
    msg = str(err["msg"]).removeprefix("Value error, ")
    if value_present and "input" in err and not isinstance(err["input"], dict | list):
        msg += f" (got {err['input']!r})"
    return msg


def format_errors(exc: ValidationError, doc: Located) -> str:
    lines = []
    for err in exc.errors():
        path, absent = _walk(tuple(err["loc"]), doc.data)
        line = doc.line_of(path[:-1] if absent else path)
        key = ".".join(str(p) for p in path) or "(top level)"
        where = f"line {line}: " if line else ""
        lines.append(f"{where}{key}: {_message(err, not absent)}")
    return "; ".join(dict.fromkeys(lines))


def parse_spec(text: str) -> PipelineSpec:
    """Validate a spec given as YAML text.

    >>> spec = parse_spec('''
    ... name: demo
    ... task: classification
    ... data: {source: {path: d.csv}, target: y}
    ... model: {estimator: sklearn.linear_model.LogisticRegression}
    ... ''')
    >>> spec.split.strategy, spec.seed
    ('stratified', 0)
    >>> parse_spec("name: x\\ntask: classification\\nsed: 1\\n")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    steward.core.errors.InvalidArgument: line 1: data: required key is missing; ...; line 3: sed: unknown key
    """
    doc = load_located(text)
    if not isinstance(doc.data, dict):
        raise InvalidArgument("The pipeline spec must be a YAML mapping.", field="spec")
    try:
        return PipelineSpec.model_validate(doc.data)
    except ValidationError as exc:
        first = exc.errors()[0]
        path, _ = _walk(tuple(first["loc"]), doc.data)
        raise InvalidArgument(format_errors(exc, doc), field=".".join(str(p) for p in path) or "spec") from None


def load_spec(path: str | Path) -> tuple[PipelineSpec, str]:
    """Read and validate a spec file; return the spec and its text."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidArgument(f"No pipeline spec at {str(p)!r}.", field="spec") from None
    return parse_spec(text), text
