"""Dataset versions: content fingerprint, schema, profile, validation, registration."""

from steward.datasets.fingerprint import canonical_row_order, fingerprint, logical_type
from steward.datasets.models import DatasetVersion
from steward.datasets.profile import profile_of, schema_of
from steward.datasets.validation import (
    CategoriesRule,
    DuplicatesRule,
    MissingRule,
    NotAllMissingRule,
    RangeRule,
    RequiredRule,
    Rule,
    RuleResult,
    TypeRule,
    ValidationReport,
    default_rules,
    validate,
)

__all__ = [
    "CategoriesRule",
    "DatasetVersion",
    "DuplicatesRule",
    "MissingRule",
    "NotAllMissingRule",
    "RangeRule",
    "RequiredRule",
    "Rule",
    "RuleResult",
    "TypeRule",
    "ValidationReport",
    "canonical_row_order",
    "default_rules",
    "fingerprint",
    "logical_type",
    "profile_of",
    "schema_of",
    "validate",
]
