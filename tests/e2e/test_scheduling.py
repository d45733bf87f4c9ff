"""Booking to free return visit in a browser: the patient books a morning place of the ``doctor`` user's
ordinary clinic on the phone and pays the fee, the registrar checks her in, the doctor calls her and a
waiting-room display opened before the call shows it without a reload; on the department's next open
day the registrar registers a return visit under the same registration (一号管三天) and no fee is taken.

The days come from the demo's schedules in the database (seeded from the real date), and the server's
clock is moved to 07:30 on them, so the test does not depend on today's weekday.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from playwright.sync_api import Page, expect
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from tests.e2e.browser import eventually, login, settle
from tests.e2e.browser import screenshot_from_top as _shot
from yilian.kit.auth.models import User
from yilian.kit.clock import business_date
from yilian.kit.money import yuan
from yilian.registry.models import Department, Institution, Patient, Practitioner
from yilian.scheduling.models import (
    Booking,
    QueueEntry,
    ReturnVisit,
    Schedule,
    ScheduleTemplate,
    SchedulingPolicy,
    Slot,
)
from yilian.scheduling.pages.common import day_label

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _pick(page: Page, testid: str, text: str) -> None:
    page.get_by_test_id(testid).click()
    option = page.get_by_role("option", name=text, exact=True)
    option.click()
    option.wait_for(state="hidden")  # the menu has closed (it would cover a screenshot)


def _at_0730(day: date) -> datetime:
    return datetime.combine(day, time(7, 30), tzinfo=SHANGHAI)


def _clinic_days(db: Session) -> tuple[Schedule, date, int]:
    """The doctor's first ordinary morning clinic from today on whose department opens again later,
    that next open day, and the doctor's practitioner id."""
    doctor_id = db.scalars(select(User.practitioner_id).where(User.username == "doctor")).one()
    assert doctor_id is not None
    mornings = db.scalars(
        select(Schedule)
        .where(
            Schedule.practitioner_id == doctor_id,
            Schedule.period == "am",
            Schedule.clinic_type == "ordinary",
            Schedule.status == "open",
            Schedule.day >= business_date(),
        )
        .order_by(Schedule.day)
    ).all()
    for first in mornings:
        later = db.scalar(
            select(func.min(Schedule.day)).where(
                Schedule.department_id == first.department_id,
                Schedule.status == "open",
                Schedule.day > first.day,
            )
        )
        if later is not None:
            return first, later, doctor_id
    raise AssertionError("the demo gives the doctor no ordinary morning clinic followed by another open day")


def test_book_check_in_call_then_free_return_visit(
    page: Page, phone_page: Page, server_clock: Callable[[datetime], None]
) -> None:
    engine = create_engine(os.environ["YILIAN_E2E_DATABASE_URL"])
    with Session(engine) as db:
        clinic, next_day, doctor_id = _clinic_days(db)
        patient_id = db.scalars(select(User.patient_id).where(User.username == "patient")).one()
        patient_name = db.scalars(select(Patient.name).where(Patient.id == patient_id)).one()
        hospital = db.scalars(select(Institution.name).where(Institution.id == clinic.institution_id)).one()
        department = db.scalars(select(Department.name).where(Department.id == clinic.department_id)).one()
        doctor = db.get_one(Practitioner, doctor_id)
        first_slot = db.scalars(
            select(Slot.id).where(Slot.schedule_id == clinic.id).order_by(Slot.start)
        ).first()

    # the patient books on her phone at 07:30 on the clinic day (places are released 7 days ahead)
    server_clock(_at_0730(clinic.day))
    login(phone_page, "patient")
    phone_page.goto("/scheduling/book")
    _pick(phone_page, "book-institution", hospital)
    _pick(phone_page, "book-department", department)
    _pick(phone_page, "book-doctor", f"{doctor.name}（{doctor.title}）")
    _pick(phone_page, "book-day", day_label(clinic.day))
    phone_page.get_by_test_id(f"book-session-{clinic.id}").get_by_text("普通门诊").wait_for()
    _shot(phone_page, "scheduling-patient-slots")
    phone_page.get_by_test_id(f"slot-{first_slot}").click()
    phone_page.get_by_test_id("book-hold-fee").wait_for()
    _pick(phone_page, "book-pay-method", "手机支付")
    phone_page.get_by_test_id("book-confirm").click()
    phone_page.get_by_test_id("book-done").get_by_text("挂号成功").wait_for()
    assert "一号管三天，有效期至" in phone_page.get_by_test_id("book-done").inner_text()

    with Session(engine) as db:
        booking = db.scalars(
            select(Booking).where(Booking.patient_id == patient_id, Booking.schedule_id == clinic.id)
        ).one()
        bookings_before = db.scalar(select(func.count()).where(Booking.patient_id == patient_id))
    assert booking.status == "confirmed" and booking.payment_state == "paid"
    assert booking.payment_method == "phone" and booking.fee_fen > 0
    assert booking.qualifies_three_day and booking.valid_until is not None and booking.valid_until >= next_day
    mine = phone_page.get_by_test_id(f"my-booking-{booking.id}")
    mine.get_by_text("已挂号").wait_for()
    assert f"有效期至 {day_label(booking.valid_until)}" in mine.inner_text()
    _shot(phone_page, "scheduling-patient-booked")

    # the registrar checks her in at the desk
    login(page, "registrar")
    page.goto("/scheduling/desk")
    page.get_by_test_id("desk-patient-query").fill(patient_name)
    page.get_by_test_id("desk-find").click()
    page.get_by_test_id(f"desk-checkin-{booking.id}").click()
    page.get_by_test_id("desk-message").filter(has_text="签到成功").wait_for()
    with Session(engine) as db:
        ticket = db.scalars(select(QueueEntry.ticket_no).where(QueueEntry.booking_id == booking.id)).one()
    _shot(page, "scheduling-desk-checked-in")

    # her phone shows her place in the queue without a reload
    place = phone_page.get_by_test_id(f"queue-place-{booking.id}")
    place.filter(has_text=f"候诊中：{ticket} 号").wait_for()

    # a waiting-room display is open before the call; the doctor calls the next patient
    display = page.context.new_page()
    display.goto(f"/scheduling/display/{clinic.id}")
    display.get_by_test_id("display-call").wait_for()
    login(page, "doctor")
    page.goto("/scheduling/queue")
    page.get_by_test_id(f"queue-{clinic.id}").get_by_text(f"{ticket} 号 {patient_name} 候诊").wait_for()
    page.get_by_test_id(f"call-next-{clinic.id}").click()
    display.get_by_test_id("display-call").filter(has_text=f"请 {ticket} 号").wait_for()
    assert patient_name not in display.get_by_test_id("display-call").inner_text()  # masked on the big screen
    page.get_by_test_id(f"queue-current-{clinic.id}").get_by_text(
        f"{ticket} 号 {patient_name} 就诊中"
    ).wait_for()
    place.filter(has_text="正在叫您的号").wait_for()  # and then that she is called
    _shot(page, "scheduling-doctor-queue")
    _shot(phone_page, "scheduling-patient-called")
    _shot(display, "scheduling-display-called")
    display.close()

    # the department's next open day: a return visit under the same registration, free of charge
    server_clock(_at_0730(next_day))
    login(page, "registrar")
    page.goto("/scheduling/desk")
    page.get_by_test_id("desk-patient-query").fill(patient_name)
    page.get_by_test_id("desk-find").click()
    page.get_by_test_id(f"desk-return-{booking.id}").click()
    message = page.get_by_test_id("desk-message").filter(has_text="复诊登记成功")
    message.wait_for()
    assert "免挂号费" in message.inner_text() and f"已减免 {yuan(booking.fee_fen)}" in message.inner_text()
    page.get_by_test_id(f"booking-return-{booking.id}").wait_for()
    _shot(page, "scheduling-desk-return-visit")

    with Session(engine) as db:
        after = db.get_one(Booking, booking.id)
        bookings_after = db.scalar(select(func.count()).where(Booking.patient_id == patient_id))
        visit = db.scalars(select(ReturnVisit).where(ReturnVisit.booking_id == booking.id)).one()
        entry = db.scalars(
            select(QueueEntry).where(QueueEntry.booking_id == booking.id, QueueEntry.is_return.is_(True))
        ).one()
        target = db.get_one(Schedule, entry.schedule_id)
    engine.dispose()
    assert bookings_after == bookings_before  # no new registration
    assert (after.payment_state, after.payment_method, after.fee_fen, after.paid_at) == (
        booking.payment_state,
        booking.payment_method,
        booking.fee_fen,
        booking.paid_at,
    )  # nothing more taken
    assert after.returns_used == 1
    assert visit.day == next_day and visit.fee_waived_fen == booking.fee_fen
    assert target.day == next_day and target.department_id == clinic.department_id


def test_admin_edits_policy_adds_template_and_generates(page: Page) -> None:
    engine = create_engine(os.environ["YILIAN_E2E_DATABASE_URL"])
    with Session(engine) as db:
        doctor_institution = db.scalars(select(User.institution_id).where(User.username == "doctor")).one()
        other = db.scalars(
            select(Institution)
            .where(Institution.level >= 2, Institution.id != doctor_institution)
            .order_by(Institution.id)
        ).first()
        assert other is not None
        dept = db.scalars(
            select(Department)
            .where(Department.institution_id == other.id, Department.is_clinical.is_(True))
            .order_by(Department.code)
        ).first()
        assert dept is not None
        hospital, dept_name = other.name, dept.name

    login(page, "admin")
    page.goto("/scheduling/admin")
    _pick(page, "admin-institution", hospital)
    # the form is redrawn for the chosen hospital: fill it only once that has happened
    page.locator(f'[data-institution="{other.id}"]').wait_for()
    page.get_by_test_id("policy-cancel_cutoff_minutes").fill("60")
    page.get_by_test_id("fee-ordinary").fill("12.50")
    page.get_by_test_id("policy-save").click()
    page.get_by_text("已保存 2 项规则").wait_for()
    _shot(page, "scheduling-admin-policy")

    page.get_by_test_id("admin-tab-templates").click()
    _pick(page, "template-department", dept_name)
    _pick(page, "template-weekday", "周日")
    _pick(page, "template-period", "夜间")
    page.get_by_test_id("template-save").click()
    page.get_by_text("模板已保存").wait_for()
    with Session(engine) as db:
        template_id = db.scalars(
            select(ScheduleTemplate.id).where(
                ScheduleTemplate.department_id == dept.id,
                ScheduleTemplate.weekday == 6,
                ScheduleTemplate.period == "night",
            )
        ).one()
    page.get_by_test_id(f"template-{template_id}").wait_for()
    page.get_by_test_id("generate-days").fill("14")
    page.get_by_test_id("generate").click()
    page.get_by_test_id("generate-result").filter(has_text="已生成").wait_for()
    _shot(page, "scheduling-admin-templates")
    page.get_by_test_id("generate").click()
    page.get_by_test_id("generate-result").filter(has_text="没有需要新生成的排班").wait_for()

    with Session(engine) as db:
        policy = json.loads(
            db.scalars(select(SchedulingPolicy.data).where(SchedulingPolicy.institution_id == other.id)).one()
        )
        nights = db.scalars(
            select(Schedule).where(Schedule.department_id == dept.id, Schedule.period == "night")
        ).all()
    assert policy["cancel_cutoff_minutes"] == 60 and policy["fees"]["ordinary"] == 1250
    assert nights and all(s.day.weekday() == 6 and s.fee_fen == 1250 for s in nights)

    page.get_by_test_id(f"template-delete-{template_id}").click()
    page.get_by_test_id(f"template-{template_id}").wait_for(state="detached")
    engine.dispose()


def test_stopped_clinic_refunds_the_wechat_fee_and_offers_rebooking(
    phone_page: Page, live_server: str
) -> None:
    """停诊: the fee paid by WeChat goes back through WeChat (the outbox subscriber) and the patient's
    booking list offers 改约 in the same department."""

    import httpx

    from yilian.billing.models import Payment, Refund

    engine = create_engine(os.environ["YILIAN_E2E_DATABASE_URL"])
    today = business_date()
    with Session(engine) as db:
        patient_id = db.scalars(select(User.patient_id).where(User.username == "patient")).one()
        doctor_dept = db.scalars(
            select(Schedule.department_id)
            .join(User, User.practitioner_id == Schedule.practitioner_id)
            .where(User.username == "doctor")
        ).first()
        taken = set(db.scalars(select(Booking.day).where(Booking.patient_id == patient_id)))
        clinic = next(
            s
            for s in db.scalars(
                select(Schedule)
                .join(Institution, Institution.id == Schedule.institution_id)
                .where(
                    Institution.level >= 2,
                    Schedule.department_id != doctor_dept,
                    Schedule.status == "open",
                    Schedule.day > today,
                    Schedule.day <= date.fromordinal(today.toordinal() + 6),
                    Schedule.practitioner_id.is_not(None),
                )
                .order_by(Schedule.day, Schedule.id)
            )
            if s.day not in taken
        )
        hospital = db.scalars(select(Institution.name).where(Institution.id == clinic.institution_id)).one()
        department = db.scalars(select(Department.name).where(Department.id == clinic.department_id)).one()
        doctor = db.get_one(Practitioner, clinic.practitioner_id)
        slot = db.scalars(
            select(Slot)
            .where(Slot.schedule_id == clinic.id, Slot.booked < Slot.capacity)
            .order_by(Slot.start)
        ).first()
        assert slot is not None

    login(phone_page, "patient")
    phone_page.goto("/scheduling/book")
    _pick(phone_page, "book-institution", hospital)
    _pick(phone_page, "book-department", department)
    _pick(phone_page, "book-doctor", f"{doctor.name}（{doctor.title}）")
    _pick(phone_page, "book-day", day_label(clinic.day))
    phone_page.get_by_test_id(f"slot-{slot.id}").click()
    phone_page.get_by_test_id("book-hold-fee").wait_for()
    _pick(phone_page, "book-pay-method", "微信支付")
    phone_page.get_by_test_id("book-confirm").click()
    phone_page.get_by_test_id("book-done").get_by_text("挂号成功").wait_for()
    with Session(engine) as db:
        booking = db.scalars(
            select(Booking).where(Booking.patient_id == patient_id, Booking.schedule_id == clinic.id)
        ).one()
        paid = db.scalars(select(Payment).where(Payment.reference == f"registration:{booking.id}")).one()
    assert (booking.payment_state, paid.channel, paid.amount, paid.status) == (
        "paid",
        "wechat",
        booking.fee_fen,
        "succeeded",
    )

    token = httpx.post(
        f"{live_server}/api/v1/auth/token", json={"username": "admin", "password": "Demo@2026"}
    ).json()["access_token"]
    stopped = httpx.post(
        f"{live_server}/api/v1/scheduling/schedules/{clinic.id}/stop",
        json={"reason": "医生外出会诊"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert stopped.status_code == 200, stopped.text

    def refunded() -> bool:  # the refund is made by the outbox dispatcher, right after the commit
        with Session(engine) as db:
            return db.get_one(Booking, booking.id).payment_state == "refunded"

    eventually(refunded)
    with Session(engine) as db:
        refunds = db.scalars(select(Refund).where(Refund.payment_id == paid.id)).all()
    assert [(r.amount, r.status) for r in refunds] == [(booking.fee_fen, "succeeded")]

    phone_page.goto("/scheduling/book")
    mine = phone_page.get_by_test_id(f"my-booking-{booking.id}")
    mine.get_by_text("已停诊").first.wait_for()
    phone_page.get_by_test_id(f"rebook-{booking.id}").click()
    phone_page.get_by_text("请选择同科室其他医生或日期").wait_for()
    assert department in phone_page.get_by_test_id("book-department").inner_text()
    mine.get_by_text("已退费").first.wait_for()
    settle(phone_page)  # the labels and the notice at rest
    _shot(phone_page, "scheduling-patient-stopped-rebook")
    engine.dispose()


def _pick_containing(page: Page, testid: str, text: str) -> None:
    page.get_by_test_id(testid).click()
    option = page.get_by_role("option").filter(has_text=text).first
    option.click()
    option.wait_for(state="hidden")


def test_walk_in_on_credit_then_the_doctor_opens_the_visit_from_the_registration(
    page: Page, server_clock: Callable[[datetime], None]
) -> None:
    """记账挂号 at the desk → the doctor calls the patient and follows 接诊 to order entry, where the
    visit opens from that registration and the registration fee is on the day's bill."""
    from yilian.billing.models import Arrear, Charge
    from yilian.outpatient.models import Encounter

    engine = create_engine(os.environ["YILIAN_E2E_DATABASE_URL"])
    with Session(engine) as db:
        clinic, _next_day, doctor_id = _clinic_days(db)
        with_accounts = select(User.patient_id).where(User.patient_id.is_not(None))
        owing = select(Arrear.patient_id)
        booked = select(Booking.patient_id).where(Booking.day == clinic.day)
        unique_names = select(Patient.name).group_by(Patient.name).having(func.count() == 1).scalar_subquery()
        patient = db.scalars(
            select(Patient)
            .where(
                Patient.real_name_verified.is_(True),
                Patient.insurance_scheme != "self_pay",
                Patient.id.not_in(with_accounts),
                Patient.id.not_in(owing),
                Patient.id.not_in(booked),
                Patient.name.in_(unique_names),
            )
            .order_by(Patient.id)
        ).first()
        assert patient is not None
        department = db.scalars(select(Department.name).where(Department.id == clinic.department_id)).one()
        doctor = db.get_one(Practitioner, doctor_id)

    server_clock(_at_0730(clinic.day))
    login(page, "registrar")
    page.goto("/scheduling/desk")
    page.get_by_test_id("desk-patient-query").fill(patient.name)
    page.get_by_test_id("desk-find").click()
    page.get_by_test_id("desk-patient").filter(has_text=patient.name).wait_for()
    _pick_containing(page, "desk-walkin-schedule", f"{department} {doctor.name}")
    _pick(page, "desk-walkin-method", "先诊疗后付费（记账）")
    page.get_by_test_id("desk-walkin").click()
    page.get_by_test_id("desk-message").filter(has_text="记入当日账单").wait_for()
    with Session(engine) as db:
        booking = db.scalars(
            select(Booking).where(Booking.patient_id == patient.id, Booking.schedule_id == clinic.id)
        ).one()
    assert (booking.status, booking.payment_state, booking.channel) == ("confirmed", "credit", "desk")
    page.get_by_test_id(f"desk-checkin-{booking.id}").click()
    page.get_by_test_id("desk-message").filter(has_text="签到成功").wait_for()

    login(page, "doctor")
    page.goto("/scheduling/queue")
    page.get_by_test_id(f"queue-{clinic.id}").get_by_text(patient.name).wait_for()
    current = page.get_by_test_id(f"queue-current-{clinic.id}")
    for _ in range(5):  # patients of an earlier story may still be ahead of her
        before = current.inner_text()
        page.get_by_test_id(f"call-next-{clinic.id}").click()
        expect(current).not_to_have_text(before, use_inner_text=True)  # the next ticket is called
        if patient.name in current.inner_text():
            break
    current.get_by_text(f"{patient.name} 就诊中").wait_for()
    current.get_by_role("link", name="接诊 → 门诊医嘱").click()
    page.get_by_test_id("clinic-start").click()
    page.get_by_test_id("clinic-visit").filter(has_text="凭挂号接诊").wait_for()
    page.get_by_test_id("clinic-orders").get_by_text("挂号费（记账挂号）").wait_for()
    _shot(page, "scheduling-visit-from-registration")
    with Session(engine) as db:
        encounter = db.scalars(
            select(Encounter).where(
                Encounter.patient_id == patient.id, Encounter.registration_id == booking.id
            )
        ).one()
        fee = db.scalars(select(Charge).where(Charge.booking_id == booking.id)).one()
    engine.dispose()
    assert encounter.registration_id == booking.id and encounter.department_id == clinic.department_id
    assert (fee.amount, fee.on_credit, fee.status, fee.encounter_id) == (
        booking.fee_fen,
        True,
        "open",
        encounter.id,
    )


def test_kiosk_check_in_by_id_number(page: Page, server_clock: Callable[[datetime], None]) -> None:
    """自助机: the hall machine finds today's registration by the resident ID number and checks in."""
    engine = create_engine(os.environ["YILIAN_E2E_DATABASE_URL"])
    with Session(engine) as db:
        clinic, _next_day, _doctor = _clinic_days(db)
        kiosk_institution = db.scalars(select(User.institution_id).where(User.username == "kiosk")).one()
        checked_in = select(QueueEntry.booking_id)
        booking = db.scalars(
            select(Booking)
            .where(
                Booking.day == clinic.day,
                Booking.institution_id == kiosk_institution,
                Booking.status == "confirmed",
                Booking.id.not_in(checked_in),
            )
            .order_by(Booking.id)
        ).first()
        assert booking is not None, "the demo books places of the coming days"
        id_number = db.scalars(select(Patient.id_number).where(Patient.id == booking.patient_id)).one()

    server_clock(_at_0730(clinic.day))
    login(page, "kiosk")
    page.goto("/scheduling/kiosk")
    page.get_by_test_id("kiosk-id").fill("110101199003071234")  # nobody's
    page.get_by_test_id("kiosk-lookup").click()
    page.get_by_test_id("kiosk-result").get_by_text("未找到该证件号的患者").wait_for()
    page.get_by_test_id("kiosk-id").fill(id_number)
    page.get_by_test_id("kiosk-lookup").click()
    card = page.get_by_test_id(f"kiosk-booking-{booking.id}")
    card.wait_for()
    assert "*" in card.inner_text()  # the name is masked on a public screen
    page.get_by_test_id(f"kiosk-checkin-{booking.id}").click()
    page.get_by_test_id("kiosk-done").filter(has_text="签到成功").wait_for()
    _shot(page, "scheduling-kiosk-checked-in")
    with Session(engine) as db:
        entry = db.scalars(select(QueueEntry).where(QueueEntry.booking_id == booking.id)).one()
    engine.dispose()
    assert f"{entry.ticket_no} 号" in page.get_by_test_id("kiosk-done").inner_text()
