"""API shapes of billing's payment layer."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field

from yilian.billing.domain import Channel, ChargeStatus, SettlementMode, SettlementStatus
from yilian.kit.bounds import MAX_INT, Days, Id


class MismatchRead(BaseModel):
    out_trade_no: str
    kind: str
    reason: str
    label: str
    ours: int | None
    theirs: int | None


class ReconciliationRead(BaseModel):
    channel: Channel
    date: str
    mismatches: list[MismatchRead]


class CreditOrderCreate(BaseModel):
    item_code: str
    quantity: int = Field(default=1, ge=1, le=999)


class ChargeRead(BaseModel):
    model_config = {"from_attributes": True}

    id: int
    order_id: Id | None
    booking_id: Id | None = None  # a registration fee on credit (记账挂号)
    amount: int
    hold: int
    insurance_class: str
    on_credit: bool
    status: ChargeStatus


class VisitCreate(BaseModel):
    """Start or continue a visit: from the patient's registration valid today in the department."""

    patient_id: Id
    department_id: Id


class CreditOrderRead(BaseModel):
    order_id: Id
    order_status: str
    charge: ChargeRead
    credit_refused_reason: str | None


class SettleRequest(BaseModel):
    channel: Channel
    idempotency_key: str
    use_personal_account: bool = False
    mutual_aid_from: Id | None = None  # the relative (patient id) whose account pays
    cash_payer_id: Id | None = None
    payer_ref: str = ""


class SettlementRead(BaseModel):
    model_config = {"from_attributes": True}

    id: int
    encounter_id: Id
    patient_id: Id
    total: int
    fund: int
    personal_account: int
    mutual_aid: int
    mutual_aid_from: int | None
    cash: int
    cash_channel: str
    cash_payer_id: Id | None
    mode: SettlementMode
    status: SettlementStatus
    breakdown: dict[str, int]


class RunningBill(BaseModel):
    encounter_id: Id
    charges: list[ChargeRead]
    total: int
    held_on_credit: int
    settlement: SettlementRead | None


class CancelOrder(BaseModel):
    reason: str = Field(min_length=1, max_length=200)


class CreditPolicyRead(BaseModel):
    """An institution's credit-care policy (先诊疗后付费); amounts in fen."""

    institution_id: Id
    enabled: bool
    daily_limit: int
    excluded_clinic_types: list[str]
    excluded_item_codes: list[str]
    suspend_after_days: int
    reminder_days: list[int]


class CreditPolicyUpdate(BaseModel):
    """The fields to change; those left out keep their value."""

    model_config = {"extra": "forbid"}

    enabled: bool | None = None
    daily_limit: int | None = Field(None, ge=0, le=MAX_INT, description="每人每日信用额度（分）")
    excluded_clinic_types: list[str] | None = Field(None, description="不适用的门诊类型，如 special 特需")
    excluded_item_codes: list[str] | None = Field(None, description="不适用的收费项目编码")
    suspend_after_days: int | None = Field(None, ge=0, le=3650, description="欠费满多少天暂停信用就医")
    reminder_days: list[Days] | None = Field(None, max_length=31, description="欠费第几天发送催缴提醒")


class ArrearsBucketRead(BaseModel):
    label: str
    count: int
    amount: int
    suspended: bool


class OpenArrearRead(BaseModel):
    arrear_id: Id
    patient_id: Id
    patient_name: str
    mpi_id: str
    opened_on: str
    age_days: int
    amount: int
    reminders_sent: list[int]
    suspended: bool


class CreditDashboardRead(BaseModel):
    institution_id: Id
    start: str
    end: str
    credit_visits: int
    beneficiaries: int
    credit_amount: int
    open_holds: int
    settled_by_patient: int
    settled_automatically: int
    arrears_opened: int
    arrears_open_count: int
    arrears_open_amount: int
    buckets: list[ArrearsBucketRead]
    recovered_count: int
    recovered_amount: int
    open_arrears: list[OpenArrearRead]


class ArrearRead(BaseModel):
    model_config = {"from_attributes": True}

    id: int
    settlement_id: Id
    patient_id: Id
    amount: int
    opened_on: date
    reminders_sent: list[int]
    paid_at: datetime | None


class ArrearPay(BaseModel):
    """Pay an arrear (欠费补缴); the Idempotency-Key header makes a retry pay once."""

    channel: Channel
    payer_ref: str = Field("", max_length=64)
