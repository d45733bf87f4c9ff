"""Use cases of inpatient care. Services only flush; the request, CLI command or job commits.

The bed pool (全院一张床): a bed changes state only by a conditional UPDATE whose row count is checked
(``repository.claim_bed``), so two bed officers can never give one bed twice; each change is kept
in the bed's history. A patient is in hospital at most once: ``admissions.in_hospital`` holds the
patient's id while the stay is open and is unique.

Money: the inpatient bill is one per admission (``inpatient_charges``); the deposit (预交金) and
its refunds go through billing's payment channels with idempotency keys; the discharge settlement
(出院结算) splits the bill with the insurance policy's 住院 row, the deductible taken once per
admission (the fund's yearly cap accumulates over the year).
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date, time

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from yilian.billing import service as billing
from yilian.billing.domain import Channel
from yilian.billing.errors import IdempotencyConflict, SettlementRefused
from yilian.catalog import service as catalog
from yilian.inpatient import repository as repo
from yilian.inpatient.domain import (
    DISPOSITIONS,
    MOBILITIES,
    ROOM_KINDS,
    AbstractRecord,
    AbstractStatus,
    AdmissionSource,
    AdmissionStatus,
    AllocationPolicy,
    AllocationRequest,
    BedState,
    Candidate,
    ChargeKind,
    ChargeStatus,
    DepositKind,
    Indicators,
    Isolation,
    MovementKind,
    PreAdmissionPolicy,
    PreAdmissionStatus,
    Ranking,
    RequestStatus,
    RoomKind,
    SettlementStatus,
    Severity,
    exclusion,
    length_of_stay,
    procedure_code_ok,
    quality_problems,
    rank_beds,
    within_window,
)
from yilian.inpatient.errors import (
    AbstractInvalid,
    AdmissionNotFound,
    AdmissionStateError,
    AlreadyInHospital,
    BedNotFound,
    BedNotSuitable,
    BedTaken,
    DepositRequired,
    InpatientForbidden,
    InvalidInpatientInput,
    NotInHospital,
    OrderRefusedByAudit,
    PreAdmissionNotFound,
    RequestAlreadyHandled,
    RequestNotFound,
    UnknownCode,
    WardNotFound,
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
    PreAdmission,
    PreAdmissionOrder,
    Room,
    Ward,
    WardRelation,
)
from yilian.insurance import policy_service as insurance
from yilian.insurance.audit import service as audit
from yilian.insurance.audit.domain import ClaimLine
from yilian.insurance.audit.service import FindingView
from yilian.insurance.domain import Accounts, BillLine, YearToDate, split_bill
from yilian.kit import events
from yilian.kit.access_log import record_access
from yilian.kit.auth.domain import Actor, Permission, require_permission_at
from yilian.kit.clock import age_on, business_date, local_datetime, utcnow
from yilian.kit.errors import YilianError, found
from yilian.outpatient import service as outpatient
from yilian.registry import service as registry
from yilian.registry.domain import ConsentScope

VISIT_TYPE = "inpatient"


# ---------------------------------------------------------------- access and policy


def _require(actor: Actor, permission: Permission, institution_id: int | None = None, what: str = "") -> None:
    require_permission_at(
        actor,
        permission,
        institution_id,
        denied=InpatientForbidden(f"当前角色（{actor.role.label}）不能{what or '办理该住院业务'}"),
        elsewhere=InpatientForbidden("只能办理本机构的住院业务"),
    )


def _patient_for_task(session: Session, actor: Actor, patient_id: int, reason: str) -> registry.Patient:
    """The patient an inpatient task acts on, for an actor already checked for that task in scope.

    Staff who may open records read through the registry's check; the bed office (least privilege: no
    full record) gets the patient for its task only, and the read is audited all the same."""
    if actor.has(Permission.PATIENT_READ) or actor.patient_id is not None:
        return registry.get_patient(session, actor, patient_id, reason=reason)
    patient = registry.find_patient(session, patient_id)
    record_access(
        session, actor, action="read", resource=f"patients/{patient.id}", patient_id=patient.id, reason=reason
    )
    return patient


@dataclass(frozen=True)
class PolicyValues:
    preadmission: PreAdmissionPolicy
    allocation: AllocationPolicy
    emergency_reserve: int
    bed_item_code: str
    nursing_item_code: str
    minimum_deposit: int


DEFAULT_BED_ITEM = "110900001000000"  # 床位费（普通病房）
DEFAULT_NURSING_ITEM = "120100003000000"  # 二级护理


def policy(session: Session, institution_id: int) -> PolicyValues:
    """An institution's inpatient policy values (the defaults of docs/domain.md §8 until configured)."""
    return _policy_values(session.get(InpatientPolicy, institution_id), institution_id)


def _policy_values(row: InpatientPolicy | None, institution_id: int) -> PolicyValues:
    if row is None:
        row = InpatientPolicy(
            institution_id=institution_id,
            preadmission_days=5,
            preadmission_days_approved=7,
            emergency_reserve=2,
            severe_stays_in_specialty=True,
            mild_may_use_other_wards=True,
            bed_item_code="",
            nursing_item_code="",
            minimum_deposit=200_000,
        )
    return PolicyValues(
        preadmission=PreAdmissionPolicy(row.preadmission_days, row.preadmission_days_approved),
        allocation=AllocationPolicy(
            severe_stays_in_specialty=row.severe_stays_in_specialty,
            mild_may_use_other_wards=row.mild_may_use_other_wards,
        ),
        emergency_reserve=row.emergency_reserve,
        bed_item_code=row.bed_item_code or DEFAULT_BED_ITEM,
        nursing_item_code=row.nursing_item_code or DEFAULT_NURSING_ITEM,
        minimum_deposit=row.minimum_deposit,
    )


POLICY_FIELDS = (
    "preadmission_days",
    "preadmission_days_approved",
    "emergency_reserve",
    "severe_stays_in_specialty",
    "mild_may_use_other_wards",
    "bed_item_code",
    "nursing_item_code",
    "minimum_deposit",
)


def set_policy(session: Session, actor: Actor, institution_id: int, **values: object) -> PolicyValues:
    """Change an institution's inpatient policy values (audited); refused whole when one is wrong."""
    _require(actor, Permission.BED_MANAGE, institution_id, "修改住院政策")
    registry.get_institution(session, institution_id)
    unknown = sorted(set(values) - set(POLICY_FIELDS))
    if unknown:
        raise InvalidInpatientInput(f"未知的政策字段：{'、'.join(unknown)}")
    days = int(values.get("preadmission_days", policy(session, institution_id).preadmission.window_days))  # type: ignore[call-overload]
    approved = int(
        values.get(
            "preadmission_days_approved", policy(session, institution_id).preadmission.window_days_approved
        )  # type: ignore[call-overload]
    )
    if not 1 <= days <= approved <= 30:
        raise InvalidInpatientInput("预住院时限应为 1–30 天，且审批后时限不短于普通时限")
    reserve = values.get("emergency_reserve")
    if reserve is not None and not (isinstance(reserve, int) and 0 <= reserve <= 10):
        raise InvalidInpatientInput("应急预留床位数应为 0–10 张")
    row = session.get(InpatientPolicy, institution_id)
    if row is None:
        row = InpatientPolicy(institution_id=institution_id)
        session.add(row)
    for name, value in values.items():
        setattr(row, name, value)
    session.flush()
    record_access(
        session,
        actor,
        action="update",
        resource=f"inpatient-policies/{institution_id}",
        reason="住院政策修改",
    )
    return policy(session, institution_id)


# ---------------------------------------------------------------- wards, rooms, beds


@dataclass(frozen=True)
class RoomSpec:
    code: str
    beds: int
    sex: str = ""
    kind: str = ""
    monitored: bool = False


def create_ward(
    session: Session,
    actor: Actor,
    *,
    institution_id: int,
    department_id: int,
    code: str,
    name: str,
    floor: int = 1,
    building: str = "",
    campus_id: int | None = None,
    rooms: list[RoomSpec] | tuple[RoomSpec, ...] = (),
    emergency_reserved: int = 0,
) -> Ward:
    """Create a ward with its rooms and beds (bed codes run 01, 02, … across the ward); the last
    ``emergency_reserved`` beds of ordinary rooms are held for emergencies."""
    _require(actor, Permission.BED_MANAGE, institution_id, "设置病区与床位")
    department = registry.get_department(session, department_id)
    if department.institution_id != institution_id:
        raise InvalidInpatientInput("病区所属科室不在本机构")
    if not code.strip() or not name.strip():
        raise InvalidInpatientInput("病区编码与名称不能为空")
    for spec in rooms:
        if spec.sex not in ("", "M", "F") or spec.kind not in ROOM_KINDS or not 1 <= spec.beds <= 20:
            raise InvalidInpatientInput(f"病房 {spec.code} 的性别、类型或床位数不合法")
    ward = Ward(
        institution_id=institution_id,
        campus_id=campus_id,
        department_id=department_id,
        code=code.strip(),
        name=name.strip(),
        building=building,
        floor=floor,
    )
    session.add(ward)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise InvalidInpatientInput(f"病区编码已存在：{code}") from None
    now = utcnow()
    number = 0
    beds: list[Bed] = []
    for spec in rooms:
        room = Room(ward_id=ward.id, code=spec.code, sex=spec.sex, kind=spec.kind)
        session.add(room)
        session.flush()
        for _ in range(spec.beds):
            number += 1
            bed = Bed(
                institution_id=institution_id,
                ward_id=ward.id,
                room_id=room.id,
                code=f"{number:02d}",
                owner_department_id=department_id,
                using_department_id=department_id,
                monitored=spec.monitored,
                emergency_reserved=False,
                state=BedState.FREE.value,
                occupant_sex="",
                occupant_isolation="",
                version=0,
                changed_at=now,
            )
            beds.append(bed)
    session.add_all(beds)
    ordinary = [b for b, spec in _beds_with_specs(beds, rooms) if spec.kind == RoomKind.ORDINARY]
    for bed in ordinary[len(ordinary) - emergency_reserved :] if emergency_reserved else []:
        bed.emergency_reserved = True
    session.flush()
    repo.touch_reference(session, institution_id)
    return ward


def _beds_with_specs(
    beds: list[Bed], rooms: list[RoomSpec] | tuple[RoomSpec, ...]
) -> list[tuple[Bed, RoomSpec]]:
    out: list[tuple[Bed, RoomSpec]] = []
    i = 0
    for spec in rooms:
        for _ in range(spec.beds):
            out.append((beds[i], spec))
            i += 1
    return out


def get_ward(session: Session, ward_id: int) -> Ward:
    return found(session.get(Ward, ward_id), WardNotFound(f"病区不存在: {ward_id}"))


def get_bed(session: Session, bed_id: int) -> Bed:
    return found(session.get(Bed, bed_id), BedNotFound(f"床位不存在: {bed_id}"))


def set_relation(
    session: Session, actor: Actor, *, department_id: int, ward_id: int, kind: str, rank: int = 1
) -> WardRelation:
    """The administrator's relation table: a department may borrow beds in a related or nearby ward."""
    ward = get_ward(session, ward_id)
    _require(actor, Permission.BED_MANAGE, ward.institution_id, "维护病区关联")
    department = registry.get_department(session, department_id)
    if kind not in ("related", "nearby"):
        raise InvalidInpatientInput("关联类型应为 related（相关专科）或 nearby（邻近病区）")
    if department.institution_id != ward.institution_id or ward.department_id == department_id:
        raise InvalidInpatientInput("只能关联本机构其他科室的病区")
    found = repo.relation(session, department_id, ward_id)
    if found is None:
        found = WardRelation(department_id=department_id, ward_id=ward_id, kind=kind, rank=rank)
        session.add(found)
    else:
        found.kind, found.rank = kind, rank
    session.flush()
    repo.touch_reference(session, ward.institution_id)
    record_access(
        session, actor, action="update", resource=f"ward-relations/{department_id}/{ward_id}", reason=kind
    )
    return found


def _event(
    session: Session,
    bed_id: int,
    before: str,
    after: str,
    actor: Actor,
    *,
    admission_id: int | None = None,
    reason: str = "",
) -> None:
    repo.add_bed_event(
        session,
        BedEvent(
            bed_id=bed_id,
            at=utcnow(),
            from_state=before,
            to_state=after,
            admission_id=admission_id,
            username=actor.username,
            reason=reason[:200],
        ),
    )


def set_bed_state(session: Session, actor: Actor, bed_id: int, state: BedState, reason: str = "") -> Bed:
    """Close (停用) or reopen a bed, or mark a cleaned bed free; occupied and reserved beds are moved only
    by admission, transfer, discharge and the bed office."""
    bed = get_bed(session, bed_id)
    _require(actor, Permission.BED_ALLOCATE, bed.institution_id, "变更床位状态")
    allowed = {
        BedState.CLOSED: (BedState.FREE.value, BedState.CLEANING.value),
        BedState.FREE: (BedState.CLEANING.value, BedState.CLOSED.value),
        BedState.CLEANING: (BedState.FREE.value,),
    }
    if state not in allowed:
        raise InvalidInpatientInput(f"不能直接把床位设为“{state.label}”")
    before = bed.state
    if not repo.claim_bed(session, bed_id, from_states=allowed[state], to_state=state.value, at=utcnow()):
        raise BedTaken(f"床位 {bed.code} 当前为“{BedState(before).label}”，不能设为“{state.label}”")
    _event(session, bed_id, before, state.value, actor, reason=reason)
    session.flush()
    events.emit(session, "inpatient.bed_changed", {"bed_id": bed_id, "state": state.value})
    return bed


# ---------------------------------------------------------------- the bed office (床位调配)


def _sex_of(patient: registry.Patient) -> str:
    return "M" if patient.sex == "1" else "F"


def request_bed(
    session: Session,
    actor: Actor,
    *,
    patient_id: int,
    department_id: int,
    severity: Severity = Severity.MILD,
    isolation: Isolation = Isolation.NONE,
    source: AdmissionSource = AdmissionSource.CLINIC,
    expected_on: date | None = None,
    preadmission_id: int | None = None,
    note: str = "",
) -> BedRequest:
    """Put a patient on the bed office's queue (待床)."""
    department = registry.get_department(session, department_id)
    _require(actor, Permission.INPATIENT_ADT, department.institution_id, "申请住院床位")
    _patient_for_task(session, actor, patient_id, "住院床位申请")
    if repo.admission_in_hospital(session, patient_id) is not None:
        raise AlreadyInHospital("患者已在院，不能再申请床位")
    row = BedRequest(
        institution_id=department.institution_id,
        patient_id=patient_id,
        department_id=department_id,
        severity=severity.value,
        isolation=isolation.value,
        source=source.value,
        emergency=source == AdmissionSource.EMERGENCY,
        expected_on=expected_on or business_date(),
        preadmission_id=preadmission_id,
        status=RequestStatus.WAITING.value,
        note=note[:200],
        requested_at=utcnow(),
    )
    session.add(row)
    session.flush()
    events.emit(
        session, "inpatient.bed_requested", {"request_id": row.id, "institution_id": row.institution_id}
    )
    return row


def find_request(session: Session, request_id: int) -> BedRequest:
    return found(session.get(BedRequest, request_id), RequestNotFound(f"住院申请不存在: {request_id}"))


# ---------------------------------------------------------------- the reference cache

_UNKNOWN = "?"


@dataclass(frozen=True)
class _Reference:
    """An institution's wards (id → name, department, floor, active), rooms (id → code, kind, sex) and
    relation table (department → ward → kind, rank): the bed office's reference tables."""

    wards: dict[int, tuple[str, int, int, bool]]
    rooms: dict[int, tuple[str, str, str]]
    relations: dict[int, dict[int, tuple[str, int]]]


_REFERENCES: dict[str, _Reference] = {}  # by stamp: a fresh random token per change, never reused
_REFERENCES_KEPT = 64
_REFERENCES_LOCK = threading.Lock()


def _load_reference(session: Session, institution_id: int) -> _Reference:
    wards, rooms, relations = repo.reference_tables(session, institution_id)
    related: dict[int, dict[int, tuple[str, int]]] = {}
    for department_id, ward_id, kind, rank in relations:
        related.setdefault(department_id, {})[ward_id] = (kind, rank)
    return _Reference(
        wards={w: (name, department, floor, active) for w, name, department, floor, active in wards},
        rooms={r: (code, kind, sex) for r, code, kind, sex in rooms},
        relations=related,
    )


def _reference(session: Session, institution_id: int, stamp: str | None = _UNKNOWN) -> _Reference:
    """The institution's reference tables from the cache while its stamp (read with the request, or
    here) is current; loaded and kept when the stamp is new. Every change of a ward, room or relation
    writes a new stamp (``repo.touch_reference``), so a cached copy is never used after a change, in
    this process or another; a copy is kept only when the stamp did not move while it was read."""
    if stamp == _UNKNOWN:
        stamp = repo.reference_stamp(session, institution_id)
    if stamp is not None:
        found = _REFERENCES.get(stamp)
        if found is not None:
            return found
    loaded = _load_reference(session, institution_id)
    if stamp is not None and repo.reference_stamp(session, institution_id) == stamp:
        with _REFERENCES_LOCK:
            if len(_REFERENCES) >= _REFERENCES_KEPT:
                _REFERENCES.pop(next(iter(_REFERENCES)))
            _REFERENCES[stamp] = loaded
    return loaded


def _relation(reference: _Reference, ward_id: int, department_id: int) -> tuple[str, int]:
    ward = reference.wards[ward_id]
    if ward[1] == department_id:
        return "own", 0
    return reference.relations.get(department_id, {}).get(ward_id, ("other", 99))


def candidates(
    session: Session, institution_id: int, department_id: int, *, stamp: str | None = _UNKNOWN
) -> list[Candidate]:
    """The institution's free beds in active wards as the ranking sees them (relation to the
    department, the room's sex and infection now): one set-based query, the wards, rooms and
    relations from the reference cache."""
    reference = _reference(session, institution_id, stamp)
    wards, rooms = reference.wards, reference.rooms
    related = reference.relations.get(department_id, {})
    out = []
    for bed_id, code, ward_id, room_id, monitored, reserved, occupied_sex, infection in repo.free_beds(
        session, institution_id
    ):
        ward = wards.get(ward_id)
        room = rooms.get(room_id)
        if ward is None or room is None or not ward[3]:
            continue  # an inactive ward (or one made after the stamp was read)
        ward_name, ward_department, floor, _active = ward
        if ward_department == department_id:
            relation, rank = "own", 0
        else:
            relation, rank = related.get(ward_id, ("other", 99))
        out.append(
            Candidate(
                bed_id=bed_id,
                bed_code=code,
                ward_id=ward_id,
                ward_name=ward_name,
                room_code=room[0],
                relation=relation,
                relation_rank=rank,
                room_kind=room[1],
                room_sex=room[2] or occupied_sex or "",
                room_infection=infection or "",
                monitored=monitored,
                emergency_reserved=reserved,
                floor=floor,
            )
        )
    return out


def _allocation_request(session: Session, request: BedRequest) -> AllocationRequest:
    return AllocationRequest(
        department_id=request.department_id,
        severity=Severity(request.severity),
        sex=_sex_of(registry.find_patient(session, request.patient_id)),
        isolation=Isolation(request.isolation),
        emergency=request.emergency,
    )


def suggest(session: Session, actor: Actor, request_id: int, *, limit: int = 10) -> Ranking:
    """The bed office's ranked suggestions for a waiting request, each with its reasons (Chinese).
    Three round trips: the request with its policy row and reference stamp, the patient, the free
    beds (the wards, rooms and relations come from the reference cache)."""
    found = repo.request_with_policy(session, request_id)
    if found is None:
        raise RequestNotFound(f"住院申请不存在: {request_id}")
    request, policy_row, stamp = found
    _require(actor, Permission.BED_ALLOCATE, request.institution_id, "调配床位")
    return rank_beds(
        _allocation_request(session, request),
        candidates(session, request.institution_id, request.department_id, stamp=stamp),
        _policy_values(policy_row, request.institution_id).allocation,
        limit=limit,
    )


def _candidate(session: Session, bed: Bed, department_id: int) -> Candidate:
    reference = _reference(session, bed.institution_id)
    if bed.ward_id not in reference.wards or bed.room_id not in reference.rooms:
        reference = _load_reference(session, bed.institution_id)
    ward_name, _department, floor, _active = reference.wards[bed.ward_id]
    room_code, room_kind, room_sex = reference.rooms[bed.room_id]
    relation, rank = _relation(reference, bed.ward_id, department_id)
    taken = repo.room_occupants(session, [bed.room_id])
    sexes = sorted({s for _r, s, _i in taken if s})
    infections = sorted({i for _r, _s, i in taken if i not in ("", "none")})
    return Candidate(
        bed_id=bed.id,
        bed_code=bed.code,
        ward_id=bed.ward_id,
        ward_name=ward_name,
        room_code=room_code,
        relation=relation,
        relation_rank=rank,
        room_kind=room_kind,
        room_sex=room_sex or next(iter(sexes), ""),
        room_infection=next(iter(infections), ""),
        monitored=bed.monitored,
        emergency_reserved=bed.emergency_reserved,
        floor=floor,
    )


def _check_fit(session: Session, bed: Bed, wanted: AllocationRequest, institution_id: int) -> Candidate:
    if bed.institution_id != institution_id:
        raise BedNotSuitable("床位不在本机构")
    fit = _candidate(session, bed, wanted.department_id)
    why = exclusion(wanted, fit, policy(session, institution_id).allocation)
    if why is not None:
        raise BedNotSuitable(f"床位 {fit.ward_name} {bed.code} 床：{why}")
    return fit


def assign(session: Session, actor: Actor, request_id: int, bed_id: int) -> BedRequest:
    """Reserve a free bed for a waiting request (预约). One conditional UPDATE claims the bed: when two
    officers give the same bed at once, exactly one wins and the other is told the bed is taken."""
    request = find_request(session, request_id)
    _require(actor, Permission.BED_ALLOCATE, request.institution_id, "调配床位")
    bed = get_bed(session, bed_id)
    wanted = _allocation_request(session, request)
    if request.status != RequestStatus.WAITING:
        raise RequestAlreadyHandled(f"该申请当前状态为 {request.status}，不能再分配床位")
    if bed.state != BedState.FREE.value:
        raise BedTaken(f"床位 {bed.code} 当前为“{BedState(bed.state).label}”，请选择其他床位")
    _check_fit(session, bed, wanted, request.institution_id)
    now = utcnow()
    won = repo.claim_bed(
        session,
        bed_id,
        from_states=(BedState.FREE.value,),
        to_state=BedState.RESERVED.value,
        request_id=request.id,
        occupant_sex=wanted.sex,
        occupant_isolation=wanted.isolation.value,
        using_department_id=request.department_id,
        at=now,
    )
    if not won:
        raise BedTaken(f"床位 {bed.code} 刚被其他床位管理员分配，请选择其他床位")
    if not repo.claim_request(
        session,
        request.id,
        from_status=RequestStatus.WAITING.value,
        to_status=RequestStatus.ASSIGNED.value,
        bed_id=bed_id,
        assigned_at=now,
        assigned_by=actor.username,
    ):
        raise RequestAlreadyHandled("该申请刚被其他床位管理员处理")
    _event(
        session, bed_id, BedState.FREE.value, BedState.RESERVED.value, actor, reason=f"住院申请 {request.id}"
    )
    session.flush()
    session.refresh(request)
    events.emit(session, "inpatient.bed_changed", {"bed_id": bed_id, "state": BedState.RESERVED.value})
    return request


def release(session: Session, actor: Actor, request_id: int, reason: str = "") -> BedRequest:
    """Give a reserved bed back to the pool and put the request back in the queue (or cancel it)."""
    request = find_request(session, request_id)
    _require(actor, Permission.BED_ALLOCATE, request.institution_id, "调配床位")
    if request.status != RequestStatus.ASSIGNED or request.bed_id is None:
        raise RequestAlreadyHandled("该申请没有预约中的床位")
    bed_id = request.bed_id
    if not repo.claim_bed(
        session,
        bed_id,
        from_states=(BedState.RESERVED.value,),
        expect_request=request.id,
        to_state=BedState.FREE.value,
        at=utcnow(),
    ):
        raise BedTaken("床位已不在预约状态")
    repo.claim_request(
        session,
        request.id,
        from_status=RequestStatus.ASSIGNED.value,
        to_status=RequestStatus.WAITING.value,
        bed_id=None,
        assigned_at=None,
    )
    _event(session, bed_id, BedState.RESERVED.value, BedState.FREE.value, actor, reason=reason or "取消预约")
    session.flush()
    session.refresh(request)
    events.emit(session, "inpatient.bed_changed", {"bed_id": bed_id, "state": BedState.FREE.value})
    return request


def cancel_request(session: Session, actor: Actor, request_id: int) -> BedRequest:
    request = find_request(session, request_id)
    if request.status == RequestStatus.ASSIGNED:
        release(session, actor, request_id, "取消住院申请")
    _require(actor, Permission.BED_ALLOCATE, request.institution_id, "取消住院申请")
    if not repo.claim_request(
        session, request.id, from_status=RequestStatus.WAITING.value, to_status=RequestStatus.CANCELLED.value
    ):
        raise RequestAlreadyHandled("该申请已入院或已取消")
    session.refresh(request)
    return request


# ---------------------------------------------------------------- admission, transfer, discharge


def find_admission(session: Session, admission_id: int) -> Admission:
    return found(session.get(Admission, admission_id), AdmissionNotFound(f"住院记录不存在: {admission_id}"))


def read_admission(
    session: Session, actor: Actor, admission_id: int, reason: str = "查看住院记录"
) -> Admission:
    """An admission the actor may read (the patient, or staff in scope); the read is audited."""
    admission = find_admission(session, admission_id)
    if actor.patient_id is not None and actor.patient_id == admission.patient_id:
        registry.get_patient(session, actor, admission.patient_id, reason=reason)
        return admission
    _require(actor, Permission.INPATIENT_READ, admission.institution_id, "查看住院记录")
    _patient_for_task(session, actor, admission.patient_id, reason)
    return admission


@dataclass(frozen=True)
class DepositIn:
    amount: int
    channel: Channel
    idempotency_key: str
    payer_ref: str = ""


def admit(
    session: Session,
    actor: Actor,
    *,
    patient_id: int,
    department_id: int,
    bed_id: int,
    source: AdmissionSource = AdmissionSource.CLINIC,
    severity: Severity = Severity.MILD,
    isolation: Isolation = Isolation.NONE,
    request_id: int | None = None,
    preadmission_id: int | None = None,
    practitioner_id: int | None = None,
    deposit: DepositIn | None = None,
    waive_deposit: bool = False,
) -> Admission:
    """Admit a patient to a bed: from the bed office's reservation, or straight to a free bed (clinic,
    emergency, referral, pre-admission). The patient pays a deposit through a channel, or — eligible
    for credit care (免押金住院, the same rules as 先诊疗后付费) — none. Pre-admission charges within the
    window move into this admission's bill. Anything refused leaves nothing stored."""
    department = registry.get_department(session, department_id)
    institution_id = department.institution_id
    _require(actor, Permission.INPATIENT_ADT, institution_id, "办理入院")
    patient = _patient_for_task(session, actor, patient_id, "办理入院")
    bed = get_bed(session, bed_id)
    request = find_request(session, request_id) if request_id is not None else None
    if request is not None and (
        request.patient_id != patient_id
        or request.status not in (RequestStatus.WAITING, RequestStatus.ASSIGNED)
    ):
        raise RequestAlreadyHandled("住院申请与患者不符，或已入院、已取消")
    preadmission = find_preadmission(session, preadmission_id) if preadmission_id is not None else None
    if preadmission is not None and (
        preadmission.patient_id != patient_id or preadmission.status != PreAdmissionStatus.OPEN
    ):
        raise AdmissionStateError("预住院登记与患者不符，或已入院、已取消")
    if repo.admission_in_hospital(session, patient_id) is not None:
        raise AlreadyInHospital(f"{patient.name} 已在院，不能重复入院")
    wanted = AllocationRequest(
        department_id=department_id,
        severity=severity,
        sex=_sex_of(patient),
        isolation=isolation,
        emergency=source == AdmissionSource.EMERGENCY,
    )
    if request is not None and request.status == RequestStatus.ASSIGNED and request.bed_id != bed_id:
        raise RequestAlreadyHandled("该申请已预约了另一张床位，请先取消预约或入住预约床位")
    reserved_here = request is not None and request.bed_id == bed_id and bed.state == BedState.RESERVED
    if not reserved_here:
        if bed.state != BedState.FREE.value:
            raise BedTaken(f"床位 {bed.code} 当前为“{BedState(bed.state).label}”，不能入住")
        fit = _check_fit(session, bed, wanted, institution_id)
    else:
        fit = _candidate(session, bed, department_id)
    today = business_date()
    if deposit is None and not waive_deposit:
        raise DepositRequired("请缴纳预交金，或为符合条件的患者办理免押金住院")
    if waive_deposit:
        refusal = billing.refusal_of(
            session, patient_id, billing.credit_policy(session, institution_id), "inpatient", today
        )
        if refusal is not None:
            raise DepositRequired(f"不符合免押金住院条件：{refusal}")
    now = utcnow()
    admission = Admission(
        number=f"ZY{today:%Y%m%d}{secrets.token_hex(4).upper()}",
        institution_id=institution_id,
        patient_id=patient_id,
        in_hospital=patient_id,
        department_id=department_id,
        ward_id=bed.ward_id,
        bed_id=bed_id,
        practitioner_id=practitioner_id or _attending_from(session, preadmission, actor),
        request_id=request.id if request else None,
        preadmission_id=preadmission.id if preadmission else None,
        source=(AdmissionSource.PREADMISSION if preadmission else source).value,
        severity=severity.value,
        isolation=isolation.value,
        borrowed=fit.relation != "own",
        status=AdmissionStatus.ADMITTED.value,
        deposit_waived=waive_deposit,
        admitted_on=today,
        admitted_at=now,
        wait_hours=round((now - request.requested_at).total_seconds() / 3600, 1) if request else None,
    )
    session.add(admission)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise AlreadyInHospital(f"{patient.name} 已在院，不能重复入院") from None
    won = repo.claim_bed(
        session,
        bed_id,
        from_states=(BedState.FREE.value, BedState.RESERVED.value),
        expect_request=request.id if request else -1,
        to_state=BedState.OCCUPIED.value,
        admission_id=admission.id,
        occupant_sex=wanted.sex,
        occupant_isolation=isolation.value,
        using_department_id=department_id,
        at=now,
    )
    if not won:
        raise BedTaken(f"床位 {bed.code} 刚被占用，请重新选择")
    _event(
        session,
        bed_id,
        BedState.RESERVED.value if reserved_here else BedState.FREE.value,
        BedState.OCCUPIED.value,
        actor,
        admission_id=admission.id,
        reason="入院",
    )
    if request is not None:
        repo.claim_request(
            session,
            request.id,
            from_status=request.status,
            to_status=RequestStatus.ADMITTED.value,
            bed_id=bed_id,
        )
    session.add(
        Movement(
            admission_id=admission.id,
            kind=MovementKind.ADMIT.value,
            to_bed_id=bed_id,
            to_department_id=department_id,
            at=now,
            username=actor.username,
            reason=AdmissionSource(admission.source).label,
        )
    )
    session.flush()
    # the hospital's staff may read an inpatient's record for the stay and afterwards (abstract, bill)
    registry.grant_institution_access(
        session, patient_id=patient_id, institution_id=institution_id, reason=f"住院 {admission.number}"
    )
    if deposit is not None:
        pay_deposit(session, actor, admission.id, deposit)
    if preadmission is not None:
        _take_over_preadmission(session, admission, preadmission)
    events.emit(
        session,
        "inpatient.admitted",
        {
            "admission_id": admission.id,
            "patient_id": patient_id,
            "bed_id": bed_id,
            "institution_id": institution_id,
        },
    )
    return admission


def _attending_from(session: Session, preadmission: PreAdmission | None, actor: Actor) -> int | None:
    """The attending doctor (主管医生) when none is named: the doctor who registered the pre-admission
    (the visit's doctor), else the admitting user when she is a practitioner."""
    if preadmission is not None:
        visit_doctor = outpatient.find_encounter(session, preadmission.encounter_id).practitioner_id
        if visit_doctor is not None:
            return visit_doctor
    return actor.practitioner_id


def pay_deposit(session: Session, actor: Actor, admission_id: int, deposit: DepositIn) -> Deposit:
    """Take a deposit (预交金) through a channel; the same key and amount returns the first deposit, the
    same key with another amount is refused (and nothing is stored)."""
    admission = find_admission(session, admission_id)
    _require(actor, Permission.INPATIENT_ADT, admission.institution_id, "收取预交金")
    if deposit.amount <= 0:
        raise InvalidInpatientInput("预交金金额必须大于 0")
    if admission.status != AdmissionStatus.ADMITTED:
        raise NotInHospital("患者不在院，不能收取预交金")
    existing = repo.deposit_by_key(session, deposit.idempotency_key)
    if existing is not None:
        if (
            existing.admission_id != admission_id
            or existing.amount != deposit.amount
            or existing.kind != DepositKind.PAY
        ):
            raise IdempotencyConflict(f"幂等键 {deposit.idempotency_key} 已用于另一笔预交金")
        return existing
    payment = billing.pay(
        session,
        reference=f"deposit:{admission_id}",
        amount=deposit.amount,
        channel=deposit.channel,
        idempotency_key=deposit.idempotency_key,
        patient_id=admission.patient_id,
        payer_ref=deposit.payer_ref,
    )
    billing.require_succeeded(payment, "预交金支付")
    row = Deposit(
        admission_id=admission_id,
        kind=DepositKind.PAY.value,
        amount=deposit.amount,
        channel=deposit.channel.value,
        idempotency_key=deposit.idempotency_key,
        payment_id=payment.id,
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    events.emit(session, "inpatient.deposit_paid", {"admission_id": admission_id, "amount": deposit.amount})
    return row


def deposit_balance(session: Session, admission_id: int) -> int:
    """Deposits paid less deposits refunded (fen)."""
    return sum(
        d.amount if d.kind == DepositKind.PAY else -d.amount for d in repo.deposits_of(session, admission_id)
    )


def transfer(
    session: Session,
    actor: Actor,
    admission_id: int,
    *,
    to_bed_id: int,
    department_id: int | None = None,
    reason: str = "",
) -> Admission:
    """Move an inpatient to another bed, ward or department (转床 / 转科); the new bed is claimed by a
    conditional UPDATE, the old one goes to cleaning and back to its owner."""
    admission = find_admission(session, admission_id)
    _require(actor, Permission.INPATIENT_ADT, admission.institution_id, "办理转床转科")
    if admission.status != AdmissionStatus.ADMITTED or admission.bed_id is None:
        raise NotInHospital("患者不在院，不能转床")
    target = get_bed(session, to_bed_id)
    if target.id == admission.bed_id:
        raise InvalidInpatientInput("转入床位与当前床位相同")
    new_department = department_id or admission.department_id
    registry.get_department(session, new_department)
    patient = registry.find_patient(session, admission.patient_id)
    if target.state != BedState.FREE.value:
        raise BedTaken(f"床位 {target.code} 当前为“{BedState(target.state).label}”，不能转入")
    wanted = AllocationRequest(
        department_id=new_department,
        severity=Severity(admission.severity),
        sex=_sex_of(patient),
        isolation=Isolation(admission.isolation),
        emergency=admission.source == AdmissionSource.EMERGENCY.value,
    )
    fit = _check_fit(session, target, wanted, admission.institution_id)
    now = utcnow()
    if not repo.claim_bed(
        session,
        to_bed_id,
        from_states=(BedState.FREE.value,),
        to_state=BedState.OCCUPIED.value,
        admission_id=admission.id,
        occupant_sex=wanted.sex,
        occupant_isolation=admission.isolation,
        using_department_id=new_department,
        at=now,
    ):
        raise BedTaken(f"床位 {target.code} 刚被占用，请重新选择")
    old_bed, old_department = admission.bed_id, admission.department_id
    repo.claim_bed(
        session, old_bed, from_states=(BedState.OCCUPIED.value,), to_state=BedState.CLEANING.value, at=now
    )
    _event(
        session,
        old_bed,
        BedState.OCCUPIED.value,
        BedState.CLEANING.value,
        actor,
        admission_id=admission.id,
        reason="转出",
    )
    _event(
        session,
        to_bed_id,
        BedState.FREE.value,
        BedState.OCCUPIED.value,
        actor,
        admission_id=admission.id,
        reason="转入",
    )
    admission.bed_id, admission.ward_id, admission.department_id = to_bed_id, target.ward_id, new_department
    admission.borrowed = admission.borrowed or fit.relation != "own"
    session.add(
        Movement(
            admission_id=admission.id,
            kind=MovementKind.TRANSFER.value,
            from_bed_id=old_bed,
            to_bed_id=to_bed_id,
            from_department_id=old_department,
            to_department_id=new_department,
            at=now,
            username=actor.username,
            reason=reason[:200],
        )
    )
    session.flush()
    events.emit(session, "inpatient.transferred", {"admission_id": admission.id, "bed_id": to_bed_id})
    return admission


def discharge(
    session: Session,
    actor: Actor,
    admission_id: int,
    *,
    disposition: int,
    discharged_on: date | None = None,
) -> Admission:
    """Discharge (出院) with a disposition (离院方式 1–5); the bed goes to cleaning and a borrowed bed
    returns to its owner department."""
    admission = find_admission(session, admission_id)
    _require(actor, Permission.INPATIENT_ADT, admission.institution_id, "办理出院")
    if disposition not in DISPOSITIONS:
        raise InvalidInpatientInput(
            "离院方式应为 1–5（医嘱离院、医嘱转院、转社区/乡镇卫生院、非医嘱离院、死亡）"
        )
    if admission.status != AdmissionStatus.ADMITTED:
        raise NotInHospital("患者不在院（已出院或尚未入院），不能办理出院")
    day = discharged_on or business_date()
    if day < admission.admitted_on:
        raise InvalidInpatientInput(f"出院日期 {day} 早于入院日期 {admission.admitted_on}")
    now = utcnow()
    if not repo.claim_admission(
        session,
        admission.id,
        from_status=AdmissionStatus.ADMITTED.value,
        status=AdmissionStatus.DISCHARGED.value,
        in_hospital=None,
        discharged_on=day,
        discharged_at=now,
        disposition=disposition,
    ):
        raise NotInHospital("患者刚被办理出院")
    bed_id = admission.bed_id
    if bed_id is not None:
        repo.claim_bed(
            session, bed_id, from_states=(BedState.OCCUPIED.value,), to_state=BedState.CLEANING.value, at=now
        )
        _event(
            session,
            bed_id,
            BedState.OCCUPIED.value,
            BedState.CLEANING.value,
            actor,
            admission_id=admission.id,
            reason="出院",
        )
    session.add(
        Movement(
            admission_id=admission.id,
            kind=MovementKind.DISCHARGE.value,
            from_bed_id=bed_id,
            from_department_id=admission.department_id,
            at=now,
            username=actor.username,
            reason=DISPOSITIONS[disposition],
        )
    )
    session.flush()
    session.refresh(admission)
    events.emit(
        session,
        "inpatient.discharged",
        {"admission_id": admission.id, "institution_id": admission.institution_id},
    )
    return admission


# ---------------------------------------------------------------- the inpatient bill


def _charge_line(
    admission: Admission,
    *,
    kind: str,
    day: date,
    item_code: str,
    quantity: int = 1,
    key: str | None = None,
    session: Session,
) -> InpatientCharge:
    item = catalog.get_item(session, item_code)
    return InpatientCharge(
        admission_id=admission.id,
        key=key,
        kind=kind,
        service_date=day,
        item_code=item.code,
        item_name=item.name,
        quantity=quantity,
        unit_price=item.price_fen,
        amount=item.price_fen * quantity,
        insurance_class=item.insurance_class,
        self_pay_permille=item.self_pay_permille,
        status=ChargeStatus.OPEN.value,
        created_at=utcnow(),
    )


def _admission_diagnosis(session: Session, admission: Admission) -> str:
    """The stay's diagnosis for the insurance audit: the abstract's principal diagnosis once coded,
    else the pre-admission's diagnosis when it is a known ICD-10 code, else none."""
    row = repo.abstract_of(session, admission.id)
    if row is not None and row.principal_diagnosis:
        return row.principal_diagnosis
    if admission.preadmission_id is not None:
        pre = session.get(PreAdmission, admission.preadmission_id)
        first = (pre.diagnosis.split() or [""])[0] if pre is not None else ""
        if first:
            try:
                return catalog.get_diagnosis(session, first).code
            except YilianError:
                return ""
    return ""


def _claim_lines(
    session: Session, admission: Admission, extra: tuple[str, int, int] | None = None
) -> list[ClaimLine]:
    """The stay's bill as claim lines for the smart insurance audit (``extra``, an order being placed,
    is line 0; the lines already charged keep their ids)."""
    patient = registry.find_patient(session, admission.patient_id)
    institution = registry.get_institution(session, admission.institution_id)
    department = audit.qualified_department(
        institution.code, registry.get_department(session, admission.department_id).code
    )
    today = business_date()
    diagnosis = _admission_diagnosis(session, admission)

    def line(line_id: int, code: str, qty: int, price: int, day: date) -> ClaimLine:
        return ClaimLine(
            line_id=line_id,
            claim_id=admission.number,
            patient_id=patient.mpi_id,
            sex="M" if patient.sex == "1" else "F",
            age=age_on(patient.birth_date, today),
            scheme=patient.insurance_scheme,
            level=max(1, institution.level),
            setting=VISIT_TYPE,
            diagnosis=diagnosis,
            admit_date=admission.admitted_on,
            discharge_date=admission.discharged_on or today,
            service_date=day,
            item_code=code,
            quantity=qty,
            unit_price=price,
            amount=price * qty,
            department=department,
        )

    lines = [
        line(c.id, c.item_code, c.quantity, c.unit_price, c.service_date)
        for c in repo.charges_of(session, admission.id, statuses=(ChargeStatus.OPEN.value,))
    ]
    if extra is not None:
        lines.append(line(0, *extra, today))
    return lines


def _findings(session: Session, admission: Admission, item_code: str, quantity: int) -> list[FindingView]:
    item = catalog.get_item(session, item_code)
    lines = _claim_lines(session, admission, (item.code, quantity, item.price_fen))
    found = audit.precheck(lines, library=audit.active_library(session))
    return [f for f in found if 0 in f.lines]


def order_precheck(
    session: Session, actor: Actor, admission_id: int, item_code: str, quantity: int = 1
) -> list[FindingView]:
    """Before an inpatient order is placed (事前): the smart insurance audit of the stay's bill with the
    new line, as in the clinic. Findings of 明确违规 block the order; 可疑 ones are warnings."""
    admission = find_admission(session, admission_id)
    _require(actor, Permission.INPATIENT_ADT, admission.institution_id, "开立住院医嘱")
    if not 1 <= quantity <= 999:
        raise InvalidInpatientInput("数量应为 1–999")
    record_access(
        session,
        actor,
        action="audit_precheck",
        resource=f"claim:{admission.number}",
        patient_id=admission.patient_id,
        reason="住院医嘱事前审核",
    )
    return _findings(session, admission, item_code, quantity)


def blocking(findings: list[FindingView]) -> list[FindingView]:
    """The findings that refuse an inpatient order: 明确违规 (violation)."""
    return [f for f in findings if f.severity == "violation"]


@dataclass(frozen=True)
class OrderOutcome:
    line: InpatientCharge
    warnings: tuple[FindingView, ...]  # 可疑 findings the doctor was shown


def place_order(
    session: Session, actor: Actor, admission_id: int, item_code: str, quantity: int = 1
) -> OrderOutcome:
    """An inpatient order (drug, lab, exam, procedure from the catalogue) charged to the admission,
    after the smart insurance audit's pre-check: 明确违规 refuses it (nothing stored), 可疑 findings
    come back as warnings."""
    admission = find_admission(session, admission_id)
    _require(actor, Permission.INPATIENT_ADT, admission.institution_id, "开立住院医嘱")
    if admission.status != AdmissionStatus.ADMITTED:
        raise NotInHospital("患者不在院，不能开立住院医嘱")
    if not 1 <= quantity <= 999:
        raise InvalidInpatientInput("数量应为 1–999")
    findings = _findings(session, admission, item_code, quantity)
    refused = blocking(findings)
    if refused:
        raise OrderRefusedByAudit(
            "医保事前审核不通过："
            + "；".join(f"{f.text}（规则 {f.rule_id}）" for f in refused)
            + "。请核对诊断、性别年龄或项目后再开立"
        )
    line = _charge_line(
        admission,
        kind=ChargeKind.ORDER.value,
        day=business_date(),
        item_code=item_code,
        quantity=quantity,
        session=session,
    )
    session.add(line)
    session.flush()
    return OrderOutcome(line, tuple(findings))


def order(
    session: Session, actor: Actor, admission_id: int, item_code: str, quantity: int = 1
) -> InpatientCharge:
    """``place_order`` returning only the charged line."""
    return place_order(session, actor, admission_id, item_code, quantity).line


def charge_day(session: Session, admission_id: int, day: date) -> int:
    """The day's bed and nursing charges of one admission; charged once per day whatever the number of
    runs (unique keys). Returns how many lines were added."""
    admission = find_admission(session, admission_id)
    values = policy(session, admission.institution_id)
    added = 0
    for kind, code in (
        (ChargeKind.BED.value, values.bed_item_code),
        (ChargeKind.NURSING.value, values.nursing_item_code),
    ):
        key = f"{kind}:{admission.id}:{day.isoformat()}"
        if repo.charge_by_key(session, key) is not None:
            continue
        line = _charge_line(admission, kind=kind, day=day, item_code=code, key=key, session=session)
        try:
            with session.begin_nested():
                session.add(line)
                session.flush()
        except IntegrityError:
            continue  # another run charged it at the same moment
        added += 1
    return added


def admissions_to_charge(session: Session, day: date) -> list[int]:
    return repo.admissions_in_hospital_on(session, day)


@dataclass(frozen=True)
class Bill:
    admission_id: int
    lines: tuple[InpatientCharge, ...]
    total: int
    deposit: int
    by_kind: dict[str, int]

    @property
    def balance(self) -> int:
        """Deposit left after the charges (negative: the patient owes)."""
        return self.deposit - self.total


def bill(session: Session, actor: Actor, admission_id: int) -> Bill:
    """The admission's running bill (一日清单 in total) and the deposit."""
    read_admission(session, actor, admission_id, reason="查看住院费用")
    lines = repo.charges_of(session, admission_id)
    by_kind: dict[str, int] = {}
    for line in lines:
        by_kind[line.kind] = by_kind.get(line.kind, 0) + line.amount
    return Bill(
        admission_id=admission_id,
        lines=tuple(lines),
        total=sum(line.amount for line in lines),
        deposit=deposit_balance(session, admission_id),
        by_kind=by_kind,
    )


# ---------------------------------------------------------------- pre-admission (预住院)


def find_preadmission(session: Session, preadmission_id: int) -> PreAdmission:
    return found(
        session.get(PreAdmission, preadmission_id),
        PreAdmissionNotFound(f"预住院登记不存在: {preadmission_id}"),
    )


def register_preadmission(
    session: Session,
    actor: Actor,
    *,
    encounter_id: int,
    department_id: int | None = None,
    diagnosis: str = "",
) -> PreAdmission:
    """A doctor registers a planned admission from an outpatient visit (预住院)."""
    encounter = outpatient.get_encounter(session, actor, encounter_id)
    _require(actor, Permission.PREADMISSION, encounter.institution_id, "登记预住院")
    target = department_id or encounter.department_id
    if registry.get_department(session, target).institution_id != encounter.institution_id:
        raise InvalidInpatientInput("预住院科室不在本机构")
    if repo.admission_in_hospital(session, encounter.patient_id) is not None:
        raise AlreadyInHospital("患者已在院，不能登记预住院")
    row = PreAdmission(
        institution_id=encounter.institution_id,
        patient_id=encounter.patient_id,
        encounter_id=encounter.id,
        department_id=target,
        registered_on=business_date(),
        status=PreAdmissionStatus.OPEN.value,
        diagnosis=diagnosis[:200],
        created_by=actor.username,
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    events.emit(session, "inpatient.preadmission_registered", {"preadmission_id": row.id})
    return row


def approve_extension(session: Session, actor: Actor, preadmission_id: int) -> PreAdmission:
    """Approve the longer window (7 days by default) for a pre-admission."""
    row = find_preadmission(session, preadmission_id)
    _require(actor, Permission.BED_MANAGE, row.institution_id, "审批预住院延期")
    row.extension_approved = True
    session.flush()
    return row


def order_preadmission(
    session: Session,
    actor: Actor,
    preadmission_id: int,
    item_code: str,
    quantity: int = 1,
    encounter_id: int | None = None,
) -> PreAdmissionOrder:
    """An examination or test ordered on a pre-admission (labs, imaging, other exams); charged to the
    outpatient visit as usual (credit care if eligible) and flagged to move into the inpatient bill.
    Bed, nursing and consultation items are not allowed before admission."""
    pre = find_preadmission(session, preadmission_id)
    _require(actor, Permission.PREADMISSION, pre.institution_id, "开立预住院检查")
    if pre.status != PreAdmissionStatus.OPEN:
        raise AdmissionStateError("预住院登记已入院或已取消")
    item = catalog.get_item(session, item_code)
    values = policy(session, pre.institution_id)
    if item.kind not in ("lab", "exam", "treatment") or item.code in (
        values.bed_item_code,
        values.nursing_item_code,
    ):
        raise InvalidInpatientInput(f"预住院期间只能开立检查检验项目，不能开立“{item.name}”")
    placed, _charge, _reason = billing.order_with_credit(
        session, actor, encounter_id or pre.encounter_id, item.code, quantity
    )
    row = PreAdmissionOrder(preadmission_id=pre.id, order_id=placed.id, moved=False)
    session.add(row)
    session.flush()
    return row


def _take_over_preadmission(session: Session, admission: Admission, pre: PreAdmission) -> int:
    """On admission: within the window, the pre-admission orders' charges leave the outpatient bills
    (reversed and settled again there through billing) and join this admission's bill at the same
    amounts; outside the window they stay outpatient. Returns the amount moved (fen)."""
    values = policy(session, admission.institution_id)
    pre.status = PreAdmissionStatus.ADMITTED.value
    moved = 0
    if within_window(pre.registered_on, admission.admitted_on, pre.extension_approved, values.preadmission):
        admission.saved_days = (admission.admitted_on - pre.registered_on).days
        for link in repo.preadmission_orders(session, pre.id):
            charge, _resettled = billing.withdraw_charge(
                session, link.order_id, f"预住院检查转入住院费用（住院号 {admission.number}）"
            )
            if charge is None:
                continue
            placed = outpatient.find_order(session, link.order_id)
            session.add(
                InpatientCharge(
                    admission_id=admission.id,
                    kind=ChargeKind.PREADMISSION.value,
                    service_date=charge.business_date,
                    item_code=placed.item_code,
                    item_name=placed.item_name,
                    quantity=placed.quantity,
                    unit_price=placed.unit_price,
                    amount=charge.amount,
                    insurance_class=charge.insurance_class,
                    self_pay_permille=charge.self_pay_permille,
                    source_order_id=placed.id,
                    status=ChargeStatus.OPEN.value,
                    created_at=utcnow(),
                )
            )
            link.moved = True
            moved += charge.amount
    session.flush()
    return moved


# ---------------------------------------------------------------- discharge settlement (出院结算)


def settle_discharge(
    session: Session,
    actor: Actor,
    admission_id: int,
    *,
    channel: Channel,
    idempotency_key: str,
    use_personal_account: bool = False,
    mutual_aid_from: int | None = None,
    cash_payer_id: int | None = None,
    payer_ref: str = "",
) -> InpatientSettlement:
    """Settle a discharged admission once: the insurance split (the 住院 policy, deductible once per
    admission), the personal account, a relative's account (共济), and the cash part from the deposit —
    the rest refunded, or topped up through ``channel`` (a relative may pay, 亲情付). A patient admitted
    without deposit (credit care) is debited through the signed channel; a failed debit is left as
    arrears. A retry returns the same settlement."""
    admission = find_admission(session, admission_id)
    _require(actor, Permission.BILLING_CASHIER, admission.institution_id, "办理出院结算")
    existing = repo.standing_settlement(session, admission_id)
    if existing is not None:
        return existing
    if admission.status == AdmissionStatus.ADMITTED:
        raise AdmissionStateError("患者尚未出院，不能办理出院结算")
    lines = [c for c in repo.charges_of(session, admission_id, statuses=(ChargeStatus.OPEN.value,))]
    patient = registry.find_patient(session, admission.patient_id)
    institution = registry.get_institution(session, admission.institution_id)
    year = (admission.discharged_on or business_date()).year
    split_policy = insurance.policy_for(
        session,
        region_code=patient.insured_region or institution.region_code[:4] + "00",
        scheme=patient.insurance_scheme,
        level=institution.level,
        visit_type=VISIT_TYPE,
        year=year,
    )
    ytd = insurance.year_to_date(session, patient.id, year, VISIT_TYPE)
    personal_balance = insurance.account_balance(session, patient.id) if use_personal_account else 0
    mutual_balance = 0
    if mutual_aid_from is not None:
        if (
            registry.active_consent(
                session, grantor_id=mutual_aid_from, grantee_id=patient.id, scope=ConsentScope.MUTUAL_AID
            )
            is None
        ):
            raise SettlementRefused("该亲属未授权共济支付")
        mutual_balance = insurance.account_balance(session, mutual_aid_from)
    if (
        cash_payer_id is not None
        and cash_payer_id != patient.id
        and registry.active_consent(
            session, grantor_id=patient.id, grantee_id=cash_payer_id, scope=ConsentScope.FAMILY_PAY
        )
        is None
    ):
        raise SettlementRefused("该亲属未获得亲情付授权")
    split = split_bill(
        [BillLine(c.amount, c.insurance_class, c.self_pay_permille) for c in lines],
        split_policy,
        YearToDate(deductible_used=0, fund_paid=ytd.fund_paid),  # the deductible is per admission
        Accounts(
            personal_balance=personal_balance,
            use_personal=use_personal_account,
            mutual_aid_balance=mutual_balance,
        ),
    )
    deposit = deposit_balance(session, admission_id)
    applied = min(deposit, split.cash)
    row = InpatientSettlement(
        admission_id=admission_id,
        attempt=repo.last_attempt(session, admission_id) + 1,
        total=split.total,
        fund=split.fund,
        personal_account=split.personal_account,
        mutual_aid=split.mutual_aid,
        mutual_aid_from=mutual_aid_from if split.mutual_aid else None,
        cash=split.cash,
        deposit_applied=applied,
        deposit_refunded=0,
        topped_up=0,
        arrears=0,
        status=SettlementStatus.SETTLED.value,
        breakdown={k: v for k, v in asdict(split).items() if k != "after"},
        options={
            "channel": channel.value,
            "use_personal_account": use_personal_account,
            "mutual_aid_from": mutual_aid_from,
            "cash_payer_id": cash_payer_id,
            "payer_ref": payer_ref,
        },
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    insurance.debit_account(session, patient.id, split.personal_account)
    if mutual_aid_from is not None:
        insurance.debit_account(session, mutual_aid_from, split.mutual_aid)
    insurance.record_year(
        session,
        patient.id,
        year,
        VISIT_TYPE,
        YearToDate(
            deductible_used=ytd.deductible_used + split.deductible, fund_paid=ytd.fund_paid + split.fund
        ),
    )
    if deposit > split.cash:
        row.deposit_refunded = _refund_deposit(
            session, admission_id, deposit - split.cash, f"{idempotency_key}:refund"
        )
    elif split.cash > deposit:
        due = split.cash - deposit
        payment = billing.pay(
            session,
            reference=f"inpatient-settlement:{row.id}",
            amount=due,
            channel=channel,
            idempotency_key=idempotency_key,
            patient_id=patient.id,
            payer_patient_id=cash_payer_id,
            payer_ref=payer_ref,
        )
        if payment.status == "succeeded":
            session.add(
                Deposit(
                    admission_id=admission_id,
                    kind=DepositKind.PAY.value,
                    amount=due,
                    channel=channel.value,
                    idempotency_key=f"settle:{idempotency_key}",
                    payment_id=payment.id,
                    created_at=utcnow(),
                )
            )
            row.topped_up = due
        elif admission.deposit_waived:
            row.arrears, row.status = due, SettlementStatus.ARREARS.value
            events.emit(session, "inpatient.arrears_opened", {"admission_id": admission_id, "amount": due})
        else:
            billing.require_succeeded(payment, "补缴")  # it failed here, so this raises
    for line in lines:
        line.status, line.settlement_id = ChargeStatus.SETTLED.value, row.id
    admission.status = AdmissionStatus.SETTLED.value
    session.flush()
    record_access(
        session,
        actor,
        action="update",
        resource=f"admissions/{admission_id}/settlement",
        patient_id=patient.id,
        reason=f"出院结算 {split.total} 分",
    )
    events.emit(
        session,
        "inpatient.settled",
        {"admission_id": admission_id, "settlement_id": row.id, "total": row.total},
    )
    return row


def _refund_deposit(session: Session, admission_id: int, amount: int, key: str) -> int:
    """Refund ``amount`` of the deposit through the channels it was paid by, newest payment first."""
    left = amount
    paid = [d for d in repo.deposits_of(session, admission_id) if d.kind == DepositKind.PAY and d.payment_id]
    for i, dep in enumerate(reversed(paid)):
        if left <= 0:
            break
        assert dep.payment_id is not None
        refundable = dep.amount - sum(
            r.amount
            for r in repo.deposits_of(session, admission_id)
            if r.kind == DepositKind.REFUND and r.payment_id == dep.payment_id
        )
        part = min(left, refundable)
        if part <= 0:
            continue
        refund = billing.refund(
            session,
            payment_id=dep.payment_id,
            amount=part,
            idempotency_key=f"{key}:{i}",
            reason="出院结算退预交金",
        )
        session.add(
            Deposit(
                admission_id=admission_id,
                kind=DepositKind.REFUND.value,
                amount=part,
                channel=dep.channel,
                idempotency_key=f"{key}:{i}",
                payment_id=dep.payment_id,
                refund_id=refund.id,
                created_at=utcnow(),
            )
        )
        session.flush()
        left -= part
    return amount - left


def reverse_settlement(session: Session, actor: Actor, admission_id: int, reason: str) -> InpatientSettlement:
    """Reverse (冲正) the admission's discharge settlement: the accounts and the year's fund use are given
    back and the charges reopen; the cash stays on the deposit until the next settlement."""
    admission = find_admission(session, admission_id)
    _require(actor, Permission.BILLING_CASHIER, admission.institution_id, "冲正出院结算")
    if not reason.strip():
        raise InvalidInpatientInput("冲正必须填写原因")
    row = repo.standing_settlement(session, admission_id)
    if row is None:
        raise AdmissionStateError("该住院没有可冲正的出院结算")
    if row.status == SettlementStatus.ARREARS:
        raise AdmissionStateError("欠费结算请先缴清，不能冲正")
    insurance.credit_account(session, admission.patient_id, row.personal_account)
    if row.mutual_aid_from is not None:
        insurance.credit_account(session, row.mutual_aid_from, row.mutual_aid)
    year = row.created_at.year if admission.discharged_on is None else admission.discharged_on.year
    ytd = insurance.year_to_date(session, admission.patient_id, year, VISIT_TYPE)
    insurance.record_year(
        session,
        admission.patient_id,
        year,
        VISIT_TYPE,
        YearToDate(
            deductible_used=max(0, ytd.deductible_used - int(row.breakdown.get("deductible", 0))),
            fund_paid=max(0, ytd.fund_paid - row.fund),
        ),
    )
    for line in repo.charges_of(session, admission_id, statuses=(ChargeStatus.SETTLED.value,)):
        if line.settlement_id == row.id:
            line.status, line.settlement_id = ChargeStatus.OPEN.value, None
    # the cash that was refunded is owed again as deposit: nothing to do (the balance formula sees it)
    row.status, row.reversed_at = SettlementStatus.REVERSED.value, utcnow()
    admission.status = AdmissionStatus.DISCHARGED.value
    session.flush()
    record_access(
        session,
        actor,
        action="update",
        resource=f"admissions/{admission_id}/settlement",
        patient_id=admission.patient_id,
        reason=f"冲正：{reason.strip()}"[:200],
    )
    events.emit(
        session, "inpatient.settlement_reversed", {"admission_id": admission_id, "settlement_id": row.id}
    )
    return row


# ---------------------------------------------------------------- past stays (历史住院导入)


@dataclass(frozen=True)
class PastStay:
    """A finished stay taken over from the hospital's former system (or the demo's history)."""

    patient_id: int
    department_id: int
    ward_id: int
    admitted_on: date
    discharged_on: date
    disposition: int = 1
    severity: Severity = Severity.MILD
    source: AdmissionSource = AdmissionSource.CLINIC
    wait_hours: float | None = None


def import_past_stays(session: Session, actor: Actor, institution_id: int, stays: Sequence[PastStay]) -> int:
    """Take over finished stays in bulk (历史住院导入) so that the indicators cover the months before the
    platform: each stay is checked (the ward and department are the hospital's, admitted ≤ discharged
    < today, 离院方式 1–5, the patient exists, a patient's stays do not overlap) and, all being right,
    written with its admit and discharge movements in a few multi-row INSERTs. The stays are settled in
    the former system (status ``settled``, no bill here) and hold no bed now. Returns how many."""
    _require(actor, Permission.INPATIENT_ADT, institution_id, "导入历史住院")
    wards = {w.id: w for w in repo.wards_of(session, institution_id)}
    departments = {
        d.id for d in registry.list_departments(session, institution_id=institution_id, limit=1000)[0]
    }
    known = registry.patient_names(session, sorted({s.patient_id for s in stays}))
    today = business_date()
    by_patient: dict[int, list[PastStay]] = {}
    for i, stay in enumerate(stays, start=1):
        where = f"第 {i} 条"
        if stay.ward_id not in wards or stay.department_id not in departments:
            raise InvalidInpatientInput(f"{where}：病区或科室不属于本院")
        if not stay.admitted_on <= stay.discharged_on < today:
            raise InvalidInpatientInput(f"{where}：入院日期应不晚于出院日期，且出院日期早于今天")
        if stay.disposition not in DISPOSITIONS:
            raise InvalidInpatientInput(f"{where}：离院方式应为 1–5")
        if stay.patient_id not in known:
            raise InvalidInpatientInput(f"{where}：患者不存在")
        by_patient.setdefault(stay.patient_id, []).append(stay)
    for patient_id, own in by_patient.items():
        own.sort(key=lambda s: s.admitted_on)
        for before, after in zip(own, own[1:], strict=False):
            if after.admitted_on < before.discharged_on:
                raise InvalidInpatientInput(f"患者 {known[patient_id]} 的历史住院时间重叠")
    if not stays:
        return 0
    ten = time(10, 0)
    rows = [
        {
            "number": f"ZY{s.admitted_on:%Y%m%d}{secrets.token_hex(4).upper()}",
            "institution_id": institution_id,
            "patient_id": s.patient_id,
            "in_hospital": None,
            "department_id": s.department_id,
            "ward_id": s.ward_id,
            "bed_id": None,
            "source": s.source.value,
            "severity": s.severity.value,
            "isolation": Isolation.NONE.value,
            "borrowed": wards[s.ward_id].department_id != s.department_id,
            "status": AdmissionStatus.SETTLED.value,
            "deposit_waived": False,
            "mobility": "ambulatory",
            "admitted_on": s.admitted_on,
            "admitted_at": local_datetime(s.admitted_on, ten),
            "discharged_on": s.discharged_on,
            "discharged_at": local_datetime(s.discharged_on, ten),
            "disposition": s.disposition,
            "wait_hours": s.wait_hours,
            "saved_days": 0,
        }
        for s in stays
    ]
    ids = repo.insert_admissions(session, rows)
    movements = []
    for admission_id, s in zip(ids, stays, strict=True):
        movements.append(
            {
                "admission_id": admission_id,
                "kind": MovementKind.ADMIT.value,
                "to_department_id": s.department_id,
                "at": local_datetime(s.admitted_on, ten),
                "username": actor.username,
                "reason": "历史住院导入",
            }
        )
        movements.append(
            {
                "admission_id": admission_id,
                "kind": MovementKind.DISCHARGE.value,
                "from_department_id": s.department_id,
                "at": local_datetime(s.discharged_on, ten),
                "username": actor.username,
                "reason": DISPOSITIONS[s.disposition],
            }
        )
    repo.insert_movements(session, movements)
    record_access(
        session,
        actor,
        action="update",
        resource=f"admissions?institution={institution_id}",
        reason=f"导入历史住院 {len(stays)} 条",
    )
    return len(stays)


# ---------------------------------------------------------------- arrears (欠费) and credit care


@dataclass(frozen=True)
class CurrentStay:
    """A patient in hospital at go-live, taken over from the hospital's former system with the bed
    she lies in (在院患者接管)."""

    patient_id: int
    department_id: int
    bed_id: int
    admitted_on: date
    severity: Severity = Severity.MILD
    source: AdmissionSource = AdmissionSource.CLINIC
    wait_hours: float | None = None


def import_current_stays(
    session: Session, actor: Actor, institution_id: int, stays: Sequence[CurrentStay]
) -> list[int]:
    """Take over the patients in hospital at go-live in bulk (在院患者接管): each stay is checked (the
    bed and department are the hospital's, the bed is free and not an emergency reserve, admitted no
    later than today and after the patient's last discharge, no patient or bed twice, the patient not
    already in hospital) and, all being right, the beds are claimed by ONE conditional UPDATE (only
    free beds; if another officer took one meanwhile the whole take-over is refused), the admissions,
    movements and bed events written in multi-row INSERTs. Deposits and charges before go-live stay in
    the former system; the nightly job charges bed and nursing days from go-live on. Returns the new
    admissions' ids."""
    _require(actor, Permission.INPATIENT_ADT, institution_id, "接管在院患者")
    if not stays:
        return []
    wards = {w.id: w for w in repo.wards_of(session, institution_id)}
    departments = {
        d.id for d in registry.list_departments(session, institution_id=institution_id, limit=1000)[0]
    }
    beds = repo.beds_by_id(session, sorted({s.bed_id for s in stays}))
    patients = [s.patient_id for s in stays]
    sexes = registry.patient_sexes(session, patients)
    last_out = repo.last_discharges(session, patients)
    today = business_date()
    if (
        len(set(patients)) != len(patients)
        or len(beds) != len({s.bed_id for s in stays})
        or len({s.bed_id for s in stays}) != len(stays)
    ):
        raise InvalidInpatientInput("同一患者或同一床位不能出现两次，且床位须存在")
    for i, stay in enumerate(stays, start=1):
        where = f"第 {i} 条"
        bed = beds[stay.bed_id]
        if bed.institution_id != institution_id or stay.department_id not in departments:
            raise InvalidInpatientInput(f"{where}：床位或科室不属于本院")
        if bed.state != BedState.FREE.value or bed.emergency_reserved:
            raise BedTaken(f"{where}：床位 {bed.code} 不是空闲的普通床位")
        if stay.patient_id not in sexes:
            raise InvalidInpatientInput(f"{where}：患者不存在")
        if stay.admitted_on > today or stay.admitted_on <= last_out.get(stay.patient_id, date.min):
            raise InvalidInpatientInput(f"{where}：入院日期应不晚于今天，且晚于该患者上次出院")
    now = utcnow()
    ten = time(10, 0)
    rows = [
        {
            "number": f"ZY{s.admitted_on:%Y%m%d}{secrets.token_hex(4).upper()}",
            "institution_id": institution_id,
            "patient_id": s.patient_id,
            "in_hospital": s.patient_id,
            "department_id": s.department_id,
            "ward_id": beds[s.bed_id].ward_id,
            "bed_id": s.bed_id,
            "source": s.source.value,
            "severity": s.severity.value,
            "isolation": Isolation.NONE.value,
            "borrowed": wards[beds[s.bed_id].ward_id].department_id != s.department_id,
            "status": AdmissionStatus.ADMITTED.value,
            "deposit_waived": False,
            "mobility": "ambulatory",
            "admitted_on": s.admitted_on,
            "admitted_at": local_datetime(s.admitted_on, ten),
            "wait_hours": s.wait_hours,
            "saved_days": 0,
        }
        for s in stays
    ]
    try:
        with session.begin_nested():
            if repo.claim_free_beds(session, [s.bed_id for s in stays], now) != len(stays):
                raise BedTaken("部分床位刚被占用，接管未执行，请重新选择床位")
            ids = repo.insert_admissions(session, rows)
    except IntegrityError:
        raise AlreadyInHospital("部分患者已在院，接管未执行") from None
    repo.set_occupants(
        session,
        [
            {
                "bed": s.bed_id,
                "admission": admission_id,
                "sex": "M" if sexes[s.patient_id] == "1" else "F",
                "isolation": Isolation.NONE.value,
                "department": s.department_id,
            }
            for admission_id, s in zip(ids, stays, strict=True)
        ],
    )
    repo.insert_bed_events(
        session,
        [
            {
                "bed_id": s.bed_id,
                "at": now,
                "from_state": BedState.FREE.value,
                "to_state": BedState.OCCUPIED.value,
                "admission_id": admission_id,
                "username": actor.username,
                "reason": "在院患者接管",
            }
            for admission_id, s in zip(ids, stays, strict=True)
        ],
    )
    repo.insert_movements(
        session,
        [
            {
                "admission_id": admission_id,
                "kind": MovementKind.ADMIT.value,
                "to_bed_id": s.bed_id,
                "to_department_id": s.department_id,
                "at": local_datetime(s.admitted_on, ten),
                "username": actor.username,
                "reason": "在院患者接管",
            }
            for admission_id, s in zip(ids, stays, strict=True)
        ],
    )
    for s in stays:
        registry.grant_institution_access(
            session, patient_id=s.patient_id, institution_id=institution_id, reason="住院（在院患者接管）"
        )
    for bed in beds.values():
        session.expire(bed)  # claimed by the bulk UPDATEs above
    record_access(
        session,
        actor,
        action="update",
        resource=f"admissions?institution={institution_id}",
        reason=f"接管在院患者 {len(stays)} 人",
    )
    return ids


def _arrears_for_credit(session: Session, patient_id: int) -> list[tuple[int, date]]:
    """Unpaid inpatient arrears as billing's credit standing counts them (amount, day opened)."""
    return [(row.arrears, business_date(row.created_at)) for row in repo.unpaid_arrears(session, patient_id)]


# inpatient arrears suspend 先诊疗后付费 and 免押金住院 like outpatient arrears (billing's credit rules)
billing.register_arrears_source("inpatient", _arrears_for_credit)


def pay_arrears(
    session: Session,
    actor: Actor,
    admission_id: int,
    *,
    channel: Channel,
    idempotency_key: str,
    payer_ref: str = "",
) -> InpatientSettlement:
    """Pay a discharge settlement's arrears (欠费补缴) through a channel; credit care is restored at once
    (suspension derives from unpaid arrears). A retry with the same key pays once."""
    admission = find_admission(session, admission_id)
    if actor.patient_id != admission.patient_id:
        _require(actor, Permission.BILLING_CASHIER, admission.institution_id, "收取住院欠费")
    row = repo.standing_settlement(session, admission_id)
    if row is None or (row.status != SettlementStatus.ARREARS and not row.breakdown.get("arrears_paid")):
        raise AdmissionStateError("该住院没有欠费")
    if row.status != SettlementStatus.ARREARS:
        return row  # already paid (a retry)
    payment = billing.pay(
        session,
        reference=f"inpatient-arrears:{row.id}",
        amount=row.arrears,
        channel=channel,
        idempotency_key=idempotency_key,
        patient_id=admission.patient_id,
        payer_ref=payer_ref,
    )
    billing.require_succeeded(payment)
    session.add(
        Deposit(
            admission_id=admission_id,
            kind=DepositKind.PAY.value,
            amount=row.arrears,
            channel=channel.value,
            idempotency_key=f"arrears:{idempotency_key}",
            payment_id=payment.id,
            created_at=utcnow(),
        )
    )
    row.topped_up += row.arrears
    row.breakdown = {**row.breakdown, "arrears_paid": row.arrears}
    row.status = SettlementStatus.SETTLED.value
    session.flush()
    record_access(
        session,
        actor,
        action="update",
        resource=f"admissions/{admission_id}/settlement",
        patient_id=admission.patient_id,
        reason=f"欠费补缴 {row.arrears} 分",
    )
    events.emit(session, "inpatient.arrears_paid", {"admission_id": admission_id, "amount": row.arrears})
    return row


# ---------------------------------------------------------------- scheduled work


def set_mobility(session: Session, actor: Actor, admission_id: int, mobility: str) -> Admission:
    """The nurse records how the patient can move in an evacuation (ambulatory / wheelchair /
    bedridden / life_support)."""
    admission = find_admission(session, admission_id)
    _require(actor, Permission.INPATIENT_ADT, admission.institution_id, "记录患者活动能力")
    if mobility not in MOBILITIES:
        raise InvalidInpatientInput(f"活动能力 {mobility!r} 未知")
    admission.mobility = mobility
    session.flush()
    return admission


@dataclass(frozen=True)
class CensusRow:
    """A bed of the live census without the patient's identity (for evacuation planning)."""

    ward_id: int
    ward_code: str
    room_code: str
    bed_code: str
    admission_id: int | None
    mobility: str  # "" for an empty bed


def bed_census(session: Session, institution_id: int) -> list[CensusRow]:
    """Every bed of the institution's wards with its occupant's mobility; carries no identity, so
    the caller checks its own permission and no access is audited."""
    wards_by_id = {w.id: w for w in repo.wards_of(session, institution_id)}
    rooms = {r.id: r.code for r in repo.rooms_of_wards(session, list(wards_by_id))}
    admissions = {a.id: a for a in repo.admissions_in_hospital(session, institution_id)}
    rows = []
    for bed in repo.beds_of_institution(session, institution_id):
        if bed.ward_id not in wards_by_id:
            continue
        adm = admissions.get(bed.admission_id) if bed.admission_id else None
        rows.append(
            CensusRow(
                ward_id=bed.ward_id,
                ward_code=wards_by_id[bed.ward_id].code,
                room_code=rooms.get(bed.room_id, ""),
                bed_code=bed.code,
                admission_id=adm.id if adm else None,
                mobility=adm.mobility if adm else "",
            )
        )
    return rows


def wards_named(session: Session, institution_id: int) -> list[Ward]:
    """The institution's wards (codes and names only are meant; no patient data)."""
    return repo.wards_of(session, institution_id)


def in_hospital_total(session: Session) -> int:
    """Patients in hospital now across the platform (the demo's summary)."""
    return repo.in_hospital_total(session)


def patients_in_hospital(session: Session) -> set[int]:
    """Ids of the patients in hospital now in any institution (for other areas' seeding)."""
    return repo.patients_in_hospital(session)


def in_hospital_count(session: Session, institution_id: int) -> int:
    return len(repo.admissions_in_hospital(session, institution_id))


# ---------------------------------------------------------------- reads for the API and pages


def wards(session: Session, actor: Actor, institution_id: int) -> list[Ward]:
    _require(actor, Permission.INPATIENT_READ, institution_id, "查看病区")
    return repo.wards_of(session, institution_id)


def ward_beds(session: Session, actor: Actor, ward_id: int) -> list[Bed]:
    ward = get_ward(session, ward_id)
    _require(actor, Permission.INPATIENT_READ, ward.institution_id, "查看床位")
    return repo.beds_of_institution(session, ward.institution_id, ward.id)


def bed_for(session: Session, actor: Actor, bed_id: int) -> Bed:
    bed = get_bed(session, bed_id)
    _require(actor, Permission.INPATIENT_READ, bed.institution_id, "查看床位")
    return bed


def institution_beds(session: Session, actor: Actor, institution_id: int) -> list[Bed]:
    """Every bed of the institution (the bed board)."""
    _require(actor, Permission.INPATIENT_READ, institution_id, "查看床位")
    return repo.beds_of_institution(session, institution_id)


def bed_history(session: Session, actor: Actor, bed_id: int) -> list[BedEvent]:
    """A bed's state changes, newest last."""
    bed_for(session, actor, bed_id)
    return repo.bed_history(session, bed_id)


def standing_settlement_of(session: Session, actor: Actor, admission_id: int) -> InpatientSettlement | None:
    """The admission's standing discharge settlement, if any."""
    read_admission(session, actor, admission_id, reason="查看出院结算")
    return repo.standing_settlement(session, admission_id)


def queue(session: Session, actor: Actor, institution_id: int) -> list[BedRequest]:
    """The bed office's queue: waiting and reserved requests, emergencies first (audited)."""
    _require(actor, Permission.BED_ALLOCATE, institution_id, "查看待床队列")
    rows = repo.waiting_requests(session, institution_id)
    record_access(
        session,
        actor,
        action="read",
        resource=f"bed-requests?institution={institution_id}",
        reason=f"待床 {len(rows)} 人",
    )
    return rows


LIST_SCOPES = {"mine": "我主管的患者", "department": "本科室患者", "hospital": "全院在院患者"}


def doctor_departments(session: Session, actor: Actor) -> list[int]:
    """The departments the actor practises in (none for users who are not practitioners)."""
    if actor.practitioner_id is None:
        return []
    practitioner = registry.get_practitioner(session, actor.practitioner_id)
    return list(registry.practitioner_reads(session, [practitioner])[0].department_ids)


def in_hospital(
    session: Session,
    actor: Actor,
    institution_id: int,
    ward_id: int | None = None,
    *,
    scope: str = "hospital",
) -> list[Admission]:
    """Patients in hospital (of a ward), audited as a list read. ``scope`` narrows the list to the
    doctor's own: ``mine`` (she is the attending doctor), ``department`` (her departments' patients,
    wherever they lie, and her own), ``hospital`` (everyone)."""
    _require(actor, Permission.INPATIENT_READ, institution_id, "查看在院患者")
    if scope not in LIST_SCOPES:
        raise InvalidInpatientInput(f"未知的范围：{scope}（可选 mine、department、hospital）")
    practitioner_id = actor.practitioner_id if scope in ("mine", "department") else None
    if scope != "hospital" and practitioner_id is None:
        raise InvalidInpatientInput("当前账号不是医生，只能查看全院或病区在院患者")
    rows = repo.admissions_in_hospital(
        session,
        institution_id,
        ward_id,
        practitioner_id=practitioner_id,
        department_ids=doctor_departments(session, actor) if scope == "department" else None,
    )
    record_access(
        session,
        actor,
        action="read",
        resource=f"admissions?institution={institution_id}&ward={ward_id or ''}&scope={scope}",
        reason=f"{LIST_SCOPES[scope]} {len(rows)} 人",
    )
    return rows


# ---------------------------------------------------------------- discharge abstract (病案首页)


def _abstract_of(session: Session, admission: Admission) -> DischargeAbstract:
    row = repo.abstract_of(session, admission.id)
    if row is None:
        row = DischargeAbstract(
            admission_id=admission.id,
            principal_diagnosis="",
            other_diagnoses=[],
            procedures=[],
            ventilation_hours=0,
            status=AbstractStatus.DRAFT.value,
            updated_at=utcnow(),
        )
        session.add(row)
        session.flush()
    return row


def abstract_record(session: Session, admission_id: int) -> AbstractRecord:
    """The admission's discharge abstract as other areas read it (drg groups it; no access check —
    callers check). The cost is the admission's bill total."""
    admission = find_admission(session, admission_id)
    row = _abstract_of(session, admission)
    patient = registry.find_patient(session, admission.patient_id)
    department = registry.get_department(session, admission.department_id)
    admitted = admission.admitted_on
    return AbstractRecord(
        admission_id=admission.id,
        institution_id=admission.institution_id,
        department_id=department.id,
        department=department.name,
        principal_dx=row.principal_diagnosis,
        other_dx=tuple(row.other_diagnoses or ()),
        procedures=tuple(p["code"] for p in row.procedures or ()),
        procedure_dates=tuple(
            date.fromisoformat(p["date"]) if p.get("date") else None for p in row.procedures or ()
        ),
        sex=1 if patient.sex == "1" else 2,
        age_years=age_on(patient.birth_date, admitted),
        age_days=(admitted - patient.birth_date).days,
        birth_weight_g=row.newborn_weight_g,
        admission_date=admitted,
        discharge_date=admission.discharged_on,
        los_days=length_of_stay(admitted, admission.discharged_on) if admission.discharged_on else None,
        disposition=str(admission.disposition or ""),
        ventilation_hours=row.ventilation_hours,
        total_cost_fen=sum(c.amount for c in repo.charges_of(session, admission.id)),
        signed=row.status == AbstractStatus.SIGNED,
    )


def read_abstract(
    session: Session, actor: Actor, admission_id: int
) -> tuple[DischargeAbstract, AbstractRecord, list[str]]:
    """The coder's view: the abstract, its record and its quality problems (audited)."""
    read_admission(session, actor, admission_id, reason="病案首页编码")
    _require(actor, Permission.ABSTRACT_CODE, None, "编码病案首页")
    row = _abstract_of(session, find_admission(session, admission_id))
    record = abstract_record(session, admission_id)
    return row, record, quality_problems(record, _unknown_codes(session, record))


def _unknown_codes(session: Session, record: AbstractRecord) -> list[str]:
    unknown = []
    for code in (record.principal_dx, *record.other_dx):
        if not code:
            continue
        try:
            catalog.get_diagnosis(session, code)
        except YilianError:
            unknown.append(code)
    return unknown


@dataclass(frozen=True)
class ProcedureIn:
    code: str
    on: date | None = None


def update_abstract(
    session: Session,
    actor: Actor,
    admission_id: int,
    *,
    principal_diagnosis: str | None = None,
    other_diagnoses: list[str] | None = None,
    procedures: list[ProcedureIn] | None = None,
    ventilation_hours: int | None = None,
    newborn_weight_g: int | None = None,
) -> DischargeAbstract:
    """Change the abstract's codes (fields not given keep their value); every change is saved with who
    and when. Diagnosis codes unknown to ICD-10 医保版 and procedure codes malformed or unknown to
    ICD-9-CM-3 医保版 (when its table is loaded) are refused and nothing is stored. A signed abstract
    is not changed."""
    admission = read_admission(session, actor, admission_id, reason="病案首页编码")
    _require(actor, Permission.ABSTRACT_CODE, admission.institution_id, "编码病案首页")
    row = _abstract_of(session, admission)
    if row.status == AbstractStatus.SIGNED:
        raise AdmissionStateError("病案首页已签发，不能修改")
    changes: dict[str, tuple[str, str, object]] = {}
    if principal_diagnosis is not None:
        code = _known_diagnosis(session, principal_diagnosis) if principal_diagnosis else ""
        changes["principal_diagnosis"] = (row.principal_diagnosis, code, code)
    if other_diagnoses is not None:
        codes = [_known_diagnosis(session, c) for c in other_diagnoses if c.strip()]
        changes["other_diagnoses"] = (",".join(row.other_diagnoses or ()), ",".join(codes), codes)
    if procedures is not None:
        bad = [p.code for p in procedures if not procedure_code_ok(p.code)]
        if bad:
            raise UnknownCode(f"手术操作编码不符合 ICD-9-CM-3 医保版：{'、'.join(bad)}")
        unknown = _unknown_procedures(session, [p.code for p in procedures])
        if unknown:
            raise UnknownCode(f"手术操作编码不在 ICD-9-CM-3 医保版中：{'、'.join(unknown)}")
        stored = [{"code": p.code, "date": p.on.isoformat() if p.on else ""} for p in procedures]
        before = ",".join(f"{p['code']}@{p.get('date', '')}" for p in row.procedures or ())
        after = ",".join(f"{p['code']}@{p['date']}" for p in stored)
        changes["procedures"] = (before, after, stored)
    if ventilation_hours is not None:
        if not 0 <= ventilation_hours <= 24 * 366:
            raise InvalidInpatientInput("呼吸机使用时间应为 0–8,784 小时")
        changes["ventilation_hours"] = (str(row.ventilation_hours), str(ventilation_hours), ventilation_hours)
    if newborn_weight_g is not None:
        if not 300 <= newborn_weight_g <= 8_000:
            raise InvalidInpatientInput("新生儿出生体重应为 300–8,000 克")
        changes["newborn_weight_g"] = (
            str(row.newborn_weight_g or ""),
            str(newborn_weight_g),
            newborn_weight_g,
        )
    now = utcnow()
    for name, (before, after, value) in changes.items():
        if before == after:
            continue
        setattr(row, name, value)
        session.add(
            AbstractChange(
                abstract_id=row.id,
                at=now,
                username=actor.username,
                field=name,
                before=before[:500],
                after=after[:500],
            )
        )
    row.updated_at = now
    session.flush()
    return row


def _known_diagnosis(session: Session, code: str) -> str:
    try:
        return catalog.get_diagnosis(session, code).code
    except YilianError:
        raise UnknownCode(f"诊断编码不在 ICD-10 医保版中：{code}") from None


def sign_abstract(session: Session, actor: Actor, admission_id: int) -> DischargeAbstract:
    """Sign the abstract off after its quality checks pass (all problems listed otherwise); the drg area
    groups it on the ``inpatient.abstract_signed`` event."""
    row, record, problems = read_abstract(session, actor, admission_id)
    if record.discharge_date is None:
        problems = ["患者尚未出院", *problems]
    if problems:
        raise AbstractInvalid("；".join(problems), problems=problems)
    row.status, row.signed_by, row.signed_at = AbstractStatus.SIGNED.value, actor.username, utcnow()
    session.add(
        AbstractChange(
            abstract_id=row.id,
            at=row.signed_at,
            username=actor.username,
            field="status",
            before=AbstractStatus.DRAFT.value,
            after=AbstractStatus.SIGNED.value,
        )
    )
    session.flush()
    events.emit(
        session,
        "inpatient.abstract_signed",
        {"admission_id": admission_id, "institution_id": record.institution_id},
    )
    return row


def abstract_changes(session: Session, actor: Actor, admission_id: int) -> list[AbstractChange]:
    row, _record, _problems = read_abstract(session, actor, admission_id)
    return repo.abstract_changes(session, row.id)


def signed_abstracts(session: Session, institution_id: int, start: date, end: date) -> list[int]:
    """Admissions discharged in ``[start, end]`` whose abstracts are signed (for drg's analysis)."""
    return repo.signed_admissions(session, institution_id, start, end)


def _unknown_procedures(session: Session, codes: list[str]) -> list[str]:
    """Procedure codes not in the ICD-9-CM-3 医保版 table, where the table is loaded (an installation
    without it checks the codes' shape only)."""
    if not codes or catalog.code_table_sizes(session)[1] == 0:
        return []
    return catalog.unknown_codes(session, "procedure", codes)


def search_procedure_codes(session: Session, q: str, limit: int = 20) -> list[tuple[str, str]]:
    """ICD-9-CM-3 医保版 procedures by code prefix, part of the name or pinyin initials (catalog)."""
    return [(e.code, e.name) for e in catalog.search_codes(session, "procedure", q.strip(), limit=limit)]


def search_diagnosis_codes(session: Session, q: str, limit: int = 20) -> list[tuple[str, str]]:
    """ICD-10 医保版 diagnoses by code, name or pinyin initials, through catalog's service; with no
    query, the common diagnoses first (the full table starts at A00 霍乱), then the table's head."""
    if q.strip():
        rows, _total = catalog.search_diagnoses(session, q=q.strip(), limit=limit)
        return [(r.code, r.name) for r in rows]
    found = [(e.code, e.name) for e in catalog.common_diagnoses(session)]
    seen = {code for code, _ in found}
    rows, _total = catalog.search_diagnoses(session, q="", limit=limit)
    return (found + [(r.code, r.name) for r in rows if r.code not in seen])[:limit]


# ---------------------------------------------------------------- indicators


@dataclass(frozen=True)
class IndicatorRow:
    """One line of the bed-use report: the whole hospital, a department or a ward."""

    key: int | None
    label: str
    values: Indicators


def bed_indicators(
    session: Session, actor: Actor, institution_id: int, start: date, end: date, by: str = "hospital"
) -> list[IndicatorRow]:
    """Occupancy, turnover, average length of stay, borrowed beds, pre-admission admissions and bed-days
    saved, average wait from request to bed — per hospital, department or ward over ``[start, end]``,
    aggregated in the database. Open beds are the beds not closed today (by owner department)."""
    _require(actor, Permission.INPATIENT_READ, institution_id, "查看床位使用指标")
    if by not in repo.GROUPS:
        raise InvalidInpatientInput("分组应为 hospital（全院）、department（科室）或 ward（病区）")
    if end < start:
        raise InvalidInpatientInput("结束日期不能早于开始日期")
    if (end - start).days > 731:
        raise InvalidInpatientInput("查询区间最长两年")
    institution = registry.get_institution(session, institution_id)
    aggregates = repo.stay_aggregates(session, institution_id, start, end, by)
    beds = repo.open_beds_by(session, institution_id, by)
    days = (end - start).days + 1
    rows = []
    for key in sorted(set(aggregates) | set(beds), key=lambda k: (k is not None, k or 0)):
        occupied, admitted, discharged, discharged_days, borrowed, pre, saved, wait_sum, wait_n = (
            int(v or 0) if i != 7 else v for i, v in enumerate(aggregates.get(key, (0,) * 9))
        )
        open_beds = beds.get(key, 0)
        rows.append(
            IndicatorRow(
                key=key,
                label=_group_label(session, institution.name, by, key),
                values=Indicators(
                    start=start,
                    end=end,
                    open_beds=open_beds,
                    open_bed_days=open_beds * days,
                    occupied_bed_days=occupied,
                    admissions=admitted,
                    discharges=discharged,
                    discharged_bed_days=discharged_days,
                    borrowed=borrowed,
                    preadmission_admissions=pre,
                    preadmission_days_saved=saved,
                    average_wait_hours=round(float(wait_sum) / wait_n, 1) if wait_n else None,
                ),
            )
        )
    record_access(
        session,
        actor,
        action="read",
        resource=f"inpatient-indicators/{institution_id}",
        reason=f"{start.isoformat()}–{end.isoformat()} 按{by}",
    )
    return rows


def _group_label(session: Session, hospital: str, by: str, key: int | None) -> str:
    if key is None:
        return f"{hospital}（全院）"
    if by == "department":
        return registry.get_department(session, key).name
    return get_ward(session, key).name


INDICATOR_HEADERS = (
    "单位",
    "开放床位",
    "开放床日",
    "实际占用床日",
    "病床使用率",
    "入院人次",
    "出院人次",
    "病床周转次数",
    "平均住院日",
    "借床入院",
    "预住院入院",
    "预住院节省床日",
    "平均候床（小时）",
)


def indicator_cells(row: IndicatorRow) -> list[object]:
    v = row.values
    return [
        row.label,
        v.open_beds,
        v.open_bed_days,
        v.occupied_bed_days,
        round(v.occupancy, 4),
        v.admissions,
        v.discharges,
        round(v.turnover, 2),
        round(v.average_length_of_stay, 2),
        v.borrowed,
        v.preadmission_admissions,
        v.preadmission_days_saved,
        v.average_wait_hours if v.average_wait_hours is not None else "",
    ]


def indicators_xlsx(rows: list[IndicatorRow], start: date, end: date) -> bytes:
    """The report as an Excel workbook (病床使用率 as a percentage)."""
    from io import BytesIO

    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "床位使用指标"
    ws.append([f"床位使用指标 {start.isoformat()} 至 {end.isoformat()}"])
    ws.append(list(INDICATOR_HEADERS))
    for row in rows:
        ws.append(indicator_cells(row))
        ws.cell(row=ws.max_row, column=5).number_format = "0.00%"
    out = BytesIO()
    wb.save(out)
    return out.getvalue()


# ---------------------------------------------------------------- reads for the pages


def admissions_with_status(
    session: Session, actor: Actor, institution_id: int, *statuses: str
) -> list[Admission]:
    """Recent admissions in these states (the cashier's and the coder's lists), audited as a list read."""
    _require(actor, Permission.INPATIENT_READ, institution_id, "查看住院记录")
    rows = repo.admissions_by_status(session, institution_id, statuses)
    record_access(
        session,
        actor,
        action="read",
        resource=f"admissions?status={','.join(statuses)}",
        reason=f"{len(rows)} 条",
    )
    return rows


def my_admissions(session: Session, actor: Actor, patient_id: int) -> list[Admission]:
    """A patient's own admissions (or a relative's with consent), newest first; audited."""
    registry.get_patient(session, actor, patient_id, reason="查看住院信息")
    return repo.admissions_of_patient(session, patient_id)


def ward_movements_today(session: Session, actor: Actor, ward_id: int) -> list[tuple[Movement, Admission]]:
    """Today's admissions, transfers and discharges touching a ward (the nurse's board)."""
    ward = get_ward(session, ward_id)
    _require(actor, Permission.INPATIENT_READ, ward.institution_id, "查看病区动态")
    return repo.movements_since(session, ward_id, local_datetime(business_date(), time.min))


def stay_aggregates_all(session: Session, start: date, end: date) -> dict[tuple[int, int], tuple[int, ...]]:
    """Bulk read for analytics: :func:`bed_indicators`' aggregates over [start, end] of every institution
    by (institution, department): occupied bed-days, admissions, discharges, discharged bed-days, borrowed,
    pre-admission admissions, bed-days saved, wait-hour sum and count."""
    return repo.stay_aggregates_all(session, start, end)


def open_beds_all(session: Session) -> dict[tuple[int, int], int]:
    """Bulk read for analytics: open beds (not closed today) by (institution, owner department)."""
    return repo.open_beds_all(session)
