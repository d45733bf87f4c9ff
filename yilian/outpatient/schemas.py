"""API shapes of outpatient care."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from yilian.kit.bounds import Id
from yilian.outpatient.domain import OrderKind, OrderStatus


class EncounterCreate(BaseModel):
    patient_id: Id
    department_id: Id
    practitioner_id: Id | None = None
    registration_id: Id | None = None
    clinic_type: str = Field(default="ordinary", max_length=16)


class DiagnosisCreate(BaseModel):
    code: str = Field(min_length=3, max_length=16, description="ICD-10 医保版编码，如 E11.900")
    is_primary: bool = False


class OrderCreate(BaseModel):
    item_code: str = Field(min_length=10, max_length=32)
    quantity: int = Field(default=1, ge=1, le=999)


class CancelRequest(BaseModel):
    reason: str = Field(min_length=1, max_length=200)


class DiagnosisRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name: str
    is_primary: bool


class OrderRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    encounter_id: Id
    kind: OrderKind
    item_code: str
    item_name: str
    quantity: int
    unit: str
    unit_price: int
    amount: int
    insurance_class: str
    self_pay_permille: int
    status: OrderStatus
    placed_at: datetime
    performed_at: datetime | None
    cancelled_at: datetime | None
    cancel_reason: str


class EncounterRead(BaseModel):
    id: int
    patient_id: Id
    institution_id: Id
    department_id: Id
    practitioner_id: Id | None
    registration_id: Id | None
    clinic_type: str
    business_date: date
    status: str
    diagnoses: list[DiagnosisRead]
    orders: list[OrderRead]
