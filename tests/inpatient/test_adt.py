"""Admission money and the nightly charges: deposits (idempotent), no-deposit admission for patients
eligible for credit care, the bed and nursing charges job run twice charging once, inpatient orders."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.builders import actor_of, make_patient, make_practitioner, make_user
from tests.inpatient.helpers import Pool, admit_to, beds_of, deposit, patient
from yilian.billing.domain import Channel
from yilian.billing.errors import IdempotencyConflict
from yilian.inpatient import service as svc
from yilian.inpatient import tasks
from yilian.inpatient.errors import DepositRequired, NotInHospital, OrderRefusedByAudit
from yilian.inpatient.models import InpatientCharge
from yilian.kit.auth.domain import Role
from yilian.kit.clock import FrozenClock, business_date
from yilian.registry.domain import InsuranceScheme, Sex


def test_deposit_is_idempotent_and_a_reused_key_with_another_amount_is_refused(
    session: Session, pool: Pool
) -> None:
    bed = beds_of(session, pool.cardio_ward)[0]
    admission = admit_to(session, pool, bed, pool.cardiology)
    more = svc.DepositIn(amount=100_000, channel=Channel.ALIPAY, idempotency_key="topup-1")
    first = svc.pay_deposit(session, pool.nurse, admission.id, more)
    again = svc.pay_deposit(session, pool.nurse, admission.id, more)
    assert first.id == again.id
    assert svc.deposit_balance(session, admission.id) == 400_000
    with pytest.raises(IdempotencyConflict):
        svc.pay_deposit(session, pool.nurse, admission.id, svc.DepositIn(100, Channel.ALIPAY, "topup-1"))
    assert svc.deposit_balance(session, admission.id) == 400_000


def test_no_deposit_only_for_patients_eligible_for_credit_care(session: Session, pool: Pool) -> None:
    beds = beds_of(session, pool.resp_ward)
    insured = patient(session, pool, name="孙三")
    admission = svc.admit(
        session,
        pool.nurse,
        patient_id=insured.id,
        department_id=pool.respiratory.id,
        bed_id=beds[0].id,
        waive_deposit=True,
    )
    assert admission.deposit_waived and svc.deposit_balance(session, admission.id) == 0
    self_pay = make_patient(session, name="李四", scheme=InsuranceScheme.SELF_PAY, institution=pool.hospital)
    with pytest.raises(DepositRequired, match="不符合免押金住院条件：患者未参保且未签约支付渠道"):
        svc.admit(
            session,
            pool.nurse,
            patient_id=self_pay.id,
            department_id=pool.respiratory.id,
            bed_id=beds[1].id,
            waive_deposit=True,
        )
    with pytest.raises(DepositRequired):
        svc.admit(
            session, pool.nurse, patient_id=self_pay.id, department_id=pool.respiratory.id, bed_id=beds[1].id
        )
    assert svc.get_bed(session, beds[1].id).state == "free"


def test_nightly_charges_run_twice_charge_once(
    session: Session, pool: Pool, frozen_clock: FrozenClock
) -> None:
    beds = beds_of(session, pool.resp_ward)
    stays = [admit_to(session, pool, bed, pool.respiratory) for bed in beds[:3]]
    svc.discharge(session, pool.nurse, stays[2].id, disposition=1)
    session.commit()
    factory = sessionmaker(bind=session.connection(), join_transaction_mode="create_savepoint")
    day = business_date()
    first = tasks.charge_day(factory, day)
    second = tasks.charge_day(factory, day)
    assert (first.admissions, first.lines) == (2, 4)
    assert (second.admissions, second.lines) == (2, 0)
    session.expire_all()
    bill = svc.bill(session, pool.nurse, stays[0].id)
    assert bill.by_kind == {"bed": 5000, "nursing": 2600} and bill.total == 7600
    assert svc.bill(session, pool.nurse, stays[2].id).total == 0  # discharged that day: no night in bed
    frozen_clock.advance(timedelta(days=1))
    assert tasks.charge_day(factory, business_date()).lines == 4
    session.expire_all()
    assert svc.bill(session, pool.nurse, stays[0].id).total == 15_200


def test_inpatient_orders_are_charged_to_the_admission(session: Session, pool: Pool) -> None:
    bed = beds_of(session, pool.cardio_ward)[0]
    admission = admit_to(session, pool, bed, pool.cardiology)
    line = svc.order(session, pool.doctor, admission.id, "210300001000000")
    assert (line.amount, line.insurance_class, line.kind) == (24_000, "乙", "order")
    svc.discharge(session, pool.nurse, admission.id, disposition=1)
    with pytest.raises(NotInHospital):
        svc.order(session, pool.doctor, admission.id, "250301001000000")
    assert deposit().amount == 300_000


def test_inpatient_orders_go_through_the_insurance_pre_check(session: Session, pool: Pool) -> None:
    """As in the clinic: 明确违规 refuses the order with its reason and stores nothing; 可疑 is a warning."""
    bed = beds_of(session, pool.cardio_ward)[0]
    admission = admit_to(session, pool, bed, pool.cardiology, sex=Sex.MALE)
    found = svc.order_precheck(session, pool.doctor, admission.id, "220302001000000")  # 产科超声, a man
    assert [(f.rule_id, f.severity) for f in found] == [("CAT-SEX-002", "violation")]
    with pytest.raises(OrderRefusedByAudit, match="医保事前审核不通过：.*产科超声检查限女性.*CAT-SEX-002"):
        svc.place_order(session, pool.doctor, admission.id, "220302001000000")
    assert session.query(InpatientCharge).filter_by(admission_id=admission.id).count() == 0

    # metformin without a diabetes diagnosis is refused; once the doctor records one it is placed
    with pytest.raises(OrderRefusedByAudit, match="糖尿病"):
        svc.place_order(session, pool.doctor, admission.id, "XA10BAM039A001010100001")
    svc.catalog.import_diagnoses(session, "code,name\nE11.900,2型糖尿病不伴有并发症\n")
    svc.update_abstract(session, pool.doctor, admission.id, principal_diagnosis="E11.900")
    assert svc.place_order(session, pool.doctor, admission.id, "XA10BAM039A001010100001").warnings == ()

    # the children's oseltamivir for an adult: a 可疑 warning comes back with the placed order
    outcome = svc.place_order(session, pool.doctor, admission.id, "XJ05ABA001A001010100001")
    assert [(w.rule_id, w.severity_label) for w in outcome.warnings] == [("CAT-AGE-001", "可疑")]
    assert outcome.line.id is not None and outcome.line.kind == "order"


def test_the_doctors_list_is_her_own_and_her_departments_patients_unless_widened(
    session: Session, pool: Pool
) -> None:
    neuro_doctor = make_practitioner(
        session, institution=pool.hospital, department=pool.neurology, name="周医生"
    )
    neuro = actor_of(
        make_user(session, role=Role.DOCTOR, institution=pool.hospital, practitioner=neuro_doctor)
    )
    cardio_beds = [b for b in beds_of(session, pool.cardio_ward) if b.state == "free"]
    mine = svc.admit(
        session,
        pool.doctor,  # admitted by the cardiology doctor: she becomes the attending doctor
        patient_id=patient(session, pool, name="心内甲").id,
        department_id=pool.cardiology.id,
        bed_id=cardio_beds[0].id,
        deposit=deposit(),
    )
    colleague = admit_to(session, pool, cardio_beds[1], pool.cardiology)  # admitted by the nurse
    other = admit_to(session, pool, beds_of(session, pool.neuro_ward)[0], pool.neurology)
    assert mine.practitioner_id == pool.doctor.practitioner_id and colleague.practitioner_id is None

    def ids(actor: svc.Actor, scope: str) -> set[int]:
        return {a.id for a in svc.in_hospital(session, actor, pool.hospital.id, scope=scope)}

    assert ids(pool.doctor, "mine") == {mine.id}
    assert ids(pool.doctor, "department") == {mine.id, colleague.id}
    assert ids(pool.doctor, "hospital") == {mine.id, colleague.id, other.id}
    assert ids(neuro, "department") == {other.id} and ids(neuro, "mine") == set()
    with pytest.raises(svc.InvalidInpatientInput):
        svc.in_hospital(session, pool.nurse, pool.hospital.id, scope="mine")  # the nurse is no doctor
