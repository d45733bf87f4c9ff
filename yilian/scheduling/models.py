"""Scheduling tables: policies, schedules, slots, bookings (registrations), return visits, queue entries."""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import ForeignKey, Index, String, Text, Time, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from yilian.kit.db import Base


class SchedulingPolicy(Base):
    """Per-institution policy values (JSON of ``domain.Policy``)."""

    __tablename__ = "sched_policies"

    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), primary_key=True)
    data: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]


class Schedule(Base):
    """One half-day clinic session (排班) of a department, optionally of a practitioner."""

    __tablename__ = "sched_schedules"
    __table_args__ = (Index("ix_sched_schedules_dept_day", "department_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    campus_id: Mapped[int | None] = mapped_column(ForeignKey("campuses.id"))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    practitioner_id: Mapped[int | None] = mapped_column(ForeignKey("practitioners.id"), index=True)
    day: Mapped[date]
    period: Mapped[str] = mapped_column(String(8))
    clinic_type: Mapped[str] = mapped_column(String(16))
    fee_fen: Mapped[int]
    location: Mapped[str] = mapped_column(String(100), default="")
    status: Mapped[str] = mapped_column(String(16), default="open")
    firsts_since_return: Mapped[int] = mapped_column(default=0)
    # bumped (atomically, in SQL) by every queue change: displays poll it to redraw without a reload
    queue_version: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime]


class Slot(Base):
    """A time slice (分时段) of a schedule with its capacity; ``booked`` is claimed conditionally."""

    __tablename__ = "sched_slots"

    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("sched_schedules.id"), index=True)
    start: Mapped[time] = mapped_column(Time())
    end: Mapped[time] = mapped_column(Time())
    capacity: Mapped[int]
    booked: Mapped[int] = mapped_column(default=0)


class Booking(Base):
    """A booking that becomes the registration (挂号) once confirmed; carries fee and payment state."""

    __tablename__ = "sched_bookings"
    __table_args__ = (
        UniqueConstraint("idempotency_key", name="uq_sched_bookings_idempotency_key"),
        Index("ix_sched_bookings_patient_day", "patient_id", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slot_id: Mapped[int] = mapped_column(ForeignKey("sched_slots.id"), index=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("sched_schedules.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"))
    campus_id: Mapped[int | None] = mapped_column(ForeignKey("campuses.id"))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    practitioner_id: Mapped[int | None] = mapped_column(ForeignKey("practitioners.id"))
    day: Mapped[date]
    status: Mapped[str] = mapped_column(String(16))  # held/confirmed/cancelled/no_show/stopped
    channel: Mapped[str] = mapped_column(String(16))  # online/desk
    idempotency_key: Mapped[str | None] = mapped_column(String(64))
    fee_fen: Mapped[int]
    payment_state: Mapped[str] = mapped_column(String(16), default="unpaid")  # unpaid/paid/refund_due
    payment_method: Mapped[str] = mapped_column(String(16), default="")
    paid_at: Mapped[datetime | None]
    hold_expires_at: Mapped[datetime | None]
    qualifies_three_day: Mapped[bool] = mapped_column(default=False)
    valid_until: Mapped[date | None]
    returns_used: Mapped[int] = mapped_column(default=0)
    episode_closed: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ReturnVisit(Base):
    """A free return visit (一号管三天) under a registration; counted for dashboards."""

    __tablename__ = "sched_return_visits"

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("sched_bookings.id"), index=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("sched_schedules.id"))
    day: Mapped[date]
    fee_waived_fen: Mapped[int]
    created_at: Mapped[datetime]


class QueueEntry(Base):
    """A place in a schedule's waiting queue (候诊)."""

    __tablename__ = "sched_queue_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("sched_schedules.id"), index=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("sched_bookings.id"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    ticket_no: Mapped[int]
    sort_key: Mapped[int]
    priority: Mapped[bool] = mapped_column(default=False)
    is_return: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(16), default="waiting")  # waiting/called/done/skipped
    calls: Mapped[int] = mapped_column(default=0)
    checked_in_at: Mapped[datetime]
    called_at: Mapped[datetime | None]


class ScheduleTemplate(Base):
    """A weekly template row (排班模板): which clinic a department (and doctor) holds on a weekday."""

    __tablename__ = "sched_templates"
    __table_args__ = (
        UniqueConstraint(
            "department_id", "practitioner_id", "weekday", "period", name="uq_sched_templates_slot"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    practitioner_id: Mapped[int | None] = mapped_column(ForeignKey("practitioners.id"))
    weekday: Mapped[int]  # 0 = Monday … 6 = Sunday
    period: Mapped[str] = mapped_column(String(8))
    clinic_type: Mapped[str] = mapped_column(String(16))
    location: Mapped[str] = mapped_column(String(100), default="")
    slice_minutes: Mapped[int | None]
    slice_capacity: Mapped[int | None]
    on_holidays: Mapped[bool] = mapped_column(default=False)
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime]


class CalendarYear(Base):
    """A year of the holiday calendar (节假日日历); ``complete`` once its whole arrangement is entered."""

    __tablename__ = "sched_calendar_years"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    complete: Mapped[bool] = mapped_column(default=False)
    source: Mapped[str] = mapped_column(String(16))  # package (seeded from chinesecalendar) / admin
    updated_by: Mapped[str] = mapped_column(String(64), default="")
    updated_at: Mapped[datetime]


class CalendarDay(Base):
    """A statutory holiday (法定节假日, ``holiday``) or make-up working day (调休上班, ``makeup``)."""

    __tablename__ = "sched_calendar_days"

    day: Mapped[date] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(ForeignKey("sched_calendar_years.year"), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(40), default="")
    source: Mapped[str] = mapped_column(String(16))  # package / admin
    updated_by: Mapped[str] = mapped_column(String(64), default="")
    updated_at: Mapped[datetime]
