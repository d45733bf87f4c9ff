"""Alliance work, pure rules: alliances (医联体) and pairings (结对帮扶), two-way referral (双向转诊) with its
state machine, the referral share of specialist clinics (转诊预留号源), expert sittings (专家下沉坐诊) and
shared reading centres (共享诊断中心).

Defaults follow docs/domain.md §13: 20 % of each specialist session is kept for up-referrals and released
24 h before it; a referral is answered within 24 h (reminder at 12 h); an accepted referral gives the
receiving doctor read access for 30 days; a down-referral carries a care plan with follow-up dates.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, timedelta


class AllianceKind(enum.StrEnum):
    CITY = "city"  # 城市医疗集团
    COUNTY = "county"  # 县域医共体
    SPECIALTY = "specialty"  # 专科联盟

    @property
    def label(self) -> str:
        return {"city": "城市医联体", "county": "县域医共体", "specialty": "专科联盟"}[self.value]


class Direction(enum.StrEnum):
    UP = "up"  # 上转: from a member to the lead
    DOWN = "down"  # 下转: back to the grassroots for rehabilitation and chronic follow-up

    @property
    def label(self) -> str:
        return {"up": "上转", "down": "下转"}[self.value]


class ReferralKind(enum.StrEnum):
    OUTPATIENT = "outpatient"  # 专科门诊
    ADMISSION = "admission"  # 住院
    REHABILITATION = "rehabilitation"  # 康复
    CHRONIC = "chronic"  # 慢病随访

    @property
    def label(self) -> str:
        return REFERRAL_KIND_LABELS[self.value]

    @property
    def direction(self) -> Direction:
        return Direction.UP if self in (ReferralKind.OUTPATIENT, ReferralKind.ADMISSION) else Direction.DOWN


REFERRAL_KIND_LABELS = {
    "outpatient": "专科门诊",
    "admission": "住院治疗",
    "rehabilitation": "康复治疗",
    "chronic": "慢病随访",
}


class State(enum.StrEnum):
    REQUESTED = "requested"
    ACCEPTED = "accepted"
    REFUSED = "refused"
    BOOKED = "booked"
    ARRIVED = "arrived"
    RETURNED = "returned"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return STATE_LABELS[self.value]

    @property
    def final(self) -> bool:
        return self in (State.REFUSED, State.RETURNED, State.CLOSED)


STATE_LABELS = {
    "requested": "申请",
    "accepted": "已接收",
    "refused": "已拒绝",
    "booked": "已预约",
    "arrived": "已到诊",
    "returned": "已转回",
    "closed": "已结束",
}

TRANSITIONS: dict[State, frozenset[State]] = {
    State.REQUESTED: frozenset({State.ACCEPTED, State.REFUSED}),
    State.ACCEPTED: frozenset({State.BOOKED, State.ARRIVED, State.CLOSED}),
    State.BOOKED: frozenset({State.ARRIVED, State.CLOSED}),
    State.ARRIVED: frozenset({State.RETURNED, State.CLOSED}),
    State.REFUSED: frozenset(),
    State.RETURNED: frozenset(),
    State.CLOSED: frozenset(),
}


def can_move(current: State, target: State) -> bool:
    """Tell whether a referral in ``current`` may move to ``target``."""
    return target in TRANSITIONS[current]


def refusal_text(current: State, target: State) -> str:
    """The Chinese reason a move is refused."""
    return f"转诊单当前为「{current.label}」，不能改为「{target.label}」"


@dataclass(frozen=True)
class Policy:
    """Alliance policy values (docs/domain.md §13)."""

    reserve_percent: int = 20  # share of each specialist session kept for up-referrals
    release_hours: int = 24  # the reserve goes to the public this long before the slot
    answer_hours: int = 24  # a referral is answered within
    remind_hours: int = 12  # reminder to the receiving side after
    access_days: int = 30  # read access of the receiving doctor
    clinic_horizon_days: int = 14  # a department "has a clinic" with an open schedule this soon


DEFAULT_POLICY = Policy()
RESERVED_CLINIC_TYPES = ("ordinary", "expert", "special")


def reserve_split(capacities: list[int], percent: int) -> list[int]:
    """Places to keep per slot for referrals: ``percent`` of the session's places (rounded half up),
    spread one by one over the slots from the first, never more than a slot holds."""
    if percent <= 0 or not capacities:
        return [0] * len(capacities)
    total = min((sum(capacities) * percent + 50) // 100, sum(capacities))
    split = [0] * len(capacities)
    while total > 0:
        moved = False
        for i, cap in enumerate(capacities):
            if total and split[i] < cap:
                split[i] += 1
                total -= 1
                moved = True
        if not moved:
            break
    return split


def release_at(slot_start: datetime, release_hours: int) -> datetime:
    """When a reserved place goes back to the public."""
    return slot_start - timedelta(hours=release_hours)


def answer_due(requested_at: datetime, policy: Policy) -> datetime:
    return requested_at + timedelta(hours=policy.answer_hours)


def remind_at(requested_at: datetime, policy: Policy) -> datetime:
    return requested_at + timedelta(hours=policy.remind_hours)


def check_care_plan(
    kind: ReferralKind, care_plan: str, follow_up_dates: list[date], today: date
) -> str | None:
    """The Chinese reason a down-referral's care plan is refused, or None."""
    if kind.direction is not Direction.DOWN:
        return None
    if len(care_plan.strip()) < 4:
        return "下转须附康复/随访方案（至少 4 个字）"
    if not follow_up_dates:
        return "下转须给出至少一个随访日期"
    if any(d < today for d in follow_up_dates):
        return "随访日期不能早于今天"
    return None


# ---------------------------------------------------------------- expert sittings (专家坐诊)

WEEKDAY_LABELS = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")


def sitting_days(start: date, end: date, weekdays: set[int]) -> list[date]:
    """The days of a posting: every day from ``start`` to ``end`` whose weekday (0 = Monday) is listed."""
    out = []
    d = start
    while d <= end:
        if d.weekday() in weekdays:
            out.append(d)
        d += timedelta(days=1)
    return out


# ---------------------------------------------------------------- reading centres (共享诊断中心)


class StudyKind(enum.StrEnum):
    IMAGING = "imaging"
    ECG = "ecg"
    LAB = "lab"

    @property
    def label(self) -> str:
        return {"imaging": "影像", "ecg": "心电", "lab": "检验"}[self.value]


def study_kind(modality: str) -> StudyKind:
    """The reading kind of a results-registry study by its modality (DICOM ECG is an electrocardiogram)."""
    return StudyKind.ECG if modality == "ECG" else StudyKind.IMAGING


def needs_second_reader(kind: StudyKind) -> bool:
    """Imaging reports are verified by a second reader (双人阅片); an ECG report goes back as written."""
    return kind is StudyKind.IMAGING


class ReadingState(enum.StrEnum):
    QUEUED = "queued"
    CLAIMED = "claimed"
    REPORTED = "reported"
    VERIFIED = "verified"

    @property
    def label(self) -> str:
        return {"queued": "待阅片", "claimed": "阅片中", "reported": "已报告", "verified": "已审核"}[
            self.value
        ]


def turnaround_minutes(queued_at: datetime, reported_at: datetime) -> int:
    return max(0, int((reported_at - queued_at).total_seconds() // 60))


PERIOD_LABELS = {"am": "上午", "pm": "下午", "night": "夜间"}


# Report templates of the reading centre (阅片报告模板): (name, findings, conclusion); the reader edits them.
READING_TEMPLATES: tuple[tuple[str, str, str], ...] = (
    (
        "胸部 X 线 · 未见异常",
        "胸廓对称，气管居中。双肺纹理清晰，走行自然，未见实变及结节影。双肺门不大。心影大小形态正常。"
        "双膈面光整，肋膈角锐利。",
        "胸部正位片未见明显异常。",
    ),
    (
        "胸部 X 线 · 肺纹理增多",
        "双肺纹理增多、增粗，以中下肺野为著，未见明确实变影。心影不大。双膈面光整，肋膈角锐利。",
        "双肺纹理增多，考虑支气管炎性改变，请结合临床。",
    ),
    (
        "胸部 CT · 未见异常",
        "双肺野清晰，未见实变、结节及肿块影。气管及主支气管通畅。纵隔内未见肿大淋巴结。未见胸腔积液。",
        "胸部 CT 平扫未见明显异常。",
    ),
    (
        "胸部 CT · 肺结节",
        "右肺上叶见一磨玻璃密度结节，直径约  mm，边界清楚。余肺野未见实变。纵隔内未见肿大淋巴结。",
        "右肺上叶磨玻璃结节，建议 6–12 个月复查胸部 CT。",
    ),
    (
        "心电图 · 正常",
        "窦性心律，心率  次/分。P 波形态正常，PR 间期正常，QRS 波群形态、时限正常，ST-T 未见异常。",
        "窦性心律，正常心电图。",
    ),
    (
        "心电图 · ST-T 改变",
        "窦性心律，心率  次/分。PR 间期正常，QRS 波群时限正常，II、III、aVF、V4–V6 导联 ST 段水平型压低"
        "约 0.05–0.1 mV，T 波低平。",
        "窦性心律，ST-T 改变（下壁、前侧壁），请结合临床。",
    ),
    (
        "心电图 · 心房颤动",
        "P 波消失，代之以大小、形态不一的 f 波，RR 间期绝对不齐，平均心室率  次/分，QRS 波群形态正常。",
        "心房颤动，请结合临床。",
    ),
)


def templates_for(kind: str) -> tuple[tuple[str, str, str], ...]:
    """The report templates of a study kind (ECG templates for an ECG, the imaging ones otherwise)."""
    ecg = tuple(t for t in READING_TEMPLATES if t[0].startswith("心电图"))
    return ecg if kind == StudyKind.ECG.value else tuple(t for t in READING_TEMPLATES if t not in ecg)
