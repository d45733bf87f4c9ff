"""云伴诊 in a browser, two phones: the schoolgirl invites her father with 进度 and 结果; he watches while
she checks in, is called and her lab result is released; she revokes; his page stops and says why."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from datetime import datetime, time

import httpx
from playwright.sync_api import Browser, Page
from sqlalchemy import Engine, create_engine, select
from sqlalchemy.orm import Session

from tests.e2e.browser import DEMO_PASSWORD, UI_TIMEOUT_MS, login, screenshot
from yilian.catalog.models import CatalogItem
from yilian.companion.models import Follow
from yilian.kit import clock
from yilian.kit.auth.models import User
from yilian.registry.models import Department, Institution, Patient
from yilian.results.models import ExamItem
from yilian.scheduling.models import Booking, Schedule

http = httpx.Client(timeout=60)  # a loaded CI machine answers slowly; no timing is asserted


def _token(base: str, username: str) -> dict[str, str]:
    r = http.post(f"{base}/api/v1/auth/token", json={"username": username, "password": DEMO_PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _oru(engine: Engine, patient_id: int, schedule_id: int, at: datetime) -> bytes:
    """An HL7 v2.5 ORU^R01 from the laboratory of the visit's hospital: one glucose result for her."""
    with Session(engine) as s:
        patient = s.get(Patient, patient_id)
        schedule = s.get(Schedule, schedule_id)
        assert patient is not None and schedule is not None
        department = s.get(Department, schedule.department_id)
        assert department is not None
        institution = s.get(Institution, department.institution_id)
        code = s.scalars(
            select(ExamItem.code).where(ExamItem.kind == "lab", ExamItem.is_active).order_by(ExamItem.code)
        ).first()
        assert institution is not None and code is not None
        sender, id_number = institution.code, patient.id_number
    stamp = at.astimezone(clock.BUSINESS_TZ).strftime("%Y%m%d%H%M%S")
    control = f"E2E{uuid.uuid4().hex[:12]}"
    return "\r".join(
        [
            f"MSH|^~\\&|LIS|{sender}|YILIAN|REGION|{stamp}||ORU^R01^ORU_R01|{control}|P|2.5",
            f"PID|1||{id_number}^^^^NNCHN",
            f"OBR|1||{control}-F|{code}|||{stamp}",
            f"OBX|1|NM|{code}^检验^L||5.6|mmol/L|3.9-6.1||||F|||{stamp}",
        ]
    ).encode()


def test_father_follows_his_daughter_until_she_revokes(
    browser: Browser, live_server: str, server_clock: Callable[[datetime], None]
) -> None:
    engine = create_engine(os.environ["YILIAN_E2E_DATABASE_URL"])
    with Session(engine) as s:
        girl = s.scalar(select(User.patient_id).where(User.username == "patient"))
        assert girl is not None
        demo = s.scalars(select(Follow).where(Follow.patient_id == girl)).first()
        assert demo is not None  # the demo: family follows patient's visit
        booking = s.get(Booking, demo.visit_id)
        assert booking is not None
        day, schedule_id, booking_id, demo_id = booking.day, booking.schedule_id, booking.id, demo.id
    morning = clock.local_datetime(day, time(8, 30))
    server_clock(morning)  # the visit's day
    base = live_server
    girl_api, admin_api = _token(base, "patient"), _token(base, "admin")
    # the demo's standing invitation (进度 only) is withdrawn so the story starts from the invite page
    assert http.post(f"{base}/api/v1/companion/follows/{demo_id}/revoke", headers=girl_api).status_code == 200

    def phone() -> Page:
        ctx = browser.new_context(
            base_url=base,
            viewport={"width": 390, "height": 844},
            is_mobile=True,
            has_touch=True,
            locale="zh-CN",
        )
        ctx.set_default_timeout(UI_TIMEOUT_MS)
        return ctx.new_page()

    she, he = phone(), phone()
    login(she, "patient")
    she.goto("/companion")
    she.get_by_test_id("scope-results").click()
    she.get_by_test_id("invite-submit").click()
    she.get_by_text("进度、结果").first.wait_for()
    screenshot(she, "companion-invite")
    with Session(engine) as s:
        fid = s.scalars(select(Follow.id).where(Follow.patient_id == girl, Follow.revoked_at.is_(None))).one()

    login(he, "family")
    he.goto("/companion")
    he.get_by_test_id(f"open-follow-{fid}").click()
    he.get_by_test_id("feed-status").filter(has_text="实时更新中").wait_for()

    r = http.post(f"{base}/api/v1/scheduling/bookings/{booking_id}/check-in", headers=girl_api, json={})
    assert r.status_code in (200, 201), r.text
    lines = he.get_by_test_id("feed-line")
    lines.filter(has_text="女儿已签到").first.wait_for()
    for _ in range(30):  # the clinic calls until it is her turn
        r = http.post(f"{base}/api/v1/scheduling/schedules/{schedule_id}/call-next", headers=admin_api)
        assert r.status_code == 200, r.text
        if r.json()["patient_id"] == girl:
            break
    lines.filter(has_text="女儿被叫号了").first.wait_for()
    # the laboratory releases her result: its LIS sends an HL7 ORU^R01 to the results area, whose
    # ingest stores it and emits the event the feed is made from (no event is written by the test)
    r = http.post(
        f"{base}/api/v1/results/hl7", content=_oru(engine, girl, schedule_id, morning), headers=admin_api
    )
    assert r.status_code == 200 and len(r.json()["result_ids"]) == 1, r.text
    lines.filter(has_text="1 项检查检验结果已出").first.wait_for()
    screenshot(he, "companion-feed-live")

    she.goto("/companion")
    she.get_by_test_id(f"revoke-{fid}").click()
    she.get_by_test_id(f"follower-{fid}").get_by_text("已撤销").wait_for()
    he.get_by_test_id("feed-status").filter(has_text="患者已撤销授权").wait_for()
    assert he.get_by_test_id("feed-line").count() == 0
    screenshot(he, "companion-feed-revoked")
    she.get_by_test_id(f"follower-{fid}").get_by_text("对方看到的").click()
    screenshot(she, "companion-who-follows")
    engine.dispose()


def test_father_pays_her_bill_from_the_feed(
    browser: Browser, live_server: str, server_clock: Callable[[datetime], None]
) -> None:
    """亲情付: she lets her father see the bills (费用); the doctor orders a test on her visit; on his feed
    page he taps 亲情付 and the bill is settled with him as the payer (billing's settlement)."""
    engine = create_engine(os.environ["YILIAN_E2E_DATABASE_URL"])
    with Session(engine) as s:
        girl = s.scalar(select(User.patient_id).where(User.username == "patient"))
        father = s.scalar(select(User.patient_id).where(User.username == "family"))
        demo = s.scalars(select(Follow).where(Follow.patient_id == girl).order_by(Follow.id)).first()
        assert demo is not None and girl is not None and father is not None
        booking = s.get(Booking, demo.visit_id)
        assert booking is not None
        hospital = s.scalars(select(Institution.id).where(Institution.code == "NTGH")).one()
        department = s.scalars(  # the demo user doctor works at the general hospital
            select(Department)
            .where(Department.institution_id == hospital, Department.is_clinical)
            .order_by(Department.id)
        ).first()
        lab = s.scalars(
            select(CatalogItem.code).where(CatalogItem.kind == "lab").order_by(CatalogItem.code)
        ).first()
        assert department is not None and lab is not None
        day, department_id, booking_id = booking.day, department.id, booking.id
    server_clock(clock.local_datetime(day, time(9, 0)))
    base = live_server
    girl_api, doctor_api = _token(base, "patient"), _token(base, "doctor")
    mine = http.get(f"{base}/api/v1/companion/patients/{girl}/follows", headers=girl_api).json()
    for f in mine:  # whatever an earlier test left live for her father on this visit
        if f["relative_id"] == father and f["revoked_at"] is None:
            http.post(f"{base}/api/v1/companion/follows/{f['id']}/revoke", headers=girl_api)
    r = http.post(
        f"{base}/api/v1/companion/follows",
        headers=girl_api,
        json={
            "patient_id": girl,
            "relative_id": father,
            "visit_kind": "booking",
            "visit_id": booking_id,
            "progress": True,
            "bills": True,
        },
    )
    assert r.status_code == 201, r.text
    fid = r.json()["id"]
    try:
        visit = http.post(  # she sees a doctor today: a visit with a lab test on her bill
            f"{base}/api/v1/encounters",
            headers=doctor_api,
            json={"patient_id": girl, "department_id": department_id},
        )
        assert visit.status_code in (200, 201), visit.text
        encounter_id = visit.json()["id"]
        order = http.post(
            f"{base}/api/v1/billing/encounters/{encounter_id}/orders",
            headers=doctor_api,
            json={"item_code": lab},
        )
        assert order.status_code == 201, order.text

        he = browser.new_context(
            base_url=base,
            viewport={"width": 390, "height": 844},
            is_mobile=True,
            has_touch=True,
            locale="zh-CN",
        ).new_page()
        he.set_default_timeout(UI_TIMEOUT_MS)
        login(he, "family")
        he.goto(f"/companion/follow/{fid}")
        pay = he.get_by_test_id(f"family-pay-{encounter_id}")
        pay.wait_for()
        assert pay.inner_text().startswith("亲情付 ¥")
        screenshot(he, "companion-family-pay")
        pay.click()
        he.get_by_test_id(f"family-bill-{encounter_id}").get_by_text("已由我代付").wait_for()
        he.get_by_test_id("feed-line").filter(has_text="女儿的门诊费用已结算").first.wait_for()
        screenshot(he, "companion-family-paid")
        bill = http.get(f"{base}/api/v1/billing/encounters/{encounter_id}/bill", headers=girl_api).json()
        assert bill["settlement"]["cash_payer_id"] == father and bill["settlement"]["status"] == "settled"
    finally:
        http.post(f"{base}/api/v1/companion/follows/{fid}/revoke", headers=girl_api)
        engine.dispose()
