"""API shapes of accounts and login."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from yilian.kit.auth.domain import Role


class LoginRequest(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=200)


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    display_name: str
    role: Role
    institution_id: int | None
    practitioner_id: int | None
    patient_id: int | None
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
    institution_id: int | None = None
    practitioner_id: int | None = None
    patient_id: int | None = None


class MeRead(BaseModel):
    user_id: int | None
    username: str
    display_name: str
    role: Role
    role_label: str
    institution_id: int | None
    patient_id: int | None
    practitioner_id: int | None
    permissions: list[str]
