"""API shapes of accounts and login."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from yilian.kit.auth.domain import Role
from yilian.kit.bounds import Id


class LoginRequest(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=200)


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    display_name: str
    role: Role
    institution_id: Id | None
    practitioner_id: Id | None
    patient_id: Id | None
    is_active: bool
    created_at: datetime
    last_login_at: datetime | None


class TokenRead(BaseModel):
    access_token: str
    token_type: str = "bearer"
    user: UserRead


class UserCreate(BaseModel):
    username: str = Field(min_length=3, max_length=64)
    password: str = Field(min_length=1, max_length=200)
    role: Role
    display_name: str = Field(min_length=1, max_length=64)
    institution_id: Id | None = None
    practitioner_id: Id | None = None
    patient_id: Id | None = None


class UserUpdate(BaseModel):
    """What 用户管理 may change; omitted fields stay as they are."""

    display_name: str | None = Field(default=None, max_length=64)
    role: Role | None = None
    institution_id: Id | None = None
    is_active: bool | None = None
    new_password: str | None = Field(default=None, min_length=1, max_length=200)


class MeRead(BaseModel):
    user_id: Id | None
    username: str
    display_name: str
    role: Role
    role_label: str
    institution_id: Id | None
    patient_id: Id | None
    practitioner_id: Id | None
    permissions: list[str]
