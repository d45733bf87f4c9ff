"""Analytics in a real browser: the commission opens the city view, drills from the city's
先诊疗后付费 figure to one hospital and one of its departments, and downloads the month's PDF, whose
pages are rendered to PNG (pdftoppm, or Chromium's PDF viewer without it) for a look."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from playwright.sync_api import Page

from tests.e2e.browser import OUTPUT, login, screenshot
from yilian.analytics.domain import Month
from yilian.kit.clock import business_date


def test_commission_drills_down_and_downloads_the_pdf(page: Page, tmp_path: Path) -> None:
    login(page, "commission")
    page.goto("/analytics")
    page.get_by_test_id("fig-credit_visits").wait_for(timeout=60_000)
    page.get_by_test_id("fig-credit_visits").click()
    page.get_by_test_id("an-current").filter(has_text="先诊疗后付费人次").wait_for(timeout=60_000)
    page.locator("[data-testid=an-trend] canvas").first.wait_for()
    page.locator("[data-testid=an-ranking] canvas").first.wait_for()
    screenshot(page, "analytics-city")
    # the alliance's figures on the city view: 上转 of the last three months (the demo's referrals go
    # back five months, so this holds on the 1st of a month too), ranked by the sending member
    this = Month.of(business_date())
    page.goto(f"/analytics?first={this.shift(-2)}&last={this}&indicator=referrals_up")
    page.get_by_test_id("an-current").filter(has_text="上转人次").wait_for(timeout=60_000)
    for code in ("referrals_down", "expert_sitting_days"):
        assert "暂未接入" not in page.get_by_test_id(f"fig-{code}").inner_text()
    page.locator("[data-testid=an-ranking] canvas").first.wait_for()
    page.get_by_test_id("an-table").locator("a").first.wait_for(timeout=60_000)
    screenshot(page, "analytics-city-alliance")
    page.goto("/analytics")
    page.get_by_test_id("an-current").filter(has_text="先诊疗后付费人次").wait_for(timeout=60_000)
    table = page.get_by_test_id("an-table")
    table.locator("a").first.click()
    page.wait_for_url("**/analytics/institution/**", timeout=60_000)
    page.get_by_test_id("an-current").filter(has_text="先诊疗后付费人次").wait_for(timeout=60_000)
    screenshot(page, "analytics-hospital")
    page.get_by_test_id("an-table").locator("a").first.click()
    page.wait_for_url("**/department/**", timeout=60_000)
    page.get_by_test_id("fig-credit_visits").wait_for(timeout=60_000)
    screenshot(page, "analytics-department")
    page.go_back()
    page.get_by_test_id("an-pdf").wait_for()
    with page.expect_download() as dl:
        page.get_by_test_id("an-pdf").click()
    saved = tmp_path / "report.pdf"
    dl.value.save_as(saved)
    assert saved.read_bytes()[:5] == b"%PDF-"
    OUTPUT.mkdir(exist_ok=True)
    if shutil.which("pdftoppm"):
        subprocess.run(
            ["pdftoppm", "-png", "-r", "60", str(saved), str(OUTPUT / "analytics-report")], check=True
        )
    else:  # Chromium's own PDF viewer, one screenshot per page once the viewer has loaded and shows it
        for n in (1, 2, 3):
            page.goto("about:blank")  # a new document each time: a changed #page alone loads nothing
            with page.expect_event("framenavigated", lambda f: f.url.startswith("chrome-extension://")) as ev:
                page.goto(f"file://{saved}#page={n}")
            # (a report shorter than n pages shows its last page)
            ev.value.wait_for_function(
                "n => { const v = document.querySelector('pdf-viewer'); return !!v && v.loadProgress_ === 100"
                " && v.docLength_ > 0 && v.pageNo_ === Math.min(n, v.docLength_); }",
                arg=n,
            )
            page.screenshot(path=str(OUTPUT / f"analytics-report-{n}.png"))
    assert list(OUTPUT.glob("analytics-report*.png"))


def test_a_doctor_cannot_open_the_city_view(page: Page) -> None:
    login(page, "doctor")
    page.goto("/analytics")
    assert page.get_by_test_id("fig-visits").count() == 0
