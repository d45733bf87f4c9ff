"""The doctor's workstation story in a browser: the doctor calls a patient, writes the record from a
template, adds two diagnoses, prescribes metformin 0.5 g tid po for 14 days (the quantity computed)
and an interacting drug — the review warning shows — and removes it; the pharmacist passes the
prescription; the patient pays on the phone; the window dispenses after a second check; the patient's
phone shows how to take it; the A5 record prints."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime, time, timedelta

from playwright.sync_api import Page
from sqlalchemy import create_engine, select

from tests.e2e.browser import login, screenshot
from yilian.kit.auth.models import User
from yilian.kit.clock import BUSINESS_TZ, business_date
from yilian.registry.models import Patient


def _pick(page: Page, testid: str, text: str) -> None:
    page.get_by_test_id(testid).click()
    page.get_by_role("option", name=text).first.click()


def _patient_name() -> str:
    engine = create_engine(os.environ["YILIAN_E2E_DATABASE_URL"])
    with engine.connect() as conn:
        patient_id = conn.execute(select(User.patient_id).where(User.username == "patient")).scalar_one()
        name = conn.execute(select(Patient.name).where(Patient.id == patient_id)).scalar_one()
    engine.dispose()
    return str(name)


def _doctor_writes(page: Page, name: str) -> None:
    login(page, "doctor")
    page.goto("/clinic")
    page.get_by_test_id("clinic-patient-query").fill(name)
    page.get_by_test_id("clinic-find").click()
    page.get_by_test_id("clinic-patient").filter(has_text=name).wait_for()
    page.get_by_test_id("clinic-start").click()
    page.get_by_test_id("clinic-visit").filter(has_text="就诊号").wait_for()
    _pick(page, "record-template", "通用门诊病历")
    page.get_by_test_id("record-apply").click()
    page.get_by_test_id("record-past_history").filter(has_text="").wait_for()
    page.get_by_test_id("record-chief_complaint").fill("口干、多饮、多尿 3 月")
    page.get_by_test_id("record-advice").fill("糖尿病饮食，监测血糖，2 周后复诊")
    page.get_by_test_id("record-weight").fill("72")
    page.get_by_test_id("record-save").click()
    for option in ("E11.900 2型糖尿病", "I10.x00x002 高血压"):
        _pick(page, "dx-select", option)
        page.get_by_test_id("dx-add").click()
        page.get_by_test_id("dx-list").get_by_text(option.split(" ", 1)[1]).wait_for()
    page.get_by_test_id("rx-long-term").click()  # 14 days: a chronic patient's 长期处方
    _pick(page, "rx-drug", "盐酸二甲双胍片")
    page.get_by_test_id("rx-days").fill("14")
    page.get_by_test_id("rx-days").press("Tab")
    page.get_by_test_id("rx-quantity").filter(has_text="42 ÷ 48 向上取整 = 1盒").wait_for()
    page.get_by_test_id("rx-add").click()
    page.get_by_test_id("rx-line").filter(has_text="盐酸二甲双胍片").wait_for()
    _pick(page, "rx-drug", "西咪替丁片")
    page.get_by_test_id("rx-warning").filter(has_text="乳酸酸中毒").wait_for()
    screenshot(page, "workbench-interaction-warning")
    page.get_by_test_id("rx-add").click()
    page.get_by_test_id("rx-line").filter(has_text="西咪替丁片").wait_for()
    page.reload()  # the open visit comes back after a reload
    page.get_by_test_id("clinic-visit").filter(has_text="继续就诊").wait_for()
    page.get_by_test_id("rx-remove-XA02BAX001A001010100001").click()
    page.get_by_test_id("rx-line").filter(has_text="西咪替丁片").wait_for(state="detached")
    # the interaction is gone with the drug (the demo patient is a child: a 儿科处方 hint may remain)
    assert page.get_by_test_id("rx-warning").filter(has_text="乳酸酸中毒").count() == 0
    page.get_by_test_id("record-sign").click()
    page.get_by_test_id("record-status").filter(has_text="已签名").wait_for()
    page.get_by_test_id("rx-submit").click()
    page.get_by_test_id("rx-status").filter(has_text="待审方").wait_for()
    screenshot(page, "workbench-doctor")


def test_doctor_pharmacist_window_and_patient(
    page: Page, phone_page: Page, server_clock: Callable[[datetime], None]
) -> None:
    # tomorrow morning: a day of its own, whatever other browser tests did with this patient today
    server_clock(datetime.combine(business_date() + timedelta(days=1), time(9, 0), tzinfo=BUSINESS_TZ))
    name = _patient_name()
    _doctor_writes(page, name)
    pdf_url = page.get_by_test_id("record-print").get_attribute("href")
    assert pdf_url, "the record has no print link"
    pdf = page.request.get(pdf_url)
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf" and pdf.body().startswith(b"%PDF")

    login(page, "pharmacist")
    page.goto("/pharmacy/review")
    card = page.get_by_test_id("review-card").filter(has_text=name)
    card.get_by_text("盐酸二甲双胍片").wait_for()
    screenshot(page, "workbench-pharmacist-review")
    card.get_by_test_id("review-pass").click()
    page.get_by_test_id("review-empty").wait_for()

    login(phone_page, "patient")
    phone_page.goto("/pay")
    phone_page.get_by_test_id("pay-settle").first.click()
    phone_page.get_by_text("已结算").first.wait_for()

    page.goto("/pharmacy/window")
    page.get_by_test_id("window-checker").fill("pharmacist2")
    row = page.locator("[data-testid^=window-row-]").filter(has_text="盐酸二甲双胍片").first
    row.get_by_test_id("window-call").click()
    screen = page.context.new_page()
    screen.goto("/pharmacy/screen")
    screen.get_by_test_id("screen-call").first.wait_for()
    screenshot(screen, "workbench-call-screen")
    screen.close()
    row.get_by_test_id("window-dispense").click()
    page.get_by_test_id("drug-label").filter(has_text="口服，每日3次，每次0.5g，连用14天").wait_for()
    screenshot(page, "workbench-window-label")

    phone_page.goto("/my/visits")
    phone_page.get_by_test_id("my-how-to-take").filter(
        has_text="口服，每日3次，每次0.5g，连用14天"
    ).first.wait_for()
    phone_page.get_by_test_id("my-prescription-status").filter(has_text="已发药").first.wait_for()
    screenshot(phone_page, "workbench-patient-phone")
