"""Pre-admission (预住院): tests ordered on a planned admission move from the outpatient bills into the
inpatient bill when the patient is admitted within the window (5 days, 7 with approval), exactly in
fen, the outpatient side reversed and settled again through billing; past the window they stay."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.inpatient.helpers import Pool, beds_of, deposit, patient
from yilian.billing import service as billing
from yilian.billing.domain import Channel
from yilian.billing.models import Charge, Settlement
from yilian.inpatient import service as svc
from yilian.inpatient.errors import InvalidInpatientInput
from yilian.kit.clock import FrozenClock, business_date

CT, GLUCOSE, BED_FEE = "210300001000000", "250301001000000", "110900001000000"


def _parts_sum(s: Settlement) -> bool:
    return s.fund + s.personal_account + s.mutual_aid + s.cash == s.total


def _visit_with_preadmission(session: Session, pool: Pool) -> tuple[int, int, svc.PreAdmission]:
    person = patient(session, pool, name="周敏")
    encounter = billing.open_visit(
        session, pool.doctor, patient_id=person.id, department_id=pool.cardiology.id
    )
    pre = svc.register_preadmission(session, pool.doctor, encounter_id=encounter.id, diagnosis="冠心病")
    return person.id, encounter.id, pre


def _admit(session: Session, pool: Pool, person_id: int, pre: svc.PreAdmission) -> svc.Admission:
    bed = next(b for b in beds_of(session, pool.cardio_ward) if b.state == "free")
    return svc.admit(
        session,
        pool.nurse,
        patient_id=person_id,
        department_id=pool.cardiology.id,
        bed_id=bed.id,
        preadmission_id=pre.id,
        deposit=deposit(),
    )


def test_settled_preadmission_exam_moves_into_the_inpatient_bill(
    session: Session, pool: Pool, frozen_clock: FrozenClock
) -> None:
    person_id, encounter_id, pre = _visit_with_preadmission(session, pool)
    ct = svc.order_preadmission(session, pool.doctor, pre.id, CT)
    billing.order_with_credit(session, pool.doctor, encounter_id, GLUCOSE)  # an ordinary outpatient test
    day = business_date()
    first = billing.settle(
        session, encounter_id=encounter_id, day=day, channel=Channel.WECHAT, idempotency_key="op-1"
    )
    assert first.total == 24_000 + 500 and _parts_sum(first)
    with pytest.raises(InvalidInpatientInput, match="预住院期间只能开立检查检验项目"):
        svc.order_preadmission(session, pool.doctor, pre.id, BED_FEE)

    frozen_clock.advance(timedelta(days=2))
    admission = _admit(session, pool, person_id, pre)

    ct_charge = session.scalar(select(Charge).where(Charge.order_id == ct.order_id))
    assert ct_charge is not None and ct_charge.status == "moved"
    session.refresh(first)
    assert first.status == "reversed"
    again = billing.settlement_of(session, encounter_id, day)
    assert again is not None and again.total == 500 and _parts_sum(again)
    assert first.cash - again.cash > 0  # the patient got the difference back through the channel
    lines = svc.bill(session, pool.nurse, admission.id).lines
    assert [(line.kind, line.amount, line.service_date) for line in lines] == [("preadmission", 24_000, day)]
    assert svc.find_preadmission(session, pre.id).status == "admitted"
    assert session.get(svc.PreAdmissionOrder, ct.id).moved  # type: ignore[union-attr]
    # nothing is charged twice: outpatient open/settled + inpatient = what was ordered
    outpatient_total = sum(
        c.amount
        for c in session.scalars(select(Charge).where(Charge.encounter_id == encounter_id))
        if c.status in ("open", "settled")
    )
    assert outpatient_total + sum(line.amount for line in lines) == 24_000 + 500


def test_unsettled_credit_charge_moves_without_a_settlement(
    session: Session, pool: Pool, frozen_clock: FrozenClock
) -> None:
    person_id, _encounter_id, pre = _visit_with_preadmission(session, pool)
    ct = svc.order_preadmission(session, pool.doctor, pre.id, CT)
    held_before = billing.held_today(session, person_id, business_date())
    assert held_before > 0
    admission = _admit(session, pool, person_id, pre)  # the same day
    assert billing.held_today(session, person_id, business_date()) == 0  # the credit hold is released
    assert svc.bill(session, pool.nurse, admission.id).total == 24_000
    assert session.get(svc.PreAdmissionOrder, ct.id).moved  # type: ignore[union-attr]


def test_past_the_window_charges_stay_outpatient(
    session: Session, pool: Pool, frozen_clock: FrozenClock
) -> None:
    person_id, encounter_id, pre = _visit_with_preadmission(session, pool)
    svc.order_preadmission(session, pool.doctor, pre.id, CT)
    frozen_clock.advance(timedelta(days=5))  # day 6: the 5-day window (day 1–5) is over
    admission = _admit(session, pool, person_id, pre)
    assert svc.bill(session, pool.nurse, admission.id).total == 0
    charges = list(session.scalars(select(Charge).where(Charge.encounter_id == encounter_id)))
    assert [c.status for c in charges] == ["open"]


def test_approved_extension_takes_seven_days(session: Session, pool: Pool, frozen_clock: FrozenClock) -> None:
    person_id, _encounter_id, pre = _visit_with_preadmission(session, pool)
    svc.order_preadmission(session, pool.doctor, pre.id, CT)
    svc.approve_extension(session, pool.bedmgr, pre.id)
    frozen_clock.advance(timedelta(days=6))  # day 7
    admission = _admit(session, pool, person_id, pre)
    assert svc.bill(session, pool.nurse, admission.id).total == 24_000
