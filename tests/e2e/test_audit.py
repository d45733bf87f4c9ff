"""Smart insurance audit in a real browser: the doctor's pre-check warning panel; the insurance office
browses the rule library, validates an edit by line, launches an audit run with progress, filters the
findings, drills down and confirms one (the review trail is stored)."""

from __future__ import annotations

import os

from playwright.sync_api import Page
from sqlalchemy import create_engine, func, select

from tests.e2e.browser import login, screenshot
from yilian.insurance.audit.models import AuditFindingEvent, AuditRun


def test_doctor_sees_warning_before_ordering(page: Page) -> None:
    login(page, "doctor")
    page.goto("/audit/precheck")
    page.get_by_test_id("pre-items").fill("XG03BAA001 2\n250101001 1")
    page.get_by_test_id("pre-check").click()
    warning = page.get_by_test_id("pre-warning").first
    warning.wait_for()
    text = warning.inner_text()
    assert "SEX-001" in text and "明确违规" in text and "限男性" in text
    screenshot(page, "audit-precheck-warning")
    page.get_by_test_id("pre-items").fill("250101001 1")
    page.get_by_test_id("pre-check").click()
    page.get_by_test_id("pre-ok").wait_for()


def test_office_rules_run_findings_and_review(page: Page) -> None:
    engine = create_engine(os.environ["YILIAN_E2E_DATABASE_URL"])
    with engine.connect() as conn:
        runs_before = conn.execute(select(func.count()).select_from(AuditRun)).scalar_one()
        events_before = conn.execute(select(func.count()).select_from(AuditFindingEvent)).scalar_one()
    login(page, "insurance")
    page.goto("/audit/rules")
    rules = page.get_by_test_id("audit-rules")
    rules.wait_for()
    assert "READM-001" in rules.inner_text()
    editor = page.get_by_test_id("audit-editor")
    editor.fill(editor.input_value().replace("sex: M}", "sex: X}", 1))
    page.get_by_test_id("audit-validate").click()
    issues = page.get_by_test_id("audit-issues")
    issues.get_by_text("第 12 行").wait_for()
    screenshot(page, "audit-rules-validation")

    page.goto("/audit/runs")
    page.get_by_test_id("audit-from").fill("2026-01-01")
    page.get_by_test_id("audit-launch").click()
    page.get_by_test_id("audit-status").get_by_text("完成").wait_for(timeout=30_000)
    screenshot(page, "audit-run-done")
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(AuditRun)).scalar_one() == runs_before + 1

    page.goto("/audit/findings")
    table = page.get_by_test_id("audit-findings")
    table.get_by_text("IND-002").first.wait_for()
    screenshot(page, "audit-findings")
    page.get_by_test_id("audit-family").click()
    page.get_by_role("option", name="限性别").click()
    table.get_by_text("SEX-001").first.wait_for()
    body = table.inner_text()
    assert "SEX-001" in body and "PRC-001" not in body
    table.get_by_text("SEX-001").first.click()
    detail = page.get_by_test_id("audit-detail")
    detail.wait_for()
    assert "限男性" in detail.inner_text() or "限女性" in detail.inner_text()
    screenshot(page, "audit-finding-detail")
    page.get_by_test_id("audit-confirm").click()
    page.get_by_text("已确认违规").first.wait_for()
    with engine.connect() as conn:
        assert (
            conn.execute(select(func.count()).select_from(AuditFindingEvent)).scalar_one()
            == events_before + 1
        )


def test_doctor_appeals_only_own_department_findings(page: Page) -> None:
    """The demo doctor works in 心血管内科 (NK01); the demo claims cycle through five departments."""
    login(page, "doctor")
    page.goto("/audit/findings")
    table = page.get_by_test_id("audit-findings")
    table.get_by_text("SEX-001").first.wait_for()
    body = table.inner_text()
    assert "NK01" in body and "NK02" not in body  # starts on the doctor's own department
    screenshot(page, "audit-findings-own-department")
    table.get_by_text("SEX-001").first.click()
    detail = page.get_by_test_id("audit-detail")
    detail.wait_for()
    assert "NK01" in detail.inner_text()
    page.get_by_test_id("audit-reason").fill("患者为男性，性别登记有误")
    page.get_by_test_id("audit-appeal").click()
    table.get_by_text("科室申诉中").first.wait_for()

    page.get_by_test_id("audit-department").click()
    # another department of his hospital (the demo claims carry NTGH/ codes): shown, marked not his own
    page.get_by_role("option", name="NTGH/NK02", exact=True).click()
    table.get_by_text("SEX-002").first.wait_for()
    table.get_by_text("SEX-002").first.click()  # a finding of 呼吸科 (NK02)
    page.get_by_test_id("audit-not-own").wait_for()
    assert page.get_by_test_id("audit-appeal").count() == 0
    screenshot(page, "audit-finding-other-department")
