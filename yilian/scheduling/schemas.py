"""Pydantic shapes of the scheduling API."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from yilian.kit.bounds import ClockTime, Id


class ScheduleCreate(BaseModel):
    department_id: Id
    day: date
    period: str = Field(pattern="^(am|pm|night)$")
    clinic_type: str = "ordinary"
    practitioner_id: Id | None = None
    location: str = Field("", max_length=100)
    slice_minutes: int | None = Field(None, ge=5, le=240)
    slice_capacity: int | None = Field(None, ge=1, le=500)


class TemplateBody(BaseModel):
    """A weekly template row (排班模板); the same department, doctor, weekday and period replaces it."""

    department_id: Id
    weekday: int = Field(ge=0, le=6, description="0 = 周一 … 6 = 周日")
    period: str = Field(pattern="^(am|pm|night)$")
    clinic_type: str = "ordinary"
    practitioner_id: Id | None = None
    location: str = Field("", max_length=100)
    slice_minutes: int | None = Field(None, ge=5, le=240)
    slice_capacity: int | None = Field(None, ge=1, le=240)
    on_holidays: bool = False


class TemplateRead(TemplateBody):
    model_config = ConfigDict(from_attributes=True)
    id: int
    institution_id: Id


class GenerateBody(BaseModel):
    start: date
    days: int = Field(14, ge=1, le=92)


class GenerateRead(BaseModel):
    created: int
    missing_years: list[int] = Field(description="年份：节假日日历未录入完整，按周末处理")
    warning: str | None = None


class CalendarDayBody(BaseModel):
    """A statutory holiday (法定节假日) or a make-up working day (调休上班, Saturday or Sunday)."""

    kind: Literal["holiday", "makeup"]
    name: str = Field("", max_length=40, description="节日，例如 元旦")


class CalendarDayRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    day: date
    year: int
    kind: str
    name: str
    source: str = Field(description="package（由 chinesecalendar 导入）或 admin（管理员录入）")
    updated_by: str


class CalendarDaySaved(CalendarDayRead):
    schedules_on_day: int = Field(description="该日已生成的开诊排班数（不会自动停诊）")


class CalendarYearBody(BaseModel):
    complete: bool = Field(description="该年安排已按国务院办公厅通知录入完整")


class CalendarYearRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    year: int
    stored: bool
    complete: bool
    source: str
    holidays: int
    makeup_days: int
    updated_by: str
    warning: str | None = None


class CalendarYearDetail(CalendarYearRead):
    days: list[CalendarDayRead]


class SlotRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    start: ClockTime
    end: ClockTime
    capacity: int
    booked: int


class ScheduleRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    institution_id: Id
    campus_id: Id | None
    department_id: Id
    practitioner_id: Id | None
    day: date
    period: str
    clinic_type: str
    fee_fen: int
    location: str
    status: str


class ScheduleDetail(ScheduleRead):
    slots: list[SlotRead]


class BookingCreate(BaseModel):
    slot_id: Id
    patient_id: Id
    channel: str = Field("online", pattern="^(online|desk)$")


class BookingRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    slot_id: Id
    schedule_id: Id
    patient_id: Id
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
    schedule_id: Id


class CheckInBody(BaseModel):
    groups: list[str] = Field(default_factory=list, max_length=10)


class QueueEntryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    schedule_id: Id
    booking_id: Id
    patient_id: Id
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
    schedule_id: Id
    ticket_no: int
    calling: bool
    ahead: int
    location: str


class KioskLookup(BaseModel):
    """The resident ID number typed or swiped at the machine (in the body: never in a URL or a log)."""

    id_number: str = Field(min_length=15, max_length=18)


class KioskBookingRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    booking_id: Id
    masked_name: str
    department_id: Id
    practitioner_id: Id | None
    period: str
    start: ClockTime
    location: str
    ticket_no: int | None
