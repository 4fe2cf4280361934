"""Opaque cursor tokens for paginated lists.

A token is URL-safe base64 of a small JSON document (the sort key of the last item seen), so
pages stay stable while rows are added, and a tampered token is a clear 400, not a 500.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable
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
        raise _bad_token(token) from None
    if not isinstance(state, dict):
        raise _bad_token(token)
    return state


def check_page_size(max_results: int, limit: int = MAX_PAGE) -> int:
    if not 1 <= max_results <= limit:
        raise InvalidArgument(
            f"The 'max_results' parameter must be an integer in [1, {limit}]. Got {max_results} instead.",
            field="max_results",
        )
    return max_results


def _bad_token(token: str | None) -> InvalidArgument:
    return InvalidArgument(f"The page_token is not one this server issued: {token!r}.", field="page_token")


def token_fields(token: str | None, **kinds: type) -> dict[str, Any] | None:
    """Decode ``token`` and check it holds exactly the fields ``kinds`` names, of those types.

    A token that decodes but has the wrong shape is as bad as one that does not decode: a 400
    naming ``page_token``, never a KeyError deep in a query.
    """
    state = decode_token(token)
    if state is None:
        return None
    if set(state) != set(kinds):
        raise _bad_token(token)
    for name, kind in kinds.items():
        value = state[name]
        if isinstance(value, bool) or not isinstance(value, kind):
            raise _bad_token(token)
    return state


Key = tuple[int | str, ...]


def keyset_page(items: Iterable[T], key: Callable[[T], Key], *, max_results: int, page_token: str | None) -> Page[T]:
    """The page of ``items`` (in ascending ``key`` order) that follows the key in ``page_token``.

    For short lists read whole (users, deployments): the token holds the last key seen, not an
    offset, so rows added or removed meanwhile neither repeat nor skip an item.
    """
    check_page_size(max_results)
    state = token_fields(page_token, after=list)
    ordered = sorted(items, key=key)
    if state is not None:
        after = tuple(state["after"])
        try:
            ordered = [item for item in ordered if key(item) > after]
        except TypeError:  # a key of another shape than ours: not a token we issued
            raise _bad_token(page_token) from None
    page = ordered[:max_results]
    more = len(ordered) > max_results
    return Page(page, encode_token({"after": list(key(page[-1]))}) if more else None)
