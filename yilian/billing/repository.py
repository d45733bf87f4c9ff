"""Every query of billing's payment layer."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from yilian.billing.models import GatewayTransaction, Payment, Refund


def payment_by_key(session: Session, key: str) -> Payment | None:
    return session.scalar(select(Payment).where(Payment.idempotency_key == key))


def payment_by_trade_no(session: Session, out_trade_no: str) -> Payment | None:
    return session.scalar(select(Payment).where(Payment.out_trade_no == out_trade_no))


def get_payment(session: Session, payment_id: int) -> Payment | None:
    return session.get(Payment, payment_id)


def refund_by_key(session: Session, key: str) -> Refund | None:
    return session.scalar(select(Refund).where(Refund.idempotency_key == key))


def refunded_total(session: Session, payment_id: int) -> int:
    return int(
        session.scalar(
            select(func.coalesce(func.sum(Refund.amount), 0)).where(
                Refund.payment_id == payment_id, Refund.status == "succeeded"
            )
        )
        or 0
    )


def succeeded_payments(session: Session, channel: str, day: date) -> Sequence[Payment]:
    return session.scalars(
        select(Payment).where(
            Payment.channel == channel, Payment.business_date == day, Payment.status == "succeeded"
        )
    ).all()


def succeeded_refunds(session: Session, channel: str, day: date) -> Sequence[tuple[Refund, str]]:
    rows = session.execute(
        select(Refund, Payment.out_trade_no)
        .join(Payment, Payment.id == Refund.payment_id)
        .where(Payment.channel == channel, Refund.business_date == day, Refund.status == "succeeded")
    ).all()
    return [(r, t) for r, t in rows]


def gateway_day(session: Session, channel: str, day: date) -> Sequence[GatewayTransaction]:
    return session.scalars(
        select(GatewayTransaction).where(
            GatewayTransaction.channel == channel, GatewayTransaction.business_date == day
        )
    ).all()
