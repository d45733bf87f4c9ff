"""Browser: on a server moved to December 2027 the admin page warns that 2027 and 2028 have no holiday
calendar; the admin enters a holiday in the 节假日日历 tab, marks the year complete (its warning goes),
and deletes the day again."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from playwright.sync_api import Page

from tests.e2e.browser import login, screenshot_from_top

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_admin_page_warns_about_a_year_without_calendar_and_enters_a_holiday(
    page: Page, server_clock: Callable[[datetime], None]
) -> None:
    server_clock(datetime(2027, 12, 1, 9, 0, tzinfo=SHANGHAI))
    login(page, "admin")
    page.goto("/scheduling/admin")
    banner = page.get_by_test_id("admin-calendar-warning")
    banner.filter(has_text="2027年、2028年").wait_for()
    assert "按周六、周日休息处理" in banner.inner_text()

    page.get_by_test_id("admin-tab-calendar").click()
    page.get_by_test_id("calendar-warning").filter(has_text="2027年").wait_for()
    page.get_by_test_id("calendar-new-day").fill("2027-12-31")
    page.get_by_test_id("calendar-new-name").fill("测试假日")
    page.get_by_test_id("calendar-save").click()
    row = page.get_by_test_id("calendar-day-2027-12-31")
    row.filter(has_text="测试假日").wait_for()
    assert "法定节假日" in row.inner_text() and "管理员录入" in row.inner_text()
    screenshot_from_top(page, "scheduling-admin-calendar-2027")

    page.get_by_test_id("calendar-complete").click()
    page.get_by_test_id("calendar-state").filter(has_text="已录入完整").wait_for()
    assert page.get_by_test_id("calendar-warning").count() == 0

    page.get_by_test_id("calendar-complete").click()  # back as it was
    page.get_by_test_id("calendar-warning").wait_for()
    page.get_by_test_id("calendar-remove-2027-12-31").click()
    row.wait_for(state="detached")
