"""Request decoding: JSON payloads validated against a model's signature, straight into numpy.

The signature is the one stored beside the model (``signature.json``)::

    {"inputs": [{"name": "age", "type": "double", "nullable": false, "categories": null}, ...],
     "task": "classification", "classes": [0, 1]}

An :class:`InputSchema` is compiled once per model version; decoding a request is then a few
set and list operations in C plus one ``np.array`` call, with precise 422 errors naming the
field (and the row) when something is missing, unknown or of the wrong type. Every payload form,
native or MLflow's, ends as a :class:`FeatureBatch`: one ``(n, k)`` float64 matrix when every
input is numeric (the fast path), else one numpy array per column.

>>> schema = InputSchema.from_signature({"inputs": [{"name": "x", "type": "double"}]})
>>> schema.from_records([{"x": 1}, {"x": 2.5}]).matrix.tolist()
[[1.0], [2.5]]
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from steward.serving.models import InputError

MAX_ROWS = 100_000

_KINDS = {
    **dict.fromkeys(("double", "float", "float32", "float64", "number", "numeric", "real"), "float"),
    **dict.fromkeys(("long", "integer", "int", "int8", "int16", "int32", "int64"), "int"),
    **dict.fromkeys(("boolean", "bool"), "bool"),
    **dict.fromkeys(("string", "str", "category", "categorical", "object", "text"), "str"),
    **dict.fromkeys(("datetime", "timestamp", "date", "datetime64"), "datetime"),
}
_WORDS = {"float": "a number", "int": "an integer", "bool": "a boolean", "str": "a string"}
_NUM = frozenset((int, float))
_NUM_NULL = frozenset((int, float, type(None)))


@dataclass(frozen=True)
class InputField:
    name: str
    kind: str  # float | int | bool | str | datetime | any
    type: str
    nullable: bool = False
    categories: tuple[Any, ...] | None = None

    @property
    def numeric(self) -> bool:
        return self.kind in ("float", "int")


@dataclass
class FeatureBatch:
    """``n`` rows of model input: ``matrix`` (numeric schemas) or ``columns`` (mixed ones)."""

    n: int
    matrix: NDArray[np.float64] | None = None
    columns: dict[str, NDArray[Any]] | None = None

    def slice(self, start: int, stop: int) -> FeatureBatch:
        if self.matrix is not None:
            return FeatureBatch(stop - start, matrix=self.matrix[start:stop])
        assert self.columns is not None
        return FeatureBatch(stop - start, columns={k: v[start:stop] for k, v in self.columns.items()})

    @staticmethod
    def concat(batches: Sequence[FeatureBatch]) -> FeatureBatch:
        if len(batches) == 1:
            return batches[0]
        n = sum(b.n for b in batches)
        if batches[0].matrix is not None:
            return FeatureBatch(n, matrix=np.concatenate([b.matrix for b in batches if b.matrix is not None]))
        names = list(batches[0].columns or {})
        return FeatureBatch(n, columns={k: np.concatenate([(b.columns or {})[k] for b in batches]) for k in names})


class InputSchema:
    """The compiled input signature of one model version."""

    def __init__(self, fields: Sequence[InputField]) -> None:
        if not fields:
            raise InputError("A model signature needs at least one input.", field="inputs")
        self.fields = tuple(fields)
        self.names = tuple(f.name for f in fields)
        if len(set(self.names)) != len(self.names):
            raise InputError(f"The signature names an input twice: {list(self.names)}.", field="inputs")
        self.index = {n: i for i, n in enumerate(self.names)}
        self.numeric = all(f.numeric for f in fields)
        self._name_set = frozenset(self.names)
        self._name_list = list(self.names)
        self._int_cols = [i for i, f in enumerate(fields) if f.kind == "int"]
        self._not_null = [i for i, f in enumerate(fields) if not f.nullable]

    @classmethod
    def from_signature(cls, signature: Mapping[str, Any]) -> InputSchema:
        inputs = signature.get("inputs")
        if not isinstance(inputs, list):
            raise InputError("The model signature has no 'inputs' list.", field="inputs")
        fields = []
        for spec in inputs:
            type_name = str(spec.get("type", "any")).lower()
            cats = spec.get("categories")
            fields.append(
                InputField(
                    name=str(spec["name"]),
                    kind=_KINDS.get(type_name, "any"),
                    type=type_name,
                    nullable=bool(spec.get("nullable", False)),
                    categories=tuple(cats) if cats else None,
                )
            )
        return cls(fields)

    # ---- payload forms -------------------------------------------------------------------
    def from_records(self, records: Any, where: str = "records") -> FeatureBatch:
        """A list of JSON objects, one per row."""
        n = self._check_rows(records, where)
        names, k = self.names, len(self.names)
        try:
            if self.numeric:
                rows = [[rec[name] for name in names] for rec in records]
            else:
                cols = {name: [rec[name] for rec in records] for name in names}
        except KeyError:
            raise self._shape_error(records, where) from None
        if any(len(rec) != k for rec in records):
            raise self._shape_error(records, where)
        return self._matrix(rows, n) if self.numeric else self._columns(cols, n)

    def from_columns(self, columns: Any, where: str = "columns") -> FeatureBatch:
        """A JSON object of equally long lists, one per input."""
        if not isinstance(columns, dict):
            raise InputError(f"'{where}' must be an object of lists, one per input.", field=where)
        missing = [k for k in self.names if k not in columns]
        extra = [k for k in columns if k not in self._name_set]
        if missing or extra:
            raise _names_error(missing, extra, where)
        lengths = set()
        for k in self.names:
            col = columns[k]
            if type(col) is not list:
                col = [col]  # a scalar per column means one row
                columns = {**columns, k: col}
            lengths.add(len(col))
        if len(lengths) != 1:
            raise InputError(
                f"The columns in '{where}' must have equal lengths. Got lengths {sorted(lengths)}.",
                field=where,
            )
        n = lengths.pop()
        self._check_count(n, where)
        if self.numeric:
            return self._matrix([list(r) for r in zip(*(columns[k] for k in self.names), strict=True)], n)
        return self._columns({k: columns[k] for k in self.names}, n)

    def from_split(self, payload: Any, where: str = "dataframe_split") -> FeatureBatch:
        """Pandas' ``split`` orientation: ``{"columns": [...], "data": [[...], ...]}``."""
        if not isinstance(payload, dict) or not isinstance(payload.get("data"), list):
            raise InputError(f"'{where}' must be an object with 'columns' and 'data' lists.", field=where)
        cols = payload.get("columns", self._name_list)
        if cols != self._name_list:  # the common case (columns in signature order) skips all of this
            if not isinstance(cols, list) or not all(isinstance(c, str) for c in cols):
                raise InputError(f"'{where}.columns' must be a list of input names.", field=f"{where}.columns")
            missing = [k for k in self.names if k not in cols]
            extra = [k for k in cols if k not in self._name_set]
            if missing or extra or len(cols) != len(self.names):
                raise _names_error(missing, extra or _dupes(cols), where)
        rows = payload["data"]
        n = self._check_rows(rows, f"{where}.data", kind=list)
        if any(len(r) != len(cols) for r in rows):
            i = next(i for i, r in enumerate(rows) if len(r) != len(cols))
            raise InputError(
                f"Row {i} of '{where}.data' has {len(rows[i])} values for {len(cols)} columns.",
                field=f"{where}.data",
            )
        if cols != self._name_list:
            order = [cols.index(k) for k in self.names]
            rows = [[r[i] for i in order] for r in rows]
        return self.from_rows(rows, where, checked=n)

    def from_rows(self, rows: Any, where: str = "instances", checked: int | None = None) -> FeatureBatch:
        """Positional rows in signature order."""
        n = checked if checked is not None else self._check_rows(rows, where, kind=list)
        k = len(self.names)
        if checked is None and any(len(r) != k for r in rows):
            i = next(i for i, r in enumerate(rows) if len(r) != k)
            raise InputError(
                f"Row {i} of '{where}' has {len(rows[i])} values; the model takes {k}: {list(self.names)}.",
                field=where,
            )
        if self.numeric:
            return self._matrix(rows, n)
        return self._columns({name: [r[j] for r in rows] for j, name in enumerate(self.names)}, n)

    # ---- conversion ----------------------------------------------------------------------
    def _matrix(self, rows: list[list[Any]], n: int) -> FeatureBatch:
        types = {type(v) for r in rows for v in r}
        if types <= _NUM:
            m = np.array(rows, dtype=np.float64)
        elif types <= _NUM_NULL:
            m = np.array(rows, dtype=np.float64)  # None becomes NaN
            if self._not_null:
                bad = np.isnan(m[:, self._not_null])
                if bad.any():
                    i, j = (int(x[0]) for x in np.nonzero(bad))
                    raise self._value_error(self._not_null[j], None, i)
        else:
            for i, r in enumerate(rows):
                for j, v in enumerate(r):
                    if type(v) not in _NUM_NULL:
                        raise self._value_error(j, v, i)
            raise AssertionError("unreachable")  # pragma: no cover
        if self._int_cols and float in types:
            sub = m[:, self._int_cols]
            bad = (sub != np.floor(sub)) & ~np.isnan(sub)
            if bad.any():
                i, j = (int(x[0]) for x in np.nonzero(bad))
                raise self._value_error(self._int_cols[j], float(sub[i, j]), i)
        return FeatureBatch(n, matrix=m)

    def _columns(self, cols: dict[str, list[Any]], n: int) -> FeatureBatch:
        return FeatureBatch(n, columns={f.name: self._convert(j, f, cols[f.name]) for j, f in enumerate(self.fields)})

    def _convert(self, j: int, f: InputField, values: list[Any]) -> NDArray[Any]:
        types = set(map(type, values))
        has_null = type(None) in types
        if has_null and not f.nullable:
            raise self._value_error(j, None, values.index(None))
        types.discard(type(None))
        if f.kind in ("float", "int"):
            if not types <= _NUM:
                raise self._first_bad(j, values, _NUM)
            arr = np.array(values, dtype=np.float64)
            if f.kind == "int" and float in types:
                bad = (arr != np.floor(arr)) & ~np.isnan(arr)
                if bad.any():
                    i = int(np.argmax(bad))
                    raise self._value_error(j, values[i], i)
            return arr
        if f.kind == "bool":
            if not types <= {bool}:
                raise self._first_bad(j, values, {bool})
            return np.array(values, dtype=object if has_null else bool)
        if f.kind == "str":
            if not types <= {str}:
                raise self._first_bad(j, values, {str})
            return np.array(values, dtype=object)
        if f.kind == "datetime":
            if not types <= {str}:
                raise self._first_bad(j, values, {str})
            try:
                return np.array([v if v is not None else "NaT" for v in values], dtype="datetime64[ns]")
            except ValueError as exc:
                raise InputError(f"Field '{f.name}' must hold ISO 8601 date-times: {exc}.", field=f.name) from None
        return np.array(values, dtype=object)

    # ---- errors --------------------------------------------------------------------------
    def _check_rows(self, rows: Any, where: str, kind: type = dict) -> int:
        if type(rows) is not list:
            raise InputError(f"'{where}' must be a list of rows.", field=where)
        self._check_count(len(rows), where)
        for i, r in enumerate(rows):
            if type(r) is not kind:
                what = "an object" if kind is dict else "a list"
                raise InputError(f"Row {i} of '{where}' must be {what}; got {_json_type(r)}.", field=where)
        return len(rows)

    def _check_count(self, n: int, where: str) -> None:
        if n == 0:
            raise InputError(f"'{where}' holds no rows.", field=where)
        if n > MAX_ROWS:
            raise InputError(f"'{where}' holds {n} rows; one request takes at most {MAX_ROWS}.", field=where)

    def _shape_error(self, records: list[dict[str, Any]], where: str) -> InputError:
        for i, rec in enumerate(records):
            missing = [k for k in self.names if k not in rec]
            extra = [k for k in rec if k not in self._name_set]
            if missing or extra:
                return _names_error(missing, extra, where, row=i)
        return InputError(f"'{where}' does not match the signature.", field=where)  # pragma: no cover

    def _first_bad(self, j: int, values: list[Any], allowed: set[type] | frozenset[type]) -> InputError:
        i = next(i for i, v in enumerate(values) if v is not None and type(v) not in allowed)
        return self._value_error(j, values[i], i)

    def _value_error(self, j: int, value: Any, row: int) -> InputError:
        f = self.fields[j]
        if value is None:
            msg = f"Field '{f.name}' must not be null (row {row})."
        else:
            want = _WORDS.get(f.kind, f.kind)
            got = repr(value) if not isinstance(value, float) or math.isfinite(value) else str(value)
            what = f"{_json_type(value)} {got[:80]}"
            msg = f"Field '{f.name}' must be {want} ({f.type}); got {what} in row {row}."
        return InputError(msg, field=f.name, errors=[{"field": f.name, "row": str(row), "message": msg}])


def _json_type(v: Any) -> str:
    if v is None:
        return "null"
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "an object",
    }.get(type(v), type(v).__name__)


def _dupes(cols: list[str]) -> list[str]:
    seen: set[str] = set()
    return [c for c in cols if c in seen or seen.add(c)]  # type: ignore[func-returns-value]


def _names_error(missing: list[str], extra: list[str], where: str, row: int | None = None) -> InputError:
    at = f" in row {row} of '{where}'" if row is not None else f" in '{where}'"
    errs = [{"field": k, "message": f"missing field '{k}'{at}"} for k in missing]
    errs += [{"field": k, "message": f"unknown field '{k}'{at}"} for k in extra]
    parts = []
    if missing:
        parts.append("missing field" + ("s " if len(missing) > 1 else " ") + ", ".join(f"'{k}'" for k in missing))
    if extra:
        parts.append("unknown field" + ("s " if len(extra) > 1 else " ") + ", ".join(f"'{k}'" for k in extra))
    msg = "The input does not match the model's signature: " + "; ".join(parts) + at + "."
    return InputError(msg, field=(missing or extra)[0], errors=errs)
