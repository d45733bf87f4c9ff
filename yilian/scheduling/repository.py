"""Queries of the scheduling area (the only module that builds SQL)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from yilian.scheduling.models import Booking, QueueEntry, Schedule, SchedulingPolicy, Slot

ACTIVE = ("held", "confirmed")


def policy_row(session: Session, institution_id: int) -> SchedulingPolicy | None:
    return session.get(SchedulingPolicy, institution_id)


def claim_place(session: Session, slot_id: int) -> bool:
    """Take one place of a slot if one is free: conditional UPDATE, checked row count."""
    result = session.execute(
        update(Slot)
        .where(Slot.id == slot_id, Slot.booked < Slot.capacity)
        .values(booked=Slot.booked + 1)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def release_place(session: Session, slot_id: int) -> None:
    session.execute(
        update(Slot)
        .where(Slot.id == slot_id, Slot.booked > 0)
        .values(booked=Slot.booked - 1)
        .execution_options(synchronize_session=False)
    )


def by_idempotency_key(session: Session, key: str) -> Booking | None:
    return session.scalar(select(Booking).where(Booking.idempotency_key == key))


def count_same_doctor_session(session: Session, patient_id: int, schedule_id: int) -> int:
    q = select(func.count()).where(
        Booking.patient_id == patient_id, Booking.schedule_id == schedule_id, Booking.status.in_(ACTIVE)
    )
    return int(session.scalar(q) or 0)


def count_patient_day(session: Session, patient_id: int, day: date) -> int:
    q = select(func.count()).where(
        Booking.patient_id == patient_id, Booking.day == day, Booking.status.in_(ACTIVE)
    )
    return int(session.scalar(q) or 0)


def no_show_days(session: Session, patient_id: int, since: date) -> list[date]:
    q = select(Booking.day).where(
        Booking.patient_id == patient_id, Booking.status == "no_show", Booking.day >= since
    )
    return list(session.scalars(q))


def slots_of(session: Session, schedule_id: int) -> Sequence[Slot]:
    return session.scalars(select(Slot).where(Slot.schedule_id == schedule_id).order_by(Slot.start)).all()


def schedules(
    session: Session,
    *,
    institution_id: int | None = None,
    department_id: int | None = None,
    practitioner_id: int | None = None,
    day: date | None = None,
    days: tuple[date, date] | None = None,
) -> Sequence[Schedule]:
    q = select(Schedule)
    if institution_id is not None:
        q = q.where(Schedule.institution_id == institution_id)
    if department_id is not None:
        q = q.where(Schedule.department_id == department_id)
    if practitioner_id is not None:
        q = q.where(Schedule.practitioner_id == practitioner_id)
    if day is not None:
        q = q.where(Schedule.day == day)
    if days is not None:
        q = q.where(Schedule.day >= days[0], Schedule.day <= days[1])
    return session.scalars(q.order_by(Schedule.day, Schedule.period, Schedule.id)).all()


def open_days(session: Session, department_id: int, start: date, span_days: int) -> set[date]:
    q = select(Schedule.day).where(
        Schedule.department_id == department_id,
        Schedule.status == "open",
        Schedule.day >= start,
        Schedule.day <= start + timedelta(days=span_days),
    )
    return set(session.scalars(q))


def bookings_of_schedule(session: Session, schedule_id: int, statuses: Sequence[str]) -> Sequence[Booking]:
    q = select(Booking).where(Booking.schedule_id == schedule_id, Booking.status.in_(statuses))
    return session.scalars(q.order_by(Booking.id)).all()


def bookings_of_patient(session: Session, patient_id: int) -> Sequence[Booking]:
    q = (
        select(Booking)
        .where(Booking.patient_id == patient_id)
        .order_by(Booking.day.desc(), Booking.id.desc())
    )
    return session.scalars(q.limit(100)).all()


def queue_entries(session: Session, schedule_id: int, statuses: Sequence[str]) -> Sequence[QueueEntry]:
    q = select(QueueEntry).where(QueueEntry.schedule_id == schedule_id, QueueEntry.status.in_(statuses))
    return session.scalars(q.order_by(QueueEntry.sort_key, QueueEntry.id)).all()


def next_ticket_no(session: Session, schedule_id: int) -> int:
    q = select(func.max(QueueEntry.ticket_no)).where(QueueEntry.schedule_id == schedule_id)
    return int(session.scalar(q) or 0) + 1


def lock_schedule(session: Session, schedule_id: int) -> Schedule | None:
    return session.scalar(select(Schedule).where(Schedule.id == schedule_id).with_for_update())
