"""A demo for a new store: the first ``steward server`` on an empty store (or ``steward demo
seed``) fills every workspace with real content made by Steward's own services.

- two training runs of the shipped example pipeline on the Adult census data (dataset version,
  validation, leakage findings, model + signature, evaluation report, model card, gates), the
  second with a different ``max_iter``;
- both models registered, each promoted to ``production`` through its gates, and the
  ``adult-income`` deployment following production;
- three days of traffic of census rows the model never saw, scored by the deployed version and
  logged as the model server logs, the last day drifted; late labels for part of it; the
  monitor run at the end of each day (drift, estimated vs realised accuracy, alerts).

>>> from steward.demo import seed  # doctest: +SKIP
>>> seed(runtime).to_dict()["seeded"]  # doctest: +SKIP
True
"""

from steward.demo.seeder import DemoResult, check_available, existing_data, seed, steps

__all__ = ["DemoResult", "check_available", "existing_data", "seed", "steps"]
