"""Payments through channels: signed callbacks, idempotent retries, refunds, reconciliation."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from tests.builders import bearer, make_institution, make_patient, make_user
from yilian.billing import service as billing
from yilian.billing.channels import SimulatedGateway
from yilian.billing.domain import Channel, StatementLine, reconcile, sign, verify
from yilian.billing.errors import BadSignature, IdempotencyConflict, InvalidPayment, RefundTooLarge
from yilian.billing.models import GatewayTransaction, Payment
from yilian.kit.auth.domain import Role
from yilian.kit.clock import business_date


def test_signatures() -> None:
    message = {"out_trade_no": "P1", "amount": "100", "result": "SUCCESS", "empty": ""}
    message["sign"] = sign("k", message)
    assert verify("k", message)
    assert not verify("other", message)
    assert not verify("k", {**message, "amount": "1000"})
    assert not verify("k", {k: v for k, v in message.items() if k != "sign"})


def test_reconcile_finds_every_kind_of_difference() -> None:
    ours = [
        StatementLine("t1", "P1", "pay", 100),
        StatementLine("t2", "P2", "pay", 200),
        StatementLine("t3", "R1", "refund", 50),
    ]
    theirs = [
        StatementLine("t1", "P1", "pay", 100),
        StatementLine("t2", "P2", "pay", 250),
        StatementLine("t9", "P9", "pay", 70),
    ]
    found = {(m.out_trade_no, m.reason) for m in reconcile(ours, theirs)}
    assert found == {("P2", "amount_differs"), ("R1", "missing_at_channel"), ("P9", "missing_here")}


def test_payment_succeeds_and_retry_is_idempotent(session: Session) -> None:
    patient = make_patient(session)
    first = billing.pay(
        session,
        reference="settlement:1",
        amount=12_345,
        channel=Channel.WECHAT,
        idempotency_key="k-1",
        patient_id=patient.id,
    )
    assert first.status == "succeeded" and first.trade_no
    again = billing.pay(
        session,
        reference="settlement:1",
        amount=12_345,
        channel=Channel.WECHAT,
        idempotency_key="k-1",
        patient_id=patient.id,
    )
    assert again.id == first.id
    assert (
        session.scalar(
            select(func.count())
            .select_from(GatewayTransaction)
            .where(GatewayTransaction.out_trade_no == first.out_trade_no)
        )
        == 1
    )
    with pytest.raises(IdempotencyConflict):
        billing.pay(
            session,
            reference="settlement:1",
            amount=99,
            channel=Channel.WECHAT,
            idempotency_key="k-1",
            patient_id=patient.id,
        )


def test_declined_and_bad_requests(session: Session) -> None:
    declined = billing.pay(
        session,
        reference="r",
        amount=500,
        channel=Channel.ALIPAY,
        idempotency_key="k-2",
        payer_ref="u-declined",
    )
    assert declined.status == "failed" and declined.failure_reason == "余额不足"
    before = session.scalar(select(func.count()).select_from(Payment))
    with pytest.raises(InvalidPayment):
        billing.pay(session, reference="r", amount=0, channel=Channel.ALIPAY, idempotency_key="k-3")
    assert session.scalar(select(func.count()).select_from(Payment)) == before


def test_forged_callback_is_refused(session: Session) -> None:
    payment = billing.pay(
        session,
        reference="r",
        amount=800,
        channel=Channel.UNIONPAY,
        idempotency_key="k-4",
        payer_ref="x-declined",
    )
    forged = {
        "out_trade_no": payment.out_trade_no,
        "amount": "800",
        "result": "SUCCESS",
        "channel": "unionpay",
    }
    forged["sign"] = sign("guessed-key", forged)
    with pytest.raises(BadSignature):
        billing.handle_callback(session, Channel.UNIONPAY, forged)
    assert payment.status == "failed"


def test_refunds_never_exceed_what_was_paid(session: Session) -> None:
    payment = billing.pay(
        session, reference="r", amount=10_000, channel=Channel.WECHAT, idempotency_key="k-5"
    )
    billing.refund(session, payment_id=payment.id, amount=3_000, idempotency_key="rf-1")
    assert (
        billing.refund(session, payment_id=payment.id, amount=3_000, idempotency_key="rf-1").amount == 3_000
    )  # retry
    with pytest.raises(RefundTooLarge):
        billing.refund(session, payment_id=payment.id, amount=7_001, idempotency_key="rf-2")
    billing.refund(session, payment_id=payment.id, amount=7_000, idempotency_key="rf-3")
    with pytest.raises(RefundTooLarge):
        billing.refund(session, payment_id=payment.id, amount=1, idempotency_key="rf-4")


def test_reconciliation_of_a_day(session: Session) -> None:
    today = business_date()
    p1 = billing.pay(session, reference="a", amount=1_000, channel=Channel.CASH, idempotency_key="c-1")
    p2 = billing.pay(session, reference="b", amount=2_000, channel=Channel.CASH, idempotency_key="c-2")
    billing.refund(session, payment_id=p1.id, amount=400, idempotency_key="c-r1")
    assert billing.reconcile_day(session, Channel.CASH, today) == []
    # the channel lost one payment from its book: reconciliation shows it
    session.execute(delete(GatewayTransaction).where(GatewayTransaction.out_trade_no == p2.out_trade_no))
    found = billing.reconcile_day(session, Channel.CASH, today)
    assert [(m.out_trade_no, m.reason) for m in found] == [(p2.out_trade_no, "missing_at_channel")]


def test_callback_endpoint_and_reconciliation_api(client: TestClient, session: Session) -> None:
    payment = billing.pay(
        session,
        reference="r",
        amount=600,
        channel=Channel.WECHAT,
        idempotency_key="k-api",
        payer_ref="p-declined",
    )
    gateway = SimulatedGateway(Channel.WECHAT)
    unsigned = {"out_trade_no": payment.out_trade_no, "amount": "600", "result": "SUCCESS"}
    assert client.post("/api/v1/billing/channels/wechat/callback", json=unsigned).status_code == 401
    assert gateway.verify_callback({**unsigned, "sign": sign("x", unsigned)}) is False
    hospital = make_institution(session)
    cashier = bearer(client, make_user(session, role=Role.CASHIER, institution=hospital))
    report = client.get(
        "/api/v1/billing/reconciliation",
        params={"day": business_date().isoformat(), "channel": "wechat"},
        headers=cashier,
    )
    assert report.status_code == 200 and report.json()["mismatches"] == []
    doctor = bearer(client, make_user(session, role=Role.DOCTOR, institution=hospital))
    assert (
        client.get(
            "/api/v1/billing/reconciliation",
            params={"day": "2026-01-01", "channel": "wechat"},
            headers=doctor,
        ).status_code
        == 403
    )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(1, 50_000), st.booleans()), min_size=1, max_size=6))
def test_money_is_never_created_by_retries(session: Session, attempts: list[tuple[int, bool]]) -> None:
    """However often each payment is retried, the channel's book holds each payment once, with its amount."""
    keys = []
    run = uuid.uuid4().hex  # examples share the session: id() of a freed list can come back
    for i, (amount, retry) in enumerate(attempts):
        key = f"prop-{run}-{i}"
        keys.append((key, amount))
        billing.pay(session, reference=f"ref{i}", amount=amount, channel=Channel.ALIPAY, idempotency_key=key)
        if retry:
            billing.pay(
                session, reference=f"ref{i}", amount=amount, channel=Channel.ALIPAY, idempotency_key=key
            )
    paid = session.scalars(select(Payment).where(Payment.idempotency_key.in_([k for k, _ in keys]))).all()
    assert sorted(p.amount for p in paid) == sorted(a for _, a in keys)
    booked = session.scalar(
        select(func.coalesce(func.sum(GatewayTransaction.amount), 0)).where(
            GatewayTransaction.out_trade_no.in_([p.out_trade_no for p in paid])
        )
    )
    assert booked == sum(a for _, a in keys)
