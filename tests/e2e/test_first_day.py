"""What a new user meets first, in a real browser: the API docs render their operations with every other
host blocked, error pages speak Chinese, the address bar leaves /login, the community centre's doctor
calls a patient on the demo's first day, and the administrator disables and re-enables an account."""

from __future__ import annotations

import os
import re
from typing import Any
from urllib.parse import urlparse

from sqlalchemy import create_engine, select

from tests.e2e.browser import DEMO_PASSWORD, OUTPUT, login, screenshot
from yilian.kit.auth.models import User


def _block_other_hosts(page: Any, live_server: str) -> list[str]:
    """Abort every request to a host other than the server's; return the URLs that were tried."""
    own = urlparse(live_server).netloc
    tried: list[str] = []

    def route(r: Any) -> None:
        if urlparse(r.request.url).netloc == own:
            r.continue_()
        else:
            tried.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    return tried


def test_api_docs_render_offline(page: Any, live_server: str) -> None:
    tried = _block_other_hosts(page, live_server)
    page.goto("/api/docs")
    page.locator(".opblock").first.wait_for()  # Swagger UI drew the operations from /api/openapi.json
    assert page.locator(".opblock").count() > 50
    assert page.get_by_text("登录并获取令牌").count() >= 1
    page.screenshot(path=str(OUTPUT / "first-day-api-docs.png"))
    page.goto("/api/redoc")
    page.locator("h2", has_text="登录并获取令牌").first.wait_for()  # an operation's own section
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUTPUT / "first-day-api-redoc.png"))  # the first screen; the whole is very long
    assert tried == [], f"the docs reached for other hosts: {tried[:5]}"
    page.goto("/openapi.json")
    assert page.url.endswith("/api/openapi.json")


def test_error_pages_are_chinese(page: Any) -> None:
    response = page.goto("/no/such/page")
    assert response is not None and response.status == 404
    page.get_by_test_id("error-page").wait_for()
    text = page.inner_text("body")
    assert "页面不存在" in text and "返回首页" in text
    assert "Exception" not in text and "doesn't exist" not in text and "HTTPException" not in text
    screenshot(page, "first-day-404")


def test_address_bar_leaves_login(page: Any) -> None:
    page.goto("/cashier")
    page.wait_for_url(re.compile(r"/login\?next="))
    page.get_by_test_id("username").fill("cashier")
    page.get_by_test_id("password").fill(DEMO_PASSWORD)
    page.get_by_test_id("login").click()
    page.get_by_test_id("current-user").wait_for()
    page.wait_for_url(re.compile(r"/cashier$"))
    assert "/login" not in page.url and "/auth/" not in page.url


def test_doctor2_calls_a_patient_at_the_community_centre_on_the_first_day(page: Any) -> None:
    login(page, "doctor2")
    page.goto("/scheduling/queue")
    # the clinic of today with someone waiting ("1. 3 号 李* 候诊"; not "暂无候诊患者"), whatever the hour:
    # after midnight the morning clinic is still empty
    queue = page.locator("[data-testid^=queue-]").filter(has_text=re.compile(r"\d+ 号 \S+ 候诊")).first
    queue.wait_for()
    schedule = (queue.get_attribute("data-testid") or "").removeprefix("queue-")
    page.get_by_test_id(f"call-next-{schedule}").click()
    current = page.get_by_test_id(f"queue-current-{schedule}")
    current.get_by_text(re.compile(r"\d+ 号")).first.wait_for()
    assert "当前无就诊患者" not in current.inner_text()
    screenshot(page, "first-day-doctor2-calls")


def test_admin_disables_and_enables_an_account(page: Any, browser: Any, live_server: str) -> None:
    engine = create_engine(os.environ["YILIAN_E2E_DATABASE_URL"])
    login(page, "admin")
    page.goto("/admin/users")
    table = page.get_by_test_id("users-table")
    # the row whose login cell is exactly "pharmacist" (not pharmacist2, whatever the table's order)
    row = table.locator("tbody tr").filter(has=page.get_by_role("cell", name="pharmacist", exact=True))
    row.wait_for()
    assert "南通医联总医院" in row.inner_text()  # institutions by name, not id
    row.click()
    page.get_by_test_id("user-edit").wait_for()
    page.get_by_test_id("user-active").click()
    page.get_by_test_id("user-save").click()
    row.get_by_text("已停用").wait_for()
    screenshot(page, "first-day-users")
    with engine.connect() as conn:
        assert conn.execute(select(User.is_active).where(User.username == "pharmacist")).scalar() is False

    other = browser.new_context(base_url=live_server, viewport={"width": 1366, "height": 900})
    try:
        p2 = other.new_page()
        p2.goto("/login")
        p2.get_by_test_id("username").fill("pharmacist")
        p2.get_by_test_id("password").fill(DEMO_PASSWORD)
        p2.get_by_test_id("login").click()
        p2.get_by_test_id("login-error").filter(has_text="用户名或密码错误").wait_for()
    finally:
        other.close()

    row.click()
    page.get_by_test_id("user-edit").wait_for()
    page.get_by_test_id("user-active").click()
    page.get_by_test_id("user-save").click()
    row.get_by_text("正常").wait_for()
    with engine.connect() as conn:
        assert conn.execute(select(User.is_active).where(User.username == "pharmacist")).scalar() is True
    engine.dispose()
