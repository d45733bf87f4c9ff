"""Credit care and the one settlement per encounter-day, with every way of paying."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.billing.world import World
from tests.builders import make_patient
from yilian.billing import service as billing
from yilian.billing.domain import Channel
from yilian.billing.errors import ChannelDeclined, SettlementRefused
from yilian.billing.models import Arrear, Payment, Settlement
from yilian.billing.service import settlement as settlement_use_cases
from yilian.insurance import policy_service as insurance
from yilian.kit.auth.domain import Actor
from yilian.kit.clock import business_date
from yilian.outpatient import service as outpatient
from yilian.outpatient.errors import IllegalTransition
from yilian.outpatient.schemas import EncounterCreate
from yilian.registry import service as registry
from yilian.registry.domain import ConsentScope, InsuranceScheme, RelationType, Sex
from yilian.registry.schemas import ConsentCreate, RelationCreate

SYSTEM = Actor.system("test")


def _visit(session: Session, world: World, patient_id: int) -> int:
    return outpatient.open_encounter(
        session, world.doctor, EncounterCreate(patient_id=patient_id, department_id=world.department.id)
    ).id


def test_credit_orders_run_without_paying_and_settle_once(
    session: Session, world: World, frozen_clock: object
) -> None:
    patient = make_patient(session, institution=world.hospital)
    eid = _visit(session, world, patient.id)
    lab, lab_charge, reason = billing.order_with_credit(session, world.doctor, eid, "250301001000000")
    drug, _charge, _ = billing.order_with_credit(session, world.doctor, eid, "XA10BAM039A001010100001", 2)
    assert reason is None and lab_charge.on_credit and lab.status == "charged"
    outpatient.perform(session, world.nurse, lab.id)  # performed before any payment

    day = business_date()
    first = billing.settle(session, encounter_id=eid, day=day, channel=Channel.WECHAT, idempotency_key="s-1")
    # 500 + 2 × 1,280 = 3,060; 乙 先行自付 256; new year: all in-policy goes to the ¥800 deductible
    assert (first.total, first.fund, first.cash) == (3_060, 0, 3_060)
    again = billing.settle(session, encounter_id=eid, day=day, channel=Channel.WECHAT, idempotency_key="s-1")
    assert again.id == first.id
    assert (
        session.scalar(
            select(func.count()).select_from(Payment).where(Payment.reference == f"settlement:{first.id}")
        )
        == 1
    )
    assert drug.status == "charged"


def test_mutual_aid_from_a_parent_and_family_payer(session: Session, world: World) -> None:
    day = business_date()
    parent = make_patient(session, name="王建国", birth_date=date(1960, 1, 1), institution=world.hospital)
    child = make_patient(
        session,
        name="王小丽",
        birth_date=date(1990, 1, 1),
        sex=Sex.FEMALE,
        institution=world.hospital,
        scheme=InsuranceScheme.RESIDENT,
    )
    relation = registry.add_relation(
        session, SYSTEM, child.id, RelationCreate(relative_id=parent.id, relation_type=RelationType.PARENT)
    )
    registry.verify_relation(session, SYSTEM, relation.id)
    insurance.set_account_balance(session, parent.id, 50_000)
    insurance.record_year(
        session, child.id, day.year, "outpatient", insurance.YearToDate(deductible_used=50_000)
    )

    eid = _visit(session, world, child.id)
    billing.order_with_credit(session, world.doctor, eid, "210300001000000")  # CT ¥240, 乙 10 %
    with pytest.raises(SettlementRefused):  # no consent yet
        billing.settle(
            session,
            encounter_id=eid,
            day=day,
            channel=Channel.WECHAT,
            idempotency_key="m-0",
            mutual_aid_from=parent.id,
        )
    registry.grant_consent(
        session,
        SYSTEM,
        ConsentCreate(relation_id=relation.id, grantor_id=parent.id, scope=ConsentScope.MUTUAL_AID),
    )
    registry.grant_consent(
        session,
        SYSTEM,
        ConsentCreate(relation_id=relation.id, grantor_id=child.id, scope=ConsentScope.FAMILY_PAY),
    )
    s = billing.settle(
        session,
        encounter_id=eid,
        day=day,
        channel=Channel.WECHAT,
        idempotency_key="m-1",
        mutual_aid_from=parent.id,
        cash_payer_id=parent.id,
    )
    # 24,000: 先行自付 2,400; in policy 21,600 × 50 % = 10,800 fund; co-pay 10,800 from the father's account
    assert (s.fund, s.mutual_aid, s.cash, s.cash_payer_id) == (10_800, 10_800, 2_400, parent.id)
    assert s.fund + s.personal_account + s.mutual_aid + s.cash == s.total == 24_000
    assert insurance.account_balance(session, parent.id) == 50_000 - 10_800


def test_ineligible_patient_must_pay_first(session: Session, world: World) -> None:
    patient = make_patient(session, institution=world.hospital, scheme=InsuranceScheme.SELF_PAY)
    eid = _visit(session, world, patient.id)
    order, charge, reason = billing.order_with_credit(session, world.doctor, eid, "250301001000000")
    assert reason is not None and "未参保" in reason and not charge.on_credit and order.status == "placed"
    s = billing.settle(
        session, encounter_id=eid, day=business_date(), channel=Channel.ALIPAY, idempotency_key="p-1"
    )
    assert s.cash == 500 and outpatient.find_order(session, order.id).status == "charged"


def test_order_over_the_daily_limit_is_not_on_credit(session: Session, world: World) -> None:
    patient = make_patient(session, institution=world.hospital)
    eid = _visit(session, world, patient.id)
    for _ in range(4):  # CT ¥240 each, all within the deductible: the own share is the whole amount
        _order, _charge, reason = billing.order_with_credit(session, world.doctor, eid, "210300001000000")
        assert reason is None
    _order, charge, reason = billing.order_with_credit(session, world.doctor, eid, "210300001000000")
    assert not charge.on_credit and reason is not None and "信用额度" in reason


def test_declined_self_settlement_changes_nothing(session: Session, world: World) -> None:
    patient = make_patient(session, institution=world.hospital)
    eid = _visit(session, world, patient.id)
    billing.order_with_credit(session, world.doctor, eid, "250301001000000")
    before = session.scalar(select(func.count()).select_from(Settlement))
    with pytest.raises(ChannelDeclined):
        with session.begin_nested():
            billing.settle(
                session,
                encounter_id=eid,
                day=business_date(),
                channel=Channel.WECHAT,
                idempotency_key="d-1",
                payer_ref="x-declined",
            )
    assert session.scalar(select(func.count()).select_from(Settlement)) == before


def test_failed_auto_settlement_becomes_arrears_and_suspends_credit(session: Session, world: World) -> None:
    patient = make_patient(session, institution=world.hospital)
    eid = _visit(session, world, patient.id)
    billing.order_with_credit(session, world.doctor, eid, "250301001000000")
    day = business_date()
    s = billing.settle(
        session,
        encounter_id=eid,
        day=day,
        channel=Channel.WECHAT,
        idempotency_key="a-1",
        payer_ref="u-declined",
        mode="auto",
    )
    assert s.status == "arrears"
    arrear = session.scalars(select(Arrear).where(Arrear.settlement_id == s.id)).one()
    policy = billing.credit_policy(session, world.hospital.id)
    assert billing.standing(session, patient.id, policy, day).unpaid_arrears == arrear.amount
    assert not billing.standing(session, patient.id, policy, day).suspended
    later = date.fromordinal(day.toordinal() + 10)
    assert billing.standing(session, patient.id, policy, later).suspended
    billing.pay_arrear(session, arrear.id, channel=Channel.ALIPAY, idempotency_key="ar-1")
    assert not billing.standing(session, patient.id, policy, later).suspended
    assert billing.standing(session, patient.id, policy, later).unpaid_arrears == 0


def test_api_order_bill_and_settle(client, session: Session, world: World) -> None:  # type: ignore[no-untyped-def]
    from tests.builders import bearer, make_user
    from yilian.kit.auth.domain import Role

    patient = make_patient(session, institution=world.hospital)
    eid = _visit(session, world, patient.id)
    doctor_user = make_user(session, role=Role.DOCTOR, institution=world.hospital)
    doctor = bearer(client, doctor_user)
    placed = client.post(
        f"/api/v1/billing/encounters/{eid}/orders", json={"item_code": "250301003000000"}, headers=doctor
    )
    assert placed.status_code == 201, placed.text
    assert placed.json()["charge"]["on_credit"] is True and placed.json()["order_status"] == "charged"

    me = bearer(client, make_user(session, role=Role.PATIENT, patient=patient))
    bill = client.get(f"/api/v1/billing/encounters/{eid}/bill", headers=me).json()
    assert bill["total"] == 6_000 and bill["held_on_credit"] == 6_000 and bill["settlement"] is None
    stranger = bearer(
        client, make_user(session, role=Role.PATIENT, patient=make_patient(session, name="李路人"))
    )
    assert client.get(f"/api/v1/billing/encounters/{eid}/bill", headers=stranger).status_code == 403

    body = {"channel": "wechat", "idempotency_key": "api-settle-1"}
    first = client.post(f"/api/v1/billing/encounters/{eid}/settle", json=body, headers=me)
    second = client.post(f"/api/v1/billing/encounters/{eid}/settle", json=body, headers=me)
    assert first.status_code == second.status_code == 200 and first.json()["id"] == second.json()["id"]
    assert first.json()["cash"] == 6_000


def test_cancel_unperformed_order_after_settlement_refunds_the_difference(
    session: Session, world: World
) -> None:
    from yilian.billing.models import Refund

    day = business_date()
    patient = make_patient(session, institution=world.hospital)
    insurance.set_account_balance(session, patient.id, 100_000)
    insurance.record_year(
        session, patient.id, day.year, "outpatient", insurance.YearToDate(deductible_used=80_000)
    )
    eid = _visit(session, world, patient.id)
    lab, _c, _r = billing.order_with_credit(session, world.doctor, eid, "250301001000000")  # ¥5 甲
    ct, _c, _r = billing.order_with_credit(session, world.doctor, eid, "210300001000000")  # ¥240 乙 10 %
    outpatient.perform(session, world.nurse, lab.id)
    first = billing.settle(
        session,
        encounter_id=eid,
        day=day,
        channel=Channel.WECHAT,
        idempotency_key="c-1",
        use_personal_account=True,
    )
    # in policy 500 + 21,600 = 22,100 → fund 60 % = 13,260; own share 11,240 of which 2,400 先行自付 in cash
    assert (first.total, first.fund, first.personal_account, first.cash) == (24_500, 13_260, 8_840, 2_400)
    with pytest.raises(IllegalTransition):
        billing.cancel_order(session, world.doctor, lab.id, "已执行")  # a performed order cannot be cancelled

    second = billing.cancel_order(session, world.doctor, ct.id, "患者改日检查")
    assert second is not None and second.attempt == 2
    assert (second.total, second.fund, second.personal_account, second.cash) == (500, 300, 200, 0)
    refunds = session.scalars(select(Refund).where(Refund.payment_id == first.payment_id)).all()
    assert [r.amount for r in refunds] == [2_400]
    assert insurance.account_balance(session, patient.id) == 100_000 - 200
    ytd = insurance.year_to_date(session, patient.id, day.year, "outpatient")
    assert ytd.fund_paid == 300
    assert billing.settlement_of(session, eid, day).id == second.id


def test_order_entry_precheck_warns_on_indication(session: Session, world: World) -> None:
    from yilian.catalog import service as catalog

    catalog.import_diagnoses(session, "code,name\nE11.900,2型糖尿病不伴有并发症\nJ06.900,急性上呼吸道感染\n")
    patient = make_patient(session, institution=world.hospital)
    eid = _visit(session, world, patient.id)
    outpatient.add_diagnosis(session, world.doctor, eid, "J06.900")
    findings = billing.audit_precheck(session, world.doctor, eid, "XA10BAM039A001010100001")
    assert [f.rule_id for f in findings] == ["CAT-IND-001"]
    assert findings[0].severity == "violation" and findings[0].amount == 1_280
    outpatient.add_diagnosis(session, world.doctor, eid, "E11.900", is_primary=True)
    assert billing.audit_precheck(session, world.doctor, eid, "XA10BAM039A001010100001") == []


def test_settled_bill_is_stored_for_the_post_event_audit_beside_imported_lines(
    session: Session, world: World
) -> None:
    from dataclasses import replace as dc_replace

    from yilian.insurance.audit import service as audit
    from yilian.insurance.audit.models import AuditClaimLine

    patient = make_patient(session, institution=world.hospital)
    eid = _visit(session, world, patient.id)
    order, _charge, _ = billing.order_with_credit(session, world.doctor, eid, "250301001000000")
    template = settlement_use_cases._claim_lines(session, eid)[0]
    audit.store_lines(
        session, [dc_replace(template, line_id=order.id, claim_id="FILE-1")], source="file"
    )  # an imported line with the same small id
    s = billing.settle(
        session, encounter_id=eid, day=business_date(), channel=Channel.WECHAT, idempotency_key="aud-1"
    )
    stored = session.scalars(
        select(AuditClaimLine).where(AuditClaimLine.source == f"settlement:{s.id}")
    ).all()
    assert [(x.claim_id, x.item_code, x.amount) for x in stored] == [(f"E{eid}", "250301001000000", 500)]
    # the visit's 科室编码 qualified by its institution, for 科室申诉 (codes repeat across hospitals)
    assert [x.department for x in stored] == [f"{world.hospital.code}/{world.department.code}"]
    billing.reverse(session, s.id, reason="测试冲正")
    assert (
        session.scalars(select(AuditClaimLine).where(AuditClaimLine.source == f"settlement:{s.id}")).all()
        == []
    )


def test_api_arrears_listed_and_paid_once_by_the_patient(client, session: Session, world: World) -> None:  # type: ignore[no-untyped-def]
    from tests.builders import bearer, make_user
    from yilian.kit.auth.domain import Role

    patient = make_patient(session, institution=world.hospital)
    eid = _visit(session, world, patient.id)
    billing.order_with_credit(session, world.doctor, eid, "250301001000000")
    s = billing.settle(
        session,
        encounter_id=eid,
        day=business_date(),
        channel=Channel.WECHAT,
        idempotency_key="auto-api-1",
        payer_ref="u-declined",
        mode="auto",
    )
    assert s.status == "arrears"
    me = bearer(client, make_user(session, role=Role.PATIENT, patient=patient))
    other = bearer(client, make_user(session, role=Role.PATIENT, patient=make_patient(session, name="孙八")))
    listed = client.get(f"/api/v1/billing/patients/{patient.id}/arrears", headers=me)
    assert listed.status_code == 200 and [a["amount"] for a in listed.json()] == [500]
    arrear_id = listed.json()[0]["id"]
    assert client.get(f"/api/v1/billing/patients/{patient.id}/arrears", headers=other).status_code == 403
    url = f"/api/v1/billing/arrears/{arrear_id}/pay"
    body = {"channel": "alipay"}
    assert (
        client.post(url, json=body, headers={**other, "Idempotency-Key": "arrear-pay-1"}).status_code == 403
    )
    assert client.post(url, json=body, headers=me).status_code == 422  # no idempotency key
    first = client.post(url, json=body, headers={**me, "Idempotency-Key": "arrear-pay-1"})
    again = client.post(url, json=body, headers={**me, "Idempotency-Key": "arrear-pay-1"})
    assert first.status_code == again.status_code == 200, first.text
    assert first.json()["paid_at"] is not None
    paid = session.scalars(select(Payment).where(Payment.reference == f"arrear:{arrear_id}")).all()
    assert [p.amount for p in paid] == [500]  # paid once
    assert client.get(f"/api/v1/billing/patients/{patient.id}/arrears", headers=me).json() == []


def test_a_cashier_may_cancel_only_charged_orders(session: Session, world: World) -> None:
    from tests.builders import actor_of, make_user
    from yilian.kit.auth.domain import Role
    from yilian.kit.errors import Forbidden

    cashier = actor_of(make_user(session, role=Role.CASHIER, institution=world.hospital))
    patient = make_patient(session, institution=world.hospital)
    eid = _visit(session, world, patient.id)
    placed = outpatient.place_order(session, world.doctor, eid, "250301001000000")  # not charged yet
    with pytest.raises(Forbidden, match="已计费、未执行"):
        outpatient.cancel(session, cashier, placed.id, "误开")
    order, _charge, _ = billing.order_with_credit(session, world.doctor, eid, "250301003000000")
    cancelled, refund_due = outpatient.cancel(session, cashier, order.id, "患者放弃检查")
    assert cancelled.status == "cancelled" and refund_due


def test_charges_added_after_a_settlement_are_settled_by_a_further_attempt(
    session: Session, world: World, frozen_clock: object
) -> None:
    """补充结算: she pays for a test, then the doctor prescribes on the same visit the same day; the new
    charge is not left open behind the first settlement."""
    patient = make_patient(session, institution=world.hospital)
    eid = _visit(session, world, patient.id)
    billing.order_with_credit(session, world.doctor, eid, "250301001000000")
    day = business_date()
    first = billing.settle(session, encounter_id=eid, day=day, channel=Channel.WECHAT, idempotency_key="f-1")
    assert billing.estimate(session, eid, day) is None
    assert (
        billing.settle(session, encounter_id=eid, day=day, channel=Channel.WECHAT, idempotency_key="f-1")
        is first
    )

    billing.order_with_credit(session, world.doctor, eid, "XA10BAM039A001010100001", 2)
    more = billing.estimate(session, eid, day)
    assert more is not None and more.total == 2 * 1_280
    second = billing.settle(session, encounter_id=eid, day=day, channel=Channel.WECHAT, idempotency_key="f-2")
    assert (second.attempt, second.total, first.status) == (2, 2 * 1_280, "settled")
    assert billing.settlement_of(session, eid, day) is second
    retry = billing.settle(session, encounter_id=eid, day=day, channel=Channel.WECHAT, idempotency_key="f-2")
    assert retry is second
    charges = billing.running_bill(session, eid, day)
    assert all(c.status == "settled" for c in charges)
    assert sum(c.amount for c in charges) == first.total + second.total
    paid = session.scalars(select(Payment).where(Payment.patient_id == patient.id)).all()
    assert sum(p.amount for p in paid) == first.cash + second.cash
