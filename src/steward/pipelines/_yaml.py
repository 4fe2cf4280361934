"""YAML loading that remembers where each value came from, so that a spec error can name the
line of the offending key."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from steward.core.errors import InvalidArgument

Loc = tuple[str | int, ...]


@dataclass
class Located:
    """A parsed document plus the line (1-based) of every mapping key and sequence item."""

    data: Any
    lines: dict[Loc, int] = field(default_factory=dict)

    def line_of(self, loc: Loc) -> int | None:
        """The line of ``loc`` or of its nearest located ancestor."""
        for n in range(len(loc), -1, -1):
            if loc[:n] in self.lines:
                return self.lines[loc[:n]]
        return None


def _build(node: yaml.Node, loc: Loc, lines: dict[Loc, int], loader: yaml.SafeLoader) -> Any:
    lines.setdefault(loc, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if isinstance(key, list | dict):
                raise InvalidArgument(
                    f"line {key_node.start_mark.line + 1}: mapping keys must be plain values", field="spec"
                )
            if key in out:
                raise InvalidArgument(f"line {key_node.start_mark.line + 1}: key {key!r} appears twice", field=str(key))
            child = (*loc, key)
            lines[child] = key_node.start_mark.line + 1
            out[key] = _build(value_node, child, lines, loader)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, (*loc, i), lines, loader) for i, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def load_located(text: str) -> Located:
    """Parse one YAML document, keeping the line of each key.

    >>> doc = load_located("a: 1\\nb:\\n  c: [x, y]\\n")
    >>> doc.data, doc.line_of(("b", "c", 1))
    ({'a': 1, 'b': {'c': ['x', 'y']}}, 3)
    """
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return Located({})
        lines: dict[Loc, int] = {}
        return Located(_build(node, (), lines, loader), lines)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}" if mark is not None else "spec"
        raise InvalidArgument(f"{where}: not valid YAML: {exc.problem}", field="spec") from None
    finally:
        loader.dispose()
