"""API shapes of billing's payment layer."""

from __future__ import annotations

from pydantic import BaseModel, Field

from yilian.billing.domain import Channel


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
    quantity: int = 1


class ChargeRead(BaseModel):
    model_config = {"from_attributes": True}

    id: int
    order_id: int | None
    booking_id: int | None = None  # a registration fee on credit (记账挂号)
    amount: int
    hold: int
    insurance_class: str
    on_credit: bool
    status: str


class VisitCreate(BaseModel):
    """Start or continue a visit: from the patient's registration valid today in the department."""

    patient_id: int
    department_id: int


class CreditOrderRead(BaseModel):
    order_id: int
    order_status: str
    charge: ChargeRead
    credit_refused_reason: str | None


class SettleRequest(BaseModel):
    channel: Channel
    idempotency_key: str
    use_personal_account: bool = False
    mutual_aid_from: int | None = None
    cash_payer_id: int | None = None
    payer_ref: str = ""


class SettlementRead(BaseModel):
    model_config = {"from_attributes": True}

    id: int
    encounter_id: int
    patient_id: int
    total: int
    fund: int
    personal_account: int
    mutual_aid: int
    mutual_aid_from: int | None
    cash: int
    cash_channel: str
    cash_payer_id: int | None
    mode: str
    status: str
    breakdown: dict[str, int]


class RunningBill(BaseModel):
    encounter_id: int
    charges: list[ChargeRead]
    total: int
    held_on_credit: int
    settlement: SettlementRead | None


class CancelOrder(BaseModel):
    reason: str = Field(min_length=1, max_length=200)
