"""Treat first, pay later in a browser: a doctor orders a lab test and a CT without the patient
paying, the lab is performed, the patient settles once on the phone with mutual aid (共济) from her
father plus WeChat for the rest, and the cashier's page shows the settlement."""

from __future__ import annotations

import os
import re

from playwright.sync_api import Page, expect
from sqlalchemy import create_engine, select

from tests.e2e.browser import login, screenshot
from yilian.kit.auth.models import User
from yilian.registry.models import Patient


def _pick(page: Page, testid: str, text: str) -> None:
    page.get_by_test_id(testid).click()
    page.get_by_role("option", name=text).first.click()


def test_credit_visit_settled_once_with_mutual_aid(page: Page, phone_page: Page) -> None:
    engine = create_engine(os.environ["YILIAN_E2E_DATABASE_URL"])
    with engine.connect() as conn:
        patient_id = conn.execute(select(User.patient_id).where(User.username == "patient")).scalar_one()
        father_id = conn.execute(select(User.patient_id).where(User.username == "family")).scalar_one()
        child = conn.execute(
            select(Patient.name, Patient.name_initials).where(Patient.id == patient_id)
        ).one()
        father = conn.execute(
            select(Patient.name, Patient.insurance_scheme).where(Patient.id == father_id)
        ).one()
    engine.dispose()

    login(page, "doctor")
    page.goto("/clinic")
    page.get_by_test_id("clinic-patient-query").fill(child.name)
    page.get_by_test_id("clinic-find").click()
    page.get_by_test_id("clinic-patient").filter(has_text=child.name).wait_for()
    page.get_by_test_id("clinic-start").click()
    page.get_by_test_id("clinic-visit").filter(has_text="就诊号").wait_for()
    page.get_by_test_id("clinic-credit").filter(has_text="今日信用额度剩余").wait_for()
    _pick(page, "clinic-item", "葡萄糖测定（血糖）")
    page.get_by_test_id("clinic-order").click()
    # she had a glucose test at another alliance hospital 10 days ago: the repeat-order prompt shows it
    page.get_by_test_id("recognition-candidates").get_by_text("海安市第二人民医院").wait_for()
    screenshot(page, "billing-recognition-prompt")
    page.locator("label", has_text="不互认理由").click()
    page.get_by_role("option", name="病情变化或结果与临床表现不符").first.click()
    page.keyboard.press("Escape")
    page.get_by_test_id("recognition-refuse").click()
    page.get_by_test_id("clinic-message").filter(has_text="已开立").wait_for()
    assert "先诊疗后付费" in page.get_by_test_id("clinic-message").inner_text()
    # the catalogue is searched by pinyin initials (胸部CT平扫 → xbct): the first match is chosen; drugs are
    # prescribed in the prescription editor (tests/e2e/test_workbench.py)
    page.get_by_test_id("clinic-item-query").fill("xbct")
    expect(page.get_by_test_id("clinic-item")).to_have_value(re.compile("^胸部CT平扫"))
    page.get_by_test_id("clinic-order").click()
    page.get_by_test_id("clinic-message").filter(has_text="胸部CT平扫").wait_for()
    orders = page.get_by_test_id("clinic-orders")
    orders.get_by_text("信用").nth(1).wait_for()
    page.locator("label", has_text="执行医嘱").click()
    page.get_by_role("option", name="葡萄糖测定（血糖）").first.click()
    page.get_by_test_id("clinic-perform").click()
    orders.get_by_text("已执行").wait_for()
    assert "已用 ¥0.00" not in page.get_by_test_id("clinic-credit").inner_text()
    screenshot(page, "billing-doctor-orders")

    login(phone_page, "patient")
    phone_page.goto("/pay")
    phone_page.get_by_test_id("pay-settle").wait_for()
    # the total and the insurance estimate before 结算
    assert "合计" in phone_page.get_by_test_id("pay-estimate").inner_text()
    if father.insurance_scheme == "employee":
        _pick(phone_page, "pay-mutual", father.name)
    phone_page.get_by_test_id("pay-settle").click()
    phone_page.get_by_text("已结算").wait_for()
    screenshot(phone_page, "billing-patient-settled")
    mutual = phone_page.get_by_test_id("paid-共济").inner_text()
    cash = phone_page.get_by_test_id("paid-现金").inner_text()
    if father.insurance_scheme == "employee":
        assert mutual != "¥0.00"
    assert cash != "¥0.00"  # the CT's self-paid first share (乙类先行自付) is cash through WeChat
    screenshot(phone_page, "billing-patient-settled")

    login(page, "cashier")
    page.goto("/cashier")
    table = page.get_by_test_id("cashier-settlements")
    table.get_by_text(child.name).wait_for()
    assert "微信支付" in table.inner_text()
    screenshot(page, "billing-cashier")
