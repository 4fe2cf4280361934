"""Settings, tokens, passwords, permissions, cursors: the pure plumbing."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from steward.auth.models import ROLES, has_permission
from steward.core.config import Settings, mask_url
from steward.core.errors import InvalidArgument
from steward.core.pagination import check_page_size, decode_token, encode_token
from steward.core.security import hash_password, hash_token, new_token, verify_password


def test_settings_default_to_the_embedded_store(tmp_path: Path) -> None:
    s = Settings(home=tmp_path)
    assert s.database_url == f"sqlite:///{tmp_path.resolve()}/steward.db"
    assert s.artifact_root == str((tmp_path / "artifacts").resolve())


def test_settings_read_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("STEWARD_DATABASE_URL", "postgresql+psycopg://u:secret@db/steward")
    monkeypatch.setenv("STEWARD_PORT", "8123")
    s = Settings(home=tmp_path)
    assert s.port == 8123
    assert s.masked()["database_url"] == "postgresql+psycopg://u:********@db/steward"
    assert ":secret@" not in str(s.masked())


def test_bad_settings_name_the_field(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STEWARD_SQLITE_SYNCHRONOUS", "SOMETIMES")
    with pytest.raises(ValueError, match="SOMETIMES"):
        Settings()


def test_mask_url_leaves_urls_without_passwords_alone() -> None:
    assert mask_url("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"


def test_passwords_verify_only_themselves() -> None:
    stored = hash_password("correct horse")
    assert verify_password("correct horse", stored)
    assert not verify_password("wrong horse", stored)
    assert not verify_password("correct horse", "garbage")


def test_tokens_are_random_and_stored_as_hashes() -> None:
    a, b = new_token(), new_token()
    assert a != b and a.startswith("stw_")
    assert hash_token(a) != a and len(hash_token(a)) == 64


@pytest.mark.parametrize(
    ("grants", "permission", "expected"),
    [
        (("probes:*",), "probes:register", True),
        (("probes:*",), "evidence:upload", False),
        (("*:read",), "models:read", True),
        (("*:read",), "users:read", False),
        (("*",), "users:read", True),
        ((), "profile:read", True),
    ],
)
def test_wildcard_permissions(grants: tuple[str, ...], permission: str, expected: bool) -> None:
    assert has_permission(grants, permission) is expected


def test_every_role_is_named_and_non_empty() -> None:
    assert set(ROLES) == {"Admin", "Engineer", "Compliance Officer", "Auditor", "Viewer"}
    assert all(r.grants for r in ROLES.values())


@given(st.dictionaries(st.text(min_size=1, max_size=5), st.integers() | st.text(max_size=10), max_size=4))
def test_cursor_tokens_round_trip(state: dict[str, object]) -> None:
    assert decode_token(encode_token(state)) == state


@pytest.mark.parametrize("token", ["%%%", "bm90IGpzb24=", "WzFd"])
def test_foreign_cursor_tokens_are_refused(token: str) -> None:
    with pytest.raises(InvalidArgument, match="page_token"):
        decode_token(token)


def test_page_size_is_bounded() -> None:
    assert check_page_size(10) == 10
    with pytest.raises(InvalidArgument, match="max_results"):
        check_page_size(0)
