"""Tables of billing's payment layer."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String
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
    status: Mapped[str] = mapped_column(String(16))
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
    status: Mapped[str] = mapped_column(String(16))
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
