"""The alliance administrator's page in a browser: a specialty alliance (专科联盟) is created with its lead,
a member joins, a pairing (结对帮扶) is refused with a Chinese message when it ends before it starts, then
made and its goals edited, and an expert of the lead is posted to the member on Wednesdays — the posting
lists its sitting days. Bad input is told in Chinese and stores nothing."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from tests.e2e.browser import login, screenshot
from yilian.alliance.models import Network, Pairing, Posting, Sitting


@pytest.fixture
def db(live_server: str) -> Iterator[Session]:
    engine = create_engine(os.environ["YILIAN_E2E_DATABASE_URL"])
    with Session(engine, expire_on_commit=False) as s:
        yield s
    engine.dispose()


def _choose(page: Page, testid: str, option: str) -> None:
    page.get_by_test_id(testid).click()
    page.get_by_role("option", name=option, exact=True).click()


def test_admin_builds_a_specialty_alliance(page: Page, db: Session) -> None:
    name = f"心血管专科联盟{secrets.token_hex(2).upper()}"
    login(page, "admin")
    page.goto("/alliance/admin")
    page.get_by_test_id("adm-lead").wait_for()  # the first alliance is shown

    # a name too short is told in Chinese and nothing is stored
    page.get_by_test_id("adm-new-network").click()
    page.get_by_test_id("net-name").fill("心")
    page.get_by_test_id("net-save").click()
    page.get_by_text("医联体名称须为 2–100 个字").wait_for()
    page.get_by_test_id("net-name").fill(name)
    _choose(page, "net-kind", "专科联盟")
    _choose(page, "net-lead", "南通肿瘤专科医院")
    page.get_by_test_id("net-save").click()
    page.get_by_text("医联体已保存").wait_for()
    assert page.get_by_test_id("adm-kind").inner_text() == "专科联盟"
    network = db.scalars(select(Network).where(Network.name == name)).one()

    page.get_by_test_id("adm-new-member").click()
    _choose(page, "mem-inst", "崇川区秦灶社区卫生服务中心")
    page.get_by_test_id("mem-save").click()
    page.get_by_text("已加入").first.wait_for()
    assert page.get_by_test_id("adm-members").inner_text().count("加入 ") == 2

    # a pairing that ends before it starts is refused in Chinese, nothing stored; then made and edited
    page.get_by_test_id("adm-tab-pairings").click()
    page.get_by_test_id("adm-new-pairing").click()
    _choose(page, "pair-senior", "南通肿瘤专科医院")
    _choose(page, "pair-member", "崇川区秦灶社区卫生服务中心")
    page.get_by_test_id("pair-start").fill("2027-06-01")
    page.get_by_test_id("pair-end").fill("2027-01-01")
    page.get_by_test_id("pair-save").click()
    page.get_by_text("帮扶结束日期不能早于开始日期").wait_for()
    assert db.scalar(select(func.count()).select_from(Pairing).where(Pairing.network_id == network.id)) == 0
    page.get_by_test_id("pair-end").fill("2027-12-31")
    page.get_by_test_id("pair-goals").fill("胸痛中心联合门诊")
    page.get_by_test_id("pair-save").click()
    page.get_by_text("结对帮扶已保存").wait_for()
    pairing = db.scalars(select(Pairing).where(Pairing.network_id == network.id)).one()
    page.get_by_test_id(f"adm-edit-pairing-{pairing.id}").click()
    page.get_by_test_id("pair-goals").fill("胸痛中心联合门诊；心电远程诊断")
    page.get_by_test_id("pair-save").click()
    page.get_by_test_id(f"adm-pairing-{pairing.id}").get_by_text("心电远程诊断").wait_for()
    screenshot(page, "alliance-admin-1-pairings")

    # an expert of the lead is posted to the member on Wednesdays: the sitting days are made
    page.get_by_test_id("adm-tab-postings").click()
    page.get_by_test_id("adm-new-posting").click()
    page.get_by_test_id("post-save").click()  # nothing chosen
    page.get_by_text("请选择派驻专家").wait_for()
    page.get_by_test_id("post-expert").click()
    page.get_by_role("option").first.click()
    _choose(page, "post-member", "崇川区秦灶社区卫生服务中心")
    _choose(page, "post-dept", "全科医学科")
    _choose(page, "post-weekdays", "周三")
    page.keyboard.press("Escape")
    _choose(page, "post-period", "下午")
    page.get_by_test_id("post-save").click()
    page.get_by_text("专家派驻已保存，坐诊排班已生成").wait_for()
    page.get_by_test_id("post-save").wait_for(state="hidden")
    posting = db.scalars(select(Posting).where(Posting.network_id == network.id)).one()
    days = db.scalar(select(func.count()).select_from(Sitting).where(Sitting.posting_id == posting.id))
    assert posting.weekdays == "2" and posting.period == "pm" and days and days >= 12
    card = page.get_by_test_id(f"adm-posting-{posting.id}").inner_text()
    assert "每周三" in card and f"坐诊日 {days} 天" in card
    screenshot(page, "alliance-admin-2-postings")
