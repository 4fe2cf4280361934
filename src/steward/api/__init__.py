"""REST API entry point: FastAPI routers under /api/v1, problem+json errors."""

from steward.api.app import create_api

__all__ = ["create_api"]
