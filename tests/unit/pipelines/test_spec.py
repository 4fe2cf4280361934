from __future__ import annotations

import pytest

from steward.core.errors import InvalidArgument
from steward.pipelines import parse_spec
from steward.pipelines.example import EXAMPLE_SPEC

MINIMAL = """\
name: demo
task: classification
data:
  source: {path: data.csv}
  target: y
model:
  estimator: sklearn.linear_model.LogisticRegression
"""


def test_example_spec_is_valid_and_hash_is_stable() -> None:
    spec = parse_spec(EXAMPLE_SPEC)
    assert spec.data.target == "income_per_year"
    assert spec.sha256() == parse_spec(EXAMPLE_SPEC + "\n# a comment changes nothing\n").sha256()
    assert len(spec.sha256()) == 64


def test_hash_covers_defaults_so_equivalent_specs_agree() -> None:
    explicit = MINIMAL + "seed: 0\nsplit: {strategy: stratified, test_size: 0.2}\n"
    assert parse_spec(explicit).sha256() == parse_spec(MINIMAL).sha256()
    assert parse_spec(MINIMAL + "seed: 1\n").sha256() != parse_spec(MINIMAL).sha256()


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("sed: 3\n", "line 8: sed: unknown key"),
        ("seed: three\n", "line 8: seed: must be an integer (got 'three')"),
        ("split:\n  strategy: random\n  test_sise: 0.3\n", "line 10: split.test_sise: unknown key"),
        ("split: {test_size: 1.5}\n", "line 8: split.test_size: Input should be less than 1"),
        ("split: {strategy: group}\n", "line 8: split: the group strategy needs 'group_column'"),
        ("validation:\n  - {rule: range, column: a, mx: 3}\n", "line 9: validation.0.mx: unknown key"),
        ("gates:\n  - {metric: auc, op: '~', value: 1}\n", "line 9: gates.0: gate (MetricGate) is invalid"),
        ("search:\n  space:\n    depth: {type: int, low: 5, high: 2}\n", "line 10: search.space.depth"),
        ("evaluation:\n  fairness: {parity: 0.1}\n", "line 9: evaluation.fairness: parity: Extra inputs"),
    ],
)
def test_bad_specs_name_the_line_and_the_key(extra: str, expected: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        parse_spec(MINIMAL + extra)
    assert expected in str(info.value)


def test_unknown_key_inside_a_source_is_located_on_its_line() -> None:
    text = MINIMAL.replace("{path: data.csv}", "{path: data.csv, formt: csv}")
    with pytest.raises(InvalidArgument, match=r"line 4: data\.source\.formt: unknown key") as info:
        parse_spec(text)
    assert info.value.field == "data.source.formt"


def test_source_without_a_known_kind_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="needs one of the keys 'path', 'package_dataset' or 'dataset'"):
        parse_spec(MINIMAL.replace("{path: data.csv}", "{url: http://x}"))


def test_missing_required_keys_are_listed() -> None:
    with pytest.raises(InvalidArgument, match="data: required key is missing"):
        parse_spec("name: x\ntask: regression\nmodel: {estimator: a.B}\n")


def test_invalid_yaml_names_the_line() -> None:
    with pytest.raises(InvalidArgument, match="line 2: not valid YAML"):
        parse_spec("name: x\n  task: [\n")


def test_duplicate_keys_are_refused() -> None:
    with pytest.raises(InvalidArgument, match="key 'seed' appears twice"):
        parse_spec(MINIMAL + "seed: 1\nseed: 2\n")


def test_stratified_regression_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="stratified split needs a classification task"):
        parse_spec(MINIMAL.replace("classification", "regression"))


def test_example_champion_lines_uncommented_make_a_valid_spec() -> None:
    text = (
        EXAMPLE_SPEC.replace(
            "  # - {metric: roc_auc, relative_to: champion", "  - {metric: roc_auc, relative_to: champion"
        )
        .replace("# registry:", "registry:")
        .replace("#   model:", "  model:")
        .replace("#   champion:", "  champion:")
    )
    spec = parse_spec(text)
    assert spec.registry is not None and (spec.registry.model, spec.registry.champion) == ("adult-income", "production")
    assert spec.champion_gates and not spec.registry.require_champion
    assert not parse_spec(EXAMPLE_SPEC).champion_gates
