"""API shapes of the pharmacy."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field


class DispenseRequest(BaseModel):
    checker: str = Field(min_length=1, max_length=64, description="核对药师的用户名（双人核对）")
    window: int = Field(default=1, ge=1, le=20)


class CallRequest(BaseModel):
    window: int = Field(ge=1, le=20)


class ReturnRequest(BaseModel):
    reason: str = Field(min_length=1, max_length=200)


class StockReceive(BaseModel):
    item_code: str = Field(min_length=10, max_length=32)
    batch_no: str = Field(min_length=1, max_length=32)
    expiry: date
    quantity: int = Field(ge=1, le=100000)


class BatchRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    item_code: str
    batch_no: str
    expiry: date
    quantity: int


class DispensationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    prescription_id: int
    window: int
    status: str
    dispenser_name: str
    checker_name: str
    dispensed_at: datetime | None


class LabelRead(BaseModel):
    patient: str
    name: str
    quantity: str
    instructions: str
    batches: str


class WindowRowRead(BaseModel):
    prescription_id: int
    patient: str
    kind_label: str
    drugs: str
    paid: bool
    status: str
    window: int | None


class ReturnRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    order_id: int
    prescription_id: int
    amount: int
    reason: str
