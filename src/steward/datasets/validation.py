"""Data validation before training, with pandera doing the checking.

A rule names what it checks, on which column, and its ``severity``: a failed ``error`` rule
blocks training, a failed ``warning`` rule is reported and training goes on.

Rules (the ``rule`` key picks one):

=================  =============================================================
``required``       the columns exist
``type``           a column's logical type is one of ``types`` (long, double, ...)
``missing``        at most ``max_fraction`` of a column's values are missing
``not_all_missing``  a column has at least one value
``range``          values lie in [``min``, ``max``] (missing values are ignored)
``categories``     values belong to ``values`` (missing values are ignored)
``duplicates``     no duplicated rows (over ``columns``, default all of them)
=================  =============================================================

>>> import pandas as pd
>>> df = pd.DataFrame({"age": [20, 130], "sex": ["F", "X"]})
>>> report = validate(df, [RangeRule(column="age", min=0, max=120),
...                        CategoriesRule(column="sex", values=["F", "M"], severity="warning")])
>>> report.passed, [r.name for r in report.blocking]
(False, ['range:age'])
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Annotated, Any, Literal

import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors
from pydantic import BaseModel, ConfigDict, Field

from steward.datasets.fingerprint import describe_types

Severity = Literal["error", "warning"]
_EXAMPLES = 5


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)
    severity: Severity = "error"


class RequiredRule(_Rule):
    rule: Literal["required"] = "required"
    columns: list[str]


class TypeRule(_Rule):
    rule: Literal["type"] = "type"
    column: str
    types: list[Literal["long", "double", "boolean", "string", "datetime"]]


class MissingRule(_Rule):
    rule: Literal["missing"] = "missing"
    column: str
    max_fraction: float = Field(default=0.0, ge=0.0, le=1.0)


class NotAllMissingRule(_Rule):
    rule: Literal["not_all_missing"] = "not_all_missing"
    column: str


class RangeRule(_Rule):
    rule: Literal["range"] = "range"
    column: str
    min: float | None = None
    max: float | None = None


class CategoriesRule(_Rule):
    rule: Literal["categories"] = "categories"
    column: str
    values: list[str | int | float | bool]


class DuplicatesRule(_Rule):
    rule: Literal["duplicates"] = "duplicates"
    columns: list[str] | None = None


Rule = Annotated[
    RequiredRule | TypeRule | MissingRule | NotAllMissingRule | RangeRule | CategoriesRule | DuplicatesRule,
    Field(discriminator="rule"),
]


def rule_name(rule: _Rule) -> str:
    kind = str(getattr(rule, "rule", "rule"))
    column = getattr(rule, "column", None)
    if column is not None:
        return f"{kind}:{column}"
    cols = getattr(rule, "columns", None)
    return f"{kind}:{','.join(cols)}" if cols else kind


@dataclass(frozen=True)
class RuleResult:
    name: str
    rule: str
    severity: str
    passed: bool
    message: str
    failure_count: int = 0
    examples: list[Any] = field(default_factory=list)


@dataclass(frozen=True)
class ValidationReport:
    num_rows: int
    results: list[RuleResult]

    @property
    def blocking(self) -> list[RuleResult]:
        return [r for r in self.results if not r.passed and r.severity == "error"]

    @property
    def warnings(self) -> list[RuleResult]:
        return [r for r in self.results if not r.passed and r.severity == "warning"]

    @property
    def passed(self) -> bool:
        return not self.blocking

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "num_rows": self.num_rows,
            "errors": len(self.blocking),
            "warnings": len(self.warnings),
            "results": [asdict(r) for r in self.results],
        }

    def to_text(self) -> str:
        """A readable report: one line per rule, failures first."""
        lines = [
            f"Data validation: {'passed' if self.passed else 'FAILED'} "
            f"({len(self.blocking)} error(s), {len(self.warnings)} warning(s), {self.num_rows} rows)"
        ]
        for r in sorted(self.results, key=lambda r: (r.passed, r.severity != "error", r.name)):
            mark = "ok  " if r.passed else ("FAIL" if r.severity == "error" else "WARN")
            lines.append(f"  [{mark}] {r.name}: {r.message}")
        return "\n".join(lines)


def _examples(failures: pd.DataFrame) -> list[Any]:
    values = failures["failure_case"].head(_EXAMPLES).tolist()
    return [None if (isinstance(v, float) and v != v) else v for v in values]


def _run(schema: pa.DataFrameSchema, df: pd.DataFrame) -> pd.DataFrame | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pandera's own advisory warnings say nothing about the data
            schema.validate(df, lazy=True)
    except SchemaErrors as exc:
        return exc.failure_cases
    return None


def _column_check(rule: _Rule, column: str, check: pa.Check) -> pa.DataFrameSchema:
    return pa.DataFrameSchema({column: pa.Column(checks=check, nullable=True, coerce=False)}, name=rule_name(rule))


def _check_required(rule: RequiredRule, df: pd.DataFrame) -> RuleResult:
    missing = [c for c in rule.columns if c not in df.columns]
    msg = "all present" if not missing else f"missing column(s) {missing}"
    return RuleResult(rule_name(rule), rule.rule, rule.severity, not missing, msg, len(missing), missing)


def _check_type(rule: TypeRule, df: pd.DataFrame) -> RuleResult:
    actual = describe_types(df[[rule.column]])[rule.column]
    ok = actual in rule.types
    msg = f"type {actual}" + ("" if ok else f", expected one of {rule.types}")
    return RuleResult(rule_name(rule), rule.rule, rule.severity, ok, msg, 0 if ok else 1, [] if ok else [actual])


def _check_missing(rule: MissingRule, df: pd.DataFrame) -> RuleResult:
    frac = float(df[rule.column].isna().mean()) if len(df) else 0.0
    check = pa.Check(lambda s: bool(s.isna().mean() <= rule.max_fraction), element_wise=False, ignore_na=False)
    failures = _run(_column_check(rule, rule.column, check), df)
    ok = failures is None
    count = int(df[rule.column].isna().sum())
    msg = f"{count} missing ({frac:.1%}); allowed at most {rule.max_fraction:.1%}"
    return RuleResult(rule_name(rule), rule.rule, rule.severity, ok, msg, 0 if ok else count)


def _check_not_all_missing(rule: NotAllMissingRule, df: pd.DataFrame) -> RuleResult:
    check = pa.Check(lambda s: bool(s.notna().any()), element_wise=False, ignore_na=False)
    ok = _run(_column_check(rule, rule.column, check), df) is None
    msg = "has values" if ok else "every value is missing"
    return RuleResult(rule_name(rule), rule.rule, rule.severity, ok, msg, 0 if ok else len(df))


def _check_values(rule: RangeRule | CategoriesRule, df: pd.DataFrame) -> RuleResult:
    if isinstance(rule, RangeRule):
        if rule.min is not None and rule.max is not None:
            check = pa.Check.in_range(rule.min, rule.max)
        elif rule.min is not None:
            check = pa.Check.ge(rule.min)
        elif rule.max is not None:
            check = pa.Check.le(rule.max)
        else:
            return RuleResult(rule_name(rule), rule.rule, rule.severity, True, "no bounds given")
        what = f"in [{rule.min}, {rule.max}]"
    else:
        check = pa.Check.isin(list(rule.values))
        what = f"in {list(rule.values)}"
    failures = _run(_column_check(rule, rule.column, check), df)
    if failures is None:
        return RuleResult(rule_name(rule), rule.rule, rule.severity, True, f"all values {what}")
    if "dtype" in " ".join(str(c) for c in failures["check"].tolist()) or failures["index"].isna().all():
        count = len(df)
    else:
        count = len(failures)
    return RuleResult(
        rule_name(rule),
        rule.rule,
        rule.severity,
        False,
        f"{count} value(s) not {what}",
        count,
        _examples(failures),
    )


def _check_duplicates(rule: DuplicatesRule, df: pd.DataFrame) -> RuleResult:
    cols = list(rule.columns or df.columns)
    absent = [c for c in cols if c not in df.columns]
    if absent:
        return RuleResult(rule_name(rule), rule.rule, rule.severity, False, f"missing column(s) {absent}")
    schema = pa.DataFrameSchema(unique=cols, report_duplicates="exclude_first", name=rule_name(rule))
    failures = _run(schema, df)
    if failures is None:
        return RuleResult(rule_name(rule), rule.rule, rule.severity, True, "no duplicated rows")
    count = int(df.duplicated(subset=cols).sum())
    return RuleResult(
        rule_name(rule),
        rule.rule,
        rule.severity,
        False,
        f"{count} duplicated row(s) over {len(cols)} column(s)",
        count,
        [int(i) for i in failures["index"].dropna().head(_EXAMPLES)],
    )


_CHECKS: dict[str, Callable[[Any, pd.DataFrame], RuleResult]] = {
    "required": _check_required,
    "type": _check_type,
    "missing": _check_missing,
    "not_all_missing": _check_not_all_missing,
    "range": _check_values,
    "categories": _check_values,
    "duplicates": _check_duplicates,
}


def validate(df: pd.DataFrame, rules: Sequence[_Rule]) -> ValidationReport:
    """Run every rule over ``df``; a rule on an absent column fails with that message."""
    results = []
    for rule in rules:
        column = getattr(rule, "column", None)
        if column is not None and column not in df.columns:
            results.append(
                RuleResult(
                    rule_name(rule),
                    str(getattr(rule, "rule", "")),
                    rule.severity,
                    False,
                    f"column {column!r} is missing",
                    1,
                )
            )
            continue
        results.append(_CHECKS[str(getattr(rule, "rule", ""))](rule, df))
    return ValidationReport(len(df), results)


def default_rules(df: pd.DataFrame, target: str, features: Sequence[str]) -> list[_Rule]:
    """Rules every training run checks: the columns exist, the target has no missing value,
    no column is entirely missing (errors); no duplicated rows (warning)."""
    rules: list[_Rule] = [
        RequiredRule(columns=[target, *features]),
        MissingRule(column=target, max_fraction=0.0),
    ]
    rules += [NotAllMissingRule(column=c) for c in [target, *features] if c in df.columns]
    rules.append(DuplicatesRule(severity="warning"))
    return rules
