"""API shapes for users and tokens."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=128)
    role: str
    kind: str = "user"
    password: str | None = Field(default=None, min_length=8)


class UserOut(BaseModel):
    id: int
    name: str
    kind: str
    role: str
    disabled: bool


class UserPage(BaseModel):
    items: list[UserOut]
    next_page_token: str | None


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user: str | None = None
    name: str = ""
    ttl_days: int | None = None


class TokenOut(BaseModel):
    token: str
    user: str


class WhoAmI(BaseModel):
    name: str
    role: str
    kind: str
    grants: list[str]
