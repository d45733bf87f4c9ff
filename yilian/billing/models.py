"""Tables of billing. Statuses are stored as the values of their ``billing.domain`` enums."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from yilian.kit.db import Base


class Payment(Base):
    """A payment through a channel; ``idempotency_key`` makes retries safe."""

    __tablename__ = "payments"
    __table_args__ = (Index("ix_payments_channel_day", "channel", "business_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    out_trade_no: Mapped[str] = mapped_column(String(32), unique=True)
    idempotency_key: Mapped[str] = mapped_column(String(100), unique=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    reference: Mapped[str] = mapped_column(String(100), index=True)  # what is paid, e.g. "settlement:12"
    patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"), index=True)
    payer_patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"))  # 亲情付: a relative pays
    channel: Mapped[str] = mapped_column(String(32))
    amount: Mapped[int]
    status: Mapped[str] = mapped_column(String(16))  # PaymentStatus: pending | succeeded | failed
    trade_no: Mapped[str | None] = mapped_column(String(64))
    failure_reason: Mapped[str] = mapped_column(String(200), default="")
    business_date: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime]
    paid_at: Mapped[datetime | None]


class Refund(Base):
    """A refund of (part of) a payment."""

    __tablename__ = "refunds"

    id: Mapped[int] = mapped_column(primary_key=True)
    out_refund_no: Mapped[str] = mapped_column(String(32), unique=True)
    idempotency_key: Mapped[str] = mapped_column(String(100), unique=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), index=True)
    amount: Mapped[int]
    reason: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(16))  # PaymentStatus: pending | succeeded | failed
    trade_no: Mapped[str | None] = mapped_column(String(64))
    business_date: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime]


class GatewayTransaction(Base):
    """The built-in simulated gateway's own book (what a real channel would report in its statement)."""

    __tablename__ = "sim_gateway_transactions"
    __table_args__ = (Index("ix_sim_gateway_transactions_day", "channel", "business_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    trade_no: Mapped[str] = mapped_column(String(64), unique=True)
    out_trade_no: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(8))
    amount: Mapped[int]
    business_date: Mapped[date] = mapped_column(Date)
    at: Mapped[datetime]


class CreditPolicy(Base):
    """An institution's credit-care policy (先诊疗后付费); defaults from docs/domain.md §2."""

    __tablename__ = "credit_policies"

    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), primary_key=True)
    enabled: Mapped[bool] = mapped_column(default=True)
    daily_limit: Mapped[int] = mapped_column(default=100_000)
    excluded_clinic_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    excluded_item_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    suspend_after_days: Mapped[int] = mapped_column(default=10)
    reminder_days: Mapped[list[int]] = mapped_column(JSON, default=list)


class PaymentAgreement(Base):
    """A signed payment channel for automatic debits (签约代扣); a relative may sign as payer (亲情付)."""

    __tablename__ = "payment_agreements"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    payer_patient_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"))
    channel: Mapped[str] = mapped_column(String(32))
    payer_ref: Mapped[str] = mapped_column(String(100))
    signed_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class Charge(Base):
    """The charge of one order (or of a registration fee on credit); on credit it is a credit hold until
    the day's settlement."""

    __tablename__ = "charges"
    __table_args__ = (Index("ix_charges_encounter_day", "encounter_id", "business_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), unique=True)
    # the registration fee put on credit (记账挂号) is a charge of its registration, not of an order
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("sched_bookings.id"), unique=True)
    encounter_id: Mapped[int] = mapped_column(ForeignKey("encounters.id"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    business_date: Mapped[date] = mapped_column(Date)
    amount: Mapped[int]
    hold: Mapped[int]  # the patient's estimated own share held on credit (0 when not on credit)
    insurance_class: Mapped[str] = mapped_column(String(2))
    self_pay_permille: Mapped[int]
    on_credit: Mapped[bool]
    status: Mapped[str] = mapped_column(String(16))  # ChargeStatus: open | settled | void | moved
    settlement_id: Mapped[int | None] = mapped_column(ForeignKey("settlements.id"))
    created_at: Mapped[datetime]


class Settlement(Base):
    """The one settlement of an encounter-day: who paid what."""

    __tablename__ = "settlements"
    __table_args__ = (UniqueConstraint("encounter_id", "business_date", "attempt"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    encounter_id: Mapped[int] = mapped_column(ForeignKey("encounters.id"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    business_date: Mapped[date] = mapped_column(Date, index=True)
    attempt: Mapped[int] = mapped_column(default=1)  # a reversed settlement is followed by the next attempt
    total: Mapped[int]
    fund: Mapped[int]
    personal_account: Mapped[int]
    mutual_aid: Mapped[int]
    mutual_aid_from: Mapped[int | None] = mapped_column(ForeignKey("patients.id"))
    cash: Mapped[int]
    cash_channel: Mapped[str] = mapped_column(String(32), default="")
    cash_payer_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"))
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))
    mode: Mapped[str] = mapped_column(String(8))  # SettlementMode: self | auto
    status: Mapped[str] = mapped_column(String(16))  # SettlementStatus: settled | arrears | reversed
    breakdown: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # how the patient chose to pay
    created_at: Mapped[datetime]
    reversed_at: Mapped[datetime | None]


class Arrear(Base):
    """An unpaid cash part after a failed automatic settlement (欠费)."""

    __tablename__ = "arrears"

    id: Mapped[int] = mapped_column(primary_key=True)
    settlement_id: Mapped[int] = mapped_column(ForeignKey("settlements.id"), unique=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    amount: Mapped[int]
    opened_on: Mapped[date] = mapped_column(Date)
    reminders_sent: Mapped[list[int]] = mapped_column(JSON, default=list)
    paid_at: Mapped[datetime | None]
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))
