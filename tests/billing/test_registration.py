"""From registration to settlement: an encounter opens from a registration, the registration fee may be
put on credit (记账挂号), a suspended patient is refused with the reason, and a three-day return visit
continues the same encounter."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.billing.world import World
from tests.builders import make_patient
from yilian.billing import service as billing
from yilian.billing.domain import Channel
from yilian.billing.errors import CreditRefused
from yilian.billing.models import Arrear, Charge
from yilian.billing.service import registration_fees
from yilian.kit.auth.domain import Actor
from yilian.kit.clock import FrozenClock, business_date
from yilian.kit.errors import InvalidInput
from yilian.outpatient import service as outpatient
from yilian.outpatient.schemas import EncounterCreate
from yilian.scheduling import errors as sched_errors
from yilian.scheduling import service as scheduling
from yilian.scheduling.models import Booking

DESK = Actor.system("test-desk")
DAY1 = date(2026, 5, 7)  # frozen_clock: Thursday 2026-05-07 09:00 Asia/Shanghai


def _registration(session: Session, world: World, patient_id: int, *, method: str) -> Booking:
    today = scheduling.create_schedule(
        session, DESK, department_id=world.department.id, day=DAY1, period="pm"
    )
    scheduling.create_schedule(
        session, DESK, department_id=world.department.id, day=DAY1 + timedelta(days=1), period="am"
    )
    slot = scheduling.repo.slots_of(session, today.id)[0]
    booking = scheduling.book(session, DESK, slot_id=slot.id, patient_id=patient_id, channel="desk")
    return scheduling.confirm(session, DESK, booking.id, payment_method=method)


def test_fee_on_credit_goes_onto_the_bill_and_settles_once(
    session: Session, world: World, frozen_clock: FrozenClock
) -> None:
    patient = make_patient(session, institution=world.hospital)
    booking = _registration(session, world, patient.id, method=registration_fees.CREDIT_METHOD)
    assert (booking.payment_state, booking.fee_fen) == ("credit", 1000)
    encounter = billing.open_visit(
        session, world.doctor, patient_id=patient.id, department_id=world.department.id
    )
    assert encounter.registration_id == booking.id
    billing.order_with_credit(session, world.doctor, encounter.id, "250301001000000")
    bill = billing.running_bill(session, encounter.id, business_date())
    assert sorted(c.amount for c in bill) == [500, 1000]
    fee = next(c for c in bill if c.booking_id == booking.id)
    assert fee.order_id is None and fee.on_credit and fee.insurance_class == "甲"
    # opening the visit again (and the encounter-opened event) adds no second fee
    assert billing.ensure_registration_charge(session, encounter.id) is fee
    settled = billing.settle(
        session,
        encounter_id=encounter.id,
        day=business_date(),
        channel=Channel.WECHAT,
        idempotency_key="reg-1",
    )
    assert settled.total == 1500
    assert settled.fund + settled.personal_account + settled.mutual_aid + settled.cash == 1500
    assert all(c.status == "settled" for c in billing.running_bill(session, encounter.id, business_date()))


def test_suspended_patient_is_refused_credit_at_registration(
    session: Session, world: World, frozen_clock: FrozenClock
) -> None:
    patient = make_patient(session, institution=world.hospital)
    earlier = billing.open_visit(
        session, world.doctor, patient_id=patient.id, department_id=world.department.id
    )
    billing.order_with_credit(session, world.doctor, earlier.id, "250301001000000")
    s = billing.settle(
        session,
        encounter_id=earlier.id,
        day=business_date(),
        channel=Channel.WECHAT,
        idempotency_key="auto-1",
        payer_ref="u-declined",
        mode="auto",
    )
    assert s.status == "arrears"
    frozen_clock.advance(timedelta(days=11))  # unpaid for more than 10 days: credit suspended
    later_day = business_date()
    sched = scheduling.create_schedule(
        session, DESK, department_id=world.department.id, day=later_day, period="pm"
    )
    slot = scheduling.repo.slots_of(session, sched.id)[0]
    held = scheduling.book(session, DESK, slot_id=slot.id, patient_id=patient.id, channel="desk")
    with pytest.raises(CreditRefused, match="欠费已暂停信用就医"):
        scheduling.confirm(session, DESK, held.id, payment_method=registration_fees.CREDIT_METHOD)
    # paid at the desk instead, the registration goes through
    assert scheduling.confirm(session, DESK, held.id, payment_method="desk").payment_state == "paid"
    arrear = session.scalars(select(Arrear).where(Arrear.patient_id == patient.id)).one()
    billing.pay_arrear(session, arrear.id, channel=Channel.ALIPAY, idempotency_key="pay-ar")
    policy = billing.credit_policy(session, world.hospital.id)
    assert not billing.standing(session, patient.id, policy, later_day).suspended


def test_return_visit_continues_the_encounter_and_closing_ends_the_episode(
    session: Session, world: World, frozen_clock: FrozenClock
) -> None:
    patient = make_patient(session, institution=world.hospital)
    booking = _registration(session, world, patient.id, method="desk")
    assert booking.qualifies_three_day and booking.valid_until == DAY1 + timedelta(days=1)
    first = billing.open_visit(
        session, world.doctor, patient_id=patient.id, department_id=world.department.id
    )
    assert first.registration_id == booking.id
    frozen_clock.advance(timedelta(days=1))
    day2 = business_date()
    # day 2 without a return visit at the desk: the registration does not open an encounter
    with pytest.raises(sched_errors.NotReturnEligible, match="复诊"):
        outpatient.open_encounter(
            session,
            world.doctor,
            EncounterCreate(
                patient_id=patient.id, department_id=world.department.id, registration_id=booking.id
            ),
        )
    sched2 = scheduling.repo.schedules(session, department_id=world.department.id, day=day2)[0]
    scheduling.return_visit(session, DESK, booking.id, schedule_id=sched2.id)
    again = billing.open_visit(
        session, world.doctor, patient_id=patient.id, department_id=world.department.id
    )
    assert again.id == first.id  # the same episode: one encounter, settled per day
    _order, charge, _ = billing.order_with_credit(session, world.doctor, again.id, "250301001000000")
    assert charge.business_date == day2
    assert session.scalars(select(Charge).where(Charge.booking_id == booking.id)).first() is None  # paid fee
    outpatient.close_encounter(session, world.doctor, again.id)
    assert scheduling.find_booking(session, booking.id).episode_closed


def test_registration_of_another_patient_or_department_is_refused(
    session: Session, world: World, frozen_clock: FrozenClock
) -> None:
    patient = make_patient(session, institution=world.hospital)
    other = make_patient(session, name="李四", institution=world.hospital)
    booking = _registration(session, world, patient.id, method="desk")
    with pytest.raises(InvalidInput, match="不属于该患者"):
        outpatient.open_encounter(
            session,
            world.doctor,
            EncounterCreate(
                patient_id=other.id, department_id=world.department.id, registration_id=booking.id
            ),
        )
    with pytest.raises(InvalidInput, match="缴费方式"):
        scheduling.confirm(session, DESK, booking.id, payment_method="bitcoin")


def test_api_opens_the_visit_from_the_credit_registration(
    client, session: Session, world: World, frozen_clock: FrozenClock
) -> None:  # type: ignore[no-untyped-def]
    from tests.builders import bearer, make_user
    from yilian.kit.auth.domain import Role

    patient = make_patient(session, institution=world.hospital)
    booking = _registration(session, world, patient.id, method=registration_fees.CREDIT_METHOD)
    doctor = make_user(session, role=Role.DOCTOR, institution=world.hospital)
    session.commit()
    headers = bearer(client, doctor)
    r = client.post(
        "/api/v1/billing/visits",
        json={"patient_id": patient.id, "department_id": world.department.id},
        headers=headers,
    )
    assert r.status_code == 201 or r.status_code == 200, r.text
    assert r.json()["registration_id"] == booking.id
    bill = client.get(f"/api/v1/billing/encounters/{r.json()['id']}/bill", headers=headers)
    assert bill.status_code == 200, bill.text
    assert [c["amount"] for c in bill.json()["charges"] if c["booking_id"] == booking.id] == [1000]


def test_fee_through_a_channel_is_paid_once_and_refunded_on_cancel(
    session: Session, world: World, frozen_clock: FrozenClock
) -> None:
    from yilian.billing.models import Payment, Refund

    patient = make_patient(session, institution=world.hospital)
    booking = _registration(session, world, patient.id, method="wechat")
    assert booking.payment_state == "paid"
    payments = session.scalars(select(Payment).where(Payment.reference == f"registration:{booking.id}")).all()
    assert [(p.amount, p.channel, p.status) for p in payments] == [(1000, "wechat", "succeeded")]
    scheduling.cancel(session, DESK, booking.id)
    assert booking.payment_state == "refund_due"
    refund = registration_fees.refund_fee(session, booking.id)  # what the event subscriber does
    assert refund is not None and (refund.amount, refund.status) == (1000, "succeeded")
    assert booking.payment_state == "refunded"
    assert registration_fees.refund_fee(session, booking.id) is None  # a repeated event refunds nothing
    assert session.scalars(select(Refund).where(Refund.payment_id == payments[0].id)).all() == [refund]


def test_stopping_a_clinic_refunds_channel_fees_through_the_event(
    session: Session, world: World, frozen_clock: FrozenClock
) -> None:
    from yilian.kit.events import Event

    patient = make_patient(session, institution=world.hospital)
    booking = _registration(session, world, patient.id, method="alipay")
    scheduling.stop_clinic(session, DESK, booking.schedule_id, "专家外出会诊")
    assert booking.payment_state == "refund_due"
    registration_fees._refund_on_cancel(
        session,
        Event(
            id=0,
            topic="scheduling.clinic_stopped",
            payload={"booking_id": booking.id},
            created_at=frozen_clock.now(),
        ),
    )
    assert booking.payment_state == "refunded"
