"""The package's curated surface."""

from __future__ import annotations

import steward.monitoring as monitoring


def test_all_lists_every_public_name_and_nothing_else() -> None:
    public = {n for n in vars(monitoring) if (not n.startswith("_") and n[0].isupper()) or n in monitoring.__all__}
    for name in monitoring.__all__:
        assert hasattr(monitoring, name), name
    assert sorted(monitoring.__all__) == sorted(set(monitoring.__all__))
    assert {n for n in public if n[0].isupper()} <= set(monitoring.__all__)


def test_registry_is_the_extension_point() -> None:
    assert set(monitoring.DRIFT_METHODS) >= {"ks", "wasserstein", "psi", "jensenshannon", "chisquare", "z"}
