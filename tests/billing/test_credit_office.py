"""The credit policy (先诊疗后付费政策), the credit dashboard and the cashier's counter: refunds of
unperformed orders, reversals and arrears — service and API."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.billing.world import World
from tests.builders import actor_of, bearer, make_department, make_institution, make_patient, make_user
from yilian.billing import service as billing
from yilian.billing.domain import Channel, arrears_age_buckets
from yilian.billing.errors import InvalidCreditPolicy, SettlementRefused
from yilian.billing.models import Arrear, CreditPolicy, Refund, Settlement
from yilian.kit.access_log import AccessAudit
from yilian.kit.auth.domain import Actor, Role
from yilian.kit.clock import FrozenClock, business_date
from yilian.kit.errors import Forbidden
from yilian.outpatient import service as outpatient
from yilian.outpatient.schemas import EncounterCreate

LAB = "250301001000000"  # ¥5, 甲
DRUG = "XA10BAM039A001010100001"  # ¥12.80, 乙 10 %
COSMETIC = "340200009000000"


def _visit(session: Session, world: World, patient_id: int) -> int:
    return outpatient.open_encounter(
        session, world.doctor, EncounterCreate(patient_id=patient_id, department_id=world.department.id)
    ).id


def _credit_day(
    session: Session, world: World, *, mode: str, payer_ref: str = "ok", name: str = "张三"
) -> int:
    """A patient treated on credit and settled by the patient (self) or by the 23:00 debit (auto)."""
    patient = make_patient(session, name=name, institution=world.hospital)
    eid = _visit(session, world, patient.id)
    billing.order_with_credit(session, world.doctor, eid, LAB)
    billing.settle(
        session,
        encounter_id=eid,
        day=business_date(),
        channel=Channel.WECHAT,
        idempotency_key=f"k-{eid}",
        payer_ref=payer_ref,
        mode=mode,
    )
    return patient.id


def _cashier(session: Session, world: World) -> Actor:
    return actor_of(make_user(session, role=Role.CASHIER, institution=world.hospital))


def test_age_buckets_follow_the_suspension_rule() -> None:
    buckets = arrears_age_buckets(10)
    assert [b.label for b in buckets] == ["1–3 天", "4–7 天", "8–9 天", "≥10 天（已暂停信用）"]
    assert [next(b for b in buckets if b.holds(age)).label for age in (0, 3, 4, 9, 10, 40)] == [
        "1–3 天",
        "1–3 天",
        "4–7 天",
        "8–9 天",
        "≥10 天（已暂停信用）",
        "≥10 天（已暂停信用）",
    ]
    assert [b.label for b in arrears_age_buckets(5)] == ["1–3 天", "4 天", "≥5 天（已暂停信用）"]


def test_dashboard_counts_visits_settlements_and_arrears(
    session: Session, world: World, frozen_clock: FrozenClock
) -> None:
    day = business_date()
    _credit_day(session, world, mode="self", name="自付甲")
    _credit_day(session, world, mode="auto", name="代扣乙")
    debtor = _credit_day(session, world, mode="auto", payer_ref="card-declined", name="欠费丙")
    other = make_institution(session)
    elsewhere = make_patient(session, institution=other)
    other_doctor = actor_of(
        make_user(session, role=Role.DOCTOR, institution=other)
    )  # a visit at another hospital does not count
    dept = make_department(session, institution=other)
    eid = outpatient.open_encounter(
        session, other_doctor, EncounterCreate(patient_id=elsewhere.id, department_id=dept.id)
    ).id
    billing.order_with_credit(session, other_doctor, eid, LAB)

    cashier = _cashier(session, world)
    frozen_clock.advance(timedelta(days=5))
    d = billing.credit_dashboard(session, cashier, world.hospital.id, day, business_date())
    assert (d.credit_visits, d.beneficiaries, d.credit_amount, d.open_holds) == (3, 3, 1_500, 0)
    assert (d.settled_by_patient, d.settled_automatically, d.arrears_opened) == (1, 1, 1)
    assert (d.arrears_open_count, d.arrears_open_amount) == (1, 500)
    assert {b.label: b.count for b in d.buckets}["4–7 天"] == 1
    row = d.open_arrears[0]
    assert (row.patient_id, row.age_days, row.amount, row.suspended) == (debtor, 5, 500, False)
    assert (d.recovered_count, d.recovered_amount) == (0, 0)

    frozen_clock.advance(timedelta(days=6))  # 11 days unpaid: suspended, as the credit check says
    d = billing.credit_dashboard(session, cashier, world.hospital.id, day, business_date())
    assert d.open_arrears[0].suspended and d.buckets[-1].count == 1
    policy = billing.credit_policy(session, world.hospital.id)
    assert billing.standing(session, debtor, policy, business_date()).suspended

    arrear = session.scalar(select(Arrear).where(Arrear.patient_id == debtor))
    assert arrear is not None
    billing.pay_arrear_at_counter(session, cashier, arrear.id, channel=Channel.CASH, idempotency_key="a-1")
    d = billing.credit_dashboard(session, cashier, world.hospital.id, day, business_date())
    assert (d.arrears_open_count, d.recovered_count, d.recovered_amount) == (0, 1, 500)
    assert d.settled_automatically == 1 and d.arrears_opened == 1  # still a failed 23:00 debit

    with pytest.raises(Forbidden):
        billing.credit_dashboard(session, cashier, other.id, day, business_date())
    with pytest.raises(Forbidden):
        billing.credit_dashboard(session, world.doctor, world.hospital.id, day, business_date())
    assert (
        billing.credit_dashboard(session, Actor.system("t"), other.id, day, business_date()).credit_visits
        == 1
    )


def test_credit_policy_is_validated_audited_and_applied(session: Session, world: World) -> None:
    admin = actor_of(make_user(session, role=Role.ADMIN))
    saved = billing.set_credit_policy(
        session,
        admin,
        world.hospital.id,
        daily_limit=50_000,
        excluded_item_codes=[COSMETIC],
        reminder_days=[5, 2],
    )
    assert (saved.daily_limit, saved.reminder_days, saved.excluded_item_codes) == (
        50_000,
        (2, 5),
        frozenset({COSMETIC}),
    )
    assert saved.excluded_clinic_types == frozenset({"special"})  # kept from the defaults
    audit = session.scalar(
        select(AccessAudit).where(AccessAudit.resource == f"credit_policies/{world.hospital.id}")
    )
    assert audit is not None and "daily_limit" in audit.reason and audit.username == admin.username

    patient = make_patient(session, institution=world.hospital)
    eid = _visit(session, world, patient.id)
    _order, charge, reason = billing.order_with_credit(session, world.doctor, eid, COSMETIC)
    assert not charge.on_credit and reason is not None and "不适用" in reason

    with pytest.raises(InvalidCreditPolicy) as bad:
        billing.set_credit_policy(
            session,
            admin,
            world.hospital.id,
            daily_limit=-1,
            suspend_after_days=0,
            reminder_days=[1, 1],
            excluded_item_codes=["NOPE"],
            excluded_clinic_types=["vip"],
        )
    for words in ("每日信用额度", "暂停天数", "不能重复", "NOPE", "vip"):
        assert words in bad.value.detail
    for wrong in ({"daily_limit": "1000"}, {"enabled": 1}, {"limit": 5}, {"reminder_days": [True]}):
        with pytest.raises(InvalidCreditPolicy):
            billing.set_credit_policy(session, admin, world.hospital.id, **wrong)
    assert billing.credit_policy(session, world.hospital.id) == saved  # bad input changed nothing
    with pytest.raises(Forbidden):
        billing.set_credit_policy(session, _cashier(session, world), world.hospital.id, daily_limit=1)


def test_cashier_refunds_an_unperformed_order_and_reverses(session: Session, world: World) -> None:
    cashier = _cashier(session, world)
    patient = make_patient(session, institution=world.hospital)
    eid = _visit(session, world, patient.id)
    lab, _, _ = billing.order_with_credit(session, world.doctor, eid, LAB)
    drug, _, _ = billing.order_with_credit(session, world.doctor, eid, DRUG, 2)
    outpatient.perform(session, world.nurse, lab.id)
    first = billing.settle(
        session, encounter_id=eid, day=business_date(), channel=Channel.WECHAT, idempotency_key="c-1"
    )
    assert first.cash == 3_060

    with pytest.raises(SettlementRefused):  # performed: nothing to refund
        billing.refund_unperformed_order(session, cashier, lab.id, "患者要求")
    with pytest.raises(SettlementRefused):
        billing.refund_unperformed_order(session, cashier, drug.id, "  ")
    refund = billing.refund_unperformed_order(session, cashier, drug.id, "患者未取药")
    assert refund.refunded_cash == 2_560 and refund.new_settlement_id is not None
    assert outpatient.find_order(session, drug.id).status == "cancelled"
    new = session.get(Settlement, refund.new_settlement_id)
    assert new is not None and (new.total, new.cash, new.status) == (500, 500, "settled")
    refunded = session.scalar(select(func.sum(Refund.amount)).where(Refund.payment_id == first.payment_id))
    assert refunded == 3_060  # the first payment is refunded whole, the rest paid again

    with pytest.raises(SettlementRefused):
        billing.reverse_at_counter(session, cashier, new.id, "")
    other = actor_of(make_user(session, role=Role.CASHIER, institution=make_institution(session)))
    with pytest.raises(Forbidden):
        billing.reverse_at_counter(session, other, new.id, "操作失误")
    reversed_ = billing.reverse_at_counter(session, cashier, new.id, "操作失误")
    assert reversed_.status == "reversed"
    assert billing.settlement_of(session, eid, business_date()) is None
    assert [s.status for s in billing.settlement_history(session, patient.id, eid, business_date())] == [
        "reversed",
        "reversed",
    ]
    assert billing.counter_days(session, cashier, patient.id) == [(eid, business_date())]


# ---------------------------------------------------------------- API


def test_credit_policy_api(client: TestClient, session: Session, world: World) -> None:
    cashier = make_user(session, role=Role.CASHIER, institution=world.hospital)
    admin = make_user(session, role=Role.ADMIN)
    url = f"/api/v1/billing/credit-policies/{world.hospital.id}"
    got = client.get(url, headers=bearer(client, cashier))
    assert got.status_code == 200 and got.json()["daily_limit"] == 100_000
    other = make_user(session, role=Role.CASHIER, institution=make_institution(session))
    assert client.get(url, headers=bearer(client, other)).status_code == 403
    assert client.put(url, json={"daily_limit": 1}, headers=bearer(client, cashier)).status_code == 403

    ah = bearer(client, admin)
    put = client.put(url, json={"daily_limit": 200_000, "reminder_days": [1, 2]}, headers=ah)
    assert put.status_code == 200, put.text
    assert (put.json()["daily_limit"], put.json()["reminder_days"]) == (200_000, [1, 2])
    bad = client.put(url, json={"daily_limit": 0, "suspend_after_days": 500}, headers=ah)
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_credit_policy"
    assert "每日信用额度" in bad.json()["detail"] and "暂停天数" in bad.json()["detail"]
    assert client.put(url, json={"limit": 1}, headers=ah).status_code == 422
    assert client.get(url, headers=ah).json()["daily_limit"] == 200_000
    assert session.get(CreditPolicy, world.hospital.id) is not None
    assert client.get("/api/v1/billing/credit-policies/999999", headers=ah).status_code == 404


def test_credit_dashboard_api(
    client: TestClient, session: Session, world: World, frozen_clock: FrozenClock
) -> None:
    _credit_day(session, world, mode="auto", payer_ref="x-declined")
    cashier = make_user(session, role=Role.CASHIER, institution=world.hospital)
    frozen_clock.advance(timedelta(days=2))
    headers = bearer(client, cashier)
    r = client.get(
        "/api/v1/billing/credit-dashboard", params={"institution_id": world.hospital.id}, headers=headers
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["credit_visits"], body["arrears_opened"], body["arrears_open_amount"]) == (1, 1, 500)
    assert body["open_arrears"][0]["age_days"] == 2 and body["buckets"][0]["count"] == 1
    assert body["end"] == business_date().isoformat()
    assert body["start"] == (business_date() - timedelta(days=29)).isoformat()
    backwards = client.get(
        "/api/v1/billing/credit-dashboard",
        params={"institution_id": world.hospital.id, "start": "2026-05-10", "end": "2026-05-01"},
        headers=headers,
    )
    assert backwards.status_code == 400
    doctor = make_user(session, role=Role.DOCTOR, institution=world.hospital)
    denied = client.get(
        "/api/v1/billing/credit-dashboard",
        params={"institution_id": world.hospital.id},
        headers=bearer(client, doctor),
    )
    assert denied.status_code == 403
