"""Opaque cursor tokens for paginated lists.

A token is URL-safe base64 of a small JSON document (the sort key of the last item seen), so
pages stay stable while rows are added, and a tampered token is a clear 400, not a 500.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from steward.core.errors import InvalidArgument

T = TypeVar("T")
MAX_PAGE = 10_000


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_page_token: str | None


def encode_token(state: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(state, separators=(",", ":")).encode()).decode()


def decode_token(token: str | None) -> dict[str, Any] | None:
    if not token:
        return None
    try:
        state = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, UnicodeDecodeError):
        raise InvalidArgument(f"The page_token is not one this server issued: {token!r}.", field="page_token") from None
    if not isinstance(state, dict):
        raise InvalidArgument(f"The page_token is not one this server issued: {token!r}.", field="page_token")
    return state


def check_page_size(max_results: int, limit: int = MAX_PAGE) -> int:
    if not 1 <= max_results <= limit:
        raise InvalidArgument(
            f"The 'max_results' parameter must be an integer in [1, {limit}]. Got {max_results} instead.",
            field="max_results",
        )
    return max_results
