"""Scheduling services: policy, schedules, booking (hold → confirm), cancel, stop clinic, three-day return
visits and queues. Services flush, never commit; the caller owns the transaction."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, time, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.util import identity_key

from yilian.kit import events
from yilian.kit.access_log import access_values, record_access
from yilian.kit.auth.domain import Actor, Permission, require_permission
from yilian.kit.clock import age_on, business_date, local_now, utcnow
from yilian.kit.db import is_postgres, owns_its_transaction
from yilian.kit.errors import Forbidden, InvalidInput, found
from yilian.kit.masking import mask_name
from yilian.registry import service as registry
from yilian.scheduling import domain
from yilian.scheduling import repository as repo
from yilian.scheduling.domain import BookingStatus, QueueStatus, ScheduleStatus
from yilian.scheduling.errors import (
    BookingNotFound,
    BookingStateError,
    CalendarDayNotFound,
    CancelTooLate,
    ClinicStopped,
    DailyLimitReached,
    DuplicateBooking,
    HoldExpired,
    NoShowBanned,
    NotReturnEligible,
    QueueEmpty,
    ScheduleNotFound,
    SlotFull,
    SlotNotReleased,
)
from yilian.scheduling.models import (
    Booking,
    CalendarDay,
    CalendarYear,
    QueueEntry,
    ReturnVisit,
    ScheduleTemplate,
    SchedulingPolicy,
)
from yilian.scheduling.models import Schedule as Schedule  # re-exported for other areas' annotations
from yilian.scheduling.models import Slot as Slot  # re-exported for other areas' annotations

STATUS_TEXT: dict[str, str] = {
    BookingStatus.HELD: "锁号待支付",
    BookingStatus.CONFIRMED: "已挂号",
    BookingStatus.CANCELLED: "已取消",
    BookingStatus.EXPIRED: "锁号超时",
    BookingStatus.NO_SHOW: "爽约",
    BookingStatus.STOPPED: "已停诊",
}

PERIOD_TIMES: dict[str, tuple[time, time]] = {
    "am": (time(8, 0), time(11, 30)),
    "pm": (time(13, 30), time(17, 0)),
    "night": (time(18, 0), time(20, 30)),
}


def _own_or_desk(actor: Actor, patient_id: int) -> None:
    if actor.patient_id is not None and actor.patient_id != patient_id:
        raise Forbidden("只能为本人预约")


# Staff permissions that work on an institution's bookings (desk, queue, schedule office, cashier, kiosk).
BOOKING_STAFF = (
    Permission.REGISTRATION_DESK,
    Permission.QUEUE_CALL,
    Permission.SCHEDULE_MANAGE,
    Permission.BILLING_CASHIER,
    Permission.KIOSK_CHECK_IN,
)


def check_institution(actor: Actor, institution_id: int, *permissions: Permission) -> None:
    """Staff act on an institution's bookings, queues and schedules only with one of ``permissions``
    and only at their own institution (an administrator tied to none: everywhere)."""
    if not any(actor.has(p) for p in permissions):
        raise Forbidden(f"当前角色（{actor.role.label}）没有此操作权限")
    if not actor.serves(institution_id):
        raise Forbidden("只能处理本机构的预约、排班与候诊")


def _check_booking(actor: Actor, b: Booking) -> None:
    """A patient (or family account) reaches only their own bookings; staff those of their institution."""
    if not actor.is_staff:
        if actor.patient_id is None or actor.patient_id != b.patient_id:
            raise Forbidden("只能查看本人的预约")
        return
    check_institution(actor, b.institution_id, *BOOKING_STAFF)


# ---------------------------------------------------------------- policy


def get_policy(session: Session, institution_id: int) -> domain.Policy:
    """An institution's policy: its stored row, or the defaults (not stored: a read never writes)."""
    row = repo.policy_row(session, institution_id)
    return _parsed_policy(None if row is None else row.data)


def institution_policy(session: Session, institution_id: int) -> domain.Policy:
    """The policy of an institution that exists (404 otherwise)."""
    return get_policy(session, registry.get_institution(session, institution_id).id)


def set_policy(
    session: Session, actor: Actor, institution_id: int, changes: dict[str, object]
) -> domain.Policy:
    check_institution(actor, institution_id, Permission.SCHEDULE_MANAGE)
    current = institution_policy(session, institution_id).to_dict()
    current.update(changes)
    try:
        policy = domain.Policy.from_dict(current)
    except (ValueError, TypeError) as exc:
        raise InvalidInput(str(exc)) from exc
    row = repo.policy_row(session, institution_id)
    if row is None:
        row = SchedulingPolicy(institution_id=institution_id)
        session.add(row)
    row.data = json.dumps(policy.to_dict(), ensure_ascii=False)
    row.updated_at = utcnow()
    session.flush()
    return policy


# ---------------------------------------------------------------- schedules


def _check_clinic(
    session: Session,
    department_id: int,
    period: str,
    clinic_type: str,
    practitioner_id: int | None,
    visiting: bool = False,
) -> tuple[registry.Department, str]:
    """A clinic's department, period, clinic type and doctor are valid together; returns the department
    and the doctor's title (for the fee)."""
    if period not in PERIOD_TIMES:
        raise InvalidInput(f"无效的时段: {period}")
    if clinic_type not in domain.CLINIC_TYPE_LABELS:
        raise InvalidInput(f"无效的号别: {clinic_type}")
    dept = registry.get_department(session, department_id)
    if practitioner_id is None:
        return dept, ""
    doc = registry.get_practitioner(session, practitioner_id)
    if doc.institution_id != dept.institution_id and not visiting:
        raise InvalidInput("医生不属于该机构")
    return dept, doc.title


CLINIC_DAY_SPAN = 366  # schedules are made for about a year back (corrections) and ahead


def _check_clinic_day(day: date) -> None:
    today = business_date()
    if abs((day - today).days) > CLINIC_DAY_SPAN:
        raise InvalidInput(f"排班日期应在今天前后 {CLINIC_DAY_SPAN} 天内")


def create_schedule(
    session: Session,
    actor: Actor,
    *,
    department_id: int,
    day: date,
    period: str,
    clinic_type: str = "ordinary",
    practitioner_id: int | None = None,
    location: str = "",
    slice_minutes: int | None = None,
    slice_capacity: int | None = None,
    visiting: bool = False,
) -> Schedule:
    """Open one clinic session; ``visiting``: the doctor comes from another institution of the alliance
    (专家下沉坐诊), charged by the hosting institution's fee policy for the doctor's title."""
    require_permission(actor, Permission.SCHEDULE_MANAGE)
    _check_clinic_day(day)
    dept, title = _check_clinic(session, department_id, period, clinic_type, practitioner_id, visiting)
    check_institution(actor, dept.institution_id, Permission.SCHEDULE_MANAGE)
    policy = get_policy(session, dept.institution_id)
    start, end = PERIOD_TIMES[period]
    specs = domain.slice_session(
        start, end, slice_minutes or policy.slice_minutes, slice_capacity or policy.slice_capacity
    )
    sched = Schedule(
        institution_id=dept.institution_id,
        campus_id=dept.campus_id,
        department_id=dept.id,
        practitioner_id=practitioner_id,
        day=day,
        period=period,
        clinic_type=clinic_type,
        fee_fen=domain.registration_fee(policy, clinic_type, title),
        location=location or dept.location,
        status=ScheduleStatus.OPEN.value,
        firsts_since_return=0,
        created_at=utcnow(),
    )
    session.add(sched)
    session.flush()
    session.add_all(
        [Slot(schedule_id=sched.id, start=s.start, end=s.end, capacity=s.capacity, booked=0) for s in specs]
    )
    session.flush()
    return sched


def get_schedule(session: Session, schedule_id: int) -> Schedule:
    return found(session.get(Schedule, schedule_id), ScheduleNotFound())


def stop_clinic(session: Session, actor: Actor, schedule_id: int, reason: str = "") -> int:
    """停诊: cancel all active bookings, mark paid fees refund-due, emit an event per patient."""
    sched = get_schedule(session, schedule_id)
    check_institution(actor, sched.institution_id, Permission.SCHEDULE_MANAGE)
    sched.status = ScheduleStatus.STOPPED.value
    affected = [
        b
        for b in repo.bookings_of_schedule(session, schedule_id, repo.ACTIVE)
        if repo.transition(session, b.id, repo.ACTIVE, BookingStatus.STOPPED, at=utcnow())
    ]
    for b in affected:
        session.refresh(b)
        if b.payment_state == "paid":
            b.payment_state = "refund_due"
        events.emit(
            session,
            "scheduling.clinic_stopped",
            {"booking_id": b.id, "patient_id": b.patient_id, "schedule_id": schedule_id, "reason": reason},
        )
    session.flush()
    return len(affected)


# ---------------------------------------------------------------- holiday calendar (节假日日历)

CALENDAR_YEARS = (2000, 2100)  # the years the calendar accepts


@dataclass(frozen=True)
class CalendarYearInfo:
    """A year of the holiday calendar as the admin page and the API list it."""

    year: int
    stored: bool  # the year has a row (seeded or entered)
    complete: bool
    source: str
    holidays: int
    makeup_days: int
    updated_by: str = ""

    @property
    def warning(self) -> str | None:
        return None if self.complete else domain.calendar_warning([self.year])


def _check_year(year: int) -> None:
    low, high = CALENDAR_YEARS
    if not low <= year <= high:
        raise InvalidInput(f"年份应为 {low}–{high}")


def holiday_calendar(session: Session, first: date, last: date) -> domain.HolidayCalendar:
    """The holiday calendar of the years from ``first`` to ``last``, read from the calendar table."""
    holidays: dict[date, str] = {}
    makeup: dict[date, str] = {}
    for row in repo.calendar_days(session, first.year, last.year):
        (holidays if row.kind == "holiday" else makeup)[row.day] = row.name
    known = frozenset(y.year for y in repo.calendar_years(session) if y.complete)
    return domain.HolidayCalendar(holidays, makeup, known)


def seed_holiday_calendar(session: Session) -> list[int]:
    """Import the years the ``chinesecalendar`` package covers and the table does not hold yet (each as a
    complete year); idempotent, and a year already in the table (seeded or entered by the admin) is never
    touched. Run by ``yilian db upgrade``, ``yilian demo``, ``yilian scheduling calendar import`` and at
    first use (before schedules are generated). Returns the years imported."""
    have = {y.year for y in repo.calendar_years(session)}
    missing = {year: days for year, days in domain.package_calendar().items() if year not in have}
    if not missing:
        return []
    stamp = utcnow()
    try:
        with session.begin_nested():
            for year, (holidays, makeup) in sorted(missing.items()):
                session.add(CalendarYear(year=year, complete=True, source="package", updated_at=stamp))
                session.flush()
                for kind, days in (("holiday", holidays), ("makeup", makeup)):
                    session.add_all(
                        CalendarDay(day=d, year=year, kind=kind, name=n, source="package", updated_at=stamp)
                        for d, n in days.items()
                    )
            session.flush()
    except IntegrityError:
        return []  # a concurrent first use imported them
    return sorted(missing)


def calendar_overview(session: Session, today: date | None = None) -> list[CalendarYearInfo]:
    """Every year in the table plus this year and the next two (which may not be stored yet)."""
    today = today or business_date()
    counts = repo.calendar_day_counts(session)
    rows = {y.year: y for y in repo.calendar_years(session)}
    out = []
    for year in sorted(set(rows) | set(range(today.year, today.year + 3))):
        row = rows.get(year)
        out.append(
            CalendarYearInfo(
                year=year,
                stored=row is not None,
                complete=bool(row and row.complete),
                source=row.source if row else "",
                holidays=counts.get((year, "holiday"), 0),
                makeup_days=counts.get((year, "makeup"), 0),
                updated_by=row.updated_by if row else "",
            )
        )
    return out


def calendar_year_info(session: Session, year: int) -> CalendarYearInfo:
    _check_year(year)
    found = next((y for y in calendar_overview(session) if y.year == year), None)
    return found or CalendarYearInfo(year, False, False, "", 0, 0)


def calendar_days(session: Session, year: int) -> list[CalendarDay]:
    """The holidays and make-up working days stored for ``year``, by date."""
    _check_year(year)
    return list(repo.calendar_days(session, year, year))


def calendar_warning(session: Session, first: date, last: date) -> str | None:
    """The fall-back warning for the days from ``first`` to ``last`` (None when every year is complete)."""
    return domain.calendar_warning(holiday_calendar(session, first, last).unknown_years(first, last))


def _calendar_year_row(session: Session, actor: Actor, year: int) -> CalendarYear:
    row = session.get(CalendarYear, year)
    if row is None:
        row = CalendarYear(year=year, complete=False, source="admin", updated_at=utcnow())
        session.add(row)
    row.updated_by = actor.username
    row.updated_at = utcnow()
    session.flush()
    return row


def set_calendar_day(session: Session, actor: Actor, *, day: date, kind: str, name: str = "") -> CalendarDay:
    """Enter (or change) a statutory holiday or a make-up working day (the admin, each November when the
    State Council publishes the next year). Schedules already generated for that day are left alone."""
    require_permission(actor, Permission.SCHEDULE_MANAGE)
    _check_year(day.year)
    if kind not in domain.EDITABLE_KINDS:
        raise InvalidInput("类型应为 holiday（法定节假日）或 makeup（调休上班）")
    name = name.strip()
    if len(name) > 40 or any(not c.isprintable() for c in name):
        raise InvalidInput("节日名称最多 40 个字，不能含控制字符")
    if kind == "makeup" and day.weekday() < 5:
        raise InvalidInput("调休上班日应为周六或周日")
    seed_holiday_calendar(session)  # first use: the package's years land before the admin's change
    _calendar_year_row(session, actor, day.year)
    row = session.get(CalendarDay, day)
    if row is None:
        row = CalendarDay(day=day, year=day.year)
        session.add(row)
    row.kind = kind
    row.name = name
    row.source = "admin"
    row.updated_by = actor.username
    row.updated_at = utcnow()
    session.flush()
    return row


def remove_calendar_day(session: Session, actor: Actor, day: date) -> None:
    """Remove a holiday or make-up working day: the date becomes an ordinary weekday or weekend."""
    require_permission(actor, Permission.SCHEDULE_MANAGE)
    _check_year(day.year)
    seed_holiday_calendar(session)
    row = found(
        session.get(CalendarDay, day),
        CalendarDayNotFound(f"{day.isoformat()} 不是已录入的节假日或调休上班日"),
    )
    _calendar_year_row(session, actor, day.year)
    session.delete(row)
    session.flush()


def set_calendar_year_complete(session: Session, actor: Actor, year: int, complete: bool) -> CalendarYearInfo:
    """Mark a year's arrangement as entered in full (the warning goes), or as not yet complete."""
    require_permission(actor, Permission.SCHEDULE_MANAGE)
    _check_year(year)
    seed_holiday_calendar(session)
    _calendar_year_row(session, actor, year).complete = complete
    session.flush()
    return calendar_year_info(session, year)


def open_schedules_on(session: Session, day: date) -> int:
    """How many open schedules (of every institution) are already generated for ``day``."""
    return repo.open_schedules_on(session, day)


# ---------------------------------------------------------------- weekly templates (排班模板)


def list_templates(session: Session, institution_id: int) -> list[ScheduleTemplate]:
    return list(repo.templates(session, institution_id))


def save_template(
    session: Session,
    actor: Actor,
    *,
    department_id: int,
    weekday: int,
    period: str,
    clinic_type: str = "ordinary",
    practitioner_id: int | None = None,
    location: str = "",
    slice_minutes: int | None = None,
    slice_capacity: int | None = None,
    on_holidays: bool = False,
) -> ScheduleTemplate:
    """Add a weekly template row, or change the row of the same department, doctor, weekday and period."""
    require_permission(actor, Permission.SCHEDULE_MANAGE)
    if not 0 <= weekday <= 6:
        raise InvalidInput("星期应为 0（周一）至 6（周日）")
    for value, name in ((slice_minutes, "时段长度"), (slice_capacity, "每时段号源数")):
        if value is not None and not 1 <= value <= 240:
            raise InvalidInput(f"{name}应为 1–240")
    dept, _title = _check_clinic(session, department_id, period, clinic_type, practitioner_id)
    if actor.institution_id is not None and dept.institution_id != actor.institution_id:
        raise Forbidden("只能维护本机构的排班模板")
    row = next(
        (
            t
            for t in repo.templates(session, dept.institution_id)
            if (t.department_id, t.practitioner_id, t.weekday, t.period)
            == (dept.id, practitioner_id, weekday, period)
        ),
        None,
    )
    if row is None:
        row = ScheduleTemplate(
            institution_id=dept.institution_id,
            department_id=dept.id,
            practitioner_id=practitioner_id,
            weekday=weekday,
            period=period,
            created_by=actor.username,
            created_at=utcnow(),
        )
        session.add(row)
    row.clinic_type = clinic_type
    row.location = location
    row.slice_minutes = slice_minutes
    row.slice_capacity = slice_capacity
    row.on_holidays = on_holidays
    session.flush()
    return row


def delete_template(session: Session, actor: Actor, template_id: int) -> None:
    require_permission(actor, Permission.SCHEDULE_MANAGE)
    row = found(session.get(ScheduleTemplate, template_id), ScheduleNotFound("排班模板不存在"))
    if actor.institution_id is not None and row.institution_id != actor.institution_id:
        raise Forbidden("只能维护本机构的排班模板")
    session.delete(row)
    session.flush()


def institutions_with_templates(session: Session) -> list[int]:
    return repo.template_institutions(session)


@dataclass(frozen=True)
class GenerateResult:
    """Schedules made, and the years of the range without a complete holiday calendar (weekends used)."""

    created: int
    missing_years: tuple[int, ...] = ()

    @property
    def warning(self) -> str | None:
        return domain.calendar_warning(self.missing_years)


def generate_schedules(
    session: Session, actor: Actor, institution_id: int, *, start: date, days: int
) -> GenerateResult:
    """Make the schedules of ``days`` days from ``start`` out of the weekly templates, on the holiday
    calendar table (holidays, make-up working days; a year without data falls back to weekends and is
    named in the result). Idempotent: a session that exists is left alone."""
    require_permission(actor, Permission.SCHEDULE_MANAGE)
    if not 1 <= days <= 92:
        raise InvalidInput("生成天数应为 1–92")
    _check_year(start.year)
    _check_clinic_day(start)
    end = start + timedelta(days=days - 1)
    _check_year(end.year)
    check_institution(actor, registry.get_institution(session, institution_id).id, Permission.SCHEDULE_MANAGE)
    policy = get_policy(session, institution_id)
    rows = repo.templates(session, institution_id)
    seed_holiday_calendar(session)  # first use on a database nobody seeded
    calendar = holiday_calendar(session, start, end)
    have = repo.existing_sessions(session, institution_id, start, end)
    made = 0
    for offset in range(days):
        day = start + timedelta(days=offset)
        for t in rows:
            key = (t.department_id, t.practitioner_id, day, t.period)
            if key in have or not domain.template_runs_on(
                policy, calendar, weekday=t.weekday, on_holidays=t.on_holidays, day=day
            ):
                continue
            create_schedule(
                session,
                actor,
                department_id=t.department_id,
                day=day,
                period=t.period,
                clinic_type=t.clinic_type,
                practitioner_id=t.practitioner_id,
                location=t.location,
                slice_minutes=t.slice_minutes,
                slice_capacity=t.slice_capacity,
            )
            have.add(key)
            made += 1
    return GenerateResult(made, tuple(calendar.unknown_years(start, end)))


# ---------------------------------------------------------------- fee payment methods

FeeBooking = Booking  # what a fee payer is handed, for the payers' annotations in other areas
FeePayer = Callable[[Session, Booking], str]
"""Takes a held booking's fee by some means; returns the payment state, or raises a refusal."""

BUILTIN_PAYMENT_METHODS = {"desk": "窗口缴费", "phone": "手机支付", "kiosk": "自助机缴费"}
_fee_payers: dict[str, tuple[str, FeePayer]] = {}


def register_fee_payer(method: str, label: str, payer: FeePayer) -> None:
    """Let a higher area take registration fees another way (billing: 先诊疗后付费 on credit)."""
    _fee_payers[method] = (label, payer)


def payment_methods() -> dict[str, str]:
    """Payment methods for registration fees: code → Chinese label."""
    return {**BUILTIN_PAYMENT_METHODS, **{m: label for m, (label, _) in _fee_payers.items()}}


# ---------------------------------------------------------------- booking


def book(
    session: Session,
    actor: Actor,
    *,
    slot_id: int,
    patient_id: int,
    channel: str = "online",
    idempotency_key: str | None = None,
    place_held: bool = False,
    commit: bool = False,
) -> Booking:
    """Hold a place: checks the policy rules, then claims capacity with a conditional UPDATE.

    ``place_held``: the place was taken beforehand with ``hold_places`` (a higher area's reserve, e.g.
    the referral share of a specialist clinic); nothing more is claimed. ``commit`` (the HTTP endpoint):
    on PostgreSQL, when the session owns its transaction, the booking is committed together with the
    statement that makes it (the slot row is then locked only while the server runs them); the caller
    still commits (a no-op then, the work otherwise)."""
    require_permission(
        actor, Permission.BOOKING_BOOK if channel == "online" else Permission.REGISTRATION_DESK
    )
    _own_or_desk(actor, patient_id)
    if idempotency_key:
        existing = repo.by_idempotency_key(session, idempotency_key)
        if existing is not None:
            if existing.patient_id != patient_id or existing.slot_id != slot_id:
                raise InvalidInput("幂等键已用于其他预约")
            return existing
    ctx = found(  # registry's clause on the patient is carried in the one read
        repo.booking_context(
            session,
            slot_id,
            patient_id,
            registry.patient_exists_clause,
            utcnow(),
            on_its_own=commit and not place_held,  # the claim then commits by itself too
        ),
        ScheduleNotFound("号源不存在"),
    )
    if actor.is_staff:  # the desk books at its own institution
        check_institution(actor, ctx.institution_id, Permission.BOOKING_BOOK, Permission.REGISTRATION_DESK)
    if ctx.status != ScheduleStatus.OPEN:
        raise ClinicStopped()
    policy = _parsed_policy(ctx.policy_data)
    now = local_now()
    no_show_since = now.date() - timedelta(days=policy.no_show_window_days * 2)
    # the rules' counts came with the slot; if one of the patient's holds ran out, it is expired first
    # (it stops counting) and the counts are read again
    same_session, that_day, no_shows = ctx.same_session, ctx.that_day, ctx.no_show_days(no_show_since)
    if ctx.stale and expire_holds(session, patient_id=patient_id):
        same_session, that_day, no_shows, _stale = repo.patient_booking_facts(
            session, patient_id, ctx.schedule_id, ctx.day, no_show_since
        )
    refusal = domain.check_booking(
        policy,
        local_now=now,
        clinic_day=ctx.day,
        slot_start=ctx.start,
        online=channel == "online",
        same_doctor_session_bookings=same_session,
        bookings_that_day=that_day,
        no_show_days=no_shows,
    )
    if refusal is not None:
        raise _REFUSALS[refusal]()
    if not ctx.patient_exists:
        registry.find_patient(session, patient_id)  # raises the registry's not-found problem
    stamp = utcnow()
    values: dict[str, Any] = dict(
        slot_id=ctx.slot_id,
        schedule_id=ctx.schedule_id,
        patient_id=patient_id,
        institution_id=ctx.institution_id,
        campus_id=ctx.campus_id,
        department_id=ctx.department_id,
        practitioner_id=ctx.practitioner_id,
        day=ctx.day,
        status=BookingStatus.HELD.value,
        channel=channel,
        idempotency_key=idempotency_key,
        fee_fen=ctx.fee_fen,
        payment_state="unpaid",
        payment_method="",
        paid_at=None,
        hold_expires_at=stamp + timedelta(minutes=policy.hold_minutes),
        qualifies_three_day=False,
        valid_until=None,
        returns_used=0,
        episode_closed=False,
        created_at=stamp,
        updated_at=stamp,
    )
    if is_postgres(session) and not place_held:
        return _claim_and_book(session, actor, values, commit=commit)
    if (
        not place_held
        and not repo.claim_place(session, ctx.slot_id)
        and not (expire_holds(session, slot_id=ctx.slot_id) and repo.claim_place(session, ctx.slot_id))
    ):
        raise SlotFull()
    _forget_booked(session, ctx.slot_id)
    booking = Booking(**values)
    session.add(booking)
    session.flush()
    record_access(session, actor, action="book", resource=f"booking/{booking.id}", patient_id=patient_id)
    events.emit(session, "scheduling.booking_held", {"booking_id": booking.id, "patient_id": patient_id})
    return booking


def book_once(
    session: Session,
    actor: Actor,
    *,
    slot_id: int,
    patient_id: int,
    channel: str = "online",
    idempotency_key: str | None = None,
) -> Booking:
    """``book`` for a caller whose transaction holds nothing else (the HTTP endpoint), committed.

    Two requests with the same idempotency key at the same moment both find no booking under it. The
    second one then either fails on the key's unique constraint (PostgreSQL makes its insert wait for
    the first to commit; its claim goes with its rolled-back statement), or, when the first committed
    between its key look-up and its rules' read, is refused by the rules (the patient's booking in
    that session, or the place the twin took). That request is rolled back and asked once again: it
    finds the first one's booking under the key and returns it, as a retry would; a refusal that was
    not the twin's doing is raised again."""
    kwargs: dict[str, Any] = dict(
        slot_id=slot_id, patient_id=patient_id, channel=channel, idempotency_key=idempotency_key
    )
    try:
        booking = book(session, actor, commit=True, **kwargs)
        session.commit()
    except (IntegrityError, DuplicateBooking, SlotFull) as exc:
        if not idempotency_key or (
            isinstance(exc, IntegrityError) and "idempotency_key" not in str(exc.orig)
        ):
            raise
        session.rollback()
        booking = book(session, actor, commit=True, **kwargs)
        session.commit()
    return booking


_REFUSALS: dict[domain.BookingRefusal, Callable[[], Exception]] = {
    domain.BookingRefusal.NOT_RELEASED: SlotNotReleased,
    domain.BookingRefusal.PAST: lambda: SlotNotReleased("该时段已过"),
    domain.BookingRefusal.DUPLICATE: DuplicateBooking,
    domain.BookingRefusal.DAILY_LIMIT: DailyLimitReached,
    domain.BookingRefusal.NO_SHOW_BAN: NoShowBanned,
}


def _claim_and_book(session: Session, actor: Actor, values: dict[str, Any], *, commit: bool) -> Booking:
    """PostgreSQL: the place, the booking, its audit row and its outbox event in one statement (the
    slot row is locked from that statement to the commit, nothing else runs in between)."""
    audit = access_values(actor, action="book")
    commit = commit and owns_its_transaction(session)
    booking_id = repo.claim_and_book(session, values, audit, commit=commit)
    if (
        booking_id is None
        and repo.has_stale_holds(session, values["slot_id"], utcnow(), on_its_own=commit)
        and expire_holds(session, slot_id=values["slot_id"])
    ):
        booking_id = repo.claim_and_book(session, values, audit, commit=commit)
    if booking_id is None:
        raise SlotFull()
    events.emitted(session)
    _forget_booked(session, values["slot_id"])
    booking = Booking(id=booking_id, **values)
    make_transient_to_detached(booking)  # the row was written by the statement above
    session.add(booking)
    return booking


def _forget_booked(session: Session, slot_id: int) -> None:
    """A slot loaded in this session reads its ``booked`` count again after a claim."""
    slot = session.identity_map.get(identity_key(Slot, slot_id))
    if slot is not None:
        session.expire(slot, ["booked"])


@functools.lru_cache(maxsize=256)
def _parsed_policy(data: str | None) -> domain.Policy:
    """An institution's policy from its stored JSON (None: the defaults), parsed once per distinct text
    (the text is read with the booking's other facts, so a changed policy is a new key, never stale)."""
    return domain.Policy() if data is None else domain.Policy.from_dict(json.loads(data))


def hold_places(session: Session, slot_id: int, count: int) -> bool:
    """Keep ``count`` places of a slot out of public booking (all or none; for a higher area's reserve,
    which later books them with ``book(..., place_held=True)`` or gives them back)."""
    if count <= 0:
        return False
    held = repo.hold_places(session, slot_id, count)
    slot = session.identity_map.get(identity_key(Slot, slot_id)) if held else None
    if slot is not None:
        session.expire(slot, ["booked"])
    return held


def unhold_places(session: Session, slot_id: int, count: int) -> None:
    """Give ``count`` places kept with ``hold_places`` back to public booking."""
    if count > 0:
        repo.unhold_places(session, slot_id, count)
        slot = session.get(Slot, slot_id)
        if slot is not None:
            session.expire(slot, ["booked"])


def get_booking(session: Session, actor: Actor, booking_id: int) -> Booking:
    b = found(session.get(Booking, booking_id), BookingNotFound())
    _check_booking(actor, b)
    record_access(session, actor, action="read", resource=f"booking/{b.id}", patient_id=b.patient_id)
    return b


def _department_open(session: Session, department_id: int, start: date, span: int) -> set[date]:
    return repo.open_days(session, department_id, start, span)


def confirm(session: Session, actor: Actor, booking_id: int, *, payment_method: str = "desk") -> Booking:
    """Confirm a held booking: record the fee (fen) as paid (simulated desk/phone payment) → registration."""
    require_permission(
        actor, Permission.BOOKING_BOOK if actor.patient_id is not None else Permission.REGISTRATION_DESK
    )
    if payment_method not in payment_methods():
        raise InvalidInput(f"未知的缴费方式: {payment_method}")
    b = get_booking(session, actor, booking_id)
    if b.status == BookingStatus.EXPIRED:
        raise HoldExpired()
    if b.status != BookingStatus.HELD:
        raise BookingStateError(f"预约状态为 {STATUS_TEXT.get(b.status, b.status)}，不能确认")
    sched = get_schedule(session, b.schedule_id)
    inst = registry.get_institution(session, b.institution_id)
    policy = get_policy(session, b.institution_id)
    # claim the confirmation first: an expired hold (its place may already be someone else's) or a
    # concurrent confirmation finds the row changed and is refused; the fee is taken only after
    # (in a savepoint: a refused fee leaves the booking held, whatever the caller does next)
    with session.begin_nested():
        if not repo.transition(
            session,
            b.id,
            (BookingStatus.HELD,),
            BookingStatus.CONFIRMED,
            at=utcnow(),
            hold_valid_at=utcnow(),
        ):
            raise HoldExpired()
        if b.fee_fen == 0:
            state = "free"
        elif payment_method in _fee_payers:
            state = _fee_payers[payment_method][1](session, b)
        else:
            state = "paid"
    session.refresh(b)
    b.payment_state = state
    b.payment_method = payment_method
    b.paid_at = utcnow()
    b.qualifies_three_day = domain.qualifies_three_day(
        policy, clinic_type=sched.clinic_type, institution_level=inst.level, institution_public=True
    )
    if b.qualifies_three_day:
        days = _department_open(session, b.department_id, b.day, policy.three_day_max_extension_days)
        b.valid_until = domain.last_valid_day(policy, b.day, days.__contains__)
    b.updated_at = utcnow()
    # a registration lets the institution's staff read the patient until its last valid day
    registry.grant_institution_access(
        session,
        patient_id=b.patient_id,
        institution_id=b.institution_id,
        reason="挂号",
        days=((b.valid_until or b.day) - business_date()).days + 2,
    )
    session.flush()
    events.emit(session, "scheduling.booking_confirmed", {"booking_id": b.id, "patient_id": b.patient_id})
    return b


def cancel(session: Session, actor: Actor, booking_id: int) -> Booking:
    """Cancel a booking: the patient their own (before the policy's deadline), the desk of its institution."""
    require_permission(
        actor, Permission.BOOKING_BOOK if actor.patient_id is not None else Permission.REGISTRATION_DESK
    )
    b = get_booking(session, actor, booking_id)
    if b.status not in repo.ACTIVE:
        raise BookingStateError("该预约不能取消")
    slot = session.get(Slot, b.slot_id)
    assert slot is not None
    policy = get_policy(session, b.institution_id)
    if actor.patient_id is not None and not domain.can_cancel(
        policy, local_now=local_now(), clinic_day=b.day, slot_start=slot.start
    ):
        raise CancelTooLate()
    if not repo.transition(session, b.id, repo.ACTIVE, BookingStatus.CANCELLED, at=utcnow()):
        raise BookingStateError("该预约已被取消或已变更")
    repo.release_place(session, b.slot_id)
    session.expire(slot, ["booked"])
    session.refresh(b)
    if b.payment_state == "paid":
        b.payment_state = "refund_due"
    session.flush()
    events.emit(session, "scheduling.booking_cancelled", {"booking_id": b.id, "patient_id": b.patient_id})
    return b


def mark_no_show(session: Session, actor: Actor, booking_id: int) -> Booking:
    require_permission(actor, Permission.REGISTRATION_DESK)
    b = get_booking(session, actor, booking_id)
    if b.status != BookingStatus.CONFIRMED or not repo.transition(
        session, b.id, (BookingStatus.CONFIRMED,), BookingStatus.NO_SHOW, at=utcnow()
    ):
        raise BookingStateError("只有已确认的预约可以记为爽约")
    session.refresh(b)
    return b


def mark_no_shows(session: Session, day: date) -> int:
    """爽约: after the day's clinics, confirmed bookings of ``day`` never checked in become no-shows
    (they count toward the online-booking ban); idempotent. Returns how many were marked."""
    if day > business_date():
        raise InvalidInput("不能对未来日期记爽约")
    marked = 0
    for booking_id in repo.unseen_bookings(session, day):
        if repo.transition(
            session, booking_id, (BookingStatus.CONFIRMED,), BookingStatus.NO_SHOW, at=utcnow()
        ):
            b = find_booking(session, booking_id)
            session.refresh(b)
            events.emit(session, "scheduling.no_show", {"booking_id": b.id, "patient_id": b.patient_id})
            marked += 1
    session.flush()
    return marked


def expire_holds(
    session: Session, *, slot_id: int | None = None, patient_id: int | None = None, limit: int = 500
) -> int:
    """Release the places of holds not paid within ``hold_minutes`` (锁号超时); returns how many."""
    now = utcnow()
    released = 0
    for booking_id in repo.stale_holds(session, now, slot_id=slot_id, patient_id=patient_id, limit=limit):
        if not repo.transition(session, booking_id, (BookingStatus.HELD,), BookingStatus.EXPIRED, at=now):
            continue  # confirmed or cancelled meanwhile
        b = find_booking(session, booking_id)
        session.refresh(b)
        repo.release_place(session, b.slot_id)
        events.emit(session, "scheduling.hold_expired", {"booking_id": b.id, "patient_id": b.patient_id})
        released += 1
    session.flush()
    return released


# ---------------------------------------------------------------- indicators


def indicators(session: Session, institution_id: int, start: date, end: date) -> domain.Indicators:
    """Booking and three-day registration indicators of an institution for clinic days in [start, end]."""
    if end < start:
        raise InvalidInput("结束日期不能早于开始日期")
    if (end - start).days > 366:
        raise InvalidInput("统计区间不能超过一年")
    counts = repo.booking_counts(session, institution_id, start, end)
    returns, waived = repo.return_visit_totals(session, institution_id, start, end)
    return domain.indicators_of(
        counts,
        three_day_registrations=repo.three_day_registrations(session, institution_id, start, end),
        return_visits=returns,
        fees_waived_fen=waived,
    )


# ---------------------------------------------------------------- queues


def _emit_queue(session: Session, sched: Schedule, kind: str, entry: QueueEntry) -> None:
    repo.bump_queue_version(session, sched.id)
    events.emit(
        session,
        "scheduling.queue_changed",
        {
            "kind": kind,
            "schedule_id": sched.id,
            "entry_id": entry.id,
            "ticket_no": entry.ticket_no,
            "patient_id": entry.patient_id,
            "location": sched.location,
        },
    )


def _enqueue(
    session: Session, sched: Schedule, booking: Booking, *, is_return: bool, groups: list[str]
) -> QueueEntry:
    policy = get_policy(session, sched.institution_id)
    patient = registry.find_patient(session, booking.patient_id)
    ticket = repo.next_ticket_no(session, sched.id)
    entry = QueueEntry(
        schedule_id=sched.id,
        booking_id=booking.id,
        patient_id=booking.patient_id,
        ticket_no=ticket,
        sort_key=domain.ticket_key(ticket),
        priority=domain.is_priority(policy, age=age_on(patient.birth_date, sched.day), groups=groups),
        is_return=is_return,
        status=QueueStatus.WAITING.value,
        calls=0,
        checked_in_at=utcnow(),
    )
    session.add(entry)
    session.flush()
    _emit_queue(session, sched, "checked_in", entry)
    return entry


def check_in(
    session: Session, actor: Actor, booking_id: int, *, groups: list[str] | None = None
) -> QueueEntry:
    """签到 at the desk, or by the patient (phone / kiosk): a confirmed booking for today joins its
    schedule's queue once; checking in again returns the same place. Priority groups are declared at
    the desk only (age counts everywhere)."""
    if actor.patient_id is not None:
        require_permission(actor, Permission.BOOKING_BOOK)
    elif not actor.has(Permission.KIOSK_CHECK_IN):
        require_permission(actor, Permission.REGISTRATION_DESK)
    b = get_booking(session, actor, booking_id)
    if actor.has(Permission.KIOSK_CHECK_IN) and b.institution_id != actor.institution_id:
        raise Forbidden("请在就诊医院的自助机签到")
    if b.status != BookingStatus.CONFIRMED:
        raise BookingStateError("预约未确认或已取消，不能签到")
    if b.day != business_date():
        raise BookingStateError("只能在就诊当日签到")
    sched = get_schedule(session, b.schedule_id)
    if sched.status != ScheduleStatus.OPEN:
        raise ClinicStopped()
    existing = repo.first_visit_entry(session, b.id)
    if existing is not None:
        return existing
    return _enqueue(session, sched, b, is_return=False, groups=[] if actor.patient_id else groups or [])


@dataclass(frozen=True)
class KioskBooking:
    """A registration of today as the hall's self-service machine shows it (masked, no more)."""

    booking_id: int
    masked_name: str
    department_id: int
    practitioner_id: int | None
    period: str
    start: time
    location: str
    ticket_no: int | None


def kiosk_bookings(session: Session, actor: Actor, id_number: str) -> list[KioskBooking]:
    """自助机: today's registrations at the machine's institution of the patient with this ID number."""
    require_permission(actor, Permission.KIOSK_CHECK_IN)
    if actor.institution_id is None:
        raise Forbidden("自助机未关联医院")
    patient = found(
        registry.patient_by_id_number(session, id_number.strip().upper()),
        BookingNotFound("未找到该证件号的患者，请到挂号窗口办理"),
    )
    out: list[KioskBooking] = []
    for b in repo.bookings_of_patient(session, patient.id):
        if (
            b.day != business_date()
            or b.status != BookingStatus.CONFIRMED
            or b.institution_id != actor.institution_id
        ):
            continue
        sched = get_schedule(session, b.schedule_id)
        slot = session.get(Slot, b.slot_id)
        assert slot is not None
        entry = repo.first_visit_entry(session, b.id)
        out.append(
            KioskBooking(
                b.id,
                mask_name(patient.name),
                b.department_id,
                b.practitioner_id,
                sched.period,
                slot.start,
                sched.location,
                entry.ticket_no if entry else None,
            )
        )
    record_access(session, actor, action="read", resource="kiosk/bookings", patient_id=patient.id)
    return sorted(out, key=lambda k: k.start)


def return_refusal(
    session: Session, b: Booking, visit_day: date, target: Schedule | None = None
) -> str | None:
    """Why a free return visit under ``b`` on ``visit_day`` (into ``target``, default: the registration's
    own department) is refused, in Chinese; None when it may go ahead (一号管三天, docs/domain.md §1)."""
    policy = get_policy(session, b.institution_id)
    days = _department_open(session, b.department_id, b.day, policy.three_day_max_extension_days)
    facts = domain.RegistrationFacts(
        first_day=b.day,
        institution_id=b.institution_id,
        campus_id=b.campus_id,
        department_id=b.department_id,
        qualifies=b.qualifies_three_day,
        returns_used=b.returns_used,
        episode_closed=b.episode_closed,
    )
    refusal = domain.check_return_visit(
        policy,
        facts,
        visit_day=visit_day,
        institution_id=target.institution_id if target else b.institution_id,
        campus_id=target.campus_id if target else b.campus_id,
        department_id=target.department_id if target else b.department_id,
        department_open=days.__contains__,
    )
    return None if refusal is None else domain.RETURN_REFUSAL_TEXT[refusal.value]


def return_visit(
    session: Session, actor: Actor, booking_id: int, *, schedule_id: int, day: date | None = None
) -> QueueEntry:
    """一号管三天: a free return visit under ``booking_id`` to ``schedule_id`` (same department)."""
    require_permission(actor, Permission.REGISTRATION_DESK)
    b = get_booking(session, actor, booking_id)
    if b.status != BookingStatus.CONFIRMED:
        raise NotReturnEligible("原挂号无效")
    sched = get_schedule(session, schedule_id)
    visit_day = day or business_date()
    if sched.day != visit_day or sched.status != ScheduleStatus.OPEN:
        raise NotReturnEligible("复诊须挂入当日开诊的排班")
    refusal = return_refusal(session, b, visit_day, sched)
    if refusal is not None:
        raise NotReturnEligible(refusal)
    b.returns_used += 1
    b.updated_at = utcnow()
    session.add(
        ReturnVisit(
            booking_id=b.id,
            schedule_id=sched.id,
            day=visit_day,
            fee_waived_fen=b.fee_fen,
            created_at=utcnow(),
        )
    )
    entry = _enqueue(session, sched, b, is_return=True, groups=[])
    events.emit(session, "scheduling.return_visit", {"booking_id": b.id, "fee_waived_fen": b.fee_fen})
    return entry


# ---------------------------------------------------------------- registrations for encounters


def registration_for_visit(
    session: Session, booking_id: int, *, patient_id: int, department_id: int, day: date
) -> Booking:
    """The registration an encounter opens from: confirmed, the patient's, the department's, and valid on
    ``day`` (its own day, or a day with a return visit under it)."""
    b = found(session.get(Booking, booking_id), BookingNotFound("挂号记录不存在"))
    if b.patient_id != patient_id:
        raise InvalidInput("挂号记录不属于该患者")
    if b.status != BookingStatus.CONFIRMED:
        raise BookingStateError("挂号未确认或已取消，不能接诊")
    if b.department_id != department_id:
        raise InvalidInput("挂号科室与接诊科室不一致")
    if b.episode_closed:
        raise NotReturnEligible("本次诊疗已结束，请重新挂号")
    if day != b.day and day not in repo.return_visit_days(session, b.id):
        raise NotReturnEligible("该挂号今日无效：首诊日以外须先在挂号处办理复诊")
    return b


def active_registration(session: Session, patient_id: int, department_id: int, day: date) -> Booking | None:
    """The patient's registration valid in a department on ``day``, if any (latest first)."""
    for b in repo.bookings_of_patient(session, patient_id):
        if b.status != BookingStatus.CONFIRMED or b.department_id != department_id or b.episode_closed:
            continue
        if b.day == day or day in repo.return_visit_days(session, b.id):
            return b
    return None


def find_booking(session: Session, booking_id: int) -> Booking:
    """A booking without an access check, for other areas' services that check access themselves."""
    return found(session.get(Booking, booking_id), BookingNotFound())


def clinic_type_of(session: Session, booking_id: int) -> str:
    b = found(session.get(Booking, booking_id), BookingNotFound())
    return get_schedule(session, b.schedule_id).clinic_type


def mark_refunded(session: Session, booking_id: int) -> None:
    """The fee of a cancelled or stopped booking was refunded (by billing, or at the desk)."""
    b = find_booking(session, booking_id)
    if b.payment_state == "refund_due":
        b.payment_state = "refunded"
        b.updated_at = utcnow()
        session.flush()


def close_episode(session: Session, booking_id: int) -> None:
    """The episode under a registration ended (encounter closed): no more free return visits."""
    b = session.get(Booking, booking_id)
    if b is not None and not b.episode_closed:
        b.episode_closed = True
        b.updated_at = utcnow()
        session.flush()


@dataclass(frozen=True)
class QueueLine:
    """One waiting or called patient as a queue screen shows them."""

    entry_id: int
    ticket_no: int
    patient_id: int
    name: str
    masked_name: str  # for the waiting-room display (张*杰)
    status: str
    is_return: bool
    priority: bool
    calls: int


@dataclass(frozen=True)
class QueueScreen:
    version: int
    location: str
    calling: QueueLine | None  # the patient being called now (or last called, if still in the room)
    waiting: list[QueueLine]  # in the order they will be called


def queue_screen(session: Session, schedule_id: int) -> QueueScreen:
    """What the doctor's queue and the waiting-room display show: the current call and the waiting
    patients in calling order (priority first, return visits interleaved as ``pick_next`` does)."""
    sched = get_schedule(session, schedule_id)
    policy = get_policy(session, sched.institution_id)
    entries = list(
        repo.queue_entries(session, schedule_id, (QueueStatus.WAITING.value, QueueStatus.CALLED.value))
    )
    names = registry.patient_names(session, [e.patient_id for e in entries])

    def line(e: QueueEntry) -> QueueLine:
        name = names.get(e.patient_id, "")
        return QueueLine(
            e.id, e.ticket_no, e.patient_id, name, mask_name(name), e.status, e.is_return, e.priority, e.calls
        )

    order: list[QueueEntry] = []
    pending = [e for e in entries if e.status == QueueStatus.WAITING]
    counter = sched.firsts_since_return
    by_id = {e.id: e for e in pending}
    while pending:
        pick = domain.pick_next(
            policy, [domain.Waiting(e.id, e.sort_key, e.priority, e.is_return) for e in pending], counter
        )
        assert pick is not None
        counter = domain.after_call_counter(pick, counter)
        order.append(by_id[pick.entry_id])
        pending = [e for e in pending if e.id != pick.entry_id]
    called = [e for e in entries if e.status == QueueStatus.CALLED]
    return QueueScreen(
        version=repo.queue_version(session, schedule_id),
        location=sched.location,
        calling=line(called[0]) if called else None,
        waiting=[line(e) for e in order],
    )


@dataclass(frozen=True)
class QueuePlace:
    """Where a checked-in patient stands (shown on the patient's phone)."""

    schedule_id: int
    ticket_no: int
    calling: bool  # being called now
    ahead: int  # patients to be called before
    location: str


def queue_place(session: Session, booking_id: int) -> QueuePlace | None:
    """The booking's place in today's queue (first visit or return visit), or None when not waiting."""
    for entry in repo.active_entries_of_booking(session, booking_id):
        screen = queue_screen(session, entry.schedule_id)
        if screen.calling is not None and screen.calling.entry_id == entry.id:
            return QueuePlace(entry.schedule_id, entry.ticket_no, True, 0, screen.location)
        order = [w.entry_id for w in screen.waiting]
        if entry.id in order:
            return QueuePlace(
                entry.schedule_id, entry.ticket_no, False, order.index(entry.id), screen.location
            )
    return None


def queue_version(session: Session, schedule_id: int) -> int:
    return repo.queue_version(session, schedule_id)


def queue(session: Session, actor: Actor, schedule_id: int) -> list[QueueEntry]:
    """A schedule's queue, for the staff of its institution who call patients."""
    check_institution(actor, get_schedule(session, schedule_id).institution_id, Permission.QUEUE_CALL)
    return list(
        repo.queue_entries(
            session,
            schedule_id,
            (QueueStatus.WAITING.value, QueueStatus.CALLED.value, QueueStatus.SKIPPED.value),
        )
    )


def call_next(session: Session, actor: Actor, schedule_id: int) -> QueueEntry:
    require_permission(actor, Permission.QUEUE_CALL)
    check_institution(actor, get_schedule(session, schedule_id).institution_id, Permission.QUEUE_CALL)
    sched = found(repo.lock_schedule(session, schedule_id), ScheduleNotFound())
    policy = get_policy(session, sched.institution_id)
    for e in repo.queue_entries(session, schedule_id, (QueueStatus.CALLED.value,)):
        e.status = QueueStatus.DONE.value
    waiting = repo.queue_entries(session, schedule_id, (QueueStatus.WAITING.value,))
    pick = domain.pick_next(
        policy,
        [domain.Waiting(e.id, e.sort_key, e.priority, e.is_return) for e in waiting],
        sched.firsts_since_return,
    )
    if pick is None:
        session.flush()
        raise QueueEmpty()
    entry = next(e for e in waiting if e.id == pick.entry_id)
    sched.firsts_since_return = domain.after_call_counter(pick, sched.firsts_since_return)
    entry.status = QueueStatus.CALLED.value
    entry.calls += 1
    entry.called_at = utcnow()
    session.flush()
    _emit_queue(session, sched, "called", entry)
    return entry


def recall(session: Session, actor: Actor, entry_id: int) -> QueueEntry:
    require_permission(actor, Permission.QUEUE_CALL)
    entry = found(session.get(QueueEntry, entry_id), BookingNotFound("候诊记录不存在"))
    check_institution(actor, get_schedule(session, entry.schedule_id).institution_id, Permission.QUEUE_CALL)
    if entry.status != QueueStatus.CALLED:
        raise BookingStateError("只有正在叫号的患者可以重呼")
    entry.calls += 1
    entry.called_at = utcnow()
    session.flush()
    _emit_queue(session, get_schedule(session, entry.schedule_id), "recalled", entry)
    return entry


def skip(session: Session, actor: Actor, entry_id: int) -> QueueEntry:
    """过号: the called patient rejoins behind the next N waiting patients."""
    require_permission(actor, Permission.QUEUE_CALL)
    entry = found(session.get(QueueEntry, entry_id), BookingNotFound("候诊记录不存在"))
    check_institution(actor, get_schedule(session, entry.schedule_id).institution_id, Permission.QUEUE_CALL)
    if entry.status != QueueStatus.CALLED:
        raise BookingStateError("只有正在叫号的患者可以过号")
    sched = get_schedule(session, entry.schedule_id)
    policy = get_policy(session, sched.institution_id)
    keys = [e.sort_key for e in repo.queue_entries(session, sched.id, (QueueStatus.WAITING.value,))]
    entry.sort_key = domain.rejoin_key(policy, keys)
    entry.status = QueueStatus.WAITING.value
    session.flush()
    _emit_queue(session, sched, "skipped", entry)
    return entry


# ---------------------------------------------------------------- pages support


@dataclass(frozen=True)
class BookingView:
    """A booking with its schedule and slot, the ticket of its checked-in first visit, its return visits."""

    booking: Booking
    schedule: Schedule
    slot: Slot
    ticket_no: int | None
    return_visits: list[ReturnVisit]


def booking_days(session: Session, institution_id: int) -> tuple[date, date]:
    """First and last clinic day a patient may book online at ``institution_id`` now (released days)."""
    policy = get_policy(session, institution_id)
    now = local_now()
    last = now.date() + timedelta(days=policy.release_days_ahead)
    if not domain.is_released(policy, last, now):
        last -= timedelta(days=1)
    return now.date(), last


def bookable_institution_ids(session: Session, *, horizon_days: int = 31) -> list[int]:
    """Institutions with an open schedule from today on (``horizon_days`` days)."""
    today = business_date()
    return repo.institutions_with_open_schedules(session, today, today + timedelta(days=horizon_days))


def open_schedules(
    session: Session,
    *,
    start: date,
    end: date,
    institution_id: int | None = None,
    department_id: int | None = None,
    practitioner_id: int | None = None,
) -> list[Schedule]:
    """Open (not stopped) schedules from ``start`` to ``end``."""
    return list(
        repo.open_schedules(
            session,
            start=start,
            end=end,
            institution_id=institution_id,
            department_id=department_id,
            practitioner_id=practitioner_id,
        )
    )


def find_schedules(
    session: Session,
    *,
    institution_id: int | None = None,
    department_id: int | None = None,
    practitioner_id: int | None = None,
    day: date | None = None,
    days: tuple[date, date] | None = None,
    status: str | None = None,
) -> list[Schedule]:
    """Schedules matching the filters (None = any), without an access check (callers check)."""
    return list(
        repo.schedules(
            session,
            institution_id=institution_id,
            department_id=department_id,
            practitioner_id=practitioner_id,
            day=day,
            days=days,
            status=status,
        )
    )


def remaining_places(session: Session, schedule_ids: list[int]) -> dict[int, int]:
    """Free places left per schedule."""
    return repo.remaining_places(session, schedule_ids)


def slots_of_schedules(session: Session, schedule_ids: list[int]) -> dict[int, list[Slot]]:
    """The time slices of several schedules at once, in order: schedule id → slots."""
    out: dict[int, list[Slot]] = {sid: [] for sid in schedule_ids}
    for slot in repo.slots_of_many(session, schedule_ids):
        out[slot.schedule_id].append(slot)
    return out


def get_slot(session: Session, slot_id: int) -> Slot:
    """One slot (time slice) of a schedule."""
    slot = session.get(Slot, slot_id)
    if slot is None:
        raise ScheduleNotFound("号源不存在")
    return slot


def slots(session: Session, schedule_id: int) -> list[Slot]:
    """A schedule's time slices in order, with capacity and places taken."""
    return list(repo.slots_of(session, schedule_id))


def patient_bookings(
    session: Session, actor: Actor, patient_id: int, *, visits: bool = True
) -> list[BookingView]:
    """A patient's bookings (newest first) for the patient themself or the registration desk; audited.
    ``visits=False`` leaves out the queue tickets and return visits (two queries) for callers that only
    show the bookings (the HTTP read)."""
    _check_bookings_reader(session, actor, patient_id)
    rows = repo.patient_bookings_detail(session, patient_id)
    if actor.is_staff:  # the desk sees its own institution's bookings of the patient
        rows = [row for row in rows if actor.serves(row[0].institution_id)]
    ids = [b.id for b, _, _ in rows] if visits else []
    entries = repo.first_visit_entries(session, ids)
    returns = repo.return_visits_of(session, ids)
    return [
        BookingView(
            b,
            sched,
            slot,
            entries[b.id].ticket_no if b.id in entries else None,
            returns.get(b.id, []),
        )
        for b, sched, slot in rows
    ]


def _check_bookings_reader(session: Session, actor: Actor, patient_id: int) -> None:
    """Let the patient themself or the registration desk read the patient's bookings; audited."""
    if actor.patient_id is not None:
        require_permission(actor, Permission.BOOKING_BOOK)
        _own_or_desk(actor, patient_id)
        record_access(session, actor, action="read", resource="bookings", patient_id=patient_id)
    else:
        require_permission(actor, Permission.REGISTRATION_DESK)
        registry.get_patient(session, actor, patient_id, reason="预约挂号")


def patient_booking_dicts(session: Session, actor: Actor, patient_id: int) -> list[dict[str, Any]]:
    """``patient_bookings(..., visits=False)`` for the HTTP read: the same access check, audit row and
    bookings, as plain dicts of ``BookingRead``'s fields (no ORM objects, no pydantic models)."""
    _check_bookings_reader(session, actor, patient_id)
    rows = repo.patient_booking_rows(session, patient_id)
    if actor.is_staff:  # the desk sees its own institution's bookings of the patient
        rows = [row for row in rows if actor.serves(row.institution_id)]
    columns = repo.BOOKING_READ_COLUMNS
    return [dict(zip(columns, row[: len(columns)], strict=True)) for row in rows]


def register_walk_in(
    session: Session, actor: Actor, *, slot_id: int, patient_id: int, payment_method: str = "desk"
) -> Booking:
    """现场挂号 at the desk: hold a place of the slot and take the fee at once → registration."""
    booking = book(session, actor, slot_id=slot_id, patient_id=patient_id, channel="desk")
    return confirm(session, actor, booking.id, payment_method=payment_method)


def return_visit_targets(session: Session, actor: Actor, booking_id: int) -> list[Schedule]:
    """Schedules open today in the department of ``booking_id`` (where a return visit may go)."""
    require_permission(actor, Permission.REGISTRATION_DESK)
    b = get_booking(session, actor, booking_id)
    today = business_date()
    return list(repo.open_schedules(session, start=today, end=today, department_id=b.department_id))


def three_day_counts(session: Session, start: date, end: date) -> list[tuple[date, int, int, int]]:
    """Bulk read for analytics: 一号管三天 registrations by clinic day, institution and department."""
    return repo.three_day_counts(session, start, end)


def return_visit_counts(session: Session, start: date, end: date) -> list[tuple[date, int, int, int, int]]:
    """Bulk read for analytics: free return visits and fees waived by day, institution and department."""
    return repo.return_visit_counts(session, start, end)
