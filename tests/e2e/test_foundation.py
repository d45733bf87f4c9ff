"""The foundation in a real browser: a registrar logs in, finds a patient by pinyin initials, opens
the record, and the access-audit log has the row."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime

from sqlalchemy import create_engine, or_, select

from tests.e2e.conftest import assert_painted, login, screenshot
from yilian.kit.access_log import AccessAudit
from yilian.kit.auth.models import User
from yilian.registry.models import Consent, Patient
from yilian.registry.service import RECORD_SCOPES


def test_registrar_finds_patient_by_pinyin_and_read_is_audited(page: object) -> None:
    engine = create_engine(os.environ["YILIAN_E2E_DATABASE_URL"])
    with engine.connect() as conn:
        patient = conn.execute(
            select(Patient.id, Patient.name, Patient.name_initials).order_by(Patient.id)
        ).first()
    assert patient is not None
    initials = patient.name_initials

    login(page, "registrar")
    assert "挂号员" in page.get_by_test_id("current-user").inner_text()  # type: ignore[attr-defined]
    page.goto("/patients")  # type: ignore[attr-defined]
    page.get_by_test_id("patient-query").fill(initials)  # type: ignore[attr-defined]
    page.get_by_test_id("patient-search").click()  # type: ignore[attr-defined]
    table = page.get_by_test_id("patient-table")  # type: ignore[attr-defined]
    row = table.locator("tbody tr", has_text=patient.name).first
    row.wait_for()
    text = table.inner_text()
    assert "********" in text  # ID numbers are masked in the list
    row.click()
    page.wait_for_url(f"**/patients/{patient.id}")  # type: ignore[attr-defined]
    page.get_by_test_id("patient-name").wait_for()  # type: ignore[attr-defined]
    assert page.get_by_test_id("patient-name").inner_text() == patient.name  # type: ignore[attr-defined]
    assert_painted(screenshot(page, "foundation-patient-record"))

    with engine.connect() as conn:
        rows = conn.execute(
            select(AccessAudit.username, AccessAudit.action, AccessAudit.channel).where(
                AccessAudit.patient_id == patient.id, AccessAudit.action == "read"
            )
        ).all()
    engine.dispose()
    assert ("registrar", "read", "web") in [tuple(r) for r in rows]


def test_login_refuses_wrong_password(page: object) -> None:
    page.goto("/login")  # type: ignore[attr-defined]
    page.get_by_test_id("username").fill("registrar")  # type: ignore[attr-defined]
    page.get_by_test_id("password").fill("wrong-Pass1")  # type: ignore[attr-defined]
    page.get_by_test_id("login").click()  # type: ignore[attr-defined]
    error = page.get_by_test_id("login-error")  # type: ignore[attr-defined]
    error.filter(has_text="用户名或密码错误").wait_for()
    assert page.url.endswith("/login") or "/login" in page.url  # type: ignore[attr-defined]


def test_pages_need_login_and_permission(page: object) -> None:
    page.goto("/patients")  # type: ignore[attr-defined]
    page.wait_for_url(re.compile(r"/login\?next=(%2F|/)patients"))  # type: ignore[attr-defined]
    login(page, "security")
    page.goto("/patients")  # type: ignore[attr-defined]
    page.get_by_text("不能使用此页面").wait_for()  # type: ignore[attr-defined]


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


def test_family_member_sees_consented_record(page: object) -> None:
    consented, stranger = _family_consents()
    assert consented  # the demo family member has at least one relative who consented
    login(page, "family")
    page.goto("/me")  # type: ignore[attr-defined]
    cards = page.locator(".q-card")  # type: ignore[attr-defined]
    cards.first.wait_for()
    shown = [cards.nth(i).locator(".text-lg").inner_text() for i in range(cards.count())]
    assert sorted(shown) == sorted(consented)  # exactly the relatives who consented, no one else
    name = shown[0]
    cards.first.click()
    page.get_by_test_id("patient-name").wait_for()  # type: ignore[attr-defined]
    assert page.get_by_test_id("patient-name").inner_text() == name  # type: ignore[attr-defined]
    screenshot(page, "foundation-family-view")
    page.goto(f"/patients/{stranger}")  # type: ignore[attr-defined]
    page.get_by_test_id("page-error").wait_for()  # type: ignore[attr-defined]  # no consent: refused
    assert page.get_by_test_id("patient-name").count() == 0  # type: ignore[attr-defined]
