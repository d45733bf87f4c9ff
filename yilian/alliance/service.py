"""Alliance services: alliances and pairings, the referral share of specialist clinics (转诊预留号源),
two-way referral (双向转诊). Services flush, never commit; the caller owns the transaction.

A referral moves 申请 → 已接收 / 已拒绝 → 已预约 → 已到诊 → 已转回 / 已结束 (``domain.TRANSITIONS``), each
move a conditional UPDATE on the state it leaves, so two clerks acting at once leave one result. Accepting
grants the receiving institution (and so its doctor) read access to the patient for ``access_days``;
every read through a referral is written to the access audit naming the referral.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy.orm import Session

from yilian.alliance import domain, fhir, letter, stats
from yilian.alliance import repository as repo
from yilian.alliance.domain import DEFAULT_POLICY, Direction, ReferralKind, State
from yilian.alliance.errors import (
    CarePlanMissing,
    InvalidNetwork,
    InvalidPosting,
    InvalidReading,
    InvalidReferral,
    NetworkNotFound,
    NoClinic,
    NotYourReferral,
    OutsideAlliance,
    PairingNotFound,
    PostingNotFound,
    ReadingNotFound,
    ReadingTaken,
    ReferralNotFound,
    ReferralStateError,
)
from yilian.alliance.models import (
    Member,
    Network,
    Pairing,
    Posting,
    Reading,
    Referral,
    ReferralStep,
    ReservePolicy,
    Sitting,
    SlotReserve,
)
from yilian.alliance.schemas import (
    BedBody,
    MemberAdd,
    NetworkCreate,
    NetworkUpdate,
    PairingCreate,
    PairingUpdate,
    PostingCreate,
    ReferBackBody,
    ReferralCreate,
    ReservePolicySet,
    SittingRecord,
)
from yilian.inpatient import service as inpatient
from yilian.inpatient.domain import AdmissionSource, Severity
from yilian.kit import events
from yilian.kit.access_log import record_access
from yilian.kit.auth.domain import Actor, Permission, Role
from yilian.kit.clock import BUSINESS_TZ, age_on, business_date, local_datetime, utcnow
from yilian.kit.errors import Forbidden
from yilian.kit.masking import mask_id_number, mask_phone
from yilian.outpatient import service as outpatient
from yilian.registry import service as registry
from yilian.registry.domain import InstitutionCategory
from yilian.results import service as results
from yilian.results.domain import ItemKind, ResultStatus
from yilian.results.imaging import ImagingInput, to_incoming
from yilian.scheduling import service as scheduling
from yilian.scheduling.errors import SlotFull


def _require(actor: Actor, *permissions: Permission) -> None:
    if not any(actor.has(p) for p in permissions):
        raise Forbidden("无权进行此操作")


# ---------------------------------------------------------------- alliances, members, pairings


def create_network(session: Session, actor: Actor, data: NetworkCreate) -> Network:
    """Create an alliance with its lead institution as its first member."""
    _require(actor, Permission.ALLIANCE_MANAGE)
    registry.get_institution(session, data.lead_institution_id)
    if repo.network_by_name(session, data.name) is not None:
        raise InvalidNetwork(f"已有同名医联体：{data.name}")
    network = Network(
        name=data.name,
        kind=data.kind.value,
        lead_institution_id=data.lead_institution_id,
        created_at=utcnow(),
    )
    session.add(network)
    session.flush()
    session.add(
        Member(network_id=network.id, institution_id=data.lead_institution_id, joined_on=business_date())
    )
    session.flush()
    return network


def update_network(session: Session, actor: Actor, network_id: int, data: NetworkUpdate) -> Network:
    """Rename an alliance, change its kind or its lead (the new lead must already be a member)."""
    _require(actor, Permission.ALLIANCE_MANAGE)
    network = get_network(session, network_id)
    same = repo.network_by_name(session, data.name)
    if same is not None and same.id != network.id:
        raise InvalidNetwork(f"已有同名医联体：{data.name}")
    if repo.member(session, network.id, data.lead_institution_id) is None:
        raise OutsideAlliance("牵头医院须先加入该医联体")
    network.name, network.kind = data.name.strip(), data.kind.value
    network.lead_institution_id = data.lead_institution_id
    session.flush()
    return network


def get_network(session: Session, network_id: int) -> Network:
    network = session.get(Network, network_id)
    if network is None:
        raise NetworkNotFound()
    return network


def list_networks(session: Session, actor: Actor) -> Sequence[Network]:
    """The alliances (any member of staff may see the structure)."""
    if not actor.is_staff or not actor.has(Permission.REGISTRY_READ):
        raise Forbidden("无权查看医联体")
    return repo.networks(session)


def networks_of(session: Session, institution_id: int) -> Sequence[Network]:
    """The alliances an institution belongs to."""
    return repo.networks_of(session, institution_id)


def add_member(session: Session, actor: Actor, network_id: int, data: MemberAdd) -> Member:
    _require(actor, Permission.ALLIANCE_MANAGE)
    network = get_network(session, network_id)
    registry.get_institution(session, data.institution_id)
    if repo.member(session, network.id, data.institution_id) is not None:
        raise InvalidNetwork("该机构已是医联体成员")
    row = Member(
        network_id=network.id, institution_id=data.institution_id, joined_on=data.joined_on or business_date()
    )
    session.add(row)
    session.flush()
    return row


def members(session: Session, network_id: int) -> Sequence[Member]:
    """An alliance's members (the lead first)."""
    get_network(session, network_id)
    return repo.members(session, network_id)


def create_pairing(session: Session, actor: Actor, network_id: int, data: PairingCreate) -> Pairing:
    """Pair a senior hospital with a member for a period (结对帮扶); both must be members."""
    _require(actor, Permission.ALLIANCE_MANAGE)
    network = get_network(session, network_id)
    if data.end < data.start:
        raise InvalidNetwork("帮扶结束日期不能早于开始日期")
    if data.senior_institution_id == data.member_institution_id:
        raise InvalidNetwork("帮扶医院与受援机构不能相同")
    for inst in (data.senior_institution_id, data.member_institution_id):
        if repo.member(session, network.id, inst) is None:
            raise OutsideAlliance("结对双方都须是该医联体成员")
    row = Pairing(network_id=network.id, **data.model_dump())
    session.add(row)
    session.flush()
    return row


def update_pairing(session: Session, actor: Actor, pairing_id: int, data: PairingUpdate) -> Pairing:
    """Change a pairing's period or goals."""
    _require(actor, Permission.ALLIANCE_MANAGE)
    row = session.get(Pairing, pairing_id)
    if row is None:
        raise PairingNotFound()
    if data.end < data.start:
        raise InvalidNetwork("帮扶结束日期不能早于开始日期")
    row.start, row.end, row.goals = data.start, data.end, data.goals.strip()
    session.flush()
    return row


def pairings(session: Session, network_id: int) -> Sequence[Pairing]:
    get_network(session, network_id)
    return repo.pairings(session, network_id)


# ---------------------------------------------------------------- the referral share of specialist clinics


def reserve_policy(session: Session, department_id: int) -> ReservePolicy:
    """A department's referral share and release lead time (the defaults when never set)."""
    row = repo.reserve_policy(session, department_id)
    if row is not None:
        return row
    return ReservePolicy(
        department_id=department_id,
        reserve_percent=DEFAULT_POLICY.reserve_percent,
        release_hours=DEFAULT_POLICY.release_hours,
        updated_at=utcnow(),
    )


def set_reserve_policy(
    session: Session, actor: Actor, department_id: int, data: ReservePolicySet
) -> ReservePolicy:
    _require(actor, Permission.ALLIANCE_MANAGE, Permission.SCHEDULE_MANAGE)
    dept = registry.get_department(session, department_id)
    if not actor.serves(dept.institution_id):
        raise Forbidden("只能设置本院科室的转诊预留比例")
    row = repo.reserve_policy(session, department_id)
    if row is None:
        row = ReservePolicy(
            department_id=department_id, reserve_percent=0, release_hours=0, updated_at=utcnow()
        )
        session.add(row)
    row.reserve_percent, row.release_hours, row.updated_at = (
        data.reserve_percent,
        data.release_hours,
        utcnow(),
    )
    session.flush()
    return row


@dataclass(frozen=True)
class ReserveRun:
    reserved_slots: int
    reserved_places: int
    released_places: int


def reserve_places(
    session: Session, *, start: date, end: date, institution_id: int | None = None
) -> ReserveRun:
    """Keep each lead hospital's referral share of its open clinics from ``start`` to ``end`` (once per
    slot; a slot whose release time has passed is left to the public)."""
    now = utcnow()
    leads = [institution_id] if institution_id is not None else repo.lead_institution_ids(session)
    rows: list[SlotReserve] = []
    with session.no_autoflush:
        for inst in leads:
            schedules = [
                s
                for s in scheduling.open_schedules(session, start=start, end=end, institution_id=inst)
                if s.clinic_type in domain.RESERVED_CLINIC_TYPES
            ]
            policies = repo.reserve_policies(session, sorted({s.department_id for s in schedules}))
            slots_of = scheduling.slots_of_schedules(session, [s.id for s in schedules])
            done = repo.reserved_slot_ids(session, [slot.id for slots in slots_of.values() for slot in slots])
            for sched in schedules:
                pol = policies.get(sched.department_id)
                percent = pol.reserve_percent if pol else DEFAULT_POLICY.reserve_percent
                hours = pol.release_hours if pol else DEFAULT_POLICY.release_hours
                slots = slots_of.get(sched.id, [])
                if percent <= 0 or any(slot.id in done for slot in slots):
                    continue
                split = domain.reserve_split([s.capacity for s in slots], percent)
                for slot, n in zip(slots, split, strict=True):
                    release = domain.release_at(local_datetime(sched.day, slot.start), hours)
                    if n <= 0 or release <= now or not scheduling.hold_places(session, slot.id, n):
                        continue
                    rows.append(
                        SlotReserve(
                            slot_id=slot.id,
                            schedule_id=sched.id,
                            institution_id=sched.institution_id,
                            department_id=sched.department_id,
                            day=sched.day,
                            held=n,
                            used=0,
                            release_at=release,
                            released_at=None,
                            released=0,
                        )
                    )
    session.add_all(rows)
    session.flush()
    return ReserveRun(len(rows), sum(r.held for r in rows), 0)


def release_due(session: Session, *, limit: int = 5000) -> int:
    """Give the unused reserved places whose cut-off has come back to the public; returns how many."""
    now = utcnow()
    given = 0
    for slot_id in repo.due_reserves(session, now, limit):
        left = repo.mark_released(session, slot_id, now)
        if left:
            scheduling.unhold_places(session, slot_id, left)
            given += left
    session.flush()
    return given


def reserves_of(session: Session, schedule_ids: Sequence[int]) -> dict[int, SlotReserve]:
    """The referral reserve of each slot of these schedules (slot id → reserve)."""
    return {r.slot_id: r for r in repo.reserves_of_schedules(session, schedule_ids)}


# ---------------------------------------------------------------- referrals


def _step(session: Session, referral_id: int, state: State, actor: Actor, note: str = "") -> None:
    session.add(
        ReferralStep(
            referral_id=referral_id,
            state=state.value,
            at=utcnow(),
            by=actor.display_name or actor.username,
            note=note[:500],
        )
    )


def _check_to_department(
    session: Session, kind: ReferralKind, to_institution_id: int, department_id: int | None
) -> None:
    if department_id is None:
        if kind is ReferralKind.OUTPATIENT:
            raise InvalidReferral("上转专科门诊须选择接收科室")
        return
    dept = registry.get_department(session, department_id)
    if dept.institution_id != to_institution_id:
        raise InvalidReferral("接收科室不属于接收机构")
    if kind is ReferralKind.OUTPATIENT:
        today = business_date()
        horizon = today + timedelta(days=DEFAULT_POLICY.clinic_horizon_days)
        if not scheduling.open_schedules(session, start=today, end=horizon, department_id=department_id):
            raise NoClinic(f"{dept.name}在 {DEFAULT_POLICY.clinic_horizon_days} 天内没有可预约的门诊")


def create_referral(session: Session, actor: Actor, data: ReferralCreate) -> Referral:
    """Refer a patient from the actor's institution to another member of a shared alliance."""
    _require(actor, Permission.REFERRAL_WRITE)
    if actor.institution_id is None:
        raise Forbidden("转诊须由机构医生发起")
    patient = registry.get_patient(session, actor, data.patient_id, reason="发起转诊")
    if data.to_institution_id == actor.institution_id:
        raise InvalidReferral("不能转诊到本机构")
    shared = repo.shared_networks(session, actor.institution_id, data.to_institution_id)
    if not shared:
        raise OutsideAlliance("接收机构与本机构不在同一医联体，不能转诊")
    direction = data.kind.direction
    network = shared[0]
    if direction is Direction.UP and data.to_institution_id != network.lead_institution_id:
        lead = [n for n in shared if n.lead_institution_id == data.to_institution_id]
        if not lead:
            raise InvalidReferral("上转只能转往医联体牵头医院")
        network = lead[0]
    today = business_date()
    problem = domain.check_care_plan(data.kind, data.care_plan, data.follow_up_dates, today)
    if problem:
        raise CarePlanMissing(problem)
    _check_to_department(session, data.kind, data.to_institution_id, data.to_department_id)
    return _new_referral(session, actor, network, data, patient.id, direction)


def _new_referral(
    session: Session,
    actor: Actor,
    network: Network,
    data: ReferralCreate,
    patient_id: int,
    direction: Direction,
    parent_id: int | None = None,
) -> Referral:
    now = utcnow()
    row = Referral(
        network_id=network.id,
        direction=direction.value,
        kind=data.kind.value,
        state=State.REQUESTED.value,
        patient_id=patient_id,
        from_institution_id=actor.institution_id,
        from_practitioner_id=actor.practitioner_id,
        to_institution_id=data.to_institution_id,
        to_department_id=data.to_department_id,
        to_practitioner_id=None,
        diagnosis_code=data.diagnosis_code.strip().upper(),
        diagnosis=data.diagnosis.strip(),
        reason=data.reason.strip(),
        summary=data.summary.strip(),
        care_plan=data.care_plan.strip(),
        follow_up_dates=",".join(d.isoformat() for d in sorted(set(data.follow_up_dates))),
        refuse_reason="",
        parent_id=parent_id,
        booking_id=None,
        booked_day=None,
        used_reserve=False,
        bed_request_id=None,
        created_by=actor.username,
        requested_at=now,
        answer_due_at=domain.answer_due(now, DEFAULT_POLICY),
        reminded_at=None,
        answered_at=None,
        booked_at=None,
        arrived_at=None,
        ended_at=None,
        access_until=None,
    )
    session.add(row)
    session.flush()
    _step(session, row.id, State.REQUESTED, actor, data.reason)
    record_access(
        session,
        actor,
        action="refer",
        resource=f"referral/{row.id}",
        patient_id=patient_id,
        reason=f"转诊单 {row.id}",
    )
    events.emit(
        session,
        "alliance.referral_requested",
        {"referral_id": row.id, "patient_id": patient_id, "to_institution_id": row.to_institution_id},
    )
    session.flush()
    return row


def find_referral(session: Session, referral_id: int) -> Referral:
    row = session.get(Referral, referral_id)
    if row is None:
        raise ReferralNotFound()
    return row


def _may_see(actor: Actor, r: Referral) -> bool:
    if actor.role in (Role.PATIENT, Role.FAMILY):
        return actor.patient_id == r.patient_id
    if not (actor.has(Permission.REFERRAL_WRITE) or actor.has(Permission.REFERRAL_DESK)):
        return False
    return actor.serves(r.from_institution_id) or actor.serves(r.to_institution_id)


def get_referral(session: Session, actor: Actor, referral_id: int) -> Referral:
    """A referral for its two sides and its patient; audited naming the referral."""
    r = find_referral(session, referral_id)
    if not _may_see(actor, r):
        raise NotYourReferral()
    record_access(
        session,
        actor,
        action="read",
        resource=f"referral/{r.id}",
        patient_id=r.patient_id,
        reason=f"转诊单 {r.id}",
    )
    return r


def steps(session: Session, referral_id: int) -> Sequence[ReferralStep]:
    return repo.referral_steps(session, referral_id)


def _receiver(actor: Actor, r: Referral, *permissions: Permission) -> None:
    if not actor.serves(r.to_institution_id):
        raise NotYourReferral("只有接收机构可以处理此转诊单")
    _require(actor, *permissions)


def _move(
    session: Session, actor: Actor, r: Referral, target: State, note: str = "", **values: object
) -> Referral:
    current = State(r.state)
    if not domain.can_move(current, target):
        raise ReferralStateError(domain.refusal_text(current, target))
    if not repo.move_referral(session, r.id, [current.value], {"state": target.value, **values}):
        session.refresh(r)
        raise ReferralStateError(domain.refusal_text(State(r.state), target))
    session.refresh(r)
    _step(session, r.id, target, actor, note)
    record_access(
        session,
        actor,
        action="update",
        resource=f"referral/{r.id}",
        patient_id=r.patient_id,
        reason=target.label,
    )
    events.emit(
        session,
        "alliance.referral_moved",
        {"referral_id": r.id, "patient_id": r.patient_id, "state": target.value},
    )
    session.flush()
    return r


def accept(session: Session, actor: Actor, referral_id: int, note: str = "") -> Referral:
    """Accept a referral (已接收): the receiving institution may read the patient for ``access_days``."""
    r = find_referral(session, referral_id)
    _receiver(actor, r, Permission.REFERRAL_DESK, Permission.REFERRAL_WRITE)
    now = utcnow()
    until = now + timedelta(days=DEFAULT_POLICY.access_days)
    _move(session, actor, r, State.ACCEPTED, note, answered_at=now, access_until=until)
    registry.grant_institution_access(
        session,
        patient_id=r.patient_id,
        institution_id=r.to_institution_id,
        reason=f"转诊单 {r.id}",
        days=DEFAULT_POLICY.access_days,
    )
    return r


def refuse(session: Session, actor: Actor, referral_id: int, reason: str) -> Referral:
    """Refuse a referral (已拒绝) with its reason."""
    r = find_referral(session, referral_id)
    _receiver(actor, r, Permission.REFERRAL_DESK, Permission.REFERRAL_WRITE)
    reason = reason.strip()
    if len(reason) < 2:
        raise InvalidReferral("拒绝转诊须说明原因")
    now = utcnow()
    return _move(
        session, actor, r, State.REFUSED, reason, refuse_reason=reason[:200], answered_at=now, ended_at=now
    )


def book(session: Session, actor: Actor, referral_id: int, slot_id: int) -> Referral:
    """Book an accepted referral into a slot of its department: a reserved place first (转诊预留号),
    else a public one; the registration is confirmed at once."""
    r = find_referral(session, referral_id)
    _receiver(actor, r, Permission.REFERRAL_DESK)
    if State(r.state) is not State.ACCEPTED:
        raise ReferralStateError(domain.refusal_text(State(r.state), State.BOOKED))
    slot = scheduling.get_slot(session, slot_id)
    sched = scheduling.get_schedule(session, slot.schedule_id)
    if r.to_department_id is not None and sched.department_id != r.to_department_id:
        raise InvalidReferral("所选号源不属于转诊接收科室")
    if sched.institution_id != r.to_institution_id:
        raise InvalidReferral("所选号源不属于接收机构")
    reserved = repo.claim_reserved(session, slot_id)
    try:
        booking = scheduling.book(
            session, actor, slot_id=slot_id, patient_id=r.patient_id, channel="desk", place_held=reserved
        )
    except SlotFull as exc:
        raise SlotFull("该时段转诊预留号与公众号源均已约满") from exc
    scheduling.confirm(session, actor, booking.id, payment_method="desk")
    return _move(
        session,
        actor,
        r,
        State.BOOKED,
        f"{sched.day.isoformat()} {slot.start.strftime('%H:%M')}" + ("（转诊预留号）" if reserved else ""),
        booking_id=booking.id,
        booked_day=sched.day,
        used_reserve=reserved,
        booked_at=utcnow(),
        to_practitioner_id=sched.practitioner_id,
    )


BED_OFFICE = Actor.system("alliance-bed-request")


def request_bed(session: Session, actor: Actor, referral_id: int, data: BedBody) -> Referral:
    """The lead's referral desk asks its bed office (住院服务中心) for a bed for an accepted admission
    referral (已预约 with the bed request); the bed office allocates it as any request (source 转诊)."""
    r = find_referral(session, referral_id)
    _receiver(actor, r, Permission.REFERRAL_DESK)
    if r.kind != ReferralKind.ADMISSION.value:
        raise InvalidReferral("只有住院转诊可以申请床位")
    if State(r.state) is not State.ACCEPTED:
        raise ReferralStateError(domain.refusal_text(State(r.state), State.BOOKED))
    department_id = data.department_id or r.to_department_id
    if department_id is None:
        raise InvalidReferral("请选择收治科室")
    dept = registry.get_department(session, department_id)
    if dept.institution_id != r.to_institution_id:
        raise InvalidReferral("收治科室不属于接收机构")
    today = business_date()
    expected = data.expected_on or today
    if expected < today:
        raise InvalidReferral("预计入院日期不能早于今天")
    bed = inpatient.request_bed(
        session,
        BED_OFFICE,
        patient_id=r.patient_id,
        department_id=dept.id,
        severity=Severity.SEVERE if data.severe else Severity.MILD,
        source=AdmissionSource.REFERRAL,
        expected_on=expected,
        note=(f"转诊单 {r.id}：{r.diagnosis}；{data.note}" if data.note else f"转诊单 {r.id}：{r.diagnosis}")[
            :200
        ],
    )
    return _move(
        session,
        actor,
        r,
        State.BOOKED,
        f"已申请 {dept.name} 床位，预计 {expected.isoformat()} 入院",
        bed_request_id=bed.id,
        booked_day=expected,
        booked_at=utcnow(),
        to_department_id=dept.id,
    )


def bookable_slots(
    session: Session, actor: Actor, referral_id: int, *, days: int = 14
) -> list[tuple[scheduling.Schedule, list[tuple[scheduling.Slot, int]]]]:
    """Open clinics of the referral's department with, per slot, the referral places left."""
    r = find_referral(session, referral_id)
    _receiver(actor, r, Permission.REFERRAL_DESK, Permission.REFERRAL_WRITE)
    today = business_date()
    schedules = scheduling.open_schedules(
        session,
        start=today,
        end=today + timedelta(days=days),
        institution_id=r.to_institution_id,
        department_id=r.to_department_id,
    )
    reserves = reserves_of(session, [s.id for s in schedules])
    out = []
    for sched in schedules:
        rows = []
        for slot in scheduling.slots(session, sched.id):
            res = reserves.get(slot.id)
            left = res.held - res.used if res is not None and res.released_at is None else 0
            rows.append((slot, left))
        out.append((sched, rows))
    return out


def mark_arrived(session: Session, actor: Actor, referral_id: int) -> Referral:
    """The patient came (已到诊)."""
    r = find_referral(session, referral_id)
    _receiver(actor, r, Permission.REFERRAL_DESK, Permission.REFERRAL_WRITE)
    return _move(
        session,
        actor,
        r,
        State.ARRIVED,
        arrived_at=utcnow(),
        to_practitioner_id=r.to_practitioner_id or actor.practitioner_id,
    )


def refer_back(session: Session, actor: Actor, referral_id: int, data: ReferBackBody) -> Referral:
    """Send an up-referred patient back to the referring member with a care plan (已转回); returns the
    new down-referral."""
    r = find_referral(session, referral_id)
    _receiver(actor, r, Permission.REFERRAL_WRITE)
    if r.direction != Direction.UP.value:
        raise InvalidReferral("只有上转的患者可以转回")
    if data.kind.direction is not Direction.DOWN:
        raise InvalidReferral("转回须为康复或慢病随访")
    problem = domain.check_care_plan(data.kind, data.care_plan, data.follow_up_dates, business_date())
    if problem:
        raise CarePlanMissing(problem)
    current = State(r.state)
    if not domain.can_move(current, State.RETURNED):
        raise ReferralStateError(domain.refusal_text(current, State.RETURNED))
    network = get_network(session, r.network_id)
    down = _new_referral(
        session,
        actor,
        network,
        ReferralCreate(
            patient_id=r.patient_id,
            kind=data.kind,
            to_institution_id=r.from_institution_id,
            diagnosis_code=r.diagnosis_code,
            diagnosis=data.diagnosis or r.diagnosis,
            reason=f"上转转诊单 {r.id} 诊疗结束，转回继续{data.kind.label}",
            summary=data.summary,
            care_plan=data.care_plan,
            follow_up_dates=data.follow_up_dates,
        ),
        r.patient_id,
        Direction.DOWN,
        parent_id=r.id,
    )
    _move(session, actor, r, State.RETURNED, f"转回，下转单 {down.id}", ended_at=utcnow())
    return down


def close(session: Session, actor: Actor, referral_id: int, note: str = "") -> Referral:
    """End a referral (已结束): care done at the receiving side, or the patient did not come."""
    r = find_referral(session, referral_id)
    _receiver(actor, r, Permission.REFERRAL_DESK, Permission.REFERRAL_WRITE)
    return _move(session, actor, r, State.CLOSED, note, ended_at=utcnow())


def list_referrals(
    session: Session,
    actor: Actor,
    *,
    side: str = "any",
    states: Sequence[str] | None = None,
    direction: str | None = None,
    limit: int = 200,
) -> Sequence[Referral]:
    """Referrals of the actor's institution (sent, received or both)."""
    _require(actor, Permission.REFERRAL_WRITE, Permission.REFERRAL_DESK)
    if actor.institution_id is None and actor.role is not Role.ADMIN:
        raise Forbidden("无所属机构")
    rows = repo.referrals(
        session,
        institution_id=actor.institution_id,
        side=side,
        states=states,
        direction=direction,
        limit=limit,
    )
    record_access(session, actor, action="search", resource="referrals", reason=f"转诊列表 {side}")
    return rows


def patient_referrals(session: Session, actor: Actor, patient_id: int) -> Sequence[Referral]:
    """A patient's own referrals (the phone page), newest first."""
    if actor.role in (Role.PATIENT, Role.FAMILY):
        if actor.patient_id != patient_id:
            raise Forbidden("只能查看本人的转诊")
    else:
        registry.get_patient(session, actor, patient_id, reason="查看转诊记录")
    rows = repo.referrals(session, patient_id=patient_id)
    record_access(session, actor, action="read", resource="referrals", patient_id=patient_id)
    return rows


def referral_booking(session: Session, r: Referral) -> scheduling.BookingView | None:
    """The clinic booked for a referral (for the pages), or None."""
    if r.booking_id is None:
        return None
    b = scheduling.find_booking(session, r.booking_id)
    sched = scheduling.get_schedule(session, b.schedule_id)
    slot = scheduling.get_slot(session, b.slot_id)
    return scheduling.BookingView(b, sched, slot, None, [])


# ---------------------------------------------------------------- the referral letter and FHIR

LETTER_SYSTEM = Actor.system("alliance-letter")
LETTER_RESULTS_DAYS = 180  # results attached: those of the half year before the referral
LETTER_RESULTS_MAX = 12


def local_time(at: datetime) -> datetime:
    """A stored instant (naive on SQLite: UTC) in Asia/Shanghai."""
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(BUSINESS_TZ)


def attached_results(session: Session, r: Referral) -> list[results.Result]:
    """The patient's results attached to a referral letter: those of the ``LETTER_RESULTS_DAYS`` before
    the referral (and up to its end), newest first, at most ``LETTER_RESULTS_MAX``."""
    rows, _ = results.patient_results(
        session, LETTER_SYSTEM, r.patient_id, limit=200, reason=f"转诊单 {r.id} 附检查检验结果"
    )
    requested = r.requested_at.replace(tzinfo=None)
    since = requested - timedelta(days=LETTER_RESULTS_DAYS)
    until = (r.ended_at or utcnow()).replace(tzinfo=None)
    return [x for x in rows if since <= x.observed_at.replace(tzinfo=None) <= until][:LETTER_RESULTS_MAX]


def _result_text(x: results.Result) -> str:
    if x.kind == ItemKind.IMAGING:
        text = x.report_text.strip().splitlines()
        conclusion = [t for t in text if t.startswith("诊断意见") or t.startswith("印象")]
        return (conclusion[0] if conclusion else (text[-1] if text else "报告未出"))[:60]
    flag = {"H": " ↑", "L": " ↓", "HH": " ↑↑", "LL": " ↓↓", "A": " 异常"}.get(x.abnormal_flag, "")
    return f"{x.value_text or (x.value_num if x.value_num is not None else '')} {x.unit}{flag}".strip()


def letter_of(session: Session, r: Referral) -> letter.Letter:
    """What the printed letter of a referral shows (no access check: callers check)."""
    view = referral_views(session, [r])[0]
    patient = registry.find_patient(session, r.patient_id)
    network = get_network(session, r.network_id)
    insts = results.institution_names(session)
    doctor = registry.get_practitioner(session, r.from_practitioner_id).name if r.from_practitioner_id else ""
    attached = []
    for x in attached_results(session, r):
        attached.append(
            letter.AttachedResult(
                day=x.result_date.isoformat(),
                institution=insts.get(x.institution_id, ""),
                item=results.get_item(session, x.item_code).name,
                value=_result_text(x),
                status={"final": "终审", "preliminary": "初步", "corrected": "更正"}.get(x.status, x.status),
            )
        )
    history = [
        (
            local_time(s.at).strftime("%Y-%m-%d %H:%M"),
            State(s.state).label,
            s.by,
            s.note,
        )
        for s in steps(session, r.id)
    ]
    return letter.Letter(
        number=r.id,
        title=f"双向转诊（{view.direction_label}）单",
        network=network.name,
        kind=view.kind_label,
        state=view.state_label,
        from_institution=registry.get_institution(session, r.from_institution_id).name,
        from_doctor=doctor,
        to_institution=registry.get_institution(session, r.to_institution_id).name,
        to_department=view.to_department,
        patient=patient.name,
        sex={"1": "男", "2": "女"}.get(patient.sex, "未知"),
        age=age_on(patient.birth_date, local_time(r.requested_at).date()),
        id_number=mask_id_number(patient.id_number),
        phone=mask_phone(patient.phone),
        diagnosis=f"{r.diagnosis}（{r.diagnosis_code}）" if r.diagnosis_code else r.diagnosis,
        reason=r.reason,
        summary=r.summary,
        care_plan=r.care_plan,
        follow_up="、".join(r.follow_up_dates.split(",")) if r.follow_up_dates else "",
        appointment=view.appointment,
        requested=local_time(r.requested_at).strftime("%Y-%m-%d %H:%M"),
        results=attached,
        history=history,
    )


def referral_letter(session: Session, actor: Actor, referral_id: int) -> bytes:
    """The printable referral letter (A4 PDF) for the two sides and the patient (audited naming the
    referral); the patient's results of the half year before it are attached from the registry."""
    r = get_referral(session, actor, referral_id)
    return letter.render(letter_of(session, r))


def referral_service_request(session: Session, actor: Actor, referral_id: int) -> dict[str, object]:
    """A referral as a validated FHIR R4 ServiceRequest (the two sides and the patient; audited)."""
    r = get_referral(session, actor, referral_id)
    patient = registry.find_patient(session, r.patient_id)
    dept = registry.get_department(session, r.to_department_id).name if r.to_department_id else ""
    attached = [
        ("DiagnosticReport" if x.kind == ItemKind.IMAGING else "Observation", x.id)
        for x in attached_results(session, r)
    ]
    return fhir.service_request(r, mpi_id=patient.mpi_id, department=dept, attached=attached)


def remind_and_flag(session: Session) -> tuple[int, int]:
    """Remind the receiving side of referrals unanswered after ``remind_hours`` (once each) and report those
    past their answer deadline; returns (reminded, overdue)."""
    now = utcnow()
    reminded = 0
    for r in repo.due_reminders(session, now - timedelta(hours=DEFAULT_POLICY.remind_hours)):
        r.reminded_at = now
        events.emit(
            session,
            "alliance.referral_reminder",
            {
                "referral_id": r.id,
                "to_institution_id": r.to_institution_id,
                "due": r.answer_due_at.isoformat(),
            },
        )
        reminded += 1
    session.flush()
    return reminded, len(repo.overdue(session, now))


def is_overdue(r: Referral, at: datetime | None = None) -> bool:
    due = r.answer_due_at
    if due.tzinfo is None:
        from datetime import UTC  # noqa: PLC0415

        due = due.replace(tzinfo=UTC)
    return r.state == State.REQUESTED.value and due <= (at or utcnow())


# ---------------------------------------------------------------- views for the pages


@dataclass(frozen=True)
class ReferralView:
    """A referral with the names a page shows."""

    referral: Referral
    patient: str
    from_institution: str
    to_institution: str
    to_department: str
    to_doctor: str
    appointment: str  # "05-11 08:00–11:30 内分泌科 3 楼" or ""
    overdue: bool

    @property
    def state_label(self) -> str:
        return State(self.referral.state).label

    @property
    def kind_label(self) -> str:
        return ReferralKind(self.referral.kind).label

    @property
    def direction_label(self) -> str:
        return Direction(self.referral.direction).label


def referral_views(session: Session, rows: Sequence[Referral]) -> list[ReferralView]:
    insts = registry.institutions_by_ids(
        session, sorted({r.from_institution_id for r in rows} | {r.to_institution_id for r in rows})
    )
    patients = registry.patient_names(session, sorted({r.patient_id for r in rows}))
    out = []
    for r in rows:
        dept = registry.get_department(session, r.to_department_id).name if r.to_department_id else ""
        doctor = registry.get_practitioner(session, r.to_practitioner_id).name if r.to_practitioner_id else ""
        appointment = ""
        view = referral_booking(session, r)
        if view is not None:
            appointment = (
                f"{view.schedule.day.strftime('%m-%d')} {view.slot.start.strftime('%H:%M')}–"
                f"{view.slot.end.strftime('%H:%M')} {view.schedule.location}".strip()
            )
        out.append(
            ReferralView(
                r,
                patients.get(r.patient_id, ""),
                insts[r.from_institution_id].short_name or insts[r.from_institution_id].name,
                insts[r.to_institution_id].short_name or insts[r.to_institution_id].name,
                dept,
                doctor,
                appointment,
                is_overdue(r),
            )
        )
    return out


def referral_targets(session: Session, actor: Actor) -> list[tuple[int, str, bool]]:
    """Institutions the actor's institution may refer to: (id, name, is a lead it may refer up to)."""
    if actor.institution_id is None:
        return []
    out: dict[int, tuple[int, str, bool]] = {}
    for network in repo.networks_of(session, actor.institution_id):
        ids = [m.institution_id for m in repo.members(session, network.id)]
        insts = registry.institutions_by_ids(session, ids)
        for inst_id in ids:
            if inst_id == actor.institution_id:
                continue
            lead = inst_id == network.lead_institution_id
            prev = out.get(inst_id)
            out[inst_id] = (inst_id, insts[inst_id].name, lead or bool(prev and prev[2]))
    return sorted(out.values(), key=lambda t: (not t[2], t[1]))


def clinical_departments(session: Session, institution_id: int) -> list[tuple[int, str]]:
    depts, _ = registry.list_departments(session, institution_id=institution_id)
    return [(d.id, d.name) for d in depts if d.is_clinical and d.is_active]


# ---------------------------------------------------------------- expert sittings (专家下沉坐诊)


def create_posting(session: Session, actor: Actor, network_id: int, data: PostingCreate) -> Posting:
    """Post a lead-hospital expert to a member's department on some weekdays: one sitting day and one
    bookable clinic schedule of the member (through scheduling) per day of the period."""
    _require(actor, Permission.ALLIANCE_MANAGE)
    network = get_network(session, network_id)
    if data.end < data.start:
        raise InvalidPosting("派驻结束日期不能早于开始日期")
    if (data.end - data.start).days > 366:
        raise InvalidPosting("一次派驻最长一年")
    expert = registry.get_practitioner(session, data.practitioner_id)
    if expert.institution_id != network.lead_institution_id:
        raise InvalidPosting("派驻专家须是医联体牵头医院的医生")
    if repo.member(session, network.id, data.member_institution_id) is None:
        raise OutsideAlliance("坐诊机构不是该医联体成员")
    if data.member_institution_id == network.lead_institution_id:
        raise InvalidPosting("坐诊机构不能是牵头医院本身")
    dept = registry.get_department(session, data.member_department_id)
    if dept.institution_id != data.member_institution_id:
        raise InvalidPosting("坐诊科室不属于该成员机构")
    days = domain.sitting_days(data.start, data.end, set(data.weekdays))
    if not days:
        raise InvalidPosting("派驻期间没有选定的坐诊日")
    posting = Posting(
        network_id=network.id,
        practitioner_id=expert.id,
        member_institution_id=data.member_institution_id,
        member_department_id=dept.id,
        start=data.start,
        end=data.end,
        weekdays=",".join(str(d) for d in sorted(set(data.weekdays))),
        period=data.period,
        clinic_type=data.clinic_type,
        created_by=actor.username,
        created_at=utcnow(),
    )
    session.add(posting)
    session.flush()
    for day in days:
        sched = scheduling.create_schedule(
            session,
            actor,
            department_id=dept.id,
            day=day,
            period=data.period,
            clinic_type=data.clinic_type,
            practitioner_id=expert.id,
            location=f"{dept.name}专家坐诊室",
            visiting=True,
        )
        session.add(Sitting(posting_id=posting.id, day=day, schedule_id=sched.id))
    session.flush()
    return posting


def get_posting(session: Session, posting_id: int) -> Posting:
    row = session.get(Posting, posting_id)
    if row is None:
        raise PostingNotFound()
    return row


def postings(session: Session, actor: Actor, network_id: int) -> Sequence[Posting]:
    _require(actor, Permission.ALLIANCE_MANAGE, Permission.ALLIANCE_STATS, Permission.REGISTRY_READ)
    get_network(session, network_id)
    return repo.postings(session, network_id=network_id)


def sittings_of(session: Session, actor: Actor, posting_id: int) -> Sequence[Sitting]:
    posting = get_posting(session, posting_id)
    _may_record(actor, posting)
    return repo.sittings(session, posting_ids=[posting.id])


def _may_record(actor: Actor, posting: Posting) -> None:
    if actor.has(Permission.ALLIANCE_MANAGE) and (actor.institution_id is None or actor.role is Role.ADMIN):
        return
    if actor.practitioner_id is not None and actor.practitioner_id == posting.practitioner_id:
        return
    if actor.serves(posting.member_institution_id) and actor.has(Permission.SCHEDULE_MANAGE):
        return
    raise Forbidden("只有派驻专家本人或坐诊机构可以登记坐诊")


def record_sitting(session: Session, actor: Actor, sitting_id: int, data: SittingRecord) -> Sitting:
    """Record a sitting day: arrived, patients seen, teaching rounds, consultations (not before the day)."""
    sitting = session.get(Sitting, sitting_id)
    if sitting is None:
        raise PostingNotFound("坐诊日不存在")
    _may_record(actor, get_posting(session, sitting.posting_id))
    if sitting.day > business_date():
        raise InvalidPosting("坐诊日尚未到，不能登记")
    if not data.arrived and (data.patients_seen or data.teaching_rounds or data.consultations):
        raise InvalidPosting("专家未到岗时不能登记接诊量")
    sitting.arrived = data.arrived
    sitting.patients_seen = data.patients_seen
    sitting.teaching_rounds = data.teaching_rounds
    sitting.consultations = data.consultations
    sitting.recorded_by = actor.username
    sitting.recorded_at = utcnow()
    session.flush()
    return sitting


@dataclass(frozen=True)
class SittingCount:
    month: str
    practitioner_id: int
    member_institution_id: int
    postings: int
    sitting_days: int  # days the expert came (坐诊天数)
    scheduled_days: int  # sitting days with a clinic schedule
    patients_seen: int  # 门诊量
    teaching_rounds: int
    consultations: int


def sitting_counts(session: Session, network_id: int, start: date, end: date) -> list[SittingCount]:
    """Per month, expert and member: postings (派驻人次), sitting days (坐诊天数), scheduled days, patients
    seen (门诊量), teaching rounds and consultations."""
    get_network(session, network_id)
    by_id = {p.id: p for p in repo.postings(session, network_id=network_id)}
    acc: dict[tuple[str, int, int], list[int]] = {}
    posted: dict[tuple[str, int, int], set[int]] = {}
    for s in repo.sittings(session, posting_ids=list(by_id), start=start, end=end):
        p = by_id[s.posting_id]
        key = (s.day.strftime("%Y-%m"), p.practitioner_id, p.member_institution_id)
        row = acc.setdefault(key, [0, 0, 0, 0, 0])
        posted.setdefault(key, set()).add(p.id)
        row[0] += int(s.arrived)
        row[1] += int(s.schedule_id is not None)
        row[2] += s.patients_seen
        row[3] += s.teaching_rounds
        row[4] += s.consultations
    return [SittingCount(k[0], k[1], k[2], len(posted[k]), *v) for k, v in sorted(acc.items())]


@dataclass(frozen=True)
class PostingView:
    """A posting with its names and its sitting days (the expert's sitting calendar)."""

    posting: Posting
    expert: str
    member: str
    department: str
    sittings: list[Sitting]

    @property
    def weekdays_label(self) -> str:
        return "、".join(domain.WEEKDAY_LABELS[int(d)] for d in self.posting.weekdays.split(",") if d)


def sitting_calendar(session: Session, actor: Actor) -> list[PostingView]:
    """The postings whose sittings the actor may record: the expert's own; the member's scheduling staff
    their institution's; the platform's alliance administrator all — each with its sitting days."""
    rows = (
        list(repo.postings(session, practitioner_id=actor.practitioner_id)) if actor.practitioner_id else []
    )
    if actor.has(Permission.SCHEDULE_MANAGE) or actor.has(Permission.ALLIANCE_MANAGE):
        seen = {p.id for p in rows}
        rows += [p for p in repo.postings(session) if p.id not in seen and _may_record_quiet(actor, p)]
    return _posting_views(session, rows)


def posting_views(session: Session, actor: Actor, network_id: int) -> list[PostingView]:
    """An alliance's postings with names and sitting days (the alliance administrator's list)."""
    return _posting_views(session, postings(session, actor, network_id))


def _posting_views(session: Session, rows: Sequence[Posting]) -> list[PostingView]:
    days = repo.sittings(session, posting_ids=[p.id for p in rows])
    insts = registry.institutions_by_ids(session, sorted({p.member_institution_id for p in rows}))
    out = []
    for p in rows:
        inst = insts[p.member_institution_id]
        out.append(
            PostingView(
                p,
                registry.get_practitioner(session, p.practitioner_id).name,
                inst.short_name or inst.name,
                registry.get_department(session, p.member_department_id).name,
                [s for s in days if s.posting_id == p.id],
            )
        )
    return out


def _may_record_quiet(actor: Actor, posting: Posting) -> bool:
    try:
        _may_record(actor, posting)
    except Forbidden:
        return False
    return True


# ---------------------------------------------------------------- shared reading centres (共享诊断中心)

READING_SYSTEM = Actor.system("alliance-reading")


def _centre_of(session: Session, member_id: int) -> int:
    for network in repo.networks_of(session, member_id):
        if network.lead_institution_id != member_id:
            return network.lead_institution_id
    raise OutsideAlliance("该机构不在任何医联体内，没有共享诊断中心")


def queue_reading(session: Session, actor: Actor, result_id: int) -> Reading:
    """Queue a member's imaging or ECG study (registered in the results registry, report pending) for
    the reading centre of its alliance's lead hospital; imaging is verified by a second reader, an ECG
    goes back with its reader's report (``domain.needs_second_reader``)."""
    result = results.get_result(session, actor, result_id)
    if not actor.serves(result.institution_id):
        raise Forbidden("只能提交本机构的检查")
    if result.kind != ItemKind.IMAGING or not result.study_uid:
        raise InvalidReading("只有影像或心电图检查可以提交共享诊断中心")
    existing = repo.reading_by_result(session, result.id)
    if existing is not None:
        return existing
    centre = _centre_of(session, result.institution_id)
    item = results.get_item(session, result.item_code)
    kind = domain.study_kind(item.modality)
    row = Reading(
        centre_institution_id=centre,
        member_institution_id=result.institution_id,
        patient_id=result.patient_id,
        result_id=result.id,
        kind=kind.value,
        title=item.name,
        state=domain.ReadingState.QUEUED.value,
        needs_verify=domain.needs_second_reader(kind),
        queued_at=utcnow(),
    )
    session.add(row)
    session.flush()
    return row


def _reader(session: Session, actor: Actor, reading_id: int) -> Reading:
    row = session.get(Reading, reading_id)
    if row is None:
        raise ReadingNotFound()
    if not actor.serves(row.centre_institution_id) or not actor.has(Permission.RESULTS_READ):
        raise Forbidden("只有诊断中心的医生可以阅片")
    _require(actor, Permission.REFERRAL_WRITE)
    return row


def worklist(session: Session, actor: Actor, states: Sequence[str] | None = None) -> Sequence[Reading]:
    """The reading centre's studies (oldest first) in ``states``; a study reported without the need of a
    second reader (an ECG) went back with its report, so it is not open any more."""
    _require(actor, Permission.REFERRAL_WRITE)
    if actor.institution_id is None:
        raise Forbidden("无所属机构")
    record_access(session, actor, action="search", resource="readings", reason="阅片工作列表")
    rows = repo.readings(session, centre_id=actor.institution_id, states=states)
    done = domain.ReadingState.REPORTED.value
    return [r for r in rows if not states or r.needs_verify or r.state != done]


def member_readings(session: Session, actor: Actor) -> Sequence[Reading]:
    """The studies the actor's institution sent to a reading centre (oldest first), with their state."""
    _require(actor, Permission.REFERRAL_WRITE, Permission.RESULTS_READ)
    if actor.institution_id is None:
        raise Forbidden("无所属机构")
    record_access(session, actor, action="search", resource="readings", reason="本院送检阅片")
    return repo.readings(session, member_id=actor.institution_id, limit=500)


@dataclass(frozen=True)
class ReadingView:
    """A reading with the names a page shows."""

    reading: Reading
    patient: str
    member: str
    centre: str

    @property
    def state_label(self) -> str:
        return domain.ReadingState(self.reading.state).label


def reading_views(session: Session, rows: Sequence[Reading]) -> list[ReadingView]:
    insts = registry.institutions_by_ids(
        session, sorted({r.member_institution_id for r in rows} | {r.centre_institution_id for r in rows})
    )
    patients = registry.patient_names(session, sorted({r.patient_id for r in rows}))

    def name(i: int) -> str:
        return insts[i].short_name or insts[i].name

    return [
        ReadingView(
            r, patients.get(r.patient_id, ""), name(r.member_institution_id), name(r.centre_institution_id)
        )
        for r in rows
    ]


def claim_reading(session: Session, actor: Actor, reading_id: int) -> Reading:
    """Claim a queued study: one conditional UPDATE, so of two readers at once one wins."""
    row = _reader(session, actor, reading_id)
    if not repo.claim_reading(session, row.id, actor.username, utcnow()):
        session.refresh(row)
        raise ReadingTaken(f"该检查已由 {row.reader or '他人'} 认领")
    session.refresh(row)
    record_access(session, actor, action="read", resource=f"reading/{row.id}", patient_id=row.patient_id)
    return row


def report_reading(
    session: Session, actor: Actor, reading_id: int, findings: str, conclusion: str
) -> Reading:
    """Write the report of a claimed study (only its reader); without a second reader it goes back."""
    row = _reader(session, actor, reading_id)
    if row.state != domain.ReadingState.CLAIMED.value or row.reader != actor.username:
        raise ReadingTaken("只能为自己认领的检查写报告")
    if len(findings.strip()) < 4 or len(conclusion.strip()) < 2:
        raise InvalidReading("报告须有检查所见（至少 4 个字）和诊断意见")
    row.findings, row.conclusion = findings.strip(), conclusion.strip()[:500]
    row.reported_at = utcnow()
    row.state = domain.ReadingState.REPORTED.value
    record_access(session, actor, action="update", resource=f"reading/{row.id}", patient_id=row.patient_id)
    if not row.needs_verify:
        _return_report(session, row)
    session.flush()
    return row


def verify_reading(session: Session, actor: Actor, reading_id: int) -> Reading:
    """A second reader verifies the report; it then returns to the member and the patient's results."""
    row = _reader(session, actor, reading_id)
    if row.state != domain.ReadingState.REPORTED.value or not row.needs_verify:
        raise ReadingTaken("该检查不在待审核状态")
    if row.reader == actor.username:
        raise InvalidReading("审核须由另一位医生完成")
    row.verifier, row.verified_at = actor.username, utcnow()
    row.state = domain.ReadingState.VERIFIED.value
    _return_report(session, row)
    record_access(session, actor, action="update", resource=f"reading/{row.id}", patient_id=row.patient_id)
    session.flush()
    return row


def _return_report(session: Session, row: Reading) -> None:
    """The final report replaces the member's pending one in the results registry (same study)."""
    result = results.get_result(session, READING_SYSTEM, row.result_id)
    item = results.get_item(session, result.item_code)
    member = registry.get_institution(session, row.member_institution_id)
    centre = registry.get_institution(session, row.centre_institution_id)
    patient = registry.find_patient(session, row.patient_id)
    study = ImagingInput(
        study_uid=result.study_uid,
        id_number=patient.id_number,
        sender_code=member.code,
        modality=item.modality,
        body_part=item.body_part,
        started=result.observed_at,
        report_text=f"检查所见：{row.findings}\n诊断意见：{row.conclusion}\n（{centre.name}共享诊断中心出具）",
        status=ResultStatus.FINAL,
        local_code=result.local_code,
    )
    results.ingest(
        session,
        channel="dicom",
        sender=member.code,
        message_id=f"{result.study_uid}:reading-{row.id}",  # the same study, a new delivery (its report)
        results=[to_incoming(study)],
    )


# ---------------------------------------------------------------- indicators (医联体运行指标)

STATS_MAX_DAYS = 366


def _month(at: datetime) -> str:
    return local_time(at).strftime("%Y-%m")


def _minutes(a: datetime, b: datetime) -> int:
    return max(0, int((b.replace(tzinfo=None) - a.replace(tzinfo=None)).total_seconds() // 60))


def indicator_rows(
    session: Session, start: date, end: date, network_ids: Sequence[int] | None = None
) -> list[stats.IndicatorRow]:
    """Bulk read (for analytics too): the indicators of every member of these alliances (all when None)
    for each month from ``start`` to ``end`` — referrals up and down (attributed to the member, not the
    lead), acceptance time, referral places kept and used (at the lead), outpatient visits and those at
    grassroots members, sitting days and patients, readings reported back and their turnaround."""
    networks = [n for n in repo.networks(session) if network_ids is None or n.id in network_ids]
    ids = [n.id for n in networks]
    if not ids:
        return []
    member_rows = repo.all_members(session, ids)
    insts = registry.institutions_by_ids(session, sorted({m.institution_id for m in member_rows}))
    acc: dict[tuple[int, int, str], stats.IndicatorRow] = {}
    for n in networks:
        for m in member_rows:
            if m.network_id != n.id:
                continue
            inst = insts[m.institution_id]
            for month in stats.months(start, end):
                acc[(n.id, inst.id, month)] = stats.IndicatorRow(
                    month,
                    n.id,
                    n.name,
                    inst.id,
                    inst.short_name or inst.name,
                    inst.id == n.lead_institution_id,
                    InstitutionCategory(inst.category).is_grassroots,
                )
    lo = local_datetime(start, time.min)
    hi = local_datetime(end + timedelta(days=1), time.min)

    def bump(network_id: int, inst_id: int, month: str, **counts: int) -> None:
        row = acc.get((network_id, inst_id, month))
        if row is not None:
            acc[(network_id, inst_id, month)] = stats.add(row, **counts)

    for net, direction, state, frm, to, requested, answered in repo.referral_facts(session, ids, lo, hi):
        member = frm if direction == Direction.UP.value else to
        ok = state not in (State.REQUESTED.value, State.REFUSED.value)
        bump(
            net,
            member,
            _month(requested),
            up_referrals=int(direction == Direction.UP.value),
            down_referrals=int(direction == Direction.DOWN.value),
            accepted=int(ok),
            refused=int(state == State.REFUSED.value),
            answered=int(answered is not None),
            answer_minutes=_minutes(requested, answered) if answered is not None else 0,
        )
    leads = {
        n.lead_institution_id: [x.id for x in networks if x.lead_institution_id == n.lead_institution_id]
        for n in networks
    }
    for inst_id, day, held, used, released in repo.reserve_by_day(session, sorted(leads), start, end):
        for net in leads[inst_id]:
            month = day.strftime("%Y-%m")
            bump(net, inst_id, month, reserved_places=held, reserved_used=used, reserved_released=released)
    nets_of: dict[int, list[int]] = {}
    for m in member_rows:
        nets_of.setdefault(m.institution_id, []).append(m.network_id)
    for day, inst_id, _dept, count in outpatient.visit_counts(session, start, end):
        for net_id in nets_of.get(inst_id, []):
            grassroots = InstitutionCategory(insts[inst_id].category).is_grassroots
            bump(
                net_id,
                inst_id,
                day.strftime("%Y-%m"),
                visits=count,
                grassroots_visits=count if grassroots else 0,
            )
    for net, member, day, arrived, seen in repo.sitting_facts(session, ids, start, end):
        bump(net, member, day.strftime("%Y-%m"), sitting_days=int(arrived), sitting_patients=seen)
    for centre, member, _kind, queued, returned in repo.returned_readings(session, sorted(leads), lo, hi):
        for net in leads[centre]:
            bump(net, member, _month(returned), readings=1, reading_minutes=_minutes(queued, returned))
    return [acc[k] for k in sorted(acc, key=lambda k: (k[0], k[2], not acc[k].is_lead, acc[k].institution))]


def referral_counts(
    session: Session, start: date, end: date
) -> list[tuple[date, str, int, int, int | None, int]]:
    """Bulk read for analytics: (local day requested, direction, from, to, to department, referrals) of
    the referrals of every alliance requested on the days [start, end], whatever their state — as
    :func:`indicator_rows` counts 上转 (at the member sending) and 下转 (at the member receiving)."""
    lo = local_datetime(start, time.min)
    hi = local_datetime(end + timedelta(days=1), time.min)
    acc: dict[tuple[date, str, int, int, int | None], int] = {}
    for direction, frm, to, dept, requested, n in repo.referral_requests(session, lo, hi):
        key = (local_time(requested).date(), direction, frm, to, dept)
        acc[key] = acc.get(key, 0) + n
    return [(*k, n) for k, n in acc.items()]


def sitting_day_counts(session: Session, start: date, end: date) -> list[tuple[date, int, int, int]]:
    """Bulk read for analytics: (day, member institution, member department, sitting days — days an
    expert came, 坐诊天数) of every alliance's postings on the days [start, end]."""
    return repo.sitting_day_counts(session, start, end)


@dataclass(frozen=True)
class Indicators:
    network: Network
    start: date
    end: date
    rows: list[stats.IndicatorRow]  # each member by month
    totals: list[stats.IndicatorRow]  # the alliance by month


def indicators(session: Session, actor: Actor, network_id: int, start: date, end: date) -> Indicators:
    """An alliance's indicators for the alliance administrator, the platform's statistics and the staff
    of its lead institution."""
    network = get_network(session, network_id)
    if not (
        actor.has(Permission.ALLIANCE_STATS)
        or actor.has(Permission.ALLIANCE_MANAGE)
        or (
            actor.is_staff
            and actor.serves(network.lead_institution_id)
            and actor.has(Permission.REFERRAL_DESK)
        )
    ):
        raise Forbidden("无权查看医联体统计")
    if end < start:
        raise InvalidNetwork("统计结束日期不能早于开始日期")
    if (end - start).days > STATS_MAX_DAYS:
        raise InvalidNetwork(f"一次最多统计 {STATS_MAX_DAYS} 天")
    rows = indicator_rows(session, start, end, [network.id])
    return Indicators(network, start, end, rows, stats.totals(rows))


def indicators_xlsx(session: Session, actor: Actor, network_id: int, start: date, end: date) -> bytes:
    ind = indicators(session, actor, network_id, start, end)
    title = f"{ind.network.name} 运行指标 {start.isoformat()} 至 {end.isoformat()}"
    return stats.to_xlsx(title, ind.totals, ind.rows)
