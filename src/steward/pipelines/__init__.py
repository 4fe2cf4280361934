"""Training pipelines: a YAML spec, data checks, splits with leakage guards, preprocessing
inside the model, seeded search, a baseline, evaluation, and exact reproduction.

The model format (``steward.pipelines.model_format``) is the contract with serving:
``load_model(path) -> (estimator, signature)`` and ``validate_input(frame, signature)``.
"""

from steward.pipelines.model_format import (
    InputField,
    Signature,
    infer_signature,
    load_model,
    load_model_files,
    save_model,
    unseen_categories,
    validate_input,
)
from steward.pipelines.spec import PipelineSpec, load_spec, parse_spec

__all__ = [
    "InputField",
    "PipelineSpec",
    "Signature",
    "infer_signature",
    "load_model",
    "load_model_files",
    "load_spec",
    "parse_spec",
    "save_model",
    "unseen_categories",
    "validate_input",
]
