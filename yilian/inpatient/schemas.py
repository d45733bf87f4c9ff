"""API shapes of inpatient care (amounts in fen, integers)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from yilian.inpatient.domain import AdmissionSource, BedState, Isolation, Severity
from yilian.kit.bounds import MAX_BIG, Id, Int


class RoomCreate(BaseModel):
    code: str = Field(min_length=1, max_length=16)
    beds: int = Field(ge=1, le=20)
    sex: str = Field(default="", pattern="^(M|F)?$", description="M 男 / F 女 / 空 = 由入住患者决定")
    kind: str = Field(default="", pattern="^(isolation|negative_pressure)?$")
    monitored: bool = False


class WardCreate(BaseModel):
    institution_id: Id
    department_id: Id
    code: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=60)
    floor: int = Field(default=1, ge=-5, le=120)
    building: str = Field(default="", max_length=40)
    campus_id: Id | None = None
    rooms: list[RoomCreate] = Field(default_factory=list, max_length=200)
    emergency_reserved: int = Field(default=0, ge=0, le=10)


class WardRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    institution_id: int
    department_id: int
    code: str
    name: str
    building: str
    floor: int
    is_active: bool


class BedRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    ward_id: int
    room_id: int
    code: str
    owner_department_id: int
    using_department_id: int
    monitored: bool
    emergency_reserved: bool
    state: BedState
    request_id: int | None
    admission_id: int | None
    version: int
    changed_at: datetime


class BedEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    from_state: str
    to_state: str
    admission_id: int | None
    username: str
    reason: str


class BedStateChange(BaseModel):
    state: BedState
    reason: str = Field(default="", max_length=200)


class RelationCreate(BaseModel):
    department_id: Id
    ward_id: Id
    kind: str = Field(pattern="^(related|nearby)$")
    rank: int = Field(default=1, ge=1, le=99)


class BedRequestCreate(BaseModel):
    patient_id: Id
    department_id: Id
    severity: Severity = Severity.MILD
    isolation: Isolation = Isolation.NONE
    source: AdmissionSource = AdmissionSource.CLINIC
    expected_on: date | None = None
    preadmission_id: Id | None = None
    note: str = Field(default="", max_length=200)


class BedRequestRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    institution_id: int
    patient_id: int
    department_id: int
    severity: Severity
    isolation: Isolation
    source: AdmissionSource
    emergency: bool
    expected_on: date
    preadmission_id: int | None
    status: str
    bed_id: int | None
    requested_at: datetime
    assigned_at: datetime | None


class SuggestionRead(BaseModel):
    bed_id: int
    bed_code: str
    ward_id: int
    ward_name: str
    room_code: str
    relation: str
    borrowed: bool
    reasons: list[str]


class RankingRead(BaseModel):
    suggestions: list[SuggestionRead]
    held_back: dict[str, int]


class AssignBody(BaseModel):
    bed_id: Id


class DepositBody(BaseModel):
    amount: int = Field(gt=0, le=MAX_BIG, description="分")
    channel: str = Field(default="wechat")
    idempotency_key: str = Field(min_length=1, max_length=100)
    payer_ref: str = Field(default="", max_length=100)


class AdmissionCreate(BaseModel):
    patient_id: Id
    department_id: Id
    bed_id: Id
    source: AdmissionSource = AdmissionSource.CLINIC
    severity: Severity = Severity.MILD
    isolation: Isolation = Isolation.NONE
    request_id: Id | None = None
    preadmission_id: Id | None = None
    practitioner_id: Id | None = None
    deposit: DepositBody | None = None
    waive_deposit: bool = Field(default=False, description="免押金住院（符合信用就医条件）")


class AdmissionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    number: str
    institution_id: int
    patient_id: int
    department_id: int
    ward_id: int
    bed_id: int | None
    source: AdmissionSource
    severity: Severity
    borrowed: bool
    status: str
    deposit_waived: bool
    admitted_on: date
    admitted_at: datetime
    discharged_on: date | None
    disposition: int | None
    preadmission_id: int | None


class TransferBody(BaseModel):
    to_bed_id: Id
    department_id: Id | None = None
    reason: str = Field(default="", max_length=200)


class DischargeBody(BaseModel):
    disposition: int = Field(ge=1, le=9, description="离院方式 1–5")
    discharged_on: date | None = None


class OrderBody(BaseModel):
    item_code: str = Field(min_length=3, max_length=32)
    quantity: int = Field(default=1, ge=1, le=999)


class AuditFindingRead(BaseModel):
    """A finding of the smart insurance audit's pre-check on an inpatient order (医保事前审核)."""

    model_config = ConfigDict(from_attributes=True)

    rule_id: str
    severity: str  # violation (明确违规, blocks the order) | suspect (可疑, a warning)
    severity_label: str
    family_label: str
    text: str
    amount: int


class ChargeLineRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    service_date: date
    item_code: str
    item_name: str
    quantity: int
    unit_price: int
    amount: int
    insurance_class: str
    status: str
    source_order_id: int | None


class BillRead(BaseModel):
    admission_id: int
    total: int
    deposit: int
    balance: int
    by_kind: dict[str, int]
    lines: list[ChargeLineRead]


class DepositRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    admission_id: int
    kind: str
    amount: int
    channel: str
    payment_id: int | None


class PreAdmissionCreate(BaseModel):
    encounter_id: Id
    department_id: Id | None = None
    diagnosis: str = Field(default="", max_length=200)


class PreAdmissionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    institution_id: int
    patient_id: int
    encounter_id: int
    department_id: int
    registered_on: date
    extension_approved: bool
    status: str
    diagnosis: str


class PreAdmissionOrderRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    preadmission_id: int
    order_id: int
    moved: bool


class SettleBody(BaseModel):
    channel: str = Field(default="wechat")
    idempotency_key: str = Field(min_length=1, max_length=100)
    use_personal_account: bool = False
    mutual_aid_from: Id | None = None
    cash_payer_id: Id | None = None
    payer_ref: str = Field(default="", max_length=100)


class ArrearsPayBody(BaseModel):
    channel: str = Field(default="wechat")
    idempotency_key: str = Field(min_length=1, max_length=100)
    payer_ref: str = Field(default="", max_length=100)


class ReverseBody(BaseModel):
    reason: str = Field(min_length=1, max_length=200)


class InpatientSettlementRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    admission_id: int
    attempt: int
    total: int
    fund: int
    personal_account: int
    mutual_aid: int
    cash: int
    deposit_applied: int
    deposit_refunded: int
    topped_up: int
    arrears: int
    status: str
    breakdown: dict[str, int]


class ProcedureBody(BaseModel):
    code: str = Field(min_length=2, max_length=16, description="ICD-9-CM-3 医保版，如 36.0601")
    on: date | None = Field(default=None, description="手术操作日期")


class AbstractUpdate(BaseModel):
    principal_diagnosis: str | None = Field(default=None, max_length=16)
    other_diagnoses: list[str] | None = Field(default=None, max_length=40)
    procedures: list[ProcedureBody] | None = Field(default=None, max_length=40)
    ventilation_hours: Int | None = None
    newborn_weight_g: Int | None = None


class AbstractRead(BaseModel):
    admission_id: int
    status: str
    principal_diagnosis: str
    other_diagnoses: list[str]
    procedures: list[dict[str, str]]
    ventilation_hours: int
    newborn_weight_g: int | None
    signed_by: str
    los_days: int | None
    total_cost_fen: int
    problems: list[str]


class AbstractChangeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    username: str
    field: str
    before: str
    after: str


class CodeRead(BaseModel):
    code: str
    name: str


class OrderPlacedRead(ChargeLineRead):
    """The charged order and the 可疑 findings of the pre-check shown with it."""

    warnings: list[AuditFindingRead] = []
