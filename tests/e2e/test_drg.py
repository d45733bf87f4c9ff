"""DRG in a real browser: a doctor groups one record and reads the explanation; the insurance officer
uploads a batch of discharges and opens the department dashboard with its charts and Excel export."""

from __future__ import annotations

import csv
import os
from pathlib import Path

from playwright.sync_api import Page
from sqlalchemy import create_engine, func, select

from tests.e2e.browser import assert_painted, login, screenshot
from yilian.drg.models import DrgBatch, DrgCase


def test_doctor_groups_one_record_with_explanation(page: Page) -> None:
    login(page, "doctor")
    page.goto("/drg/group")
    page.get_by_test_id("drg-pdx").fill("I63.900")
    page.get_by_test_id("drg-other").fill("A01.100")
    page.get_by_test_id("drg-run").click()
    result = page.get_by_test_id("drg-result")
    result.wait_for()
    assert result.inner_text() == "BR21"
    steps = page.get_by_test_id("drg-steps").inner_text()
    assert "MDCA" in steps and "A01.100" in steps and "MCC" in steps
    assert_painted(screenshot(page, "drg-group-single"))


def test_insurance_uploads_batch_and_sees_dashboard(page: Page, tmp_path: Path) -> None:
    engine = create_engine(os.environ["YILIAN_E2E_DATABASE_URL"])
    with engine.connect() as conn:
        before = conn.execute(select(func.count()).select_from(DrgBatch)).scalar_one()
    path = tmp_path / "2026-05.csv"
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(
            [
                "病案号",
                "科室",
                "主治医师",
                "性别",
                "年龄",
                "入院日期",
                "出院日期",
                "诊断编码",
                "手术操作编码",
                "总费用",
            ]
        )
        w.writerow(
            [
                "E1",
                "神经内科",
                "张医生",
                "1",
                "70",
                "2026-05-01",
                "2026-05-11",
                "I63.900|A01.100",
                "",
                "30000",
            ]
        )
        w.writerow(["E2", "神经内科", "李医生", "2", "66", "2026-05-02", "2026-05-09", "I63.900", "", "9000"])
        w.writerow(
            ["E3", "泌尿外科", "王医生", "1", "72", "2026-05-01", "2026-05-15", "C61.x00", "60.5x02", "52000"]
        )
    login(page, "insurance")
    page.goto("/drg/batches")
    page.get_by_test_id("drg-upload").locator("input[type=file]").set_input_files(str(path))
    status = page.get_by_test_id("drg-upload-status")
    page.wait_for_function("() => document.body.innerText.includes('已完成')")
    assert "共 3 份" in status.inner_text()
    table = page.get_by_test_id("drg-cases")
    table.locator("tbody tr", has_text="BR21").first.wait_for()
    assert "MA19" in table.inner_text()
    screenshot(page, "drg-batch-upload")
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(DrgBatch)).scalar_one() == before + 1
    page.get_by_text("查看科室运营分析").click()
    page.wait_for_url("**/drg/dashboard?batch=*")
    depts = page.get_by_test_id("drg-departments")
    depts.locator("tbody tr", has_text="神经内科").first.wait_for()
    page.locator("[data-testid=drg-chart-cmi] canvas").first.wait_for()
    page.locator("[data-testid=drg-chart-drg] canvas").first.wait_for()
    assert "神经内科/张医生" in page.get_by_test_id("drg-doctors").inner_text()
    with page.expect_download() as dl:
        page.get_by_test_id("drg-export").click()
    saved = tmp_path / "export.xlsx"
    dl.value.save_as(saved)
    assert saved.read_bytes()[:2] == b"PK"
    assert_painted(screenshot(page, "drg-dashboard"))


def test_demo_dashboard_has_data(page: Page) -> None:
    engine = create_engine(os.environ["YILIAN_E2E_DATABASE_URL"])
    with engine.connect() as conn:
        demo_batch = conn.execute(select(func.min(DrgBatch.id))).scalar_one()
        assert demo_batch is not None  # the demo seeded a month of discharges
        departments = set(
            conn.execute(
                select(DrgCase.department).where(
                    DrgCase.batch_id == demo_batch, DrgCase.status == "grouped", DrgCase.weight.is_not(None)
                )
            ).scalars()
        )
    engine.dispose()
    assert len(departments) >= 3
    login(page, "admin")
    page.goto(f"/drg/dashboard?batch={demo_batch}")
    depts = page.get_by_test_id("drg-departments")
    depts.locator("tbody tr").first.wait_for()
    shown = {row.locator("td").first.inner_text() for row in depts.locator("tbody tr").all()}
    assert shown == departments  # one row per department of the batch's grouped cases, each named
    page.locator("[data-testid=drg-chart-cmi] canvas").first.wait_for()
    screenshot(page, "drg-demo-dashboard")


def test_insurance_is_warned_about_an_ungroupable_diagnosis_and_groups_with_names(page: Page) -> None:
    """The 医保专员 types K35.800 (no MDC of CHS-DRG 1.1 accepts it): the page says so before grouping
    and offers K35.800x001; an ultrasound listed before the appendectomy does not become the
    principal procedure; every code in the explanation has its name."""
    login(page, "insurance")
    page.goto("/drg/group")
    page.get_by_test_id("drg-pdx").fill("K35.800")
    warning = page.get_by_test_id("drg-pdx-warning")
    warning.wait_for()
    assert "不属本方案" in warning.inner_text() and "0000" in warning.inner_text()
    screenshot(page, "drg-group-pdx-warning")
    page.get_by_role("button", name="K35.800x001 急性阑尾炎").click()
    page.wait_for_function("() => !document.querySelector('[data-testid=drg-pdx-warning]')")
    page.get_by_test_id("drg-procs").fill("88.7601 47.0901")
    page.get_by_test_id("drg-run").click()
    result = page.get_by_test_id("drg-result")
    result.wait_for()
    assert result.inner_text() == "GD25"
    steps = page.get_by_test_id("drg-steps").inner_text()
    assert "主要诊断 K35.800x001 急性阑尾炎" in steps
    assert "主要手术 47.0901 阑尾切除术（手术室手术，第 2 位）" in steps
    assert "88.7601 肝胆胰脾超声检查 不是手术室手术" in steps
    assert_painted(screenshot(page, "drg-group-insurance-or-procedure"))
    # a code not in the 医保版 tables is refused where it is typed
    page.get_by_test_id("drg-procs").fill("47.0901 99.9999")
    page.get_by_test_id("drg-run").click()
    page.get_by_text("不在医保版手术操作编码表中：99.9999").wait_for()
