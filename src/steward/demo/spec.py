"""The demo's pipeline specs: the shipped example (``steward init``), made quicker through the
spec itself (fewer search trials and bootstrap resamples), and a second run that differs in
one hyperparameter (L2 regularisation, which costs no extra time) so that there is something to compare."""

from __future__ import annotations

from steward.pipelines.example import EXAMPLE_SPEC

DEMO_NOTE = "# Steward's demo: the example of `steward init`, with a smaller search and bootstrap.\n"
# (the example's line, the demo's line); each must be in the example exactly once
_QUICKER = (
    ("  trials: 4\n", "  trials: 2\n"),
    ("  bootstrap: 200 ", "  bootstrap: 50 "),
)
_SECOND = (
    (
        "  params: {max_iter: 50, early_stopping: false}\n",
        "  params: {max_iter: 50, early_stopping: false, l2_regularization: 1.0}\n",
    ),
)


def _edit(text: str, edits: tuple[tuple[str, str], ...]) -> str:
    for old, new in edits:
        if text.count(old) != 1:
            # The example changed under the demo: fail loudly rather than train something else.
            raise ValueError(f"The example spec no longer holds {old.strip()!r} exactly once; update steward.demo.")
        text = text.replace(old, new)
    return text


def demo_specs() -> list[tuple[str, str]]:
    """``(label, spec text)`` of the demo's training runs, in order."""
    base = DEMO_NOTE + _edit(EXAMPLE_SPEC, _QUICKER)
    return [("no L2", base), ("L2 1.0", _edit(base, _SECOND))]
