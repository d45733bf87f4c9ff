"""Pure rules of inpatient care (docs/domain.md §8): bed states, the bed office's ranking of free beds
(床位调配), the pre-admission window (预住院) and the bed-use indicators.

Terms: one hospital-wide bed pool (全院一张床) — every bed belongs to the hospital and the bed office
(床位办) allocates it; a bed used by another department than its owner is a borrowed bed (借床) and
returns to its owner when the patient leaves; emergency-reserved beds (应急床位) of high-emergency
departments are held back for emergency admissions; discharge disposition (离院方式) 1–5 as in the
discharge abstract (病案首页).
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum


class BedState(StrEnum):
    FREE = "free"
    RESERVED = "reserved"
    OCCUPIED = "occupied"
    CLEANING = "cleaning"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return {
            "free": "空闲",
            "reserved": "预约",
            "occupied": "占用",
            "cleaning": "待清洁",
            "closed": "停用",
        }[self.value]


class Severity(StrEnum):
    MILD = "mild"
    SEVERE = "severe"
    CRITICAL = "critical"

    @property
    def label(self) -> str:
        return {"mild": "轻症", "severe": "重症", "critical": "危重"}[self.value]


class Isolation(StrEnum):
    """The isolation a patient needs; rooms offer ``isolation`` or ``negative_pressure``."""

    NONE = "none"
    CONTACT = "contact"
    AIRBORNE = "airborne"

    @property
    def label(self) -> str:
        return {"none": "无需隔离", "contact": "接触隔离", "airborne": "空气隔离"}[self.value]


class AdmissionSource(StrEnum):
    CLINIC = "clinic"
    EMERGENCY = "emergency"
    PREADMISSION = "preadmission"
    REFERRAL = "referral"

    @property
    def label(self) -> str:
        return {"clinic": "门诊", "emergency": "急诊", "preadmission": "预住院", "referral": "转诊"}[
            self.value
        ]


class RequestStatus(StrEnum):
    """A bed request (住院申请) waits, holds a reserved bed, ends in an admission or is cancelled."""

    WAITING = "waiting"
    ASSIGNED = "assigned"
    ADMITTED = "admitted"
    CANCELLED = "cancelled"


class PreAdmissionStatus(StrEnum):
    OPEN = "open"
    ADMITTED = "admitted"
    CANCELLED = "cancelled"


class AdmissionStatus(StrEnum):
    """In hospital, discharged (bill not yet settled), or discharged and settled."""

    ADMITTED = "admitted"
    DISCHARGED = "discharged"
    SETTLED = "settled"


class MovementKind(StrEnum):
    ADMIT = "admit"
    TRANSFER = "transfer"
    DISCHARGE = "discharge"


class DepositKind(StrEnum):
    PAY = "pay"
    REFUND = "refund"


class ChargeKind(StrEnum):
    BED = "bed"
    NURSING = "nursing"
    ORDER = "order"
    PREADMISSION = "preadmission"


class ChargeStatus(StrEnum):
    OPEN = "open"
    SETTLED = "settled"
    VOID = "void"


class SettlementStatus(StrEnum):
    SETTLED = "settled"
    ARREARS = "arrears"
    REVERSED = "reversed"


class AbstractStatus(StrEnum):
    """A discharge abstract (病案首页) is a draft until a doctor signs it."""

    DRAFT = "draft"
    SIGNED = "signed"


class RoomKind(StrEnum):
    ORDINARY = ""
    ISOLATION = "isolation"
    NEGATIVE_PRESSURE = "negative_pressure"


DISPOSITIONS = {
    1: "医嘱离院",
    2: "医嘱转院",
    3: "医嘱转社区卫生服务机构/乡镇卫生院",
    4: "非医嘱离院",
    5: "死亡",
}
ROOM_KINDS: dict[str, str] = {
    RoomKind.ORDINARY: "普通病房",
    RoomKind.ISOLATION: "隔离病房",
    RoomKind.NEGATIVE_PRESSURE: "负压病房",
}
# how a patient can move in an evacuation (set by the nurse; the evacuation area plans by it)
MOBILITIES = {
    "ambulatory": "可自行行走",
    "wheelchair": "轮椅",
    "bedridden": "卧床",
    "life_support": "生命支持",
}
SEX_LABELS = {"M": "男", "F": "女", "": "不限"}
RELATION_KINDS = {"own": "本专科", "related": "相关专科", "nearby": "邻近病区", "other": "其他病区"}
_RELATION_ORDER = {"own": 0, "related": 1, "nearby": 2, "other": 3}


@dataclass(frozen=True)
class AllocationPolicy:
    """The bed office's policy values (docs/domain.md §8; every one configurable per institution)."""

    severe_stays_in_specialty: bool = True
    mild_may_use_other_wards: bool = True
    reserve_for_emergency_only: bool = True


@dataclass(frozen=True)
class AllocationRequest:
    """What the bed office knows of a patient waiting for a bed."""

    department_id: int
    severity: Severity
    sex: str  # "M" | "F"
    isolation: Isolation
    emergency: bool = False


@dataclass(frozen=True)
class Candidate:
    """A free bed with what the ranking needs; ``relation`` is the ward's relation to the department."""

    bed_id: int
    bed_code: str
    ward_id: int
    ward_name: str
    room_code: str
    relation: str  # own | related | nearby | other
    relation_rank: int
    room_kind: str  # "" | isolation | negative_pressure
    room_sex: str  # the room's sex now: fixed by the room or by its occupants; "" = either
    room_infection: str  # the isolation need of a patient already in the room ("" = none)
    monitored: bool
    emergency_reserved: bool
    floor: int = 0


@dataclass(frozen=True)
class Suggestion:
    bed_id: int
    bed_code: str
    ward_id: int
    ward_name: str
    room_code: str
    relation: str
    borrowed: bool
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Ranking:
    """The suggested beds, best first, and how many free beds each rule held back (with why)."""

    suggestions: tuple[Suggestion, ...]
    held_back: dict[str, int] = field(default_factory=dict)


def exclusion(request: AllocationRequest, bed: Candidate, policy: AllocationPolicy) -> str | None:
    """Why ``bed`` may not be given to the patient (Chinese), or None when it may."""
    if bed.emergency_reserved and policy.reserve_for_emergency_only and not request.emergency:
        return "应急预留床位，仅用于急诊收治"
    if bed.room_sex and bed.room_sex != request.sex:
        return "病房性别不符"
    if request.isolation == Isolation.AIRBORNE and bed.room_kind != RoomKind.NEGATIVE_PRESSURE:
        return "空气隔离患者须住负压病房"
    if request.isolation == Isolation.CONTACT and bed.room_kind == RoomKind.ORDINARY:
        return "接触隔离患者须住隔离病房"
    if bed.room_infection and bed.room_infection != request.isolation.value:
        return "感染隔离：同室已有需隔离的患者"
    if request.isolation == Isolation.NONE and bed.room_kind == RoomKind.NEGATIVE_PRESSURE:
        return "负压病房留给空气隔离患者"
    if bed.relation != "own" and request.severity != Severity.MILD and policy.severe_stays_in_specialty:
        return "重症患者须收治在本专科病区"
    if bed.relation == "other" and not policy.mild_may_use_other_wards:
        return "非本专科、相关专科或邻近病区"
    return None


def _reasons(request: AllocationRequest, bed: Candidate) -> tuple[str, ...]:
    out = []
    if bed.relation == "own":
        out.append(f"本专科病区（{bed.ward_name}）")
    elif bed.relation == "related":
        out.append(f"本专科病区已满或次选：相关专科病区（{bed.ward_name}），借床，出院后归还")
    elif bed.relation == "nearby":
        out.append(f"邻近病区（{bed.ward_name}），借床，出院后归还")
    else:
        out.append(f"轻症患者可跨专科收治（{bed.ward_name}），借床，出院后归还")
    if request.isolation != Isolation.NONE:
        out.append(f"{request.isolation.label}：{ROOM_KINDS[bed.room_kind]}")
    if bed.room_sex:
        out.append(f"{SEX_LABELS[bed.room_sex]}病房")
    if bed.monitored and request.severity == Severity.CRITICAL:
        out.append("监护床位，适合危重患者")
    if bed.emergency_reserved:
        out.append("急诊收治，启用应急预留床位")
    return tuple(out)


def _key(request: AllocationRequest, bed: Candidate) -> tuple[int, int, int, int, int, str]:
    wasted_isolation = int(request.isolation == Isolation.NONE and bed.room_kind != RoomKind.ORDINARY)
    monitor_fit = int(request.severity == Severity.CRITICAL and not bed.monitored) - int(
        request.severity == Severity.MILD and not bed.monitored
    )
    return (
        _RELATION_ORDER[bed.relation],
        bed.relation_rank,
        wasted_isolation,
        monitor_fit,
        int(bed.emergency_reserved),
        f"{bed.floor:04d}{bed.ward_id:08d}{bed.bed_code}",
    )


def rank_beds(
    request: AllocationRequest,
    candidates: Iterable[Candidate],
    policy: AllocationPolicy = AllocationPolicy(),
    *,
    limit: int = 10,
) -> Ranking:
    """Rank the free beds for a request: own specialty, then related, then nearby wards (in the
    admin's order), then others for mild patients; each with its reasons; the rest held back."""
    held: dict[str, int] = {}
    fit: list[Candidate] = []
    for bed in candidates:
        why = exclusion(request, bed, policy)
        if why is None:
            fit.append(bed)
        else:
            held[why] = held.get(why, 0) + 1
    best = heapq.nsmallest(limit, fit, key=lambda b: _key(request, b))  # = sorted(...)[:limit]
    return Ranking(
        suggestions=tuple(
            Suggestion(
                bed_id=b.bed_id,
                bed_code=b.bed_code,
                ward_id=b.ward_id,
                ward_name=b.ward_name,
                room_code=b.room_code,
                relation=b.relation,
                borrowed=b.relation != "own",
                reasons=_reasons(request, b),
            )
            for b in best
        ),
        held_back=held,
    )


# ---------------------------------------------------------------- pre-admission (预住院)


@dataclass(frozen=True)
class PreAdmissionPolicy:
    window_days: int = 5
    window_days_approved: int = 7


def within_window(registered: date, admitted: date, approved: bool, policy: PreAdmissionPolicy) -> bool:
    """Whether an admission on ``admitted`` still takes over the pre-admission charges: day 1 is the
    registration day, so a 5-day window runs through registration + 4 days (7 with approval)."""
    days = policy.window_days_approved if approved else policy.window_days
    return registered <= admitted <= registered + timedelta(days=days - 1)


# ---------------------------------------------------------------- indicators


@dataclass(frozen=True)
class Stay:
    """One admission as the indicators see it; ``discharged`` None = still in hospital."""

    admitted: date
    discharged: date | None
    borrowed: bool = False
    preadmission: bool = False
    wait_hours: float | None = None
    saved_days: int = 0


def bed_days(admitted: date, discharged: date | None, start: date, end: date) -> int:
    """Occupied bed-days of a stay inside ``[start, end]``, counted at midnight (the day of admission
    counts, the day of discharge does not; a same-day stay counts one)."""
    last = (discharged - timedelta(days=1)) if discharged is not None else end
    if discharged is not None and discharged == admitted:
        last = admitted
    lo, hi = max(admitted, start), min(last, end)
    return max(0, (hi - lo).days + 1)


def length_of_stay(admitted: date, discharged: date) -> int:
    """A discharged patient's bed-days (住院天数): at least one."""
    return max(1, (discharged - admitted).days)


@dataclass(frozen=True)
class Indicators:
    start: date
    end: date
    open_beds: int
    open_bed_days: int
    occupied_bed_days: int
    admissions: int
    discharges: int
    discharged_bed_days: int
    borrowed: int
    preadmission_admissions: int
    preadmission_days_saved: int
    average_wait_hours: float | None

    @property
    def occupancy(self) -> float:
        """病床使用率 = occupied bed-days / open bed-days."""
        return self.occupied_bed_days / self.open_bed_days if self.open_bed_days else 0.0

    @property
    def turnover(self) -> float:
        """病床周转次数 = discharges / average open beds."""
        return self.discharges / self.open_beds if self.open_beds else 0.0

    @property
    def average_length_of_stay(self) -> float:
        """平均住院日 = discharged patients' bed-days / discharges."""
        return self.discharged_bed_days / self.discharges if self.discharges else 0.0


def indicators(stays: Sequence[Stay], open_beds: int, start: date, end: date) -> Indicators:
    """The bed-use indicators of a set of stays over ``[start, end]`` with ``open_beds`` open beds."""
    days = (end - start).days + 1
    discharged = [s for s in stays if s.discharged is not None and start <= s.discharged <= end]
    admitted = [s for s in stays if start <= s.admitted <= end]
    waits = [s.wait_hours for s in admitted if s.wait_hours is not None]
    return Indicators(
        start=start,
        end=end,
        open_beds=open_beds,
        open_bed_days=open_beds * days,
        occupied_bed_days=sum(bed_days(s.admitted, s.discharged, start, end) for s in stays),
        admissions=len(admitted),
        discharges=len(discharged),
        discharged_bed_days=sum(length_of_stay(s.admitted, s.discharged) for s in discharged if s.discharged),
        borrowed=sum(1 for s in admitted if s.borrowed),
        preadmission_admissions=sum(1 for s in admitted if s.preadmission),
        preadmission_days_saved=sum(s.saved_days for s in admitted if s.preadmission),
        average_wait_hours=round(sum(waits) / len(waits), 1) if waits else None,
    )


# ---------------------------------------------------------------- discharge abstract (病案首页)

_PROCEDURE = re.compile(r"^\d{2}(\.\d{1,2}(\d{2})?)?(x\d{3})?$")
_MALE_ONLY = (
    "N40",
    "N41",
    "N42",
    "N43",
    "N44",
    "N45",
    "N46",
    "N47",
    "N48",
    "N49",
    "N50",
    "N51",
    "C60",
    "C61",
    "C62",
    "C63",
)
_FEMALE_ONLY = (
    "O",
    "N70",
    "N71",
    "N72",
    "N73",
    "N74",
    "N75",
    "N76",
    "N77",
    "N8",
    "N9",
    "C51",
    "C52",
    "C53",
    "C54",
    "C55",
    "C56",
    "C57",
    "C58",
)


def procedure_code_ok(code: str) -> bool:
    """Whether ``code`` has the ICD-9-CM-3 (医保版) shape: ``36.06``, ``36.0601``, ``99.0400x001``."""
    return bool(_PROCEDURE.match(code or ""))


@dataclass(frozen=True)
class AbstractRecord:
    """A discharge abstract as other areas read it (drg groups it); sex 1 male, 2 female."""

    admission_id: int
    institution_id: int
    department_id: int
    department: str
    principal_dx: str
    other_dx: tuple[str, ...]
    procedures: tuple[str, ...]  # principal procedure first
    procedure_dates: tuple[date | None, ...]
    sex: int
    age_years: int
    age_days: int
    birth_weight_g: int | None
    admission_date: date
    discharge_date: date | None
    los_days: int | None
    disposition: str
    ventilation_hours: int
    total_cost_fen: int
    signed: bool


def quality_problems(record: AbstractRecord, unknown_codes: Sequence[str] = ()) -> list[str]:
    """What stops an abstract from being signed off (Chinese messages for the coder); empty = fine."""
    problems: list[str] = []
    if not record.principal_dx:
        problems.append("缺少主要诊断")
    for code in unknown_codes:
        problems.append(f"编码不在医保版编码库中：{code}")
    codes = [c for c in (record.principal_dx, *record.other_dx) if c]
    if len(set(codes)) != len(codes):
        problems.append("诊断编码重复")
    for code in codes:
        if record.sex == 2 and code.startswith(_MALE_ONLY):
            problems.append(f"性别冲突：{code} 仅适用于男性")
        if record.sex == 1 and code.startswith(_FEMALE_ONLY):
            problems.append(f"性别冲突：{code} 仅适用于女性")
        if code.startswith("P") and record.age_years >= 1:
            problems.append(f"年龄冲突：{code} 为新生儿/围生期诊断，患者 {record.age_years} 岁")
    for code in record.procedures:
        if not procedure_code_ok(code):
            problems.append(f"手术操作编码格式不符合 ICD-9-CM-3 医保版：{code}")
    end = record.discharge_date
    for code, when in zip(record.procedures, record.procedure_dates, strict=False):
        if when is not None and (when < record.admission_date or (end is not None and when > end)):
            problems.append(f"手术操作 {code} 的日期 {when.isoformat()} 不在住院期间")
    if record.age_days < 28 and record.birth_weight_g is None:
        problems.append("新生儿须填写出生体重")
    if record.ventilation_hours < 0:
        problems.append("呼吸机使用时间不能为负")
    return problems
