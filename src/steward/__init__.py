"""Steward keeps an organisation's ML estate trustworthy.

>>> import steward
>>> with steward.start_run(experiment="churn") as run:   # doctest: +SKIP
...     run.log_params({"C": 1.0})
...     run.log_metric("auc", 0.91, step=3)
"""

from steward._version import __version__
from steward.sdk.client import ActiveRun, Client, connect, models, start_run

__all__ = ["ActiveRun", "Client", "__version__", "connect", "models", "start_run"]
