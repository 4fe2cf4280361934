"""Python SDK: the same calls in-process (embedded store) or against a server over HTTP."""

from steward.sdk.client import ActiveRun, Client, connect, models, start_run

__all__ = ["ActiveRun", "Client", "connect", "models", "start_run"]
