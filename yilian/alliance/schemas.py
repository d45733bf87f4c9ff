"""Request and response bodies of the alliance API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from yilian.alliance.domain import AllianceKind, ReferralKind
from yilian.kit.bounds import FIRST_DAY, LAST_DAY, Count, Id

Day = Annotated[date, Field(ge=FIRST_DAY, le=LAST_DAY)]
Percent = Annotated[int, Field(ge=0, le=100)]
Hours = Annotated[int, Field(ge=0, le=24 * 14)]


class NetworkCreate(BaseModel):
    name: str = Field(min_length=2, max_length=100, description="医联体名称")
    kind: AllianceKind = Field(description="city 城市医联体 / county 县域医共体 / specialty 专科联盟")
    lead_institution_id: Id = Field(description="牵头医院")


class NetworkRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    kind: str
    lead_institution_id: int
    created_at: datetime


class NetworkUpdate(BaseModel):
    name: str = Field(min_length=2, max_length=100, description="医联体名称")
    kind: AllianceKind = Field(description="city 城市医联体 / county 县域医共体 / specialty 专科联盟")
    lead_institution_id: Id = Field(description="牵头医院（须是成员）")


class MemberAdd(BaseModel):
    institution_id: Id
    joined_on: Day | None = None


class MemberRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    network_id: int
    institution_id: int
    joined_on: date


class PairingCreate(BaseModel):
    senior_institution_id: Id = Field(description="帮扶医院")
    member_institution_id: Id = Field(description="受援机构")
    start: Day
    end: Day
    goals: str = Field(default="", max_length=2000, description="帮扶目标（一院一策）")


class PairingUpdate(BaseModel):
    start: Day
    end: Day
    goals: str = Field(default="", max_length=2000, description="帮扶目标（一院一策）")


class PairingRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    network_id: int
    senior_institution_id: int
    member_institution_id: int
    start: date
    end: date
    goals: str


class ReservePolicySet(BaseModel):
    reserve_percent: Percent = Field(description="专科门诊为转诊预留的号源比例（%）")
    release_hours: Hours = Field(description="预留号源在就诊前多少小时放给公众")


class ReservePolicyRead(BaseModel):
    department_id: int
    reserve_percent: int
    release_hours: int


class ReferralCreate(BaseModel):
    patient_id: Id
    kind: ReferralKind = Field(
        description="outpatient 专科门诊 / admission 住院（上转）；rehabilitation / chronic（下转）"
    )
    to_institution_id: Id = Field(description="接收机构（须在同一医联体）")
    to_department_id: Id | None = Field(default=None, description="接收科室（上转门诊必填）")
    diagnosis_code: str = Field(default="", max_length=16, description="ICD-10")
    diagnosis: str = Field(min_length=1, max_length=200, description="初步诊断")
    reason: str = Field(min_length=1, max_length=500, description="转诊原因")
    summary: str = Field(default="", max_length=5000, description="病情摘要")
    care_plan: str = Field(default="", max_length=5000, description="康复/随访方案（下转必填）")
    follow_up_dates: list[Day] = Field(
        default_factory=list, max_length=24, description="随访日期（下转必填）"
    )


class RefuseBody(BaseModel):
    reason: str = Field(min_length=2, max_length=200, description="拒绝原因")


class BookBody(BaseModel):
    slot_id: Id = Field(description="号源时段（优先用转诊预留号）")


class BedBody(BaseModel):
    department_id: Id | None = Field(default=None, description="收治科室（转诊单未指定科室时必填）")
    expected_on: date | None = Field(default=None, ge=FIRST_DAY, le=LAST_DAY, description="预计入院日期")
    severe: bool = Field(default=False, description="重症")
    note: str = Field(default="", max_length=200)


class ReferBackBody(BaseModel):
    kind: ReferralKind = Field(
        default=ReferralKind.REHABILITATION, description="rehabilitation 康复 / chronic 慢病随访"
    )
    diagnosis: str = Field(default="", max_length=200, description="出院/门诊诊断（空则沿用）")
    summary: str = Field(default="", max_length=5000, description="诊疗经过")
    care_plan: str = Field(min_length=1, max_length=5000, description="康复/随访方案")
    follow_up_dates: list[Day] = Field(default_factory=list, max_length=24)


class NoteBody(BaseModel):
    note: str = Field(default="", max_length=500)


class ReferralStepRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    state: str
    at: datetime
    by: str
    note: str


class ReferralRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    network_id: int
    direction: str
    kind: str
    state: str
    state_label: str = ""
    patient_id: int
    from_institution_id: int
    from_practitioner_id: int | None
    to_institution_id: int
    to_department_id: int | None
    to_practitioner_id: int | None
    diagnosis_code: str
    diagnosis: str
    reason: str
    summary: str
    care_plan: str
    follow_up_dates: str
    refuse_reason: str
    parent_id: int | None
    booking_id: int | None
    booked_day: date | None
    used_reserve: bool
    bed_request_id: int | None
    requested_at: datetime
    answer_due_at: datetime
    answered_at: datetime | None
    arrived_at: datetime | None
    ended_at: datetime | None
    access_until: datetime | None


class ReferralDetail(ReferralRead):
    steps: list[ReferralStepRead] = []


class ReserveRunRead(BaseModel):
    reserved_slots: Count
    reserved_places: Count
    released_places: Count


class PostingCreate(BaseModel):
    practitioner_id: Id = Field(description="派驻专家（牵头医院医生）")
    member_institution_id: Id = Field(description="坐诊的成员机构")
    member_department_id: Id = Field(description="坐诊科室（成员机构的科室）")
    start: Day
    end: Day
    weekdays: list[Annotated[int, Field(ge=0, le=6)]] = Field(
        min_length=1, max_length=7, description="0=周一 … 6=周日"
    )
    period: str = Field(default="am", pattern="^(am|pm|night)$")
    clinic_type: str = Field(default="expert", pattern="^(ordinary|expert|special)$")


class PostingRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    network_id: int
    practitioner_id: int
    member_institution_id: int
    member_department_id: int
    start: date
    end: date
    weekdays: str
    period: str
    clinic_type: str


class SittingRecord(BaseModel):
    arrived: bool = True
    patients_seen: Count = 0
    teaching_rounds: Count = 0
    consultations: Count = 0


class SittingRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    posting_id: int
    day: date
    schedule_id: int | None
    arrived: bool
    patients_seen: int
    teaching_rounds: int
    consultations: int


class SittingCountRead(BaseModel):
    month: str
    practitioner_id: int
    member_institution_id: int
    postings: int
    sitting_days: int
    scheduled_days: int
    patients_seen: int
    teaching_rounds: int
    consultations: int


class ReadingQueue(BaseModel):
    result_id: Id = Field(description="结果登记中的影像检查（报告待出）")


class ReadingReport(BaseModel):
    findings: str = Field(min_length=1, max_length=5000, description="检查所见")
    conclusion: str = Field(min_length=1, max_length=500, description="诊断意见")


class ReadingRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    centre_institution_id: int
    member_institution_id: int
    patient_id: int
    result_id: int
    kind: str
    title: str
    state: str
    needs_verify: bool
    queued_at: datetime
    reader: str
    claimed_at: datetime | None
    findings: str
    conclusion: str
    reported_at: datetime | None
    verifier: str
    verified_at: datetime | None


class IndicatorRowRead(BaseModel):
    """One member (or the whole alliance: institution_id 0) in one month."""

    month: str
    network_id: int
    institution_id: int
    institution: str
    is_lead: bool
    grassroots: bool
    up_referrals: int
    down_referrals: int
    accepted: int
    refused: int
    acceptance_hours: float | None = Field(description="平均接收用时（小时）")
    reserved_places: int
    reserved_used: int
    reserve_use_rate: float | None = Field(description="转诊预留号使用率")
    visits: int
    grassroots_visits: int
    grassroots_share: float | None = Field(description="基层就诊率")
    sitting_days: int
    sitting_patients: int
    readings: int
    reading_hours: float | None = Field(description="平均阅片周转（小时）")


class IndicatorsRead(BaseModel):
    network_id: int
    start: date
    end: date
    totals: list[IndicatorRowRead]
    rows: list[IndicatorRowRead]
