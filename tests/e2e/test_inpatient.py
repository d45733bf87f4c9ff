"""Inpatient care in a browser: the doctor registers a pre-admission and orders a CT; two days later
the bed office admits her to a borrowed bed in a related ward; the nurse sees her on the ward board
with the CT on the inpatient bill; she is discharged; the coder codes and signs the discharge
abstract; the cashier settles the discharge."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta

import pytest
from playwright.sync_api import Page
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from tests.builders import make_patient
from tests.e2e.browser import eventually, login, screenshot
from yilian.billing.models import Charge
from yilian.drg.models import DrgCase
from yilian.inpatient import service as inpatient
from yilian.inpatient.domain import BedState
from yilian.inpatient.models import Admission, Bed, BedRequest, InpatientCharge, InpatientSettlement
from yilian.kit.auth.domain import Actor
from yilian.kit.clock import BUSINESS_TZ
from yilian.registry.domain import Sex
from yilian.registry.models import Department, Institution


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


def _shot(page: Page, name: str) -> None:
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, name)


def test_preadmission_to_discharge_settlement(
    page: Page, db: Session, server_clock: Callable[[datetime], None]
) -> None:
    gh = db.scalars(select(Institution).where(Institution.code == "NTGH")).one()
    cardiology = db.scalars(
        select(Department).where(Department.institution_id == gh.id, Department.name == "心血管内科")
    ).one()
    # her own record (the demo's patients may all have been in hospital already): an insured woman of
    # the general hospital, never admitted
    her = make_patient(
        db,
        name="顾晓雯",
        birth_date=date(1968, 3, 21),
        sex=Sex.FEMALE,
        institution=gh,
        region_code="320683",
    )
    db.commit()

    # the doctor registers a pre-admission from her visit and orders a chest CT
    login(page, "doctor")
    page.goto("/inpatient/doctor")
    page.get_by_test_id("pre-patient-query").fill(her.mpi_id)
    page.get_by_test_id("pre-find").click()
    page.get_by_text(f"{her.name}（{her.mpi_id}）").first.wait_for()
    _pick(page, "pre-dept", "心血管内科")
    page.get_by_test_id("pre-diagnosis").fill("冠心病")
    page.get_by_test_id("pre-register").click()
    page.get_by_test_id("pre-registered").wait_for()
    _pick(page, "pre-item", "胸部CT平扫（¥240.00）")
    page.get_by_test_id("pre-order").click()
    page.get_by_test_id("pre-ordered").wait_for()
    _shot(page, "inpatient-1-doctor-preadmission")
    db.expire_all()
    ct = db.scalars(
        select(Charge).where(Charge.patient_id == her.id, Charge.amount == 24_000).order_by(Charge.id.desc())
    ).first()
    assert ct is not None
    request = db.scalars(select(BedRequest).where(BedRequest.patient_id == her.id)).one()
    assert request.department_id == cardiology.id and request.preadmission_id is not None

    # the story needs cardiology's own ward full (that is when a related ward lends a bed): the free beds
    # it owns are closed here, by the bed office's own service, whatever the demo's history left free
    system = Actor.system("e2e-inpatient")
    for bed in db.scalars(
        select(Bed).where(Bed.owner_department_id == cardiology.id, Bed.state == BedState.FREE.value)
    ):
        inpatient.set_bed_state(db, system, bed.id, BedState.CLOSED, "演示：本科室满床")
    # the demo runs at ~90 % occupancy, so cardiology's related wards may have no bed for a woman today:
    # then the administrator relates the ward of the best free bed the bed office would offer her
    offered = inpatient.suggest(db, system, request.id).suggestions
    if offered and not any(s.relation == "related" for s in offered):
        inpatient.set_relation(
            db, system, department_id=cardiology.id, ward_id=offered[0].ward_id, kind="related", rank=1
        )
    db.commit()

    # two days later the bed office admits her to a borrowed bed in a related ward
    server_clock(datetime.now(BUSINESS_TZ).replace(hour=9, minute=0) + timedelta(days=2))
    login(page, "bedmgr")
    page.goto("/inpatient/beds")
    page.get_by_test_id(f"request-{request.id}").click()
    related = page.locator('[data-testid^="suggestion-"]', has_text="相关专科").first
    related.wait_for()
    _shot(page, "inpatient-2-bed-office-suggestions")
    related.get_by_role("button", name="分配").click()
    page.get_by_test_id("admit").click()
    page.get_by_text("已办理入院").first.wait_for()
    db.expire_all()
    admission = db.scalars(select(Admission).where(Admission.patient_id == her.id)).one()
    assert admission.borrowed and admission.department_id == cardiology.id
    lines = list(db.scalars(select(InpatientCharge).where(InpatientCharge.admission_id == admission.id)))
    assert [(c.kind, c.amount) for c in lines] == [("preadmission", 24_000)]
    db.refresh(ct)
    assert ct.status == "moved"
    _shot(page, "inpatient-3-bed-board")

    # the nurse of that ward sees her, with the CT on the inpatient bill, and discharges her
    login(page, "nurse")
    page.goto(f"/inpatient/ward?ward_id={admission.ward_id}")
    ward_bed = db.get(Bed, admission.bed_id)
    assert ward_bed is not None
    card = page.get_by_test_id(f"ward-bed-{ward_bed.code}")
    card.get_by_text(her.name, exact=False).wait_for()
    assert "累计 ¥240.00" in card.inner_text()
    _shot(page, "inpatient-4-ward-board")
    card.get_by_role("button", name="出院").click()
    page.get_by_text("已办理出院").first.wait_for()

    # the coder codes and signs the abstract
    login(page, "insurance")
    page.goto(f"/inpatient/abstract?admission_id={admission.id}")
    page.get_by_test_id("abstract-problem").first.wait_for()
    _pick(page, "principal", "I25.103 冠状动脉粥样硬化性心脏病")
    page.get_by_test_id("abstract-save").click()
    page.get_by_test_id("abstract-ok").wait_for()
    page.goto(f"/drg/inpatient/{admission.id}")
    preview = page.get_by_test_id("drg-preview")
    preview.wait_for()
    assert "当前分组：F" in preview.inner_text() and "预计支付 ¥" in preview.inner_text()
    _shot(page, "inpatient-5-drg-preview")
    page.goto(f"/inpatient/abstract?admission_id={admission.id}")
    page.get_by_test_id("abstract-sign").click()
    page.get_by_text("已签发").first.wait_for()
    _shot(page, "inpatient-6-abstract")

    # the drg area groups the signed abstract into the month's batch the department analysis reads
    def grouped() -> DrgCase | None:
        db.expire_all()
        return db.scalars(select(DrgCase).where(DrgCase.record_no == f"ZY-{admission.id}")).first()

    eventually(lambda: grouped() is not None)
    case = grouped()
    assert case is not None and case.department == "心血管内科" and case.status == "grouped"

    # the cashier settles the discharge
    login(page, "cashier")
    page.goto("/inpatient/settle")
    page.get_by_test_id(f"settle-{admission.number}").get_by_test_id("settle-button").click()
    page.get_by_test_id(f"settled-{admission.number}").wait_for()
    _shot(page, "inpatient-7-discharge-settlement")
    db.expire_all()
    settled = db.scalars(
        select(InpatientSettlement).where(InpatientSettlement.admission_id == admission.id)
    ).one()
    assert (
        settled.total == 24_000
        and settled.fund + settled.personal_account + settled.mutual_aid + settled.cash == settled.total
    )
