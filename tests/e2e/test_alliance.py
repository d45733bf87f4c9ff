"""Two-way referral in a browser: the community doctor (``doctor2``) refers a patient up to the general
hospital's respiratory clinic; the hospital's referral desk accepts and books her into a reserved
referral place; she is seen and the specialist refers her back with a care plan; the community doctor
sees the down-referral with its plan on her list. The ``patient`` demo user's phone page shows her own
down-referral."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from tests.e2e.browser import login, screenshot
from yilian.alliance.models import Referral
from yilian.kit.auth.models import User
from yilian.registry.models import Institution, Patient


@pytest.fixture
def db(live_server: str) -> Iterator[Session]:
    engine = create_engine(os.environ["YILIAN_E2E_DATABASE_URL"])
    with Session(engine, expire_on_commit=False) as s:
        yield s
    engine.dispose()


def _pick(page: Page, testid: str, text: str) -> None:
    page.get_by_test_id(testid).click()
    option = page.get_by_role("option", name=text).first
    option.click()
    option.wait_for(state="hidden")


def _as(page: Page, username: str, path: str) -> None:
    page.goto("/auth/logout")
    login(page, username)
    page.goto(path)


def test_refer_up_book_reserved_place_see_and_refer_back(page: Page, db: Session) -> None:
    centre = db.scalars(select(Institution).where(Institution.code == "CCCD")).one()
    referred = set(db.scalars(select(Referral.patient_id)))
    users = set(db.scalars(select(User.patient_id).where(User.patient_id.is_not(None))))
    her = next(
        p
        for p in db.scalars(select(Patient).where(Patient.sex == "2").order_by(Patient.id.desc()))
        if p.home_institution_id == centre.id and p.id not in referred | users
    )

    # the community doctor refers her up to the respiratory clinic
    _as(page, "doctor2", "/alliance/referrals")
    page.get_by_text("发起转诊").click()
    page.get_by_test_id("ref-q").fill(her.mpi_id)
    page.get_by_test_id("ref-find").click()
    page.get_by_text(f"{her.name}（{her.mpi_id}）").first.wait_for()
    _pick(page, "ref-dept", "呼吸与危重症医学科")
    page.get_by_test_id("ref-diagnosis").fill("慢性阻塞性肺疾病急性加重")
    page.get_by_test_id("ref-reason").fill("社区雾化治疗 3 天气促无缓解")
    page.get_by_test_id("ref-submit").click()
    page.get_by_text("转诊单已提交").wait_for()
    up = db.scalars(select(Referral).where(Referral.patient_id == her.id)).one()
    page.get_by_test_id("tab-sent").click()
    page.get_by_test_id(f"referral-{up.id}").wait_for()
    screenshot(page, "alliance-1-community-doctor-refers-up")

    # the general hospital's referral desk accepts and books a reserved referral place
    _as(page, "registrar", "/alliance/desk")
    page.get_by_test_id(f"desk-accept-{up.id}").click()
    page.get_by_test_id(f"desk-slot-{up.id}").wait_for()
    assert "转诊预留余" in page.get_by_test_id(f"desk-{up.id}").inner_text()
    screenshot(page, "alliance-2-desk-accepted")
    page.get_by_test_id(f"desk-book-{up.id}").click()
    page.get_by_test_id(f"desk-arrive-{up.id}").wait_for()
    db.expire_all()
    booked = db.get(Referral, up.id)
    assert booked is not None and booked.state == "booked" and booked.used_reserve
    screenshot(page, "alliance-3-desk-booked")

    # she is seen; the specialist refers her back with a care plan
    _as(page, "doctor", "/alliance/referrals")
    page.get_by_test_id(f"arrive-{up.id}").click()
    page.get_by_test_id(f"refer-back-{up.id}").click()
    page.get_by_test_id("back-summary").fill("门诊调整吸入治疗，症状缓解")
    page.get_by_test_id("back-plan").fill("噻托溴铵吸入每日一次；社区每两周随访肺功能与症状评分")
    page.get_by_test_id("back-submit").click()
    page.get_by_text("已转回基层").first.wait_for()
    screenshot(page, "alliance-4-specialist-refers-back")

    # the community doctor sees her back on the list with the plan
    db.expire_all()
    down = db.scalars(select(Referral).where(Referral.parent_id == up.id)).one()
    _as(page, "doctor2", "/alliance/referrals")
    plan = page.get_by_test_id(f"care-plan-{down.id}")
    plan.wait_for()
    assert "噻托溴铵" in plan.inner_text()
    assert page.get_by_test_id(f"state-{up.id}").count() == 0  # the up-referral is on the sent tab
    screenshot(page, "alliance-5-community-doctor-sees-plan")


def test_patient_phone_page_shows_her_down_referral(phone_page: Page) -> None:
    login(phone_page, "patient")
    phone_page.goto("/alliance/my")
    phone_page.get_by_test_id("my-referrals").get_by_text("康复/随访方案").first.wait_for()
    screenshot(phone_page, "alliance-6-patient-phone")
