"""The MLflow filter grammar: what parses to what, what is refused (naming the token), and
round-trip properties over generated filters."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from steward.core.errors import InvalidArgument
from steward.tracking.search import (
    EXPERIMENTS,
    LOGGED_MODELS,
    MODEL_VERSIONS,
    REGISTERED_MODELS,
    RUNS,
    Comparison,
    Kind,
    OrderKey,
    compare,
    like_to_regex,
    parse_filter,
    parse_order_by,
)

A, M, P, T, D = Kind.ATTRIBUTE, Kind.METRIC, Kind.PARAM, Kind.TAG, Kind.DATASET


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "metrics.x > 0.9 and params.model = 'rf' and tags.t LIKE '%a%' and attributes.status = 'FINISHED'",
            [
                Comparison(M, "x", ">", 0.9),
                Comparison(P, "model", "=", "rf"),
                Comparison(T, "t", "LIKE", "%a%"),
                Comparison(A, "status", "=", "FINISHED"),
            ],
        ),
        ("metric.acc >= -1e3", [Comparison(M, "acc", ">=", -1000.0)]),
        ("metrics.acc<.5", [Comparison(M, "acc", "<", 0.5)]),
        ("metrics.x>-1", [Comparison(M, "x", ">", -1.0)]),
        ("metrics.`val loss` != 2", [Comparison(M, "val loss", "!=", 2.0)]),
        ('metrics."val loss" = 2', [Comparison(M, "val loss", "=", 2.0)]),
        ("`metrics`.`a` > 1", [Comparison(M, "a", ">", 1.0)]),
        ("metrics.a.b.c > 1", [Comparison(M, "a.b.c", ">", 1.0)]),
        ("metrics.1 > 2", [Comparison(M, "1", ">", 2.0)]),
        ('params.a = "double"', [Comparison(P, "a", "=", "double")]),
        ("parameters.a ILIKE 'X%'", [Comparison(P, "a", "ILIKE", "X%")]),
        ("tags.`mlflow.runName` = 'r'", [Comparison(T, "mlflow.runName", "=", "r")]),
        ("tags.mlflow.source.type = 'LOCAL'", [Comparison(T, "mlflow.source.type", "=", "LOCAL")]),
        ("tags.t is null", [Comparison(T, "t", "IS NULL", None)]),
        ("params.p IS NOT NULL", [Comparison(P, "p", "IS NOT NULL", None)]),
        ("run_id IN ('a', 'b',)", [Comparison(A, "run_id", "IN", ("a", "b"))]),
        ('attributes.run_id not in ("a")', [Comparison(A, "run_id", "NOT IN", ("a",))]),
        ("status = 'RUNNING'", [Comparison(A, "status", "=", "RUNNING")]),
        ("attr.start_time >= 10", [Comparison(A, "start_time", ">=", 10)]),
        ("created > 1.5", [Comparison(A, "start_time", ">", 1.5)]),
        ("attributes.`run name` = 'x'", [Comparison(A, "run_name", "=", "x")]),
        ("datasets.name IN ('train', 'test')", [Comparison(D, "name", "IN", ("train", "test"))]),
        ("dataset.context = 'training'", [Comparison(D, "context", "=", "training")]),
        # MLflow keeps the text between the quotes as it is: '' is not unescaped.
        ("params.a = 'it''s'", [Comparison(P, "a", "=", "it''s")]),
        ("params.a = ''", [Comparison(P, "a", "=", "")]),
        ("  ", []),
    ],
)
def test_run_filters_parse_as_mlflow_parses_them(text: str, expected: list[Comparison]) -> None:
    assert parse_filter(text, RUNS) == expected


@pytest.mark.parametrize(
    ("text", "token"),
    [
        ("metrics.x > 1 or metrics.y < 2", "'or'"),
        ("params.a = 1", "'1'"),
        ("metrics.a = 'x'", "\"'x'\""),
        ("params.a IN ('x')", "'IN'"),
        ("metrics.a LIKE '1'", "'LIKE'"),
        ("metrics.a IS NULL", "'IS'"),
        ("tags.a <> 'x'", "'<>'"),
        ("nope.a = 'x'", "'nope'"),
        ("attributes.color = 'red'", "'attributes'"),
        ("status IN ('a')", "'IN'"),
        ("run_id IN ()", "')'"),
        ("run_id IN ('a' 'b')", "\"'b'\""),
        ("metrics.a >", "the end"),
        ("params.a = 'x' and", "the end"),
        ("metrics.a = 1 metrics.b = 2", "'metrics'"),
        ("params.a = 'unterminated", '"\'"'),
        ("tags.a IS 'x'", "\"'x'\""),
        ("datasets.size = 'x'", "'datasets'"),
        ("start_time > 'x'", "\"'x'\""),
    ],
)
def test_bad_run_filters_name_the_offending_token(text: str, token: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        parse_filter(text, RUNS)
    assert token in str(info.value), str(info.value)
    assert info.value.field == "filter"


def test_order_by_keys_and_directions() -> None:
    assert parse_order_by(["metrics.acc DESC", "params.`a b` asc", "start_time", 'tags."t"'], RUNS) == [
        OrderKey(M, "acc", False),
        OrderKey(P, "a b", True),
        OrderKey(A, "start_time", True),
        OrderKey(T, "t", True),
    ]
    assert parse_order_by(None, RUNS) == []


@pytest.mark.parametrize(
    "clause", ["metrics.x desc extra", "metrics.x sideways", "datasets.name", "colour", "metrics.x DESC, start_time"]
)
def test_bad_order_by_is_refused(clause: str) -> None:
    with pytest.raises(InvalidArgument):
        parse_order_by([clause], RUNS)


def test_order_by_naming_a_key_twice_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="twice"):
        parse_order_by(["metrics.a", "metrics.a DESC"], RUNS)


def test_the_prompt_filter_every_mlflow_client_sends() -> None:
    assert parse_filter("tag.`mlflow.prompt.is_prompt` != 'true'", REGISTERED_MODELS) == [
        Comparison(T, "mlflow.prompt.is_prompt", "!=", "true")
    ]


def test_other_dialects() -> None:
    assert parse_filter("name = 'm' and tags.k LIKE 'v%'", MODEL_VERSIONS)[0] == Comparison(A, "name", "=", "m")
    assert parse_filter("version_number >= 2", MODEL_VERSIONS) == [Comparison(A, "version_number", ">=", 2)]
    assert parse_filter("name IN ('a', 'b')", REGISTERED_MODELS) == [Comparison(A, "name", "IN", ("a", "b"))]
    assert parse_filter("creation_time > 5", LOGGED_MODELS) == [Comparison(A, "creation_timestamp", ">", 5)]
    assert parse_filter("experiment_id IN ('1')", EXPERIMENTS) == [Comparison(A, "experiment_id", "IN", ("1",))]
    for text, dialect in [
        ("metrics.a > 1", REGISTERED_MODELS),
        ("run_id > 3", MODEL_VERSIONS),
        ("tags.a IS NULL", MODEL_VERSIONS),
        ("datasets.name = 'x'", LOGGED_MODELS),
    ]:
        with pytest.raises(InvalidArgument):
            parse_filter(text, dialect)


@pytest.mark.parametrize(
    ("op", "lhs", "rhs", "expected"),
    [
        ("=", "a", "a", True),
        ("!=", "a", "a", False),
        ("LIKE", "abc", "a%", True),
        ("LIKE", "Abc", "a%", False),
        ("ILIKE", "Abc", "a%", True),
        ("LIKE", "a.c", "a_c", True),
        ("LIKE", "abc", "%b", False),
        ("LIKE", "a%c", "a%%c", True),
        ("IN", "x", ("x", "y"), True),
        ("NOT IN", "x", ("x",), False),
        (">", 2.0, 1.0, True),
        ("<=", 1.0, 1.0, True),
        ("=", None, "x", False),
        ("!=", None, "x", False),
        ("IS NULL", None, None, True),
        ("IS NOT NULL", "x", None, True),
        ("!=", math.nan, 1.0, True),
        ("=", math.nan, 1.0, False),
        (">", math.nan, -math.inf, False),
        (">", math.inf, 1e308, True),
    ],
)
def test_reference_semantics(op: str, lhs: object, rhs: object, expected: bool) -> None:
    assert compare(op, lhs, rhs) is expected  # type: ignore[arg-type]


def test_like_treats_regex_characters_literally() -> None:
    assert like_to_regex("a.b*").match("a.b*") and not like_to_regex("a.b*").match("axbb")
    assert like_to_regex("%\n%").match("x\ny")


# properties -------------------------------------------------------------------------------------
_keys = st.text(alphabet=st.characters(codec="ascii", exclude_characters="`\x00"), min_size=1, max_size=12)
_values = st.text(alphabet=st.characters(codec="ascii", exclude_characters="'\\\x00"), max_size=12)
_numbers = st.floats(allow_nan=False, allow_infinity=False, width=64)


@st.composite
def comparisons(draw: st.DrawFn) -> Comparison:
    kind = draw(st.sampled_from([M, P, T, A]))
    if kind is M:
        return Comparison(M, draw(_keys), draw(st.sampled_from(sorted(RUNS.ops[M]))), draw(_numbers))
    if kind is A:
        key = draw(st.sampled_from(["status", "user_id", "run_name", "start_time", "run_id"]))
        if key == "start_time":
            return Comparison(A, key, draw(st.sampled_from([">", "<", "="])), draw(st.integers(-(10**12), 10**12)))
        if key == "run_id":
            return Comparison(A, key, "IN", tuple(draw(st.lists(_values, min_size=1, max_size=3))))
        return Comparison(A, key, draw(st.sampled_from(["=", "!=", "LIKE", "ILIKE"])), draw(_values))
    op = draw(st.sampled_from(sorted(RUNS.ops[kind])))
    return Comparison(kind, draw(_keys), op, None if "NULL" in op else draw(_values))


def render(c: Comparison) -> str:
    ident = f"{c.kind.value}s.`{c.key}`" if c.kind is not A else f"attributes.{c.key}"
    if c.value is None:
        return f"{ident} {c.op}"
    if isinstance(c.value, tuple):
        return f"{ident} {c.op} (" + ", ".join(f"'{v}'" for v in c.value) + ")"
    if isinstance(c.value, int | float):
        return f"{ident} {c.op} {c.value!r}"
    return f"{ident} {c.op} '{c.value}'"


@given(st.lists(comparisons(), min_size=1, max_size=5))
def test_rendered_filters_parse_back_to_the_same_ast(cs: list[Comparison]) -> None:
    text = " AND ".join(render(c) for c in cs)
    assert parse_filter(text, RUNS) == cs


@given(st.text(max_size=40))
def test_any_text_parses_or_raises_invalid_argument(text: str) -> None:
    try:
        parse_filter(text, RUNS)
    except InvalidArgument as exc:
        assert exc.field == "filter"


@pytest.mark.parametrize("module", ["steward.tracking.search", "steward.registry.models"])
def test_docstring_examples_run(module: str) -> None:
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module))
    assert result.failed == 0 and result.attempted > 0
