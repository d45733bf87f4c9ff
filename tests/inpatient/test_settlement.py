"""Discharge settlement (出院结算): the insurance split per admission (the 住院 policy, deductible once
per admission), each payer, the deposit refunded or topped up, credit patients' arrears, reversal."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.builders import SYSTEM, make_patient
from tests.inpatient.helpers import Pool, beds_of, patient
from tests.inpatient.helpers import deposit as paid
from yilian.billing import service as billing
from yilian.billing.domain import Channel
from yilian.billing.models import Refund
from yilian.inpatient import service as svc
from yilian.inpatient.errors import AdmissionStateError, DepositRequired
from yilian.insurance import policy_service as insurance
from yilian.kit.clock import FrozenClock, business_date
from yilian.registry.domain import ConsentScope, RelationType
from yilian.registry.schemas import ConsentCreate, RelationCreate


def _stay(
    session: Session, pool: Pool, *, deposit: int, who: svc.Patient | None = None, waive: bool = False
) -> svc.Admission:
    person = who or patient(session, pool, name="吴刚")
    bed = next(
        b for b in beds_of(session, pool.cardio_ward) if b.state == "free" and b.code in ("01", "02", "05")
    )
    admission = svc.admit(
        session,
        pool.nurse,
        patient_id=person.id,
        department_id=pool.cardiology.id,
        bed_id=bed.id,
        deposit=None if waive else paid(deposit),
        waive_deposit=waive,
    )
    for day in range(3):
        svc.charge_day(session, admission.id, business_date() + timedelta(days=day))  # 3 x ¥76
    svc.order(session, pool.doctor, admission.id, "210300001000000")  # CT ¥240, 乙 10 %
    svc.order(session, pool.doctor, admission.id, "340200009000000")  # ¥300 丙 self-funded
    # metformin is limited to a diabetes diagnosis (CAT-IND-001): the doctor records it first
    svc.catalog.import_diagnoses(session, "code,name\nE11.900,2型糖尿病不伴有并发症\n")
    svc.update_abstract(session, pool.doctor, admission.id, principal_diagnosis="E11.900")
    svc.order(session, pool.doctor, admission.id, "XA10BAM039A001010100001", 100)  # ¥1,280 乙 10 %
    svc.discharge(
        session, pool.nurse, admission.id, disposition=1, discharged_on=business_date() + timedelta(days=3)
    )
    return admission


TOTAL = 3 * 7_600 + 24_000 + 30_000 + 128_000


def test_split_and_deposit_refund(session: Session, pool: Pool, frozen_clock: FrozenClock) -> None:
    admission = _stay(session, pool, deposit=300_000)
    s = svc.settle_discharge(
        session, pool.cashier, admission.id, channel=Channel.WECHAT, idempotency_key="ds-1"
    )
    assert s.total == TOTAL
    assert s.fund + s.personal_account + s.mutual_aid + s.cash == s.total
    b = s.breakdown
    assert b["self_funded"] == 30_000 and b["self_pay_first"] == 2_400 + 12_800
    assert b["deductible"] == 90_000  # the 住院 deductible, employee at a tertiary hospital
    in_policy = TOTAL - 30_000 - 15_200
    assert s.fund == round((in_policy - 90_000) * 0.85)
    assert s.deposit_applied == s.cash and s.deposit_refunded == 300_000 - s.cash and s.topped_up == 0
    refunds = list(session.scalars(select(Refund)))
    assert sum(r.amount for r in refunds) == s.deposit_refunded
    assert svc.find_admission(session, admission.id).status == "settled"
    assert (
        svc.settle_discharge(
            session, pool.cashier, admission.id, channel=Channel.WECHAT, idempotency_key="x"
        ).id
        == s.id
    )
    assert insurance.year_to_date(session, admission.patient_id, 2026, "inpatient").fund_paid == s.fund

    # a second admission the same year takes the deductible again (per admission)
    frozen_clock.advance(timedelta(days=10))
    second = _stay(
        session, pool, deposit=300_000, who=svc.registry.find_patient(session, admission.patient_id)
    )
    s2 = svc.settle_discharge(
        session, pool.cashier, second.id, channel=Channel.WECHAT, idempotency_key="ds-2"
    )
    assert s2.breakdown["deductible"] == 90_000 and s2.fund == s.fund


def test_top_up_personal_account_and_reversal(
    session: Session, pool: Pool, frozen_clock: FrozenClock
) -> None:
    person = patient(session, pool, name="郑洁")
    insurance.set_account_balance(session, person.id, 5_000)
    admission = _stay(session, pool, deposit=1_000, who=person)
    s = svc.settle_discharge(
        session,
        pool.cashier,
        admission.id,
        channel=Channel.ALIPAY,
        idempotency_key="ds-3",
        use_personal_account=True,
    )
    assert s.personal_account == 5_000 and insurance.account_balance(session, person.id) == 0
    assert s.deposit_applied == 1_000 and s.topped_up == s.cash - 1_000 and s.deposit_refunded == 0
    assert svc.deposit_balance(session, admission.id) == s.cash

    with pytest.raises(AdmissionStateError):
        svc.reverse_settlement(session, pool.cashier, _stay_not_discharged(session, pool).id, "无结算")
    reversed_ = svc.reverse_settlement(session, pool.cashier, admission.id, "费用录入错误")
    assert reversed_.status == "reversed"
    assert insurance.account_balance(session, person.id) == 5_000
    assert insurance.year_to_date(session, person.id, 2026, "inpatient").fund_paid == 0
    assert svc.find_admission(session, admission.id).status == "discharged"
    again = svc.settle_discharge(
        session,
        pool.cashier,
        admission.id,
        channel=Channel.ALIPAY,
        idempotency_key="ds-4",
        use_personal_account=True,
    )
    assert (
        again.attempt == 2 and again.total == s.total and again.topped_up == 0
    )  # the cash is on the deposit
    assert again.deposit_refunded == 0 and svc.deposit_balance(session, admission.id) == again.cash


def _stay_not_discharged(session: Session, pool: Pool) -> svc.Admission:
    person = patient(session, pool, name="冯雪")
    bed = next(b for b in beds_of(session, pool.resp_ward) if b.state == "free")
    return svc.admit(
        session,
        pool.nurse,
        patient_id=person.id,
        department_id=pool.respiratory.id,
        bed_id=bed.id,
        deposit=svc.DepositIn(1_000, Channel.CASH, f"nd-{person.id}"),
    )


def test_mutual_aid_family_payer_and_credit_arrears(
    session: Session, pool: Pool, frozen_clock: FrozenClock
) -> None:
    person = patient(session, pool, name="陈静")
    parent = make_patient(session, name="陈建国", birth_date=date(1950, 3, 1), institution=pool.hospital)
    relation = svc.registry.add_relation(
        session, SYSTEM, person.id, RelationCreate(relative_id=parent.id, relation_type=RelationType.PARENT)
    )
    svc.registry.verify_relation(session, SYSTEM, relation.id)
    svc.registry.grant_consent(
        session,
        SYSTEM,
        ConsentCreate(relation_id=relation.id, grantor_id=parent.id, scope=ConsentScope.MUTUAL_AID),
    )
    spouse = parent
    insurance.set_account_balance(session, spouse.id, 20_000)
    admission = _stay(session, pool, deposit=0, who=person, waive=True)
    s = svc.settle_discharge(
        session,
        pool.cashier,
        admission.id,
        channel=Channel.WECHAT,
        idempotency_key="ds-5",
        mutual_aid_from=spouse.id,
        payer_ref="card-declined",
    )
    assert s.mutual_aid == 20_000 and insurance.account_balance(session, spouse.id) == 0
    assert s.status == "arrears" and s.arrears == s.cash and s.topped_up == 0
    assert s.fund + s.personal_account + s.mutual_aid + s.cash == s.total

    # the inpatient arrears weigh on credit care exactly as outpatient ones (billing's rules)
    def refusal() -> str | None:
        credit = billing.credit_policy(session, pool.hospital.id)
        return billing.refusal_of(session, person.id, credit, "general", business_date())

    assert refusal() == "患者有未结清的欠费"
    frozen_clock.advance(timedelta(days=billing.credit_policy(session, pool.hospital.id).suspend_after_days))
    assert refusal() == "患者因欠费已暂停信用就医，结清欠费后恢复"
    spare = next(b for b in beds_of(session, pool.cardio_ward) if b.state == "free")
    with pytest.raises(DepositRequired, match="暂停信用就医"):  # and no 免押金住院 either
        svc.admit(
            session,
            pool.nurse,
            patient_id=person.id,
            department_id=pool.cardiology.id,
            bed_id=spare.id,
            waive_deposit=True,
        )
    paid_back = svc.pay_arrears(
        session, pool.cashier, admission.id, channel=Channel.ALIPAY, idempotency_key="ar-1"
    )
    again = svc.pay_arrears(
        session, pool.cashier, admission.id, channel=Channel.ALIPAY, idempotency_key="ar-1"
    )
    assert paid_back.status == again.status == "settled" and paid_back.topped_up == s.arrears
    assert svc.deposit_balance(session, admission.id) == s.arrears  # paid once
    assert refusal() is None
    other = _stay(session, pool, deposit=300_000, who=patient(session, pool, name="无欠费"))
    with pytest.raises(AdmissionStateError, match="没有欠费"):
        svc.pay_arrears(session, pool.cashier, other.id, channel=Channel.ALIPAY, idempotency_key="ar-2")
