"""The foundation in a real browser: a registrar logs in, finds a patient by pinyin initials, opens
the record, and the access-audit log has the row."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime

from playwright.sync_api import Page
from sqlalchemy import create_engine, or_, select

from tests.e2e.browser import assert_painted, login, screenshot
from yilian.kit.access_log import AccessAudit
from yilian.kit.auth.models import User
from yilian.registry.models import Consent, Patient
from yilian.registry.service import RECORD_SCOPES


def test_registrar_finds_patient_by_pinyin_and_read_is_audited(page: Page) -> None:
    engine = create_engine(os.environ["YILIAN_E2E_DATABASE_URL"])
    with engine.connect() as conn:
        patient = conn.execute(
            select(Patient.id, Patient.name, Patient.name_initials).order_by(Patient.id)
        ).first()
    assert patient is not None
    initials = patient.name_initials

    login(page, "registrar")
    assert "挂号员" in page.get_by_test_id("current-user").inner_text()
    page.goto("/patients")
    page.get_by_test_id("patient-query").fill(initials)
    page.get_by_test_id("patient-search").click()
    table = page.get_by_test_id("patient-table")
    row = table.locator("tbody tr", has_text=patient.name).first
    row.wait_for()
    text = table.inner_text()
    assert "********" in text  # ID numbers are masked in the list
    row.click()
    page.wait_for_url(f"**/patients/{patient.id}")
    page.get_by_test_id("patient-name").wait_for()
    assert page.get_by_test_id("patient-name").inner_text() == patient.name
    assert_painted(screenshot(page, "foundation-patient-record"))

    with engine.connect() as conn:
        rows = conn.execute(
            select(AccessAudit.username, AccessAudit.action, AccessAudit.channel).where(
                AccessAudit.patient_id == patient.id, AccessAudit.action == "read"
            )
        ).all()
    engine.dispose()
    assert ("registrar", "read", "web") in [tuple(r) for r in rows]


def test_login_refuses_wrong_password(page: Page) -> None:
    page.goto("/login")
    page.get_by_test_id("username").fill("registrar")
    page.get_by_test_id("password").fill("wrong-Pass1")
    page.get_by_test_id("login").click()
    error = page.get_by_test_id("login-error")
    error.filter(has_text="用户名或密码错误").wait_for()
    assert page.url.endswith("/login") or "/login" in page.url


def test_pages_need_login_and_permission(page: Page) -> None:
    page.goto("/patients")
    page.wait_for_url(re.compile(r"/login\?next=(%2F|/)patients"))
    login(page, "security")
    page.goto("/patients")
    page.get_by_text("不能使用此页面").wait_for()


def _family_consents() -> tuple[set[str], int]:
    """The names of the patients who gave the demo family member a live record consent, and the id of
    a patient who gave none (read from the e2e database at test time, so the order of tests is free)."""
    engine = create_engine(os.environ["YILIAN_E2E_DATABASE_URL"])
    now = datetime.now(UTC)
    with engine.connect() as conn:
        me = conn.execute(select(User.patient_id).where(User.username == "family")).scalar_one()
        live = select(Consent.grantor_id).where(
            Consent.grantee_id == me,
            Consent.scope.in_(RECORD_SCOPES),
            Consent.revoked_at.is_(None),
            or_(Consent.expires_at.is_(None), Consent.expires_at > now),
        )
        names = set(conn.execute(select(Patient.name).where(Patient.id.in_(live))).scalars())
        stranger = conn.execute(
            select(Patient.id).where(Patient.id != me, Patient.id.not_in(live)).order_by(Patient.id).limit(1)
        ).scalar_one()
    engine.dispose()
    return names, stranger


def test_family_member_sees_consented_record(page: Page) -> None:
    consented, stranger = _family_consents()
    assert consented  # the demo family member has at least one relative who consented
    login(page, "family")
    page.goto("/me")
    cards = page.locator(".q-card")
    cards.first.wait_for()
    shown = [cards.nth(i).locator(".text-lg").inner_text() for i in range(cards.count())]
    assert sorted(shown) == sorted(consented)  # exactly the relatives who consented, no one else
    name = shown[0]
    cards.first.click()
    page.get_by_test_id("patient-name").wait_for()
    assert page.get_by_test_id("patient-name").inner_text() == name
    screenshot(page, "foundation-family-view")
    page.goto(f"/patients/{stranger}")
    page.get_by_test_id("page-error").wait_for()  # no consent: refused
    assert page.get_by_test_id("patient-name").count() == 0
