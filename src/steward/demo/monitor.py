"""The demo deployment's monitor: configured through the monitoring service, and run at the end
of each day of traffic, so the Monitoring page has a history and the drifted day raises alerts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from steward.monitoring.windows import DAY
from steward.runtime import Runtime

# The reference is the deployed version's validation set: the rows the model was evaluated on.
CONFIG = """\
reference: {{model: {model}}}
rules:
  data_drift:         {{threshold: 0.2, window: 1d, severity: warning}}
  prediction_drift:   {{threshold: 0.1, window: 1d, severity: critical}}
  estimated_accuracy: {{threshold: 0.8, window: 1d, severity: warning}}
"""


@dataclass
class Monitored:
    runs: list[dict[str, Any]] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)


def monitor(runtime: Runtime, deployment: str, model: str, day_ends: list[int]) -> Monitored:
    """Configure the monitor, then run it as of the end of each day, oldest first."""
    from steward.monitoring.models import MonitorConfig
    from steward.monitoring.service import MonitoringDeps, configure_monitor, run_monitor

    with runtime.uow() as uow:
        configure_monitor(uow, deployment, MonitorConfig.parse(CONFIG.format(model=model)))
        uow.commit()
    deps = MonitoringDeps.from_runtime(runtime)
    out = Monitored()
    for end in day_ends:
        outcome = run_monitor(deps, deployment, now_ms=end)
        out.runs += [
            {"id": r.id, "window": r.window, "end": r.window_end, "rows": r.rows, "metrics": r.metrics}
            for r in outcome.runs
        ]
        out.alerts += [
            {"rule": a.rule, "action": a.action, "severity": a.severity, "value": a.value} for a in outcome.alerts
        ]
    return out


def day_ends(now_ms: int, days: int) -> list[int]:
    """The ends of the last ``days`` whole days before ``now_ms``, oldest first."""
    return [now_ms - (days - 1 - i) * DAY for i in range(days)]
