"""The cashier's counter, the credit dashboard and the insurance office in a browser.

The cashier finds a patient treated on credit today, settles the day at the counter, refunds an
unperformed drug (the rest is settled again) and reverses the settlement with a reason; the credit
dashboard shows the figures the database holds (one arrear is made by a failed 23:00 debit); the
insurance office changes a policy row and tries a bill whose parts sum to the total.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import Page
from sqlalchemy import create_engine, func, select, update
from sqlalchemy.orm import Session

from tests.e2e.browser import login, screenshot, settle
from yilian.billing import service as billing
from yilian.billing.domain import Channel
from yilian.billing.models import Arrear, Charge, PaymentAgreement, Settlement
from yilian.catalog.models import CatalogItem
from yilian.insurance.domain import BillLine, SplitPolicy, split_bill
from yilian.insurance.policy_models import InsurancePolicy
from yilian.kit.auth import service as auth
from yilian.kit.auth.models import User
from yilian.kit.clock import business_date
from yilian.kit.money import yuan
from yilian.outpatient.models import Encounter, Order
from yilian.registry import service as registry
from yilian.registry.models import Patient


@pytest.fixture
def db(live_server: str) -> Iterator[Session]:
    engine = create_engine(os.environ["YILIAN_E2E_DATABASE_URL"])
    with Session(engine, expire_on_commit=False) as s:
        yield s
    engine.dispose()


def _shot(page: Page, name: str) -> None:
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, name)


def _pick(page: Page, testid: str, text: str) -> None:
    page.get_by_test_id(testid).click()
    option = page.get_by_role("option", name=text).first
    option.click()
    option.wait_for(state="hidden")


def _credit_visit(db: Session, *, items: list[str], exclude: set[int]) -> tuple[Patient, int]:
    """A patient of the cashier's hospital, insured and verified, treated today by ``doctor`` with
    the given catalogue items (on credit when eligible); returns the patient and encounter."""
    doctor_user = db.scalars(select(User).where(User.username == "doctor")).one()
    doctor = auth.actor_for(doctor_user)
    busy = set(db.scalars(select(Charge.patient_id))) | set(db.scalars(select(User.patient_id))) | exclude
    signed = set(db.scalars(select(PaymentAgreement.patient_id)))
    patient = next(
        p
        for p in db.scalars(
            select(Patient)
            .where(
                Patient.home_institution_id == doctor_user.institution_id,
                Patient.insurance_scheme == "employee",
                Patient.real_name_verified.is_(True),
            )
            .order_by(Patient.id)
        )
        if p.id not in busy and p.id not in signed
    )
    department_id = registry.practitioner_reads(
        db, [registry.get_practitioner(db, doctor_user.practitioner_id or 0)]
    )[0].primary_department_id
    assert department_id is not None
    encounter = billing.open_visit(db, doctor, patient_id=patient.id, department_id=department_id)
    for code in items:
        billing.order_with_credit(db, doctor, encounter.id, code)
    db.commit()
    return patient, encounter.id


def _code(db: Session, name: str) -> str:
    return db.scalars(select(CatalogItem.code).where(CatalogItem.name == name)).first() or ""


def test_cashier_settles_refunds_and_reverses_at_the_counter(page: Page, db: Session) -> None:
    lab, drug = _code(db, "葡萄糖测定（血糖）"), _code(db, "阿托伐他汀钙片")
    patient, encounter_id = _credit_visit(db, items=[lab, drug], exclude=set())

    login(page, "cashier")
    page.goto("/cashier")
    page.get_by_test_id("cashier-query").fill(patient.mpi_id)
    page.get_by_test_id("cashier-find").click()
    day = page.get_by_test_id(f"cashier-day-{encounter_id}")
    day.get_by_text("阿托伐他汀钙片").wait_for()
    _pick(page, "cashier-channel", "微信支付")
    _shot(page, "cashier-before-settle")
    page.get_by_test_id("cashier-settle").click()
    day.get_by_test_id("cashier-settled").wait_for()
    db.expire_all()
    settled = billing.settlement_of(db, encounter_id, business_date())
    assert settled is not None and settled.status == "settled" and settled.cash_channel == "wechat"
    assert page.get_by_test_id("counter-现金").inner_text() == yuan(settled.cash)
    assert page.get_by_test_id("counter-总费用").inner_text() == yuan(settled.total)
    assert page.get_by_test_id("cashier-settlements").get_by_text(patient.name).count() >= 1
    _shot(page, "cashier-settled")

    # the drug was not dispensed: refund it; the day is settled again without it
    _pick(page, "cashier-refund-order", "阿托伐他汀钙片")
    page.get_by_test_id("cashier-refund").click()
    page.get_by_test_id("cashier-refund-reason").fill("患者未取药")
    page.get_by_test_id("cashier-refund-confirm").click()
    page.get_by_text("已退费 阿托伐他汀钙片").wait_for()
    day.get_by_text("已冲正").first.wait_for()
    _shot(page, "cashier-refunded")
    db.expire_all()
    resettled = billing.settlement_of(db, encounter_id, business_date())
    assert resettled is not None and resettled.attempt == 2 and resettled.total < settled.total
    drug_status = db.scalar(
        select(Order.status).where(Order.encounter_id == encounter_id, Order.item_code == drug)
    )
    assert drug_status == "cancelled"

    # reverse (冲正) the second settlement, with a confirmation and a reason
    page.get_by_test_id("cashier-reverse").click()
    page.get_by_text("确认冲正").first.wait_for()
    page.get_by_test_id("cashier-reverse-confirm").click()
    page.get_by_text("请填写冲正原因").wait_for()  # refused without one
    page.get_by_test_id("cashier-reverse-reason").fill("收费员操作失误")
    settle(page)  # the floating label has moved up
    _shot(page, "cashier-reverse-dialog")
    page.get_by_test_id("cashier-reverse-confirm").click()
    page.get_by_test_id("cashier-settle").wait_for()  # open again
    _shot(page, "cashier-reversed")
    db.expire_all()
    assert billing.settlement_of(db, encounter_id, business_date()) is None
    statuses = db.scalars(
        select(Settlement.status).where(Settlement.encounter_id == encounter_id).order_by(Settlement.attempt)
    ).all()
    assert statuses == ["reversed", "reversed"]


def test_credit_dashboard_shows_what_the_database_holds(page: Page, db: Session) -> None:
    lab = _code(db, "葡萄糖测定（血糖）")
    debtor, encounter_id = _credit_visit(db, items=[lab], exclude=set())
    # the 23:00 debit fails (no signed channel): arrears; say five days ago, two reminders sent
    billing.settle(
        db,
        encounter_id=encounter_id,
        day=business_date(),
        channel=Channel.CASH,
        idempotency_key=f"e2e-auto-{encounter_id}",
        payer_ref="no-agreement-declined",
        mode="auto",
    )
    db.execute(
        update(Arrear)
        .where(Arrear.patient_id == debtor.id)
        .values(opened_on=business_date() - timedelta(days=5), reminders_sent=[1, 3])
    )
    db.commit()
    institution_id = db.scalars(select(User.institution_id).where(User.username == "cashier")).one()
    assert institution_id is not None
    today = business_date()
    start = today - timedelta(days=29)
    at_hospital = select(Encounter.id).where(Encounter.institution_id == institution_id)
    credit = (
        select(Charge.encounter_id, Charge.patient_id, Charge.hold)
        .where(
            Charge.on_credit.is_(True),
            Charge.status != "void",
            Charge.business_date.between(start, today),
            Charge.encounter_id.in_(at_hospital),
        )
        .subquery()
    )
    visits = db.scalar(select(func.count(func.distinct(credit.c.encounter_id))).select_from(credit))
    patients = db.scalar(select(func.count(func.distinct(credit.c.patient_id))).select_from(credit))
    held = db.scalar(select(func.coalesce(func.sum(credit.c.hold), 0)).select_from(credit))
    open_arrears = db.execute(
        select(func.count(Arrear.id), func.coalesce(func.sum(Arrear.amount), 0))
        .join(Settlement, Settlement.id == Arrear.settlement_id)
        .where(Arrear.paid_at.is_(None), Settlement.encounter_id.in_(at_hospital))
    ).one()
    assert visits and visits >= 1 and open_arrears[0] >= 1

    login(page, "cashier")
    page.goto("/billing/credit")
    page.get_by_test_id("credit-visits").wait_for()
    text = page.get_by_test_id
    assert text("credit-visits").inner_text() == str(visits)
    assert text("credit-beneficiaries").inner_text() == str(patients)
    assert text("credit-amount").inner_text() == yuan(int(held or 0))
    assert text("credit-arrears-count").inner_text() == str(open_arrears[0])
    assert text("credit-arrears-amount").inner_text() == yuan(int(open_arrears[1]))
    arrears_table = text("credit-arrears")
    arrears_table.get_by_text(debtor.name).wait_for()
    assert "第 1 天、第 3 天" in arrears_table.inner_text()
    assert "4–7 天" in text("credit-buckets").inner_text()
    assert "仅系统管理员可修改" in text("credit-policy").inner_text()  # a cashier reads the policy
    _shot(page, "credit-dashboard")

    login(page, "admin")  # the administrator changes the policy of the hospital
    page.goto("/billing/credit")
    _pick(page, "credit-institution", _institution_name(db, institution_id))
    text("policy-limit").wait_for()
    text("policy-limit").fill("-5")
    text("policy-save").click()
    page.get_by_text("每日信用额度应在").wait_for()
    text("policy-limit").fill("1500")
    text("policy-save").click()
    page.get_by_text("信用政策已保存").wait_for()
    db.expire_all()
    assert billing.credit_policy(db, institution_id).daily_limit == 150_000
    _shot(page, "credit-dashboard-admin")


def _institution_name(db: Session, institution_id: int) -> str:
    return registry.get_institution(db, institution_id).name


def test_insurance_office_edits_a_policy_and_tries_a_bill(page: Page, db: Session) -> None:
    year = business_date().year
    login(page, "insurance")
    page.goto("/insurance/policies")
    table = page.get_by_test_id("policy-table")
    table.get_by_text("职工医保").first.wait_for()
    _pick(page, "policy-visit", "门诊慢特病")
    page.get_by_test_id("policy-deductible").fill("300")
    page.get_by_test_id("policy-ratio").fill("1200")
    page.get_by_test_id("policy-cap").fill("60000")
    page.get_by_test_id("policy-save").click()
    page.get_by_text("报销比例应在").wait_for()  # refused, nothing stored
    assert (
        db.scalar(
            select(func.count()).select_from(InsurancePolicy).where(InsurancePolicy.visit_type == "chronic")
        )
        == 0
    )
    page.get_by_test_id("policy-ratio").fill("850")
    page.get_by_test_id("policy-save").click()
    table.get_by_text("门诊慢特病").wait_for()
    assert "85%" in table.inner_text()
    row = db.scalars(
        select(InsurancePolicy).where(InsurancePolicy.visit_type == "chronic", InsurancePolicy.year == year)
    ).one()
    assert (row.scheme, row.tier, row.deductible, row.ratio_permille, row.cap) == (
        "employee",
        "tertiary",
        30_000,
        850,
        6_000_000,
    )

    page.get_by_test_id("trial-run").click()
    page.get_by_test_id("trial-check").wait_for()
    _shot(page, "insurance-policies")
    expected = split_bill(
        [BillLine(30_000, "甲"), BillLine(12_345, "乙", 100), BillLine(5_000, "丙")],
        SplitPolicy(deductible=30_000, ratio=Decimal("0.85"), cap=6_000_000),
    )
    shown = {
        k: page.get_by_test_id(f"trial-{k}").inner_text()
        for k in ("total", "fund", "personal", "mutual", "cash")
    }
    assert shown == {
        "total": yuan(expected.total),
        "fund": yuan(expected.fund),
        "personal": yuan(0),
        "mutual": yuan(0),
        "cash": yuan(expected.cash),
    }
    assert expected.fund + expected.cash == expected.total
    assert "✓" in page.get_by_test_id("trial-check").inner_text()
