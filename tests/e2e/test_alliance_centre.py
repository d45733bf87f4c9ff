"""The shared reading centre in a browser: the village clinic's ECG, registered in the results registry
with its report pending, is read at the general hospital's centre (a doctor claims it and writes the
report from an ECG template; an ECG needs no second reader) and the report appears at the clinic and in
the patient's results; a community centre's chest film is read and verified by a second doctor. The referral desk asks the bed office for a bed for an admission referral. The
alliance dashboard shows the demo's figures with charts and an Excel link."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Page, expect
from pydicom.uid import generate_uid
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from tests.builders import PASSWORD, actor_of, make_patient, make_practitioner, make_user
from tests.e2e.browser import login, screenshot
from yilian.alliance import service
from yilian.alliance.domain import ReferralKind
from yilian.alliance.models import Reading, Referral
from yilian.alliance.schemas import ReferralCreate
from yilian.inpatient.models import BedRequest
from yilian.kit.auth.domain import Role
from yilian.kit.auth.models import User
from yilian.registry.models import Institution
from yilian.results import service as results
from yilian.results.domain import ResultStatus
from yilian.results.imaging import ImagingInput
from yilian.results.models import Result


@pytest.fixture
def db(live_server: str) -> Iterator[Session]:
    engine = create_engine(os.environ["YILIAN_E2E_DATABASE_URL"])
    with Session(engine, expire_on_commit=False) as s:
        yield s
    engine.dispose()


def _as(page: Page, username: str, path: str, password: str | None = None) -> None:
    page.goto("/auth/logout")
    if password:
        login(page, username, password)
    else:
        login(page, username)
    page.goto(path)


def _village_doctor(db: Session) -> tuple[Institution, User]:
    village = db.scalars(select(Institution).where(Institution.code == "RDTP")).one()
    user = db.scalars(select(User).where(User.username == "village1")).one_or_none()
    if user is None:
        user = make_user(
            db,
            role=Role.DOCTOR,
            institution=village,
            practitioner=make_practitioner(db, institution=village, name="村医周建国"),
            username="village1",
        )
    return village, user


def test_village_ecg_read_at_the_centre_and_reported_back(page: Page, db: Session) -> None:
    village, village_doctor = _village_doctor(db)
    patient = make_patient(db, name="周玉珍", institution=village)
    study = results.ingest_imaging(
        db,
        ImagingInput(
            study_uid=generate_uid(),
            id_number=patient.id_number,
            sender_code=village.code,
            modality="ECG",
            body_part="HEART",
            started=datetime.now(UTC),
            report_text="待医联体共享诊断中心出具报告",
            status=ResultStatus.PRELIMINARY,
        ),
    ).result_ids[0]
    reading = service.queue_reading(db, actor_of(village_doctor), study)
    db.commit()
    rid = reading.id
    assert reading.kind == "ecg" and not reading.needs_verify

    # the village doctor sees the ECG sent, waiting to be read
    _as(page, "village1", "/alliance/readings", PASSWORD)
    page.get_by_test_id("tab-sent-readings").click()
    expect(page.get_by_test_id(f"reading-state-{rid}")).to_have_text("待阅片")
    assert "常规十二导联心电图" in page.get_by_test_id(f"reading-{rid}").inner_text()
    screenshot(page, "alliance-centre-ecg-1-village-sent")

    # a doctor of the centre claims it and writes the report from an ECG template; it goes back at once
    _as(page, "doctor", "/alliance/readings")
    page.get_by_test_id(f"claim-{rid}").click()
    page.get_by_test_id(f"write-{rid}").click()
    page.get_by_test_id("rep-template").click()
    assert page.get_by_role("option", name="胸部 X 线 · 肺纹理增多").count() == 0
    page.get_by_role("option", name="心电图 · ST-T 改变").click()
    findings = page.get_by_test_id("rep-findings")
    expect(findings).to_have_value(re.compile("ST 段"))  # the template arrives from the server
    findings.fill(findings.input_value().replace("心率  次", "心率 76 次"))
    screenshot(page, "alliance-centre-ecg-2-report-editor")
    page.get_by_test_id("rep-submit").click()
    page.get_by_text("报告已回传送检机构").wait_for()
    assert page.get_by_test_id(f"reading-{rid}").count() == 0  # off the worklist

    _as(page, "village1", "/alliance/readings", PASSWORD)
    page.get_by_test_id("tab-sent-readings").click()
    conclusion = page.get_by_test_id(f"reading-conclusion-{rid}")
    conclusion.wait_for()
    assert "ST-T 改变" in conclusion.inner_text()
    expect(page.get_by_test_id(f"reading-state-{rid}")).to_have_text("已报告")
    screenshot(page, "alliance-centre-ecg-3-report-at-the-village")
    db.expire_all()
    done = db.get(Reading, rid)
    result = db.get(Result, study)
    assert done is not None and done.state == "reported" and done.reader == "doctor"
    assert result is not None and result.status == "final" and "心率 76 次" in result.report_text
    assert result.item_code == "ECG-12"


def test_community_film_read_and_verified_at_the_centre(page: Page, db: Session) -> None:
    centre = db.scalars(select(Institution).where(Institution.code == "CCCD")).one()
    hospital = db.scalars(select(Institution).where(Institution.code == "NTGH")).one()
    gp = db.scalars(select(User).where(User.username == "doctor2")).one()
    make_user(
        db,
        role=Role.DOCTOR,
        institution=hospital,
        practitioner=make_practitioner(db, institution=hospital, name="影像审核医生"),
        username="reader2",
    )
    patient = make_patient(db, name="孙桂兰", institution=centre)
    study = results.ingest_imaging(
        db,
        ImagingInput(
            study_uid=generate_uid(),
            id_number=patient.id_number,
            sender_code=centre.code,
            modality="DX",
            body_part="CHEST",
            started=datetime.now(UTC),
            report_text="待医联体共享诊断中心出具报告",
            status=ResultStatus.PRELIMINARY,
        ),
    ).result_ids[0]
    reading = service.queue_reading(db, actor_of(gp), study)
    db.commit()
    rid = reading.id

    # a doctor of the centre claims it and writes the report from a template
    _as(page, "doctor", "/alliance/readings")
    page.get_by_test_id(f"claim-{rid}").click()
    page.get_by_test_id(f"write-{rid}").click()
    page.get_by_test_id("rep-template").click()
    page.get_by_role("option", name="胸部 X 线 · 肺纹理增多").click()
    findings = page.get_by_test_id("rep-findings")
    expect(findings).to_have_value(re.compile("双肺纹理增多"))  # the template arrives from the server
    page.get_by_test_id("rep-conclusion").fill("双肺纹理增多，考虑慢性支气管炎，请结合临床")
    screenshot(page, "alliance-centre-2-report-editor")
    page.get_by_test_id("rep-submit").click()
    page.get_by_text("报告已提交，待第二人审核").wait_for()
    expect(page.get_by_test_id(f"reading-state-{rid}")).to_have_text("已报告")
    assert page.get_by_test_id(f"verify-{rid}").count() == 0  # not by the one who wrote it

    # a second doctor verifies; the report goes back to the clinic
    _as(page, "reader2", "/alliance/readings", PASSWORD)
    page.get_by_test_id(f"verify-{rid}").click()
    page.get_by_text("报告已审核并回传").wait_for()
    screenshot(page, "alliance-centre-3-verified")

    _as(page, "doctor2", "/alliance/readings")
    page.get_by_test_id("tab-sent-readings").click()
    conclusion = page.get_by_test_id(f"reading-conclusion-{rid}")
    conclusion.wait_for()
    assert "慢性支气管炎" in conclusion.inner_text()
    expect(page.get_by_test_id(f"reading-state-{rid}")).to_have_text("已审核")
    screenshot(page, "alliance-centre-4-report-at-the-centre")
    db.expire_all()
    done = db.get(Reading, rid)
    result = db.get(Result, study)
    assert done is not None and done.state == "verified" and done.verifier == "reader2"
    assert result is not None and result.status == "final" and "慢性支气管炎" in result.report_text


def test_alliance_dashboard_shows_the_demo_figures(page: Page) -> None:
    _as(page, "admin", "/alliance/dashboard")
    cards = page.get_by_test_id("dash-cards")
    cards.wait_for()
    up_down = page.get_by_test_id("dash-上转 / 下转").inner_text()
    assert up_down != "0 / 0"
    assert page.get_by_test_id("dash-专家坐诊天数").inner_text() not in ("0", "")
    assert "小时" in page.get_by_test_id("dash-共享阅片平均周转").inner_text()
    share = page.get_by_test_id("dash-基层就诊率").inner_text()
    assert 45 <= float(share.rstrip("%")) <= 65, share  # the grassroots members' own demo visits
    for chart in ("referrals", "rates", "hours", "sittings"):
        page.get_by_test_id(f"dash-chart-{chart}").locator("canvas").first.wait_for()
    href = page.get_by_test_id("dash-xlsx").get_attribute("href")
    assert href and "/indicators.xlsx?start=" in href
    got = page.request.get(href)
    assert got.status == 200 and got.body()[:2] == b"PK"
    screenshot(page, "alliance-dashboard")


def test_desk_asks_the_bed_office_for_an_admission_referral(page: Page, db: Session) -> None:
    centre = db.scalars(select(Institution).where(Institution.code == "CCCD")).one()
    hospital = db.scalars(select(Institution).where(Institution.code == "NTGH")).one()
    gp = db.scalars(select(User).where(User.username == "doctor2")).one()
    patient = make_patient(db, name="钱淑芬", institution=centre)
    r = service.create_referral(
        db,
        actor_of(gp),
        ReferralCreate(
            patient_id=patient.id,
            kind=ReferralKind.ADMISSION,
            to_institution_id=hospital.id,
            diagnosis_code="J44.1",
            diagnosis="慢性阻塞性肺疾病急性加重",
            reason="社区治疗 3 天无好转，需住院",
        ),
    )
    db.commit()
    _as(page, "registrar", "/alliance/desk")
    page.get_by_test_id(f"desk-accept-{r.id}").click()
    page.get_by_test_id(f"desk-bed-dept-{r.id}").click()
    page.get_by_role("option", name="呼吸与危重症医学科").click()
    page.get_by_test_id(f"desk-bed-{r.id}").click()
    page.get_by_text("已向住院服务中心申请床位").wait_for()
    page.get_by_test_id(f"desk-arrive-{r.id}").wait_for()
    screenshot(page, "alliance-desk-bed-requested")
    db.expire_all()
    done = db.get(Referral, r.id)
    assert done is not None and done.state == "booked" and done.bed_request_id is not None
    bed = db.get(BedRequest, done.bed_request_id)
    assert bed is not None and bed.source == "referral" and bed.status == "waiting"
