"""Pydantic shapes of the scheduling API."""

from __future__ import annotations

from datetime import date, time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ScheduleCreate(BaseModel):
    department_id: int
    day: date
    period: str = Field(pattern="^(am|pm|night)$")
    clinic_type: str = "ordinary"
    practitioner_id: int | None = None
    location: str = Field("", max_length=100)
    slice_minutes: int | None = Field(None, ge=5, le=240)
    slice_capacity: int | None = Field(None, ge=1, le=500)


class TemplateBody(BaseModel):
    """A weekly template row (排班模板); the same department, doctor, weekday and period replaces it."""

    department_id: int
    weekday: int = Field(ge=0, le=6, description="0 = 周一 … 6 = 周日")
    period: str = Field(pattern="^(am|pm|night)$")
    clinic_type: str = "ordinary"
    practitioner_id: int | None = None
    location: str = Field("", max_length=100)
    slice_minutes: int | None = Field(None, ge=5, le=240)
    slice_capacity: int | None = Field(None, ge=1, le=240)
    on_holidays: bool = False


class TemplateRead(TemplateBody):
    model_config = ConfigDict(from_attributes=True)
    id: int
    institution_id: int


class GenerateBody(BaseModel):
    start: date
    days: int = Field(14, ge=1, le=92)


class SlotRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    start: time
    end: time
    capacity: int
    booked: int


class ScheduleRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    institution_id: int
    campus_id: int | None
    department_id: int
    practitioner_id: int | None
    day: date
    period: str
    clinic_type: str
    fee_fen: int
    location: str
    status: str


class ScheduleDetail(ScheduleRead):
    slots: list[SlotRead]


class BookingCreate(BaseModel):
    slot_id: int
    patient_id: int
    channel: str = Field("online", pattern="^(online|desk)$")


class BookingRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    slot_id: int
    schedule_id: int
    patient_id: int
    day: date
    status: str
    channel: str
    fee_fen: int
    payment_state: str
    payment_method: str
    qualifies_three_day: bool
    valid_until: date | None
    returns_used: int


class ConfirmBody(BaseModel):
    payment_method: str = Field(
        "desk", max_length=16, description="desk / phone / kiosk / credit（先诊疗后付费）"
    )


class StopBody(BaseModel):
    reason: str = Field("", max_length=200)


class ReturnVisitBody(BaseModel):
    schedule_id: int


class CheckInBody(BaseModel):
    groups: list[str] = Field(default_factory=list, max_length=10)


class QueueEntryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    schedule_id: int
    booking_id: int
    patient_id: int
    ticket_no: int
    priority: bool
    is_return: bool
    status: str
    calls: int


class PolicyBody(BaseModel):
    changes: dict[str, Any]


class QueuePlaceRead(BaseModel):
    """Where a checked-in patient stands in today's queue."""

    model_config = ConfigDict(from_attributes=True)
    schedule_id: int
    ticket_no: int
    calling: bool
    ahead: int
    location: str


class KioskLookup(BaseModel):
    """The resident ID number typed or swiped at the machine (in the body: never in a URL or a log)."""

    id_number: str = Field(min_length=15, max_length=18)


class KioskBookingRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    booking_id: int
    masked_name: str
    department_id: int
    practitioner_id: int | None
    period: str
    start: time
    location: str
    ticket_no: int | None
