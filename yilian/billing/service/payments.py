"""Use cases of billing's payment layer: idempotent payments and refunds through a channel, gateway
callbacks, and daily reconciliation per channel."""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import date

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from yilian.billing import repository as repo
from yilian.billing.channels import ChannelRequest, adapter_for
from yilian.billing.domain import Channel, Mismatch, PaymentStatus, StatementLine, reconcile
from yilian.billing.errors import (
    BadSignature,
    ChannelDeclined,
    IdempotencyConflict,
    InvalidPayment,
    PaymentNotFound,
    RefundTooLarge,
)
from yilian.billing.models import Payment, Refund
from yilian.kit import events
from yilian.kit.clock import business_date, utcnow
from yilian.kit.errors import found
from yilian.kit.money import Fen


def _request_hash(**fields: object) -> str:
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()


def _number(prefix: str) -> str:
    return f"{prefix}{business_date():%Y%m%d}{secrets.token_hex(6).upper()}"


def pay(
    session: Session,
    *,
    reference: str,
    amount: Fen,
    channel: Channel,
    idempotency_key: str,
    patient_id: int | None = None,
    payer_patient_id: int | None = None,
    payer_ref: str = "",
) -> Payment:
    """Take a payment through ``channel``. The same idempotency key with the same request returns the
    first payment (never a second charge); with a different request it is refused."""
    if amount <= 0:
        raise InvalidPayment("支付金额必须大于 0")
    if not idempotency_key or len(idempotency_key) > 100:
        raise InvalidPayment("缺少幂等键，或幂等键超过 100 个字符")
    digest = _request_hash(
        reference=reference, amount=amount, channel=channel.value, patient=patient_id, payer=payer_patient_id
    )
    existing = repo.payment_by_key(session, idempotency_key)
    if existing is not None:
        if existing.request_hash != digest:
            raise IdempotencyConflict(f"幂等键 {idempotency_key} 已用于另一笔支付")
        return existing
    payment = Payment(
        out_trade_no=_number("P"),
        idempotency_key=idempotency_key,
        request_hash=digest,
        reference=reference,
        patient_id=patient_id,
        payer_patient_id=payer_patient_id,
        channel=channel.value,
        amount=amount,
        status=PaymentStatus.PENDING.value,
        business_date=business_date(),
        created_at=utcnow(),
    )
    try:
        with session.begin_nested():
            session.add(payment)
            session.flush()
    except IntegrityError:
        # a concurrent retry with the same key won the race: return its payment
        winner = repo.payment_by_key(session, idempotency_key)
        if winner is None or winner.request_hash != digest:
            raise IdempotencyConflict(f"幂等键 {idempotency_key} 已用于另一笔支付") from None
        return winner
    callback = adapter_for(channel).charge(
        session, ChannelRequest(out_trade_no=payment.out_trade_no, amount=amount, payer_ref=payer_ref)
    )
    handle_callback(session, channel, callback)
    return payment


def require_succeeded(payment: Payment, what: str = "支付") -> Payment:
    """Return the payment when the channel took it; else raise ``ChannelDeclined`` saying what failed
    (``what``: 支付, 预交金支付, 补缴 …) and the channel's reason."""
    if payment.status != PaymentStatus.SUCCEEDED:
        raise ChannelDeclined(f"{what}失败：{payment.failure_reason or '渠道拒绝'}")
    return payment


def handle_callback(session: Session, channel: Channel, fields: dict[str, str]) -> Payment:
    """Apply a channel's signed payment callback; repeated callbacks change nothing."""
    if not adapter_for(channel).verify_callback(fields):
        raise BadSignature("回调签名无效，已拒绝")
    payment = repo.payment_by_trade_no(session, fields.get("out_trade_no", ""))
    if payment is None or payment.channel != channel.value:
        raise PaymentNotFound(f"支付记录不存在: {fields.get('out_trade_no')}")
    if fields.get("out_refund_no"):
        return payment
    if payment.status != PaymentStatus.PENDING:
        return payment
    if fields.get("result") == "SUCCESS":
        if int(fields.get("amount", "-1")) != payment.amount:
            raise BadSignature("回调金额与支付金额不一致")
        payment.status = PaymentStatus.SUCCEEDED.value
        payment.trade_no = fields.get("trade_no")
        payment.paid_at = utcnow()
        events.emit(
            session,
            "billing.payment_succeeded",
            {"payment_id": payment.id, "reference": payment.reference, "amount": payment.amount},
        )
    else:
        payment.status = PaymentStatus.FAILED.value
        payment.failure_reason = fields.get("reason", "")[:200]
        events.emit(
            session, "billing.payment_failed", {"payment_id": payment.id, "reference": payment.reference}
        )
    session.flush()
    return payment


def find_payment(session: Session, payment_id: int) -> Payment:
    return found(repo.get_payment(session, payment_id), PaymentNotFound(f"支付记录不存在: {payment_id}"))


def refund(
    session: Session, *, payment_id: int, amount: Fen, idempotency_key: str, reason: str = ""
) -> Refund:
    """Refund part or all of a succeeded payment, at most what has not been refunded; idempotent (a
    refund's status is a ``PaymentStatus`` too)."""
    existing = repo.refund_by_key(session, idempotency_key)
    if existing is not None:
        if existing.payment_id != payment_id or existing.amount != amount:
            raise IdempotencyConflict(f"幂等键 {idempotency_key} 已用于另一笔退款")
        return existing
    payment = find_payment(session, payment_id)
    if payment.status != PaymentStatus.SUCCEEDED:
        raise InvalidPayment("只能退还已支付成功的款项")
    if amount <= 0:
        raise InvalidPayment("退款金额必须大于 0")
    refundable = payment.amount - repo.refunded_total(session, payment.id)
    if amount > refundable:
        raise RefundTooLarge(f"可退金额为 {refundable} 分，申请退款 {amount} 分", refundable=refundable)
    row = Refund(
        out_refund_no=_number("R"),
        idempotency_key=idempotency_key,
        payment_id=payment.id,
        amount=amount,
        reason=reason[:200],
        status=PaymentStatus.PENDING.value,
        business_date=business_date(),
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    channel = Channel(payment.channel)
    callback = adapter_for(channel).refund(
        session,
        ChannelRequest(out_trade_no=payment.out_trade_no, amount=amount, out_refund_no=row.out_refund_no),
    )
    if not adapter_for(channel).verify_callback(callback):
        raise BadSignature("退款回调签名无效")
    row.status = (
        PaymentStatus.SUCCEEDED.value if callback.get("result") == "SUCCESS" else PaymentStatus.FAILED.value
    )
    row.trade_no = callback.get("trade_no")
    session.flush()
    events.emit(
        session, "billing.refunded", {"payment_id": payment.id, "refund_id": row.id, "amount": amount}
    )
    return row


def reconcile_day(session: Session, channel: Channel, day: date) -> list[Mismatch]:
    """Compare our succeeded payments and refunds of a day with the channel's statement."""
    ours = [
        StatementLine(trade_no=p.trade_no or "", out_trade_no=p.out_trade_no, kind="pay", amount=p.amount)
        for p in repo.succeeded_payments(session, channel.value, day)
    ]
    ours += [
        StatementLine(trade_no=r.trade_no or "", out_trade_no=r.out_refund_no, kind="refund", amount=r.amount)
        for r, _paid_trade_no in repo.succeeded_refunds(session, channel.value, day)
    ]
    return reconcile(ours, adapter_for(channel).statement(session, day))
