from __future__ import annotations

import numpy as np
import pandas as pd

from steward.datasets import (
    CategoriesRule,
    DuplicatesRule,
    MissingRule,
    NotAllMissingRule,
    RangeRule,
    RequiredRule,
    TypeRule,
    default_rules,
    validate,
)


def people() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "age": [25, 40, 130, 33, 33],
            "sex": ["F", "M", "X", None, None],
            "empty": [np.nan] * 5,
        }
    )


def test_each_rule_reports_its_failures() -> None:
    report = validate(
        people(),
        [
            RequiredRule(columns=["age", "income"]),
            TypeRule(column="age", types=["long"]),
            MissingRule(column="sex", max_fraction=0.1),
            NotAllMissingRule(column="empty"),
            RangeRule(column="age", min=0, max=120),
            CategoriesRule(column="sex", values=["F", "M"]),
            DuplicatesRule(columns=["age", "sex"], severity="warning"),
        ],
    )
    by = {r.name: r for r in report.results}
    assert not by["required:age,income"].passed
    assert by["type:age"].passed
    assert not by["missing:sex"].passed and by["missing:sex"].failure_count == 2
    assert not by["not_all_missing:empty"].passed
    assert not by["range:age"].passed and by["range:age"].examples == [130]
    assert not by["categories:sex"].passed and by["categories:sex"].examples == ["X"]
    assert not by["duplicates:age,sex"].passed and by["duplicates:age,sex"].failure_count == 1


def test_only_error_rules_block() -> None:
    report = validate(
        people(),
        [
            RangeRule(column="age", max=120, severity="warning"),
            CategoriesRule(column="sex", values=["F", "M", "X"]),
        ],
    )
    assert report.passed
    assert [r.name for r in report.warnings] == ["range:age"]


def test_rule_on_missing_column_fails_with_its_name() -> None:
    report = validate(people(), [RangeRule(column="height", min=0)])
    assert not report.passed
    assert "'height' is missing" in report.results[0].message


def test_report_text_is_readable_and_lists_failures_first() -> None:
    report = validate(people(), [RangeRule(column="age", max=120), TypeRule(column="age", types=["long"])])
    text = report.to_text().splitlines()
    assert text[0].startswith("Data validation: FAILED (1 error(s)")
    assert text[1].startswith("  [FAIL] range:age")
    assert report.to_dict()["errors"] == 1


def test_default_rules_catch_missing_target_and_all_missing_columns() -> None:
    df = people().assign(y=[1, 0, np.nan, 1, 0])
    report = validate(df, default_rules(df, "y", ["age", "empty"]))
    failed = {r.name for r in report.blocking}
    assert failed == {"missing:y", "not_all_missing:empty"}
    assert {r.name for r in report.warnings} == set()
