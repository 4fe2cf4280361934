"""Keyset pages over short lists read whole, and page tokens checked for their shape."""

from __future__ import annotations

import pytest

from steward.core.errors import InvalidArgument
from steward.core.pagination import encode_token, keyset_page, token_fields


def _walk(items: list[int], size: int) -> list[list[int]]:
    pages, token = [], None
    while True:
        page = keyset_page(items, lambda i: (i,), max_results=size, page_token=token)
        pages.append(page.items)
        if (token := page.next_page_token) is None:
            return pages


def test_pages_cover_every_item_once_in_key_order() -> None:
    assert _walk([5, 1, 4, 2, 3], 2) == [[1, 2], [3, 4], [5]]
    assert _walk([1, 2, 3, 4], 2) == [[1, 2], [3, 4]]  # no empty last page
    assert _walk([], 3) == [[]]


def test_an_item_added_behind_the_cursor_is_not_seen_again_and_none_is_skipped() -> None:
    first = keyset_page([10, 20, 30, 40], lambda i: (i,), max_results=2, page_token=None)
    rest = keyset_page([5, 10, 20, 30, 35, 40], lambda i: (i,), max_results=10, page_token=first.next_page_token)
    assert first.items + rest.items == [10, 20, 30, 35, 40]


@pytest.mark.parametrize(
    "token",
    [
        "%%%",
        encode_token({"after": 3}),  # not a list
        encode_token({"after": ["x"]}),  # a key of another shape
        encode_token({"before": 3}),  # another list's token
        encode_token({"after": [1], "extra": 1}),
    ],
)
def test_a_token_of_another_shape_is_an_invalid_page_token(token: str) -> None:
    with pytest.raises(InvalidArgument, match="page_token") as err:
        keyset_page([1, 2, 3], lambda i: (i,), max_results=2, page_token=token)
    assert err.value.fields["field"] == "page_token"


def test_token_fields_rejects_bools_for_ints() -> None:
    assert token_fields(encode_token({"before": 7}), before=int) == {"before": 7}
    with pytest.raises(InvalidArgument, match="page_token"):
        token_fields(encode_token({"before": True}), before=int)


@pytest.mark.parametrize("size", [0, -1, 10_001])
def test_page_size_out_of_range_names_max_results(size: int) -> None:
    with pytest.raises(InvalidArgument, match="max_results"):
        keyset_page([1], lambda i: (i,), max_results=size, page_token=None)
