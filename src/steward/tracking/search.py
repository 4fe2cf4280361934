"""MLflow's search grammar, parsed into a typed AST (pure: no SQL, no I/O).

The grammar MLflow's ``SearchUtils`` accepts, written down::

    filter      := comparison ( AND comparison )*
    comparison  := identifier op value
                 | identifier IS [NOT] NULL
                 | identifier [NOT] IN '(' string ( ',' string )* [','] ')'
    identifier  := [ entity '.' ] key          (no entity: an attribute)
    entity      := metric(s) | param(s) | parameter(s) | tag(s) | attribute(s) | attr | run | dataset(s)
    key         := bare | `back ticked` | "double quoted"       (bare: letters, digits, '_', '.')
    op          := = | != | < | <= | > | >= | LIKE | ILIKE      (keywords in any case)
    value       := number | 'single quoted' | "double quoted"

    order_by    := identifier [ ASC | DESC ]

Each searchable thing (runs, experiments, registered models, model versions, logged models)
is a :class:`Dialect`: which entities, attribute keys and operators it allows. Parsing checks
all of that, so the SQL built from the AST never sees a bad comparison. Errors are
``InvalidArgument`` naming the offending token and where it is.

>>> parse_filter("metrics.acc > 0.9 and params.model = 'rf'", RUNS)
[Comparison(kind=<Kind.METRIC: 'metric'>, key='acc', op='>', value=0.9), \
Comparison(kind=<Kind.PARAM: 'param'>, key='model', op='=', value='rf')]
>>> parse_order_by(["metrics.acc DESC"], RUNS)
[OrderKey(kind=<Kind.METRIC: 'metric'>, key='acc', ascending=False)]
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from steward.core.errors import InvalidArgument

__all__ = [
    "EXPERIMENTS",
    "LOGGED_MODELS",
    "MODEL_VERSIONS",
    "REGISTERED_MODELS",
    "RUNS",
    "Comparison",
    "Dialect",
    "Kind",
    "OrderKey",
    "Value",
    "compare",
    "like_to_regex",
    "parse_filter",
    "parse_order_by",
]


class Kind(StrEnum):
    ATTRIBUTE = "attribute"
    METRIC = "metric"
    PARAM = "param"
    TAG = "tag"
    DATASET = "dataset"


Value = float | int | str | tuple[str, ...] | None

NUMERIC_OPS = frozenset({"=", "!=", "<", "<=", ">", ">="})
STRING_OPS = frozenset({"=", "!=", "LIKE", "ILIKE"})
NULL_OPS = frozenset({"IS NULL", "IS NOT NULL"})
LIST_OPS = frozenset({"IN", "NOT IN"})


@dataclass(frozen=True)
class Comparison:
    """``<kind>.<key> <op> <value>``; ``value`` is None for the null checks and a tuple for IN."""

    kind: Kind
    key: str
    op: str
    value: Value


@dataclass(frozen=True)
class OrderKey:
    kind: Kind
    key: str
    ascending: bool = True


@dataclass(frozen=True)
class Dialect:
    """What one searchable thing allows.

    ``entities`` maps every accepted spelling of an entity to its kind; ``string_attributes``
    and ``numeric_attributes`` list attribute keys (after ``aliases``); ``ops`` gives the
    operators per kind (string attributes use ``ops[ATTRIBUTE]``, numeric ones NUMERIC_OPS);
    ``list_keys`` are the attributes that accept ``IN (...)``.
    """

    name: str
    entities: Mapping[str, Kind]
    string_attributes: frozenset[str]
    numeric_attributes: frozenset[str]
    ops: Mapping[Kind, frozenset[str]]
    list_keys: frozenset[str] = frozenset()
    aliases: Mapping[str, str] = field(default_factory=dict)
    order_attributes: frozenset[str] | None = None
    order_kinds: frozenset[Kind] = frozenset({Kind.ATTRIBUTE})
    dataset_keys: frozenset[str] = frozenset()

    def entity(self, word: str, where: int) -> Kind:
        kind = self.entities.get(word)
        if kind is None:
            raise InvalidArgument(
                f"Invalid entity {word!r} at position {where} of the {self.name} filter. "
                f"Valid entities are {sorted(set(self.entities))}.",
                field="filter",
            )
        return kind


_RUN_ENTITIES: dict[str, Kind] = {
    **dict.fromkeys(("metric", "metrics"), Kind.METRIC),
    **dict.fromkeys(("param", "params", "parameter", "parameters"), Kind.PARAM),
    **dict.fromkeys(("tag", "tags"), Kind.TAG),
    **dict.fromkeys(("attribute", "attributes", "attr", "run"), Kind.ATTRIBUTE),
    **dict.fromkeys(("dataset", "datasets"), Kind.DATASET),
}

RUNS = Dialect(
    name="run",
    entities=_RUN_ENTITIES,
    string_attributes=frozenset({"artifact_uri", "run_id", "run_name", "status", "user_id"}),
    numeric_attributes=frozenset({"start_time", "end_time"}),
    ops={
        Kind.ATTRIBUTE: STRING_OPS | LIST_OPS,
        Kind.METRIC: NUMERIC_OPS,
        Kind.PARAM: STRING_OPS | NULL_OPS,
        Kind.TAG: STRING_OPS | NULL_OPS,
        Kind.DATASET: STRING_OPS | LIST_OPS,
    },
    list_keys=frozenset({"run_id"}),
    aliases={
        "created": "start_time",
        "Created": "start_time",
        "run name": "run_name",
        "Run name": "run_name",
        "Run Name": "run_name",
    },
    order_kinds=frozenset({Kind.ATTRIBUTE, Kind.METRIC, Kind.PARAM, Kind.TAG}),
    dataset_keys=frozenset({"name", "digest", "context"}),
)

EXPERIMENTS = Dialect(
    name="experiment",
    entities={
        **dict.fromkeys(("attribute", "attributes", "attr"), Kind.ATTRIBUTE),
        **dict.fromkeys(("tag", "tags"), Kind.TAG),
    },
    string_attributes=frozenset({"name", "experiment_id"}),
    numeric_attributes=frozenset({"creation_time", "last_update_time"}),
    ops={Kind.ATTRIBUTE: STRING_OPS | LIST_OPS, Kind.TAG: STRING_OPS | NULL_OPS},
    list_keys=frozenset({"experiment_id"}),
)

REGISTERED_MODELS = Dialect(
    name="registered model",
    entities={"attribute": Kind.ATTRIBUTE, **dict.fromkeys(("tag", "tags"), Kind.TAG)},
    string_attributes=frozenset({"name"}),
    numeric_attributes=frozenset(),
    ops={Kind.ATTRIBUTE: STRING_OPS | LIST_OPS, Kind.TAG: STRING_OPS},
    list_keys=frozenset({"name"}),
    order_attributes=frozenset({"name", "creation_timestamp", "last_updated_timestamp", "timestamp"}),
)

MODEL_VERSIONS = Dialect(
    name="model version",
    entities={"attribute": Kind.ATTRIBUTE, **dict.fromkeys(("tag", "tags"), Kind.TAG)},
    string_attributes=frozenset({"name", "run_id", "source_path"}),
    numeric_attributes=frozenset({"version_number"}),
    ops={Kind.ATTRIBUTE: STRING_OPS | LIST_OPS, Kind.TAG: STRING_OPS},
    list_keys=frozenset({"name", "run_id"}),
    order_attributes=frozenset({"name", "version_number", "creation_timestamp", "last_updated_timestamp"}),
)

LOGGED_MODELS = Dialect(
    name="logged model",
    entities={k: v for k, v in _RUN_ENTITIES.items() if v is not Kind.DATASET},
    string_attributes=frozenset({"name", "model_id", "model_type", "status", "source_run_id"}),
    numeric_attributes=frozenset({"creation_timestamp", "last_updated_timestamp"}),
    ops={
        Kind.ATTRIBUTE: STRING_OPS | LIST_OPS,
        Kind.METRIC: NUMERIC_OPS,
        Kind.PARAM: STRING_OPS,
        Kind.TAG: STRING_OPS,
    },
    list_keys=frozenset({"name", "model_id", "model_type", "status", "source_run_id"}),
    aliases={"creation_time": "creation_timestamp", "last_updated_time": "last_updated_timestamp"},
)


# tokens ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Tok:
    kind: str  # word, bq (backticks), dq ("..."), sq ('...'), num, op, lp, rp, comma, dot
    text: str
    pos: int


_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<sq>'(?:''|\\.|[^'\\])*')
  | (?P<dq>"(?:""|\\.|[^"\\])*")
  | (?P<bq>`[^`]*`)
  | (?P<num>[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)(?![\w.]))
  | (?P<op><=|>=|!=|<>|==|=|<|>)
  | (?P<word>[A-Za-z_][\w]*)
  | (?P<wordnum>\d[\w]*)
  | (?P<lp>\()
  | (?P<rp>\))
  | (?P<comma>,)
  | (?P<dot>\.)
    """,
    re.VERBOSE,
)


def _tokenize(text: str, what: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise InvalidArgument(f"Invalid {what} {text!r}: unexpected {text[pos]!r} at position {pos}.", field=what)
        kind = m.lastgroup or ""
        prev = out[-1] if out else None
        if (
            kind == "num"
            and text[pos] == "."
            and prev is not None
            and prev.kind in ("word", "bq", "dq")
            and prev.pos + len(prev.text) == pos
        ):
            # 'metrics.1' is entity, dot, key: not the number .1
            out.append(_Tok("dot", ".", pos))
            pos += 1
            continue
        if kind != "ws":
            if kind == "wordnum":
                kind = "word"
            # A sign belongs to a number only where a value can start (after an operator).
            if kind == "num" and text[pos] in "+-" and (not out or out[-1].kind != "op"):
                raise InvalidArgument(
                    f"Invalid {what} {text!r}: unexpected {text[pos]!r} at position {pos}.", field=what
                )
            out.append(_Tok(kind, m.group(), pos))
        pos = m.end()
    return out


def _unquote(tok: _Tok) -> str:
    # MLflow strips the outer quotes and nothing else: 'it''s' stays "it''s". Odd, but an
    # MLflow user's filter must select the same runs here as there.
    return tok.text[1:-1]


class _Parser:
    def __init__(self, text: str, dialect: Dialect, what: str) -> None:
        self.text = text
        self.dialect = dialect
        self.what = what
        self.toks = _tokenize(text, what)
        self.i = 0

    # helpers ------------------------------------------------------------------------------
    def error(self, message: str, tok: _Tok | None = None) -> InvalidArgument:
        where = f"{tok.text!r} at position {tok.pos}" if tok else "the end"
        return InvalidArgument(
            f"Invalid {self.dialect.name} {self.what} {self.text!r}: {message}, got {where}.", field=self.what
        )

    def peek(self, offset: int = 0) -> _Tok | None:
        j = self.i + offset
        return self.toks[j] if j < len(self.toks) else None

    def next(self, expected: str) -> _Tok:
        tok = self.peek()
        if tok is None:
            raise self.error(f"expected {expected}")
        self.i += 1
        return tok

    def keyword(self, *words: str) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind == "word" and tok.text.upper() in words

    # identifiers -------------------------------------------------------------------------
    def identifier(self) -> tuple[Kind, str, _Tok]:
        first = self.next("an identifier such as metrics.accuracy")
        if first.kind not in ("word", "bq", "dq"):
            raise self.error("expected an identifier such as metrics.accuracy", first)
        nxt = self.peek()
        if nxt is not None and nxt.kind == "dot" and nxt.pos == first.pos + len(first.text):
            self.i += 1
            entity = _unquote(first) if first.kind != "word" else first.text
            kind = self.dialect.entity(entity, first.pos)
            key = self.key(nxt)
        else:
            kind = Kind.ATTRIBUTE
            key = first.text if first.kind == "word" else _unquote(first)
        if kind is Kind.ATTRIBUTE:
            key = self.dialect.aliases.get(key, key)
        return kind, key, first

    def key(self, dot: _Tok) -> str:
        tok = self.next("a key after '.'")
        if tok.kind in ("bq", "dq"):
            return _unquote(tok)
        if tok.kind not in ("word", "num"):
            raise self.error("expected a key after '.'", tok)
        # A bare key runs on through dots (metrics.a.b is the metric 'a.b').
        parts, end = [tok.text], tok.pos + len(tok.text)
        while True:
            d, w = self.peek(), self.peek(1)
            if (
                d is not None
                and d.kind == "dot"
                and d.pos == end
                and w is not None
                and w.kind in ("word", "num")
                and w.pos == end + 1
            ):
                parts.append(w.text)
                end = w.pos + len(w.text)
                self.i += 2
            else:
                return ".".join(parts)

    # comparisons -------------------------------------------------------------------------
    def comparison(self) -> Comparison:
        kind, key, at = self.identifier()
        d = self.dialect
        attributes = d.string_attributes | d.numeric_attributes
        if kind is Kind.ATTRIBUTE and key not in attributes:
            raise self.error(f"invalid attribute; valid attributes are {sorted(attributes)}", at)
        if kind is Kind.DATASET and key not in d.dataset_keys:
            raise self.error(f"invalid dataset key; valid keys are {sorted(d.dataset_keys)}", at)
        op_tok = self.next("an operator")
        op = self.operator(op_tok)
        allowed = NUMERIC_OPS if kind is Kind.ATTRIBUTE and key in d.numeric_attributes else d.ops[kind]
        if op not in allowed:
            raise self.error(
                f"operator {op!r} is not allowed for {kind.value} '{key}'; use one of {sorted(allowed)}",
                op_tok,
            )
        if op in NULL_OPS:
            return Comparison(kind, key, op, None)
        if op in LIST_OPS:
            if kind is Kind.ATTRIBUTE and key not in d.list_keys:
                raise self.error(f"only {sorted(d.list_keys)} accept a list of values", op_tok)
            return Comparison(kind, key, op, self.string_list())
        return Comparison(kind, key, op, self.value(kind, key))

    def operator(self, tok: _Tok) -> str:
        if tok.kind == "op":
            if tok.text in ("<>", "=="):
                raise self.error("expected one of = != < <= > >=", tok)
            return tok.text
        if tok.kind == "word":
            word = tok.text.upper()
            if word in ("LIKE", "ILIKE", "IN"):
                return word
            if word == "NOT" and self.keyword("IN"):
                self.i += 1
                return "NOT IN"
            if word == "IS":
                negated = self.keyword("NOT")
                if negated:
                    self.i += 1
                if self.keyword("NULL"):
                    self.i += 1
                    return "IS NOT NULL" if negated else "IS NULL"
                raise self.error("expected NULL after IS", self.peek())
        raise self.error("expected an operator (= != < <= > >= LIKE ILIKE IN NOT IN IS NULL)", tok)

    def value(self, kind: Kind, key: str) -> Value:
        tok = self.next("a value")
        numeric = kind is Kind.METRIC or (kind is Kind.ATTRIBUTE and key in self.dialect.numeric_attributes)
        if numeric:
            if tok.kind != "num":
                raise self.error(f"expected a number for {kind.value} '{key}'", tok)
            if kind is Kind.METRIC:
                return float(tok.text)
            is_int = re.fullmatch(r"[+-]?\d+", tok.text) is not None
            return int(tok.text) if is_int else float(tok.text)
        if tok.kind not in ("sq", "dq"):
            raise self.error(f"expected a quoted string for {kind.value} '{key}' (e.g. 'my-value')", tok)
        return _unquote(tok)

    def string_list(self) -> tuple[str, ...]:
        lp = self.next("'('")
        if lp.kind != "lp":
            raise self.error("expected '(' to start a list of quoted strings", lp)
        values: list[str] = []
        while True:
            tok = self.next("a quoted string or ')'")
            if tok.kind == "rp" and values:
                break
            if tok.kind not in ("sq", "dq"):
                raise self.error("expected a non-empty list of quoted strings", tok)
            values.append(_unquote(tok))
            sep = self.next("',' or ')'")
            if sep.kind == "rp":
                break
            if sep.kind != "comma":
                raise self.error("expected ',' or ')' in the list", sep)
        return tuple(values)

    def filter(self) -> list[Comparison]:
        out = [self.comparison()]
        while self.peek() is not None:
            tok = self.next("AND")
            if not (tok.kind == "word" and tok.text.upper() == "AND"):
                raise self.error("expected AND between comparisons (OR is not supported)", tok)
            out.append(self.comparison())
        return out

    def order_key(self) -> OrderKey:
        kind, key, at = self.identifier()
        d = self.dialect
        if kind not in d.order_kinds:
            raise self.error(f"cannot order by a {kind.value}", at)
        if kind is Kind.ATTRIBUTE:
            valid = d.order_attributes if d.order_attributes is not None else d.string_attributes | d.numeric_attributes
            if key not in valid:
                raise self.error(f"invalid attribute to order by; valid ones are {sorted(valid)}", at)
        ascending = True
        tok = self.peek()
        if tok is not None:
            self.i += 1
            if not (tok.kind == "word" and tok.text.upper() in ("ASC", "DESC")):
                raise self.error("expected ASC or DESC", tok)
            ascending = tok.text.upper() == "ASC"
        if self.peek() is not None:
            raise self.error("expected the end of the order_by clause", self.peek())
        return OrderKey(kind, key, ascending)


def parse_filter(text: str | None, dialect: Dialect) -> list[Comparison]:
    """The comparisons of an AND-ed filter; an empty or blank filter is ``[]``."""
    if text is None or not text.strip():
        return []
    return _Parser(text, dialect, "filter").filter()


def parse_order_by(clauses: Sequence[str] | None, dialect: Dialect) -> list[OrderKey]:
    """Order keys, in the order given; a key named twice is an error (as in MLflow)."""
    out: list[OrderKey] = []
    seen: set[tuple[Kind, str]] = set()
    for clause in clauses or ():
        if not clause or not clause.strip():
            continue
        key = _Parser(clause, dialect, "order_by").order_key()
        if (key.kind, key.key) in seen:
            raise InvalidArgument(
                f"The order_by clauses name {key.kind.value} '{key.key}' twice: {list(clauses or ())!r}.",
                field="order_by",
            )
        seen.add((key.kind, key.key))
        out.append(key)
    return out


# reference semantics ---------------------------------------------------------------------------
def like_to_regex(pattern: str, *, ignore_case: bool = False) -> re.Pattern[str]:
    """SQL LIKE as a regex: '%' any run of characters, '_' one character, the rest literal."""
    body = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.compile(f"^{body}$", re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def compare(op: str, lhs: Any, rhs: Value) -> bool:
    """Whether a stored value ``lhs`` (None when absent) satisfies ``op rhs``.

    This is the reference the SQL search is tested against, and how small in-memory
    collections (logged models) are filtered. Absent values match only ``IS NULL``; a NaN
    metric matches only ``!=`` (as in MLflow).
    """
    if op == "IS NULL":
        return lhs is None
    if op == "IS NOT NULL":
        return lhs is not None
    if lhs is None:
        return False
    if isinstance(lhs, float) and math.isnan(lhs):
        return op == "!="
    ops: dict[str, Callable[[Any, Any], bool]] = {
        "=": lambda a, b: bool(a == b),
        "!=": lambda a, b: bool(a != b),
        "<": lambda a, b: bool(a < b),
        "<=": lambda a, b: bool(a <= b),
        ">": lambda a, b: bool(a > b),
        ">=": lambda a, b: bool(a >= b),
        "LIKE": lambda a, b: like_to_regex(b).match(a) is not None,
        "ILIKE": lambda a, b: like_to_regex(b, ignore_case=True).match(a) is not None,
        "IN": lambda a, b: a in b,
        "NOT IN": lambda a, b: a not in b,
    }
    return ops[op](lhs, rhs)
