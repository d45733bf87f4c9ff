"""Every query of the inpatient area."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Integer,
    and_,
    bindparam,
    case,
    cast,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from yilian.inpatient.domain import (
    AbstractStatus,
    AdmissionStatus,
    BedState,
    ChargeStatus,
    RequestStatus,
    SettlementStatus,
)
from yilian.inpatient.models import (
    AbstractChange,
    Admission,
    Bed,
    BedEvent,
    BedRequest,
    Deposit,
    DischargeAbstract,
    InpatientCharge,
    InpatientPolicy,
    InpatientSettlement,
    Movement,
    PreAdmissionOrder,
    ReferenceStamp,
    Room,
    Ward,
    WardRelation,
)

FreeBedRow = tuple[int, str, int, int, bool, bool, str | None, str | None]


_OTHER = aliased(Bed)
_FREE = aliased(Bed)

# Built once: the statement and its cache key are reused, only the parameter changes. Set-based: the
# taken beds of the rooms that have a free bed are aggregated once per room (GROUP BY over an index
# look-up on ix_beds_room) and joined to the free beds; the wards, rooms and relation table are not
# joined here: the service keeps them in a cache checked by the institution's reference stamp.
_ROOMS_TAKEN = (
    select(
        _OTHER.room_id.label("room_id"),
        func.max(_OTHER.occupant_sex).label("sex"),
        func.max(func.nullif(_OTHER.occupant_isolation, "none")).label("infection"),
    )
    .where(
        _OTHER.room_id.in_(
            select(_FREE.room_id).where(
                _FREE.institution_id == bindparam("institution_id"), _FREE.state == BedState.FREE.value
            )
        ),
        _OTHER.state.in_((BedState.OCCUPIED.value, BedState.RESERVED.value)),
    )
    .group_by(_OTHER.room_id)
    .subquery()
)
_FREE_BEDS = (
    select(
        Bed.id,
        Bed.code,
        Bed.ward_id,
        Bed.room_id,
        Bed.monitored,
        Bed.emergency_reserved,
        _ROOMS_TAKEN.c.sex,
        _ROOMS_TAKEN.c.infection,
    )
    .outerjoin(_ROOMS_TAKEN, _ROOMS_TAKEN.c.room_id == Bed.room_id)
    .where(Bed.institution_id == bindparam("institution_id"), Bed.state == BedState.FREE.value)
)


def free_beds(session: Session, institution_id: int) -> list[FreeBedRow]:
    """The institution's free beds in one query: (bed, code, ward, room, monitored, emergency reserved,
    the room's occupants' sex and infection)."""
    rows = session.execute(_FREE_BEDS, {"institution_id": institution_id})
    return [tuple(r) for r in rows]


_STAMP_OF_REQUEST = (
    select(ReferenceStamp.stamp)
    .where(ReferenceStamp.institution_id == BedRequest.institution_id)
    .correlate(BedRequest)
    .scalar_subquery()
)


def request_with_policy(
    session: Session, request_id: int
) -> tuple[BedRequest, InpatientPolicy | None, str | None] | None:
    """A bed request, its institution's inpatient policy row (None: the defaults) and reference stamp
    (None: none yet) in one query."""
    row = session.execute(
        select(BedRequest, InpatientPolicy, _STAMP_OF_REQUEST)
        .outerjoin(InpatientPolicy, InpatientPolicy.institution_id == BedRequest.institution_id)
        .where(BedRequest.id == request_id)
    ).first()
    return None if row is None else (row[0], row[1], row[2])


def reference_stamp(session: Session, institution_id: int) -> str | None:
    return session.scalar(select(ReferenceStamp.stamp).where(ReferenceStamp.institution_id == institution_id))


def touch_reference(session: Session, institution_id: int) -> None:
    """A new stamp for the institution's wards, rooms and relations (every change calls this)."""
    stamp = secrets.token_hex(16)
    changed = session.execute(
        update(ReferenceStamp).where(ReferenceStamp.institution_id == institution_id).values(stamp=stamp)
    )
    if changed.rowcount:  # type: ignore[attr-defined]
        return
    try:
        with session.begin_nested():
            session.add(ReferenceStamp(institution_id=institution_id, stamp=stamp))
    except IntegrityError:  # another transaction created it first
        session.execute(
            update(ReferenceStamp).where(ReferenceStamp.institution_id == institution_id).values(stamp=stamp)
        )


def reference_tables(session: Session, institution_id: int) -> tuple[list[Any], list[Any], list[Any]]:
    """The institution's wards (id, name, department, floor, active), rooms (id, code, kind, sex) and
    relation table (department, ward, kind, rank), three queries."""
    wards = list(
        session.execute(
            select(Ward.id, Ward.name, Ward.department_id, Ward.floor, Ward.is_active).where(
                Ward.institution_id == institution_id
            )
        )
    )
    rooms = list(
        session.execute(
            select(Room.id, Room.code, Room.kind, Room.sex)
            .join(Ward, Ward.id == Room.ward_id)
            .where(Ward.institution_id == institution_id)
        )
    )
    relations = list(
        session.execute(
            select(WardRelation.department_id, WardRelation.ward_id, WardRelation.kind, WardRelation.rank)
            .join(Ward, Ward.id == WardRelation.ward_id)
            .where(Ward.institution_id == institution_id)
        )
    )
    return wards, rooms, relations


def room_occupants(session: Session, room_ids: Sequence[int]) -> list[tuple[int, str, str]]:
    """(room, occupant sex, occupant isolation) of the taken beds in ``room_ids``."""
    if not room_ids:
        return []
    rows = session.execute(
        select(Bed.room_id, Bed.occupant_sex, Bed.occupant_isolation).where(
            Bed.room_id.in_(list(room_ids)), Bed.state.in_((BedState.OCCUPIED.value, BedState.RESERVED.value))
        )
    )
    return [tuple(r) for r in rows]  # type: ignore[misc]


def claim_bed(
    session: Session,
    bed_id: int,
    *,
    from_states: Sequence[str],
    to_state: str,
    request_id: int | None = None,
    expect_request: int | None = None,
    admission_id: int | None = None,
    occupant_sex: str = "",
    occupant_isolation: str = "",
    using_department_id: int | None = None,
    at: datetime,
) -> bool:
    """Move a bed from one of ``from_states`` to ``to_state`` by one conditional UPDATE; True when this
    caller won the bed (the row count is 1)."""
    where = [Bed.id == bed_id, Bed.state.in_(list(from_states))]
    if expect_request is not None:
        where.append(
            or_(
                Bed.state == BedState.FREE.value,
                and_(Bed.state == BedState.RESERVED.value, Bed.request_id == expect_request),
            )
        )
    values: dict[str, object] = {
        "state": to_state,
        "request_id": request_id,
        "admission_id": admission_id,
        "occupant_sex": occupant_sex,
        "occupant_isolation": occupant_isolation,
        "version": Bed.version + 1,
        "changed_at": at,
    }
    if using_department_id is not None:
        values["using_department_id"] = using_department_id
    else:
        values["using_department_id"] = Bed.owner_department_id
    result = session.execute(update(Bed).where(*where).values(**values))
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def claim_request(
    session: Session, request_id: int, *, from_status: str, to_status: str, **values: object
) -> bool:
    result = session.execute(
        update(BedRequest)
        .where(BedRequest.id == request_id, BedRequest.status == from_status)
        .values(status=to_status, **values)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def claim_admission(session: Session, admission_id: int, *, from_status: str, **values: object) -> bool:
    result = session.execute(
        update(Admission)
        .where(Admission.id == admission_id, Admission.status == from_status)
        .values(**values)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def add_bed_event(session: Session, event: BedEvent) -> None:
    session.add(event)


def admission_in_hospital(session: Session, patient_id: int) -> Admission | None:
    return session.scalar(select(Admission).where(Admission.in_hospital == patient_id))


def beds_of_institution(session: Session, institution_id: int, ward_id: int | None = None) -> list[Bed]:
    q = select(Bed).where(Bed.institution_id == institution_id)
    if ward_id is not None:
        q = q.where(Bed.ward_id == ward_id)
    return list(session.scalars(q.order_by(Bed.ward_id, Bed.code)))


def rooms_of_wards(session: Session, ward_ids: list[int]) -> list[Room]:
    return list(session.scalars(select(Room).where(Room.ward_id.in_(ward_ids)))) if ward_ids else []


def wards_of(session: Session, institution_id: int) -> list[Ward]:
    return list(
        session.scalars(select(Ward).where(Ward.institution_id == institution_id).order_by(Ward.code))
    )


def rooms_by_id(session: Session, room_ids: Sequence[int]) -> dict[int, Room]:
    if not room_ids:
        return {}
    return {r.id: r for r in session.scalars(select(Room).where(Room.id.in_(list(set(room_ids)))))}


def bed_history(session: Session, bed_id: int) -> list[BedEvent]:
    return list(session.scalars(select(BedEvent).where(BedEvent.bed_id == bed_id).order_by(BedEvent.id)))


def waiting_requests(session: Session, institution_id: int) -> list[BedRequest]:
    return list(
        session.scalars(
            select(BedRequest)
            .where(
                BedRequest.institution_id == institution_id,
                BedRequest.status.in_((RequestStatus.WAITING.value, RequestStatus.ASSIGNED.value)),
            )
            .order_by(BedRequest.emergency.desc(), BedRequest.requested_at)
        )
    )


def admissions_in_hospital(
    session: Session,
    institution_id: int,
    ward_id: int | None = None,
    *,
    practitioner_id: int | None = None,
    department_ids: Sequence[int] | None = None,
) -> list[Admission]:
    """In hospital; with ``practitioner_id`` only her patients, or with ``department_ids`` too those
    of her departments."""
    q = select(Admission).where(
        Admission.institution_id == institution_id, Admission.status == AdmissionStatus.ADMITTED.value
    )
    if ward_id is not None:
        q = q.where(Admission.ward_id == ward_id)
    if department_ids is not None:
        q = q.where(
            or_(
                Admission.practitioner_id == practitioner_id,
                Admission.department_id.in_(list(department_ids)),
            )
        )
    elif practitioner_id is not None:
        q = q.where(Admission.practitioner_id == practitioner_id)
    return list(session.scalars(q.order_by(Admission.ward_id, Admission.id)))


def admissions_in_hospital_on(session: Session, day: date, institution_id: int | None = None) -> list[int]:
    """Admissions in hospital at the end of ``day`` (admitted on or before it, not discharged)."""
    q = select(Admission.id).where(
        Admission.status == AdmissionStatus.ADMITTED.value, Admission.admitted_on <= day
    )
    if institution_id is not None:
        q = q.where(Admission.institution_id == institution_id)
    return list(session.scalars(q.order_by(Admission.id)))


def charges_of(
    session: Session,
    admission_id: int,
    *,
    statuses: Sequence[str] = (ChargeStatus.OPEN.value, ChargeStatus.SETTLED.value),
) -> list[InpatientCharge]:
    return list(
        session.scalars(
            select(InpatientCharge)
            .where(InpatientCharge.admission_id == admission_id, InpatientCharge.status.in_(list(statuses)))
            .order_by(InpatientCharge.service_date, InpatientCharge.id)
        )
    )


def charge_by_key(session: Session, key: str) -> InpatientCharge | None:
    return session.scalar(select(InpatientCharge).where(InpatientCharge.key == key))


def deposits_of(session: Session, admission_id: int) -> list[Deposit]:
    return list(
        session.scalars(select(Deposit).where(Deposit.admission_id == admission_id).order_by(Deposit.id))
    )


def deposit_by_key(session: Session, key: str) -> Deposit | None:
    return session.scalar(select(Deposit).where(Deposit.idempotency_key == key))


def unpaid_arrears(session: Session, patient_id: int) -> list[InpatientSettlement]:
    """The patient's discharge settlements left in arrears (credit patients whose debit failed)."""
    return list(
        session.scalars(
            select(InpatientSettlement)
            .join(Admission, Admission.id == InpatientSettlement.admission_id)
            .where(
                Admission.patient_id == patient_id,
                InpatientSettlement.status == SettlementStatus.ARREARS.value,
            )
            .order_by(InpatientSettlement.id)
        )
    )


def standing_settlement(session: Session, admission_id: int) -> InpatientSettlement | None:
    return session.scalar(
        select(InpatientSettlement).where(
            InpatientSettlement.admission_id == admission_id,
            InpatientSettlement.status != SettlementStatus.REVERSED.value,
        )
    )


def last_attempt(session: Session, admission_id: int) -> int:
    return int(
        session.scalar(
            select(func.coalesce(func.max(InpatientSettlement.attempt), 0)).where(
                InpatientSettlement.admission_id == admission_id
            )
        )
        or 0
    )


def preadmission_orders(session: Session, preadmission_id: int) -> list[PreAdmissionOrder]:
    return list(
        session.scalars(
            select(PreAdmissionOrder)
            .where(PreAdmissionOrder.preadmission_id == preadmission_id)
            .order_by(PreAdmissionOrder.id)
        )
    )


StayRow = tuple[date, date | None, bool, int | None, float | None]


def stays(
    session: Session,
    institution_id: int,
    start: date,
    end: date,
    *,
    department_id: int | None = None,
    ward_id: int | None = None,
) -> list[StayRow]:
    """(admitted, discharged, borrowed, pre-admission, wait hours) of admissions overlapping the range."""
    q = select(
        Admission.admitted_on,
        Admission.discharged_on,
        Admission.borrowed,
        Admission.preadmission_id,
        Admission.wait_hours,
    ).where(
        Admission.institution_id == institution_id,
        Admission.admitted_on <= end,
        or_(Admission.discharged_on.is_(None), Admission.discharged_on >= start),
    )
    if department_id is not None:
        q = q.where(Admission.department_id == department_id)
    if ward_id is not None:
        q = q.where(Admission.ward_id == ward_id)
    return [tuple(r) for r in session.execute(q)]  # type: ignore[misc]


def open_bed_count(
    session: Session, institution_id: int, *, department_id: int | None = None, ward_id: int | None = None
) -> int:
    q = (
        select(func.count())
        .select_from(Bed)
        .where(Bed.institution_id == institution_id, Bed.state != BedState.CLOSED.value)
    )
    if department_id is not None:
        q = q.where(Bed.owner_department_id == department_id)
    if ward_id is not None:
        q = q.where(Bed.ward_id == ward_id)
    return int(session.scalar(q) or 0)


def relation(session: Session, department_id: int, ward_id: int) -> WardRelation | None:
    return session.scalar(
        select(WardRelation).where(
            WardRelation.department_id == department_id, WardRelation.ward_id == ward_id
        )
    )


def abstract_of(session: Session, admission_id: int) -> DischargeAbstract | None:
    return session.scalar(select(DischargeAbstract).where(DischargeAbstract.admission_id == admission_id))


def abstract_changes(session: Session, abstract_id: int) -> list[AbstractChange]:
    return list(
        session.scalars(
            select(AbstractChange)
            .where(AbstractChange.abstract_id == abstract_id)
            .order_by(AbstractChange.id)
        )
    )


def signed_admissions(session: Session, institution_id: int, start: date, end: date) -> list[int]:
    return list(
        session.scalars(
            select(Admission.id)
            .join(DischargeAbstract, DischargeAbstract.admission_id == Admission.id)
            .where(
                Admission.institution_id == institution_id,
                Admission.discharged_on >= start,
                Admission.discharged_on <= end,
                DischargeAbstract.status == AbstractStatus.SIGNED.value,
            )
            .order_by(Admission.id)
        )
    )


# ---------------------------------------------------------------- indicators, aggregated in the database


def _days_between(session: Session, later: Any, earlier: Any) -> Any:
    """``later − earlier`` in whole days (PostgreSQL date arithmetic; julianday on SQLite)."""
    if session.get_bind().dialect.name == "postgresql":
        return later - earlier
    return cast(func.julianday(later) - func.julianday(earlier), Integer)


def _day_before(session: Session, value: Any) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return value - 1
    return func.date(value, "-1 day")


def _greatest(session: Session, *args: Any) -> Any:
    return (func.greatest if session.get_bind().dialect.name == "postgresql" else func.max)(*args)


def _least(session: Session, *args: Any) -> Any:
    return (func.least if session.get_bind().dialect.name == "postgresql" else func.min)(*args)


GROUPS = {"hospital": None, "department": Admission.department_id, "ward": Admission.ward_id}


def _stay_columns(session: Session, start: date, end: date) -> list[Any]:
    """The aggregate columns of :func:`stay_aggregates` over the admissions overlapping [start, end]."""
    first, last_day = literal(start, Date), literal(end, Date)
    last = case(
        (Admission.discharged_on.is_(None), last_day),
        (Admission.discharged_on == Admission.admitted_on, Admission.admitted_on),
        else_=_day_before(session, Admission.discharged_on),
    )
    occupied = _greatest(
        session,
        literal(0),
        _days_between(
            session, _least(session, last, last_day), _greatest(session, Admission.admitted_on, first)
        )
        + 1,
    )
    stay = _greatest(
        session, literal(1), _days_between(session, Admission.discharged_on, Admission.admitted_on)
    )
    admitted_in = and_(Admission.admitted_on >= start, Admission.admitted_on <= end)
    discharged_in = and_(Admission.discharged_on >= start, Admission.discharged_on <= end)
    return [
        func.sum(occupied),
        func.sum(case((admitted_in, 1), else_=0)),
        func.sum(case((discharged_in, 1), else_=0)),
        func.sum(case((discharged_in, stay), else_=0)),
        func.sum(case((and_(admitted_in, Admission.borrowed.is_(True)), 1), else_=0)),
        func.sum(case((and_(admitted_in, Admission.preadmission_id.is_not(None)), 1), else_=0)),
        func.sum(case((admitted_in, Admission.saved_days), else_=0)),
        func.sum(case((admitted_in, Admission.wait_hours), else_=None)),
        func.count(case((admitted_in, Admission.wait_hours), else_=None)),
    ]


def _overlapping(start: date, end: date) -> ColumnElement[bool]:
    return and_(
        Admission.admitted_on <= end, or_(Admission.discharged_on.is_(None), Admission.discharged_on >= start)
    )


def stay_aggregates(
    session: Session, institution_id: int, start: date, end: date, by: str = "hospital"
) -> dict[int | None, tuple[int, ...]]:
    """Per group (None for the whole hospital): occupied bed-days in the range, admissions, discharges,
    discharged bed-days, borrowed admissions, pre-admission admissions, bed-days saved by
    pre-admission (the days between registration and admission), summed wait hours and their count."""
    key = GROUPS[by]
    columns = _stay_columns(session, start, end)
    query = select(key if key is not None else literal(None), *columns).where(
        Admission.institution_id == institution_id, _overlapping(start, end)
    )
    if key is not None:
        query = query.group_by(key)
    out: dict[int | None, tuple[int, ...]] = {}
    for row in session.execute(query):
        out[row[0]] = tuple(row[1:])
    return out


def stay_aggregates_all(session: Session, start: date, end: date) -> dict[tuple[int, int], tuple[int, ...]]:
    """:func:`stay_aggregates` of every institution at once, by (institution, department) (analytics)."""
    query = (
        select(Admission.institution_id, Admission.department_id, *_stay_columns(session, start, end))
        .where(_overlapping(start, end))
        .group_by(Admission.institution_id, Admission.department_id)
    )
    return {(int(r[0]), int(r[1])): tuple(r[2:]) for r in session.execute(query)}


def open_beds_all(session: Session) -> dict[tuple[int, int], int]:
    """Beds not closed, by (institution, owner department) (analytics)."""
    query = (
        select(Bed.institution_id, Bed.owner_department_id, func.count())
        .where(Bed.state != BedState.CLOSED.value)
        .group_by(Bed.institution_id, Bed.owner_department_id)
    )
    return {(int(i), int(d)): int(n) for i, d, n in session.execute(query)}


def open_beds_by(session: Session, institution_id: int, by: str = "hospital") -> dict[int | None, int]:
    column = {"hospital": None, "department": Bed.owner_department_id, "ward": Bed.ward_id}[by]
    query = select(column if column is not None else literal(None), func.count()).where(
        Bed.institution_id == institution_id, Bed.state != BedState.CLOSED.value
    )
    if column is not None:
        query = query.group_by(column)
    return {k: int(n) for k, n in session.execute(query)}


def in_hospital_total(session: Session) -> int:
    return int(
        session.scalar(select(func.count()).where(Admission.status == AdmissionStatus.ADMITTED.value)) or 0
    )


def patients_in_hospital(session: Session) -> set[int]:
    rows = session.scalars(select(Admission.in_hospital).where(Admission.in_hospital.is_not(None)))
    return {int(p) for p in rows if p is not None}


def insert_admissions(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    """Multi-row INSERT of admissions; their ids in the order of ``rows``."""
    result = session.execute(insert(Admission).returning(Admission.id, sort_by_parameter_order=True), rows)
    return list(result.scalars())


def beds_by_id(session: Session, bed_ids: Sequence[int]) -> dict[int, Bed]:
    if not bed_ids:
        return {}
    return {b.id: b for b in session.scalars(select(Bed).where(Bed.id.in_(list(bed_ids))))}


def last_discharges(session: Session, patient_ids: Sequence[int]) -> dict[int, date]:
    """The latest discharge date of each of these patients that has one."""
    if not patient_ids:
        return {}
    rows = session.execute(
        select(Admission.patient_id, func.max(Admission.discharged_on))
        .where(Admission.patient_id.in_(list(patient_ids)), Admission.discharged_on.is_not(None))
        .group_by(Admission.patient_id)
    )
    return {int(p): d for p, d in rows if d is not None}


def claim_free_beds(session: Session, bed_ids: Sequence[int], at: datetime) -> int:
    """Occupy these beds by ONE conditional UPDATE (only those still free); how many were won."""
    result = session.execute(
        update(Bed)
        .where(Bed.id.in_(list(bed_ids)), Bed.state == BedState.FREE.value)
        .values(state=BedState.OCCUPIED.value, version=Bed.version + 1, changed_at=at)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


_SET_OCCUPANT = (
    update(Bed.__table__)  # type: ignore[arg-type]
    .where(Bed.__table__.c.id == bindparam("bed"))
    .values(
        admission_id=bindparam("admission"),
        occupant_sex=bindparam("sex"),
        occupant_isolation=bindparam("isolation"),
        using_department_id=bindparam("department"),
    )
)


def set_occupants(session: Session, rows: list[dict[str, Any]]) -> None:
    """Each claimed bed's admission, occupant and using department (bed, admission, sex, isolation,
    department), one executemany."""
    if rows:
        session.connection().execute(_SET_OCCUPANT, rows)


def insert_bed_events(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(BedEvent), rows)


def insert_movements(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(Movement), rows)


def admissions_by_status(
    session: Session, institution_id: int, statuses: Sequence[str], limit: int = 200
) -> list[Admission]:
    return list(
        session.scalars(
            select(Admission)
            .where(Admission.institution_id == institution_id, Admission.status.in_(list(statuses)))
            .order_by(Admission.id.desc())
            .limit(limit)
        )
    )


def admissions_of_patient(session: Session, patient_id: int) -> list[Admission]:
    return list(
        session.scalars(
            select(Admission).where(Admission.patient_id == patient_id).order_by(Admission.id.desc())
        )
    )


def movements_since(session: Session, ward_id: int, since: datetime) -> list[tuple[Movement, Admission]]:
    rows = session.execute(
        select(Movement, Admission)
        .join(Admission, Admission.id == Movement.admission_id)
        .outerjoin(Bed, or_(Bed.id == Movement.to_bed_id, Bed.id == Movement.from_bed_id))
        .where(Movement.at >= since, Bed.ward_id == ward_id)
        .order_by(Movement.id)
    )
    seen: set[int] = set()
    out = []
    for movement, admission in rows:
        if movement.id not in seen:
            seen.add(movement.id)
            out.append((movement, admission))
    return out


def beds_of_institution_in_state(session: Session, state: str) -> list[Bed]:
    return list(session.scalars(select(Bed).where(Bed.state == state).order_by(Bed.id)))
