"""The shared TCM pharmacy's story in a browser: doctor2 at the community centre writes a herbal
prescription needing decoction with a 十八反 pair; the review desk returns it; the doctor fixes it; it is
approved and goes through dispensing, double check, soak (a moved clock), decoction on a machine,
packing, label (QR), QC and delivery on the floor; the patient's phone page shows each step."""

from __future__ import annotations

import io
import os
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import openpyxl
from sqlalchemy import create_engine, text

from tests.e2e.browser import DEMO_PASSWORD, UI_TIMEOUT_MS, login, screenshot
from yilian.kit import clock


def _new_page(browser: Any, live_server: str) -> Any:
    context = browser.new_context(
        base_url=live_server, viewport={"width": 1366, "height": 900}, locale="zh-CN"
    )
    context.set_default_timeout(UI_TIMEOUT_MS)
    return context.new_page()


# every chart on the page is drawn and its opening animation has ended (ECharts under NiceGUI: the
# element's Vue component holds the chart; its ZRender animation list is empty once the animation ended)
CHARTS_DRAWN = """() => {
  const charts = Array.from(document.querySelectorAll('[data-testid^=ind-chart-]'));
  return charts.length > 0 && charts.every(el => {
    const chart = getElement(el)?.chart;
    return !!chart && !!el.querySelector('canvas') && chart.getZr().animation.isFinished();
  });
}"""


def _live(page: Any) -> None:
    """The page's websocket is up. (A click before it is only delayed; what once lost clicks was the
    page's timer, whose first tick runs on connecting: it redrew the queue under the pointer. Its
    LiveBox now redraws only when the data changed.)"""
    page.wait_for_function("window.did_handshake === true")


def _add(page: Any, herb: str, grams: int) -> None:
    page.get_by_test_id("tcm-herb").click()
    page.keyboard.type(herb)
    page.locator(".q-menu .q-item", has_text=herb).first.click()
    page.get_by_test_id("tcm-grams").fill(str(grams))
    page.get_by_test_id("tcm-add").click()
    page.get_by_test_id("tcm-line").filter(has_text=f"{herb} {grams} g").wait_for()


def test_tcm_story(page: Any, phone_page: Any, browser: Any, live_server: str, server_clock: Any) -> None:
    start = datetime.now(UTC).replace(microsecond=0)
    server_clock(start)
    engine = create_engine(os.environ["YILIAN_E2E_DATABASE_URL"])
    with engine.connect() as c:
        centre, department = c.execute(
            text(
                "SELECT i.id, d.id FROM institutions i JOIN departments d ON d.institution_id = i.id"
                " WHERE i.code = 'CCCD' ORDER BY d.id LIMIT 1"
            )
        ).one()
        patient = c.execute(
            text("SELECT id FROM patients WHERE home_institution_id = :i ORDER BY id LIMIT 1"), {"i": centre}
        ).scalar_one()
    token = httpx.post(
        f"{live_server}/api/v1/auth/token",
        json={"username": "doctor2", "password": DEMO_PASSWORD},
        timeout=60,
    ).json()["access_token"]
    visit = httpx.post(
        f"{live_server}/api/v1/encounters",
        json={"patient_id": patient, "department_id": department},
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    assert visit.status_code == 201, visit.text

    # the doctor writes it, with a 十八反 pair among the herbs: the warning shows while writing
    login(page, "doctor2")
    page.goto("/tcm/prescribe")
    page.get_by_test_id("tcm-encounter").filter(has_text=str(visit.json()["id"])).wait_for()
    for herb, grams in (("甘草", 6), ("茯苓", 12), ("白术", 10), ("海藻", 9)):
        _add(page, herb, grams)
    page.get_by_test_id("tcm-warning").filter(has_text="十八反：甘草 与 海藻 不宜同用").wait_for()
    screenshot(page, "tcm-1-doctor-writes-with-warning")
    page.get_by_test_id("tcm-submit").click()
    page.locator("[data-testid^=tcm-mine-]", has_text="待审方").first.wait_for()

    # the review desk returns it
    desk = _new_page(browser, live_server)
    login(desk, "pharmacist")
    desk.goto("/tcm/review")
    card = desk.locator("[data-testid^=tcm-review-card-]").first
    card.get_by_test_id("tcm-review-finding").filter(has_text="十八反").wait_for()
    screenshot(desk, "tcm-2-review-desk")
    card.get_by_test_id("tcm-review-approve").click()
    desk.get_by_text("请退回医生或经医生双签后通过").first.wait_for()
    card.get_by_test_id("tcm-review-reason").fill("甘草反海藻，请去海藻")
    card.get_by_test_id("tcm-review-return").click()
    desk.get_by_test_id("tcm-review-empty").wait_for()

    # the doctor fixes it
    page.goto("/tcm/prescribe")
    page.get_by_text("退回原因：甘草反海藻，请去海藻").wait_for()
    page.get_by_test_id("tcm-fix").first.click()
    page.get_by_test_id("tcm-line").filter(has_text="海藻 9 g").wait_for()
    page.get_by_test_id("tcm-line").filter(has_text="海藻 9 g").locator("button").click()
    page.get_by_test_id("tcm-line").filter(has_text="海藻").wait_for(state="detached")
    assert page.get_by_test_id("tcm-warning").count() == 0
    page.get_by_test_id("tcm-submit").click()
    page.locator("[data-testid^=tcm-mine-]", has_text="待审方").first.wait_for()
    screenshot(page, "tcm-3-doctor-fixed")

    desk.goto("/tcm/review")
    approve = desk.locator("[data-testid^=tcm-review-card-]").first.get_by_test_id("tcm-review-approve")
    approve.wait_for()
    _live(desk)
    approve.click()
    desk.get_by_test_id("tcm-review-empty").wait_for()

    with engine.connect() as c:
        pid, track = c.execute(
            text(
                "SELECT id, track_token FROM herbal_prescriptions WHERE patient_id = :p ORDER BY id DESC LIMIT 1"
            ),
            {"p": patient},
        ).one()

    # the floor
    station = desk
    checker = _new_page(browser, live_server)
    login(checker, "pharmacist2")

    def do(who: Any, action: str, state_after: str) -> None:
        who.goto("/tcm/station")
        button = who.get_by_test_id(f"tcm-row-{pid}").get_by_test_id(f"tcm-do-{action}")
        button.wait_for()
        _live(who)
        button.click()
        who.get_by_test_id(f"tcm-row-{pid}").get_by_test_id("tcm-state").filter(
            has_text=state_after
        ).wait_for()

    do(station, "dispense", "待复核")
    do(checker, "check", "待泡药")
    do(station, "soak", "泡药中")
    server_clock(start + timedelta(minutes=20))
    station.goto("/tcm/station")
    station.get_by_test_id(f"tcm-row-{pid}").get_by_test_id("tcm-do-decoct").wait_for()
    _live(station)
    station.get_by_test_id(f"tcm-row-{pid}").get_by_test_id("tcm-do-decoct").click()
    station.get_by_text("已泡 20 分钟").first.wait_for()  # a 20-minute soak cannot move on
    server_clock(start + timedelta(minutes=31))
    do(station, "decoct", "煎药中")
    board = _new_page(browser, live_server)
    login(board, "pharmacist")
    board.goto("/tcm/board")
    board.get_by_test_id(f"tcm-tile-{pid}").filter(has_text="JY-01").wait_for()
    board.get_by_test_id("tcm-machine-JY-01").filter(has_text=f"#{pid}").wait_for()
    screenshot(board, "tcm-4-floor-board")
    server_clock(start + timedelta(minutes=56))
    do(station, "finish", "待包装")
    do(station, "pack", "待贴标")
    station.get_by_test_id(f"tcm-row-{pid}").get_by_test_id("tcm-show-label").click()
    station.get_by_test_id("tcm-label").wait_for()
    station.get_by_test_id("tcm-label").locator("img").wait_for()
    screenshot(station, "tcm-5-bag-label")
    do(station, "label", "待质检")
    do(station, "qc_pass", "待配送")
    # delivery: the pharmacy scans the bag's label and hands it to the courier; the community centre
    # (doctor2's clinic) scans it in from the courier and hands it to the patient
    label = f"{live_server}/tcm/track/{track}"  # the text of the bag's QR code

    def scan(who: Any, action: str, state_after: str, courier: str = "") -> None:
        who.goto("/tcm/scan")
        who.get_by_test_id("scan-code").fill(label)
        if courier:
            who.get_by_test_id("scan-courier").fill(courier)
        _live(who)
        who.get_by_test_id("scan-look").click()
        who.get_by_test_id(f"scan-do-{action}").click()
        who.get_by_test_id("scan-state").filter(has_text=state_after).wait_for()

    scan(station, "handover", "配送中", courier="顺丰 李师傅")
    station.get_by_test_id("scan-trace").get_by_text("扫码交接").wait_for()
    screenshot(station, "tcm-6-scan-handover")
    phone_page.goto(f"/tcm/track/{track}")
    phone_page.get_by_test_id("track-state").filter(has_text="配送中").wait_for()
    phone_page.get_by_test_id("track-handover").filter(has_text="配送员 顺丰 李师傅").wait_for()
    clinic = page  # doctor2's browser at the community centre
    scan(clinic, "receive", "配送中")
    clinic.get_by_test_id("scan-do-sign").wait_for()
    scan(clinic, "sign", "已签收")
    screenshot(clinic, "tcm-7-clinic-receipt-and-sign")
    phone_page.goto(f"/tcm/track/{track}")
    phone_page.get_by_test_id("track-state").filter(has_text="已签收").wait_for()
    assert phone_page.get_by_test_id("track-step-done").count() == 13
    assert phone_page.get_by_test_id("track-handover").count() == 3
    screenshot(phone_page, "tcm-8-patient-tracking")

    # the indicators: this prescription counts for the community centre, returned once for 十八反
    station.goto("/tcm/indicators")
    station.get_by_test_id("ind-table").wait_for()
    station.get_by_test_id("ind-chart-returns").wait_for()
    station.wait_for_function(CHARTS_DRAWN)
    screenshot(station, "tcm-9-indicators")
    pharmacist = httpx.post(
        f"{live_server}/api/v1/auth/token",
        json={"username": "pharmacist", "password": DEMO_PASSWORD},
        timeout=60,
    ).json()["access_token"]
    day = start.astimezone(clock.BUSINESS_TZ).date()
    xlsx = httpx.get(
        f"{live_server}/api/v1/tcm/indicators.xlsx?start={day}&end={day}",
        headers={"Authorization": f"Bearer {pharmacist}"},
        timeout=30,
    )
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK", xlsx.text[:200]
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).worksheets[2]  # 审方退回原因
    assert "十八反" in [r[0] for r in sheet.iter_rows(min_row=2, values_only=True)]
