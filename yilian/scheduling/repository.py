"""Queries of the scheduling area (the only module that builds SQL)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any, NamedTuple

import psycopg
from sqlalchemy import (
    BindParameter,
    Exists,
    Integer,
    Select,
    String,
    and_,
    bindparam,
    case,
    cast,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import Compiled

from yilian.kit import events
from yilian.kit.access_log import AccessAudit
from yilian.kit.db import driver_connection, may_commit_alone, statements_alone, table_of
from yilian.scheduling.domain import BookingStatus, QueueStatus, ScheduleStatus
from yilian.scheduling.models import (
    Booking,
    CalendarDay,
    CalendarYear,
    QueueEntry,
    ReturnVisit,
    Schedule,
    ScheduleTemplate,
    SchedulingPolicy,
    Slot,
)

ACTIVE = (BookingStatus.HELD, BookingStatus.CONFIRMED)
AnySelect = Select[*tuple[Any, ...]]


def _stored(statuses: Sequence[BookingStatus]) -> list[str]:
    """The strings ``statuses`` are stored as, bound as plain strings."""
    return [s.value for s in statuses]


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


class BookingContext(NamedTuple):
    """What a booking needs to know of its slot, schedule, policy and patient (one query)."""

    slot_id: int
    start: time
    schedule_id: int
    status: str
    institution_id: int
    campus_id: int | None
    department_id: int
    practitioner_id: int | None
    day: date
    fee_fen: int
    policy_data: str | None
    patient_exists: bool
    same_session: int  # the patient's active bookings in this schedule
    that_day: int  # … on the schedule's day
    no_show_text: str | None  # the days of all her no-shows, comma-separated ISO dates
    stale: bool  # one of her holds has run out (expire it, then read the counts again)

    def no_show_days(self, since: date) -> list[date]:
        days = (date.fromisoformat(d) for d in (self.no_show_text or "").split(",") if d)
        return [d for d in days if d >= since]


def booking_context(
    session: Session,
    slot_id: int,
    patient_id: int,
    patient_exists: Callable[[BindParameter[int]], Exists],
    now: datetime,
    *,
    on_its_own: bool = False,
) -> BookingContext | None:
    """The slot and its schedule's columns a booking copies, the institution's stored policy (its JSON,
    None for the defaults), whether the patient exists (``patient_exists``: registry's clause for a
    patient id) and the rules' facts about her (as ``patient_booking_facts``, the no-shows of every
    day): one query instead of five. The statement is built once, with bind parameters; on PostgreSQL
    it runs on the driver as a prepared statement (no ORM execution around it).

    ``on_its_own`` (PostgreSQL, a session that owns its transaction and has sent nothing yet): the read
    runs outside a transaction, so no BEGIN goes before it (see ``kit.db.statements_alone``)."""
    params = {"slot_id": slot_id, "patient_id": patient_id, "now": now}
    row = _first(session, _context_statement(patient_exists), params, on_its_own=on_its_own)
    return BookingContext._make(row) if row is not None else None


def has_stale_holds(session: Session, slot_id: int, now: datetime, *, on_its_own: bool = False) -> bool:
    """Whether a hold on the slot has run out (a full slot may then free a place): a read on its own
    like ``booking_context``, so a booking refused for a full slot sends no transaction at all."""
    row = _first(session, _stale_holds_statement(), {"slot_id": slot_id, "now": now}, on_its_own=on_its_own)
    return row is not None and bool(row[0])


@functools.cache
def _stale_holds_statement() -> AnySelect:
    return select(
        select(Booking.id)
        .where(
            Booking.slot_id == bindparam("slot_id", type_=Integer()),
            Booking.status == literal_column(f"'{BookingStatus.HELD.value}'"),
            Booking.hold_expires_at < bindparam("now", type_=Booking.hold_expires_at.type),
        )
        .exists()
    )


def _first(
    session: Session, statement: AnySelect, params: dict[str, Any], *, on_its_own: bool
) -> Sequence[Any] | None:
    """The first row of a statement built once with bind parameters (and constants inline: no
    expanding or literal-execute parameters). On PostgreSQL it runs on the driver as a prepared
    statement, compiled once per dialect; ``on_its_own`` (a session that owns its transaction and has
    sent nothing yet): outside a transaction, so no BEGIN goes before it (see
    ``kit.db.statements_alone``)."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        return connection.execute(statement, params).first()
    compiled = _compiled(statement, connection.dialect)
    driver = driver_connection(session)
    with statements_alone(driver, on_its_own and may_commit_alone(session)):
        got: Sequence[Any] | None = driver.execute(
            compiled.string, compiled.construct_params(params)
        ).fetchone()
    return got


@functools.cache
def _compiled(statement: AnySelect, dialect: Dialect) -> Compiled:
    return statement.compile(dialect=dialect)


@functools.cache
def _context_statement(patient_exists: Callable[[BindParameter[int]], Exists]) -> AnySelect:
    """``booking_context``'s statement (the separator and the statuses inline: a literal-execute
    parameter would not survive compiling once)."""
    policy = select(SchedulingPolicy.data).where(SchedulingPolicy.institution_id == Schedule.institution_id)
    patient_id = bindparam("patient_id", type_=Integer())
    hers = Booking.patient_id == patient_id
    statuses = [literal_column(f"'{status}'", String) for status in _stored(ACTIVE)]  # constants, inline
    active = and_(hers, Booking.status.in_(statuses))
    statement: AnySelect = (
        select(
            Slot.id,
            Slot.start,
            Schedule.id,
            Schedule.status,
            Schedule.institution_id,
            Schedule.campus_id,
            Schedule.department_id,
            Schedule.practitioner_id,
            Schedule.day,
            Schedule.fee_fen,
            policy.scalar_subquery(),
            patient_exists(patient_id),
            select(func.count()).where(active, Booking.schedule_id == Schedule.id).scalar_subquery(),
            select(func.count()).where(active, Booking.day == Schedule.day).scalar_subquery(),
            select(func.aggregate_strings(cast(Booking.day, String), literal_column("','")))  # type: ignore[arg-type]
            .where(hers, Booking.status == literal_column(f"'{BookingStatus.NO_SHOW.value}'"))
            .scalar_subquery(),
            select(Booking.id)
            .where(
                hers,
                Booking.status == BookingStatus.HELD.value,
                Booking.hold_expires_at < bindparam("now", type_=Booking.hold_expires_at.type),
            )
            .exists(),
        )
        .join(Schedule, Schedule.id == Slot.schedule_id)
        .where(Slot.id == bindparam("slot_id", type_=Integer()))
    )
    return statement


BOOKING_COLUMNS = (
    "slot_id",
    "schedule_id",
    "patient_id",
    "institution_id",
    "campus_id",
    "department_id",
    "practitioner_id",
    "day",
    "status",
    "channel",
    "idempotency_key",
    "fee_fen",
    "payment_state",
    "payment_method",
    "paid_at",
    "hold_expires_at",
    "qualifies_three_day",
    "valid_until",
    "returns_used",
    "episode_closed",
    "created_at",
    "updated_at",
)
AUDIT_COLUMNS = ("at", "user_id", "username", "role", "institution_id", "action", "reason", "channel", "ip")
BOOKING_HELD = "scheduling.booking_held"


@functools.cache
def _claim_and_book_statement(notify: bool = True) -> Select[Any]:
    slots, bookings, audit = table_of(Slot), table_of(Booking), table_of(AccessAudit)
    claimed = (
        update(slots)
        .where(slots.c.id == bindparam("slot_id"), slots.c.booked < slots.c.capacity)
        .values(booked=slots.c.booked + 1)
        .returning(slots.c.id)
        .cte("claimed")
    )
    booking = (
        insert(bookings)
        .from_select(
            BOOKING_COLUMNS,
            select(*[bindparam(f"b_{c}", type_=bookings.c[c].type) for c in BOOKING_COLUMNS]).select_from(
                claimed
            ),
        )
        .returning(bookings.c.id, bookings.c.patient_id)
        .cte("booking")
    )
    audited = (
        insert(audit)
        .from_select(
            [*AUDIT_COLUMNS, "resource", "patient_id"],
            select(
                *[bindparam(f"a_{c}", type_=audit.c[c].type) for c in AUDIT_COLUMNS],
                literal_column("'booking/'", String) + cast(booking.c.id, String),
                booking.c.patient_id,
            ).select_from(booking),
        )
        .cte("audited")
    )
    payload = func.json_build_object(
        literal_column("'booking_id'"), booking.c.id, literal_column("'patient_id'"), booking.c.patient_id
    )
    emitted = events.event_insert(booking, BOOKING_HELD, payload).cte("emitted")
    columns = (booking.c.id, events.notify(BOOKING_HELD)) if notify else (booking.c.id,)
    return select(*columns).add_cte(audited, emitted)


@functools.cache
def _notify_if_booked() -> Select[Any]:
    """The NOTIFY of the booking's event, sent in a transaction of its own after the booking's commit
    only if the booking was written (found by its patient, day, slot and creation time). That
    transaction commits without waiting for its WAL flush (``synchronous_commit`` off for it alone: it
    writes nothing, and a notification is not kept across a crash anyway), so the notification lock,
    which PostgreSQL holds from a notifying commit until its end, is held for moments."""
    b = table_of(Booking)
    relaxed = func.set_config(literal("synchronous_commit", String()), literal("off", String()), True)
    return select(events.notify(BOOKING_HELD), relaxed).where(
        b.c.patient_id == bindparam("b_patient_id"),
        b.c.day == bindparam("b_day", type_=b.c.day.type),
        b.c.slot_id == bindparam("b_slot_id"),
        b.c.created_at == bindparam("b_created_at", type_=b.c.created_at.type),
    )


def claim_and_book(
    session: Session, values: dict[str, Any], audit: dict[str, Any], *, commit: bool = False
) -> int | None:
    """PostgreSQL: one statement (one round trip) that takes a place of ``values["slot_id"]`` with the
    conditional UPDATE and, only when it got one, inserts the booking, its access-audit row (``audit``:
    ``access_values``) and its ``scheduling.booking_held`` outbox event. Returns the new booking's id,
    or None with nothing written when the slot is full.

    ``commit`` (a session that owns its transaction): the statement commits as it runs, so the slot
    row stays locked only while the server runs it, not while the answer travels back and the caller's
    thread waits for its turn to send a COMMIT. When nothing of the transaction has reached the server
    yet, the statement runs as a transaction of its own (autocommit: one round trip, no BEGIN or COMMIT
    sent); otherwise it is sent with the COMMIT in one pipeline. The event's NOTIFY then goes in a
    transaction of its own, after the booking's commit: a transaction that notifies holds PostgreSQL's
    one notification lock from its commit until its WAL is flushed, so bookings that notified committed
    one at a time, each waiting for its own flush with the slot row locked; the notification's own
    transaction writes no WAL. The session's own commit after it finds nothing to do."""
    params: dict[str, Any] = {f"b_{c}": values[c] for c in BOOKING_COLUMNS}
    params.update({f"a_{c}": audit[c] for c in AUDIT_COLUMNS})
    params.update(slot_id=values["slot_id"], event_at=values["created_at"])
    if not commit:
        row = session.execute(_claim_and_book_statement(), params).first()
        return None if row is None else int(row[0])
    dialect = session.connection().dialect
    claim = _compiled(_claim_and_book_statement(notify=False), dialect)
    notify = _compiled(_notify_if_booked(), dialect)
    driver = driver_connection(session)
    try:
        if may_commit_alone(session):
            with statements_alone(driver):
                got = driver.execute(claim.string, claim.construct_params(params)).fetchone()
                if got is not None:
                    driver.execute(notify.string, notify.construct_params(params))
        else:
            with driver.pipeline():
                cursor = driver.cursor()
                cursor.execute(claim.string, claim.construct_params(params))
                driver.commit()
                driver.execute(notify.string, notify.construct_params(params))
                driver.commit()
            got = cursor.fetchone()
    except psycopg.IntegrityError as exc:  # as SQLAlchemy would have raised it (a twin's idempotency key)
        raise IntegrityError(claim.string, params, exc) from exc
    return None if got is None else int(got[0])


def patient_booking_facts(
    session: Session,
    patient_id: int,
    schedule_id: int,
    day: date,
    no_show_since: date,
    now: datetime | None = None,
) -> tuple[int, int, list[date], bool]:
    """What the booking rules need about a patient, in one query: active bookings in the schedule,
    active bookings on the day, the days of no-shows since ``no_show_since``, and (given ``now``)
    whether any of the patient's holds has run out (to be expired before these counts are trusted)."""
    wanted = or_(
        and_(
            Booking.status.in_(_stored(ACTIVE)), or_(Booking.schedule_id == schedule_id, Booking.day == day)
        ),
        and_(Booking.status == BookingStatus.NO_SHOW.value, Booking.day >= no_show_since),
    )
    ran_out = (
        literal(False)
        if now is None
        else and_(Booking.status == BookingStatus.HELD.value, Booking.hold_expires_at < now)
    )
    rows = session.execute(
        select(Booking.schedule_id, Booking.day, Booking.status, case((ran_out, 1), else_=0)).where(
            Booking.patient_id == patient_id, or_(wanted, ran_out)
        )
    ).all()
    same = sum(1 for s, _d, st, _x in rows if st in ACTIVE and s == schedule_id)
    that_day = sum(1 for _s, d, st, _x in rows if st in ACTIVE and d == day)
    no_shows = [d for _s, d, st, _x in rows if st == BookingStatus.NO_SHOW and d >= no_show_since]
    return same, that_day, no_shows, any(x for *_r, x in rows)


def slots_of_many(session: Session, schedule_ids: Sequence[int]) -> Sequence[Slot]:
    if not schedule_ids:
        return []
    return session.scalars(
        select(Slot).where(Slot.schedule_id.in_(schedule_ids)).order_by(Slot.schedule_id, Slot.start)
    ).all()


def hold_places(session: Session, slot_id: int, count: int) -> bool:
    """Take ``count`` places of a slot at once for a higher area's reserve (all or none)."""
    result = session.execute(
        update(Slot)
        .where(Slot.id == slot_id, Slot.booked + count <= Slot.capacity)
        .values(booked=Slot.booked + count)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def unhold_places(session: Session, slot_id: int, count: int) -> bool:
    """Give back ``count`` held places of a slot to the public."""
    result = session.execute(
        update(Slot)
        .where(Slot.id == slot_id, Slot.booked >= count)
        .values(booked=Slot.booked - count)
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


def transition(
    session: Session,
    booking_id: int,
    from_statuses: Sequence[BookingStatus],
    to_status: BookingStatus,
    *,
    at: datetime,
    hold_valid_at: datetime | None = None,
) -> bool:
    """Move a booking between statuses with a conditional UPDATE and a checked row count, so two
    concurrent changes (cancel twice, confirm against expiry) cannot both act on capacity."""
    q = update(Booking).where(Booking.id == booking_id, Booking.status.in_(_stored(from_statuses)))
    if hold_valid_at is not None:
        q = q.where(Booking.hold_expires_at >= hold_valid_at)
    result = session.execute(
        q.values(status=to_status.value, updated_at=at).execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def stale_holds(
    session: Session,
    now: datetime,
    *,
    slot_id: int | None = None,
    patient_id: int | None = None,
    limit: int = 500,
) -> list[int]:
    q = select(Booking.id).where(Booking.status == BookingStatus.HELD.value, Booking.hold_expires_at < now)
    if slot_id is not None:
        q = q.where(Booking.slot_id == slot_id)
    if patient_id is not None:
        q = q.where(Booking.patient_id == patient_id)
    return list(session.scalars(q.order_by(Booking.id).limit(limit)))


def by_idempotency_key(session: Session, key: str) -> Booking | None:
    return session.scalar(select(Booking).where(Booking.idempotency_key == key))


def count_same_doctor_session(session: Session, patient_id: int, schedule_id: int) -> int:
    q = select(func.count()).where(
        Booking.patient_id == patient_id,
        Booking.schedule_id == schedule_id,
        Booking.status.in_(_stored(ACTIVE)),
    )
    return int(session.scalar(q) or 0)


def count_patient_day(session: Session, patient_id: int, day: date) -> int:
    q = select(func.count()).where(
        Booking.patient_id == patient_id, Booking.day == day, Booking.status.in_(_stored(ACTIVE))
    )
    return int(session.scalar(q) or 0)


def no_show_days(session: Session, patient_id: int, since: date) -> list[date]:
    q = select(Booking.day).where(
        Booking.patient_id == patient_id, Booking.status == BookingStatus.NO_SHOW.value, Booking.day >= since
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
    status: str | None = None,
) -> Sequence[Schedule]:
    q = select(Schedule)
    if status is not None:
        q = q.where(Schedule.status == status)
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
        Schedule.status == ScheduleStatus.OPEN.value,
        Schedule.day >= start,
        Schedule.day <= start + timedelta(days=span_days),
    )
    return set(session.scalars(q))


def templates(session: Session, institution_id: int) -> Sequence[ScheduleTemplate]:
    q = select(ScheduleTemplate).where(ScheduleTemplate.institution_id == institution_id)
    return session.scalars(
        q.order_by(ScheduleTemplate.department_id, ScheduleTemplate.weekday, ScheduleTemplate.period)
    ).all()


def template_institutions(session: Session) -> list[int]:
    return list(session.scalars(select(ScheduleTemplate.institution_id).distinct()))


def existing_sessions(
    session: Session, institution_id: int, start: date, end: date
) -> set[tuple[int, int | None, date, str]]:
    """(department, practitioner, day, period) of the schedules already made in a date range."""
    q = select(Schedule.department_id, Schedule.practitioner_id, Schedule.day, Schedule.period).where(
        Schedule.institution_id == institution_id, Schedule.day >= start, Schedule.day <= end
    )
    return {(r[0], r[1], r[2], r[3]) for r in session.execute(q)}


def return_visit_days(session: Session, booking_id: int) -> set[date]:
    return set(session.scalars(select(ReturnVisit.day).where(ReturnVisit.booking_id == booking_id)))


def booking_counts(
    session: Session, institution_id: int, start: date, end: date
) -> dict[tuple[str, str], int]:
    """(status, channel) → bookings of clinic days in [start, end]."""
    q = (
        select(Booking.status, Booking.channel, func.count())
        .where(Booking.institution_id == institution_id, Booking.day >= start, Booking.day <= end)
        .group_by(Booking.status, Booking.channel)
    )
    return {(r[0], r[1]): int(r[2]) for r in session.execute(q)}


def three_day_registrations(session: Session, institution_id: int, start: date, end: date) -> int:
    q = select(func.count()).where(
        Booking.institution_id == institution_id,
        Booking.day >= start,
        Booking.day <= end,
        Booking.status == BookingStatus.CONFIRMED.value,
        Booking.qualifies_three_day.is_(True),
    )
    return int(session.scalar(q) or 0)


def return_visit_totals(session: Session, institution_id: int, start: date, end: date) -> tuple[int, int]:
    """(return visits, fee waived in fen) served on days in [start, end]."""
    q = (
        select(func.count(), func.coalesce(func.sum(ReturnVisit.fee_waived_fen), 0))
        .join(Booking, Booking.id == ReturnVisit.booking_id)
        .where(Booking.institution_id == institution_id, ReturnVisit.day >= start, ReturnVisit.day <= end)
    )
    row = session.execute(q).one()
    return int(row[0]), int(row[1])


def bookings_of_schedule(
    session: Session, schedule_id: int, statuses: Sequence[BookingStatus]
) -> Sequence[Booking]:
    q = select(Booking).where(Booking.schedule_id == schedule_id, Booking.status.in_(_stored(statuses)))
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


def first_visit_entry(session: Session, booking_id: int) -> QueueEntry | None:
    q = select(QueueEntry).where(QueueEntry.booking_id == booking_id, QueueEntry.is_return.is_(False))
    return session.scalars(q.order_by(QueueEntry.id)).first()


def unseen_bookings(session: Session, day: date) -> list[int]:
    """Confirmed bookings of ``day`` whose patient never checked in (no first-visit queue place)."""
    checked_in = select(QueueEntry.id).where(
        QueueEntry.booking_id == Booking.id, QueueEntry.is_return.is_(False)
    )
    q = select(Booking.id).where(
        Booking.day == day, Booking.status == BookingStatus.CONFIRMED.value, ~checked_in.exists()
    )
    return list(session.scalars(q.order_by(Booking.id)))


def active_entries_of_booking(session: Session, booking_id: int) -> Sequence[QueueEntry]:
    q = select(QueueEntry).where(
        QueueEntry.booking_id == booking_id,
        QueueEntry.status.in_((QueueStatus.WAITING.value, QueueStatus.CALLED.value)),
    )
    return session.scalars(q.order_by(QueueEntry.id.desc())).all()


def bump_queue_version(session: Session, schedule_id: int) -> None:
    session.execute(
        update(Schedule)
        .where(Schedule.id == schedule_id)
        .values(queue_version=Schedule.queue_version + 1)
        .execution_options(synchronize_session=False)
    )


def queue_version(session: Session, schedule_id: int) -> int:
    return int(session.scalar(select(Schedule.queue_version).where(Schedule.id == schedule_id)) or 0)


def last_called(session: Session, schedule_id: int) -> QueueEntry | None:
    q = select(QueueEntry).where(QueueEntry.schedule_id == schedule_id, QueueEntry.called_at.is_not(None))
    return session.scalars(q.order_by(QueueEntry.called_at.desc(), QueueEntry.id.desc())).first()


def next_ticket_no(session: Session, schedule_id: int) -> int:
    q = select(func.max(QueueEntry.ticket_no)).where(QueueEntry.schedule_id == schedule_id)
    return int(session.scalar(q) or 0) + 1


def lock_schedule(session: Session, schedule_id: int) -> Schedule | None:
    return session.scalar(select(Schedule).where(Schedule.id == schedule_id).with_for_update())


# ---------------------------------------------------------------- pages support


def open_schedules(
    session: Session,
    *,
    start: date,
    end: date,
    institution_id: int | None = None,
    department_id: int | None = None,
    practitioner_id: int | None = None,
) -> Sequence[Schedule]:
    """Open schedules from ``start`` to ``end`` (inclusive), by day, period and id."""
    return schedules(
        session,
        institution_id=institution_id,
        department_id=department_id,
        practitioner_id=practitioner_id,
        days=(start, end),
        status=ScheduleStatus.OPEN.value,
    )


def institutions_with_open_schedules(session: Session, start: date, end: date) -> list[int]:
    """Ids of the institutions holding an open schedule from ``start`` to ``end``."""
    q = (
        select(Schedule.institution_id)
        .where(Schedule.status == ScheduleStatus.OPEN.value, Schedule.day >= start, Schedule.day <= end)
        .distinct()
    )
    return sorted(session.scalars(q))


def remaining_places(session: Session, schedule_ids: Sequence[int]) -> dict[int, int]:
    """Free places per schedule (sum over its slots)."""
    if not schedule_ids:
        return {}
    q = (
        select(Slot.schedule_id, func.sum(Slot.capacity - Slot.booked))
        .where(Slot.schedule_id.in_(schedule_ids))
        .group_by(Slot.schedule_id)
    )
    return {int(sid): int(free or 0) for sid, free in session.execute(q)}


def patient_bookings_detail(
    session: Session, patient_id: int, limit: int = 50
) -> list[tuple[Booking, Schedule, Slot]]:
    """A patient's bookings, newest clinic day first, with their schedule and slot."""
    q = (
        select(Booking, Schedule, Slot)
        .join(Schedule, Schedule.id == Booking.schedule_id)
        .join(Slot, Slot.id == Booking.slot_id)
        .where(Booking.patient_id == patient_id)
        .order_by(Booking.day.desc(), Slot.start.desc(), Booking.id.desc())
        .limit(limit)
    )
    return [(b, s, sl) for b, s, sl in session.execute(q).tuples()]


BOOKING_READ_COLUMNS = (
    "id",
    "slot_id",
    "schedule_id",
    "patient_id",
    "day",
    "status",
    "channel",
    "fee_fen",
    "payment_state",
    "payment_method",
    "qualifies_three_day",
    "valid_until",
    "returns_used",
)
# a patient's bookings as the HTTP read shows them (``BookingRead``'s columns and the institution),
# built once, in ``patient_bookings_detail``'s order
_PATIENT_BOOKING_ROWS = (
    select(*(getattr(Booking, c) for c in BOOKING_READ_COLUMNS), Booking.institution_id)
    .join(Schedule, Schedule.id == Booking.schedule_id)
    .join(Slot, Slot.id == Booking.slot_id)
    .where(Booking.patient_id == bindparam("patient_id"))
    .order_by(Booking.day.desc(), Slot.start.desc(), Booking.id.desc())
    .limit(bindparam("limit"))
)


def patient_booking_rows(session: Session, patient_id: int, limit: int = 50) -> Sequence[Any]:
    """``patient_bookings_detail`` as plain rows of the booking's ``BOOKING_READ_COLUMNS`` and its
    ``institution_id`` (no ORM objects)."""
    return session.execute(_PATIENT_BOOKING_ROWS, {"patient_id": patient_id, "limit": limit}).all()


def first_visit_entries(session: Session, booking_ids: Sequence[int]) -> dict[int, QueueEntry]:
    """The queue entry of each booking's own (first) visit, for those that checked in."""
    if not booking_ids:
        return {}
    q = select(QueueEntry).where(QueueEntry.booking_id.in_(booking_ids), QueueEntry.is_return.is_(False))
    return {e.booking_id: e for e in session.scalars(q)}


def return_visits_of(session: Session, booking_ids: Sequence[int]) -> dict[int, list[ReturnVisit]]:
    """Return visits (一号管三天) made under each booking, oldest first."""
    out: dict[int, list[ReturnVisit]] = {}
    if not booking_ids:
        return out
    q = select(ReturnVisit).where(ReturnVisit.booking_id.in_(booking_ids)).order_by(ReturnVisit.id)
    for rv in session.scalars(q):
        out.setdefault(rv.booking_id, []).append(rv)
    return out


# ---------------------------------------------------------------- holiday calendar (节假日日历)


def calendar_years(session: Session) -> Sequence[CalendarYear]:
    return session.scalars(select(CalendarYear).order_by(CalendarYear.year)).all()


def calendar_days(session: Session, first_year: int, last_year: int) -> Sequence[CalendarDay]:
    q = select(CalendarDay).where(CalendarDay.year >= first_year, CalendarDay.year <= last_year)
    return session.scalars(q.order_by(CalendarDay.day)).all()


def calendar_day_counts(session: Session) -> dict[tuple[int, str], int]:
    """(year, kind) → number of days stored."""
    q = select(CalendarDay.year, CalendarDay.kind, func.count()).group_by(CalendarDay.year, CalendarDay.kind)
    return {(int(y), str(k)): int(n) for y, k, n in session.execute(q)}


def open_schedules_on(session: Session, day: date) -> int:
    q = (
        select(func.count())
        .select_from(Schedule)
        .where(Schedule.day == day, Schedule.status == ScheduleStatus.OPEN.value)
    )
    return int(session.scalar(q) or 0)


def three_day_counts(session: Session, start: date, end: date) -> list[tuple[date, int, int, int]]:
    """(clinic day, institution, department, confirmed registrations carrying 一号管三天) (analytics)."""
    q = (
        select(Booking.day, Booking.institution_id, Booking.department_id, func.count())
        .where(
            Booking.day >= start,
            Booking.day <= end,
            Booking.status == BookingStatus.CONFIRMED.value,
            Booking.qualifies_three_day.is_(True),
        )
        .group_by(Booking.day, Booking.institution_id, Booking.department_id)
    )
    return [(r[0], int(r[1]), int(r[2]), int(r[3])) for r in session.execute(q)]


def return_visit_counts(session: Session, start: date, end: date) -> list[tuple[date, int, int, int, int]]:
    """(day, institution, department, return visits, fee waived) served in [start, end] (analytics)."""
    q = (
        select(
            ReturnVisit.day,
            Booking.institution_id,
            Booking.department_id,
            func.count(),
            func.coalesce(func.sum(ReturnVisit.fee_waived_fen), 0),
        )
        .join(Booking, Booking.id == ReturnVisit.booking_id)
        .where(ReturnVisit.day >= start, ReturnVisit.day <= end)
        .group_by(ReturnVisit.day, Booking.institution_id, Booking.department_id)
    )
    return [(r[0], int(r[1]), int(r[2]), int(r[3]), int(r[4])) for r in session.execute(q)]
