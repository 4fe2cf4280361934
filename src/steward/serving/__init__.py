"""Real-time serving and batch inference.

The model server (:class:`ModelServer`, a plain ASGI app) serves deployments of registered
model versions with validated inputs, micro-batching, Prometheus metrics and a prediction log;
:mod:`steward.serving.batch` scores Parquet data in bounded-memory chunks, locally or on Dask.
"""

from steward.serving.app import ModelServer
from steward.serving.batcher import MicroBatcher
from steward.serving.deployment import Deployment, Variant, build_variant
from steward.serving.inputs import FeatureBatch, InputSchema
from steward.serving.loader import (
    LoadedModel,
    ModelLoader,
    ModelResolver,
    RegistryResolver,
    load_model_folder,
)
from steward.serving.models import Batching, DeploymentSpec, InputError, ModelError, ModelRef, ResolvedModel
from steward.serving.plan import LogPlan, ServePlan, build_server, resolve_plan
from steward.serving.prediction_log import LogEntry, PredictionLogWriter, read_predictions, scan_sql
from steward.serving.predictor import Prediction, Predictor
from steward.serving.router import Route, RouteContext, Router, SingleVersionRouter

__all__ = [
    "Batching",
    "Deployment",
    "DeploymentSpec",
    "FeatureBatch",
    "InputError",
    "InputSchema",
    "LoadedModel",
    "LogEntry",
    "LogPlan",
    "MicroBatcher",
    "ModelError",
    "ModelLoader",
    "ModelRef",
    "ModelResolver",
    "ModelServer",
    "Prediction",
    "PredictionLogWriter",
    "Predictor",
    "RegistryResolver",
    "ResolvedModel",
    "Route",
    "RouteContext",
    "Router",
    "ServePlan",
    "SingleVersionRouter",
    "Variant",
    "build_server",
    "build_variant",
    "load_model_folder",
    "read_predictions",
    "resolve_plan",
    "scan_sql",
]
