"""Mutual recognition in a browser: the doctor at 南通医联总医院 orders a blood glucose test for a patient
who had one at 海安市第二人民医院 10 days ago; the prompt shows it, the doctor chooses 互认, no order is
placed and the statistics page counts the saved fee."""

from __future__ import annotations

import os

from playwright.sync_api import Page
from sqlalchemy import Connection, create_engine, func, select, text

from tests.e2e.browser import login, screenshot
from yilian.kit.auth.models import User
from yilian.registry.models import Patient
from yilian.results.models import RecognitionDecision


def _orders(conn: Connection, patient_id: int) -> int:
    return int(
        conn.execute(
            text(
                "SELECT count(*) FROM orders o JOIN encounters e ON e.id = o.encounter_id WHERE e.patient_id = :p"
            ),
            {"p": patient_id},
        ).scalar_one()
    )


def test_doctor_recognises_glucose_from_another_alliance_hospital(page: Page) -> None:
    engine = create_engine(os.environ["YILIAN_E2E_DATABASE_URL"])
    with engine.connect() as conn:
        patient_id = conn.execute(select(User.patient_id).where(User.username == "patient")).scalar_one()
        assert patient_id is not None
        name = conn.execute(select(Patient.name).where(Patient.id == patient_id)).scalar_one()
        orders_before = _orders(conn, patient_id)
        decisions_before = conn.execute(select(func.count()).select_from(RecognitionDecision)).scalar_one()

    login(page, "doctor")
    page.goto("/results/order")
    page.get_by_test_id("order-patient-query").fill(name)
    page.get_by_test_id("order-find").click()
    page.get_by_test_id("order-patient").filter(has_text=name).first.click()
    page.get_by_test_id("order-chosen").filter(has_text=name).wait_for()
    page.get_by_test_id("order-item").click()
    page.get_by_role("option", name="葡萄糖测定（血糖）").first.click()
    page.get_by_test_id("order-place").click()
    prompt = page.get_by_test_id("order-prompt")
    prompt.wait_for()
    assert "重复开单提醒" in page.get_by_test_id("order-message").inner_text()
    assert "海安市第二人民医院" in prompt.inner_text()
    assert "同一医联体内互认" in prompt.inner_text()
    screenshot(page, "results-order-prompt")
    page.get_by_test_id("order-recognise").click()
    page.get_by_test_id("order-message").filter(has_text="已互认").wait_for()
    message = page.get_by_test_id("order-message").inner_text()
    assert "未开单" in message and "¥6.00" in message

    with engine.connect() as conn:
        assert _orders(conn, patient_id) == orders_before  # no order placed
        assert conn.execute(select(func.count()).select_from(RecognitionDecision)).scalar_one() == (
            decisions_before + 1
        )
    engine.dispose()

    page.goto("/results/stats")
    saved = page.get_by_test_id("stats-saved")
    saved.wait_for()
    assert saved.inner_text() == "¥6.00"
    assert page.get_by_test_id("stats-recognised").inner_text() == "1 次"
    assert "葡萄糖测定（血糖）" in page.get_by_test_id("stats-item").inner_text()
    screenshot(page, "results-stats")


def test_lookup_timeline_and_qualifications(page: Page) -> None:
    engine = create_engine(os.environ["YILIAN_E2E_DATABASE_URL"])
    with engine.connect() as conn:
        patient_id = conn.execute(select(User.patient_id).where(User.username == "patient")).scalar_one()
    engine.dispose()
    login(page, "doctor")
    page.goto(f"/results/lookup?patient_id={patient_id}")
    table = page.get_by_test_id("lookup-results")
    table.wait_for()
    assert "海安市第二人民医院" in table.inner_text() and "6.8 mmol/L" in table.inner_text()
    page.goto(f"/results/timeline?patient_id={patient_id}&item=GLU")
    page.get_by_test_id("timeline-chart").locator("canvas").first.wait_for()
    screenshot(page, "results-timeline")
    login(page, "admin")
    page.goto("/results/qualifications")
    page.get_by_test_id("qual-row").first.wait_for()
    assert "已过期" in page.locator("body").inner_text()  # 秦灶社区's lapsed QA
    screenshot(page, "results-qualifications")
