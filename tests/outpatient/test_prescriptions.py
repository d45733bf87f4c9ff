"""The outpatient record with versions, allergies, diagnoses; prescriptions written, checked live,
charged through billing, submitted, returned, changed and passed; bad input stores nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.builders import (
    actor_of,
    bearer,
    make_department,
    make_institution,
    make_patient,
    make_practitioner,
    make_user,
)
from tests.outpatient.rx_world import AMOXICILLIN, METFORMIN, cimetidine_line, make_rx_world, metformin_line
from yilian.billing import service as billing
from yilian.billing.domain import Channel
from yilian.billing.errors import NothingToSettle
from yilian.catalog.errors import InvalidDose
from yilian.kit.auth.domain import Role
from yilian.kit.clock import business_date
from yilian.outpatient import record_service, rx_service
from yilian.outpatient import service as outpatient
from yilian.outpatient.errors import InvalidPrescription, NoOpenVisit, PrescriptionLocked, RecordSigned
from yilian.outpatient.models import Order
from yilian.outpatient.record_models import Prescription, PrescriptionLine
from yilian.outpatient.record_schemas import LineCreate, RecordUpdate
from yilian.outpatient.schemas import EncounterCreate
from yilian.pharmacy import service as pharmacy
from yilian.workbench import service as workbench


def test_record_from_template_signed_then_amended_keeps_versions(session: Session) -> None:
    w = make_rx_world(session)
    template = record_service.add_template(
        session,
        department_id=w.department.id,
        name="糖尿病复诊",
        content={"chief_complaint": "口干多饮多尿", "physical_exam": "BP 130/80mmHg"},
    )
    assert [t.name for t in record_service.templates_for(session, w.department.id)] == ["糖尿病复诊"]
    record = record_service.apply_template(session, w.doctor, w.encounter_id, template.id)
    assert record.chief_complaint == "口干多饮多尿"
    record_service.save_record(
        session, w.doctor, w.encounter_id, RecordUpdate(present_illness="血糖控制欠佳 3 月")
    )
    signed = record_service.sign(session, w.doctor, w.encounter_id)
    assert signed.version == 1 and signed.signer_name
    with pytest.raises(RecordSigned):
        record_service.save_record(session, w.doctor, w.encounter_id, RecordUpdate(advice="x"))
    record_service.amend(
        session, w.doctor, w.encounter_id, RecordUpdate(advice="二甲双胍 0.5g tid"), "补充处理意见"
    )
    versions = record_service.versions(session, w.doctor, w.encounter_id)
    assert [(v.version, v.content["advice"], v.reason) for v in versions] == [
        (1, "", ""),
        (2, "二甲双胍 0.5g tid", "补充处理意见"),
    ]
    assert versions[0].content["present_illness"] == "血糖控制欠佳 3 月"


def test_diagnoses_listed_primary_first_and_removable(session: Session) -> None:
    w = make_rx_world(session)
    first = outpatient.add_diagnosis(session, w.doctor, w.encounter_id, "E11.900")
    second = outpatient.add_diagnosis(session, w.doctor, w.encounter_id, "I10.x00")
    record_service.remove_diagnosis(session, w.doctor, w.encounter_id, first.id)
    read = outpatient.encounter_read(session, outpatient.find_encounter(session, w.encounter_id))
    assert [(d.code, d.is_primary) for d in read.diagnoses] == [("I10.x00", True)]
    assert second.is_primary


def test_prescribe_computes_quantity_and_charges_through_billing(session: Session) -> None:
    w = make_rx_world(session)
    done = workbench.prescribe(session, w.doctor, w.encounter_id, "normal", metformin_line(), long_term=True)
    assert (done.quantity, done.unit) == (1, "盒") and "42 ÷ 48 向上取整 = 1盒" in done.rule
    assert done.on_credit  # the credit line of the visit, as for every order
    [view] = rx_service.prescriptions_of_encounter(session, w.encounter_id)
    assert view.lines[0].instructions == "口服，每日3次，每次0.5g，连用14天；餐中或餐后服用"
    assert view.findings == [] and view.total == 1280 and view.status == "draft"


def test_live_check_warns_on_interaction_and_removal_clears_it(session: Session) -> None:
    w = make_rx_world(session)
    workbench.prescribe(session, w.doctor, w.encounter_id, "normal", metformin_line(days=7))
    warned = workbench.live_check(session, w.doctor, w.encounter_id, "normal", cimetidine_line())
    assert [f.rule for f in warned] == ["interaction"] and "乳酸酸中毒" in warned[0].message
    added = workbench.prescribe(session, w.doctor, w.encounter_id, "normal", cimetidine_line())
    [view] = rx_service.prescriptions_of_encounter(session, w.encounter_id)
    assert [f.rule for f in view.findings] == ["interaction"]
    workbench.unprescribe(session, w.doctor, added.line_id)
    [view] = rx_service.prescriptions_of_encounter(session, w.encounter_id)
    assert view.findings == [] and len(view.lines) == 1
    assert session.get(Order, added.order_id).status == "cancelled"  # type: ignore[union-attr]


def test_allergy_on_the_patient_is_checked(session: Session) -> None:
    w = make_rx_world(session)
    record_service.add_allergy(session, w.doctor, w.patient_id, "青霉素类", "皮疹")
    line = LineCreate(item_code=AMOXICILLIN, dose=Decimal("0.5"), dose_unit="g", frequency="tid", days=5)
    found = workbench.live_check(session, w.doctor, w.encounter_id, "normal", line)
    assert [f.rule for f in found] == ["allergy"]


def _counts(session: Session) -> tuple[int, int, int]:
    return (
        session.scalar(select(func.count()).select_from(Order)) or 0,
        session.scalar(select(func.count()).select_from(PrescriptionLine)) or 0,
        session.scalar(select(func.count()).select_from(Prescription)) or 0,
    )


@pytest.mark.parametrize(
    ("changes", "error", "text"),
    [
        ({"dose": "0"}, InvalidDose, "剂量必须大于 0"),
        ({"dose": "5"}, InvalidDose, "绝对上限"),  # 5 g metformin at once
        ({"frequency": "tds"}, InvalidDose, "未知的给药频次"),
        ({"dose_unit": "ml"}, InvalidDose, "不相容"),
    ],
)
def test_bad_lines_store_nothing(
    session: Session, changes: dict[str, object], error: type, text: str
) -> None:
    w = make_rx_world(session)
    before = _counts(session)
    with pytest.raises(error, match=text):
        workbench.prescribe(session, w.doctor, w.encounter_id, "normal", metformin_line(**changes))
    assert _counts(session)[:2] == before[:2]


def test_no_prescription_without_an_open_visit(session: Session) -> None:
    w = make_rx_world(session)
    outpatient.close_encounter(session, w.doctor, w.encounter_id)
    with pytest.raises(NoOpenVisit):
        workbench.prescribe(session, w.doctor, w.encounter_id, "normal", metformin_line())


def test_review_return_change_pass_and_pay_only_after(session: Session) -> None:
    w = make_rx_world(session)
    workbench.prescribe(session, w.doctor, w.encounter_id, "normal", metformin_line(days=7))
    bad = workbench.prescribe(session, w.doctor, w.encounter_id, "normal", cimetidine_line())
    [p] = rx_service.prescriptions_of_encounter(session, w.encounter_id)
    rx_service.submit(session, w.doctor, p.id)
    with pytest.raises(PrescriptionLocked):
        workbench.prescribe(
            session, w.doctor, w.encounter_id, "normal", metformin_line(item_code=AMOXICILLIN)
        )
    [queued] = pharmacy.review_queue(session, w.pharmacist)
    assert queued.prescription.id == p.id and queued.allergies == [] and queued.age_years > 40
    with pytest.raises(NothingToSettle, match="审方通过后才能缴费"):
        billing.settle(
            session,
            encounter_id=w.encounter_id,
            day=business_date(),
            channel=Channel.WECHAT,
            idempotency_key="k",
        )
    with pytest.raises(InvalidPrescription, match="理由"):
        pharmacy.decide(session, w.pharmacist, p.id, "return", "")
    pharmacy.decide(session, w.pharmacist, p.id, "return", "二甲双胍与西咪替丁合用增加乳酸酸中毒风险")
    with pytest.raises(InvalidPrescription, match="修改处方，或填写用药理由"):
        rx_service.submit(session, w.doctor, p.id)
    workbench.unprescribe(session, w.doctor, bad.line_id)
    rx_service.submit(session, w.doctor, p.id)
    passed = pharmacy.decide(session, w.pharmacist, p.id, "pass")
    assert passed.status == "passed" and pharmacy.review_queue(session, w.pharmacist) == []
    view = rx_service.prescription_read(session, passed)
    assert [r.verdict for r in view.reviews] == ["return", "pass"]
    s = billing.settle(
        session, encounter_id=w.encounter_id, day=business_date(), channel=Channel.WECHAT, idempotency_key="k"
    )
    assert s.total == 1280


def test_returned_prescription_may_be_justified_instead_of_changed(session: Session) -> None:
    w = make_rx_world(session)
    workbench.prescribe(session, w.doctor, w.encounter_id, "normal", metformin_line(days=7))
    [p] = rx_service.prescriptions_of_encounter(session, w.encounter_id)
    rx_service.submit(session, w.doctor, p.id)
    pharmacy.decide(session, w.pharmacist, p.id, "return", "请确认肾功能")
    again = rx_service.submit(session, w.doctor, p.id, "eGFR 92，肾功能正常")
    assert again.status == "pending" and again.doctor_note == "eGFR 92，肾功能正常"


def test_api_prescribe_and_problems_in_chinese(client: TestClient, session: Session) -> None:
    w = make_rx_world(session)
    doctor_user = make_user(session, role=Role.DOCTOR, institution=w.hospital)
    headers = bearer(client, doctor_user)
    url = f"/api/v1/encounters/{w.encounter_id}/prescriptions/normal/lines"
    body = {
        "item_code": METFORMIN,
        "dose": "0.5",
        "dose_unit": "g",
        "frequency": "tid",
        "route": "po",
        "days": 7,
    }
    for bad, code in [
        ({"dose": "0"}, "invalid_dose"),
        ({"dose": "9"}, "invalid_dose"),
        ({"frequency": "xyz"}, "invalid_dose"),
    ]:
        r = client.post(url, json={**body, **bad}, headers=headers)
        assert r.status_code == 400 and r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["code"] == code and r.json()["title"] == "用法用量不合法"
    assert _counts(session)[1] == 0
    ok = client.post(url, json=body, headers=headers)
    assert ok.status_code == 201, ok.text
    assert ok.json()["quantity"] == 1 and "向上取整" in ok.json()["rule"]
    listed = client.get(f"/api/v1/encounters/{w.encounter_id}/prescriptions", headers=headers).json()
    pid = listed[0]["id"]
    assert (
        client.post(f"/api/v1/prescriptions/{pid}/submit", json={}, headers=headers).json()["status"]
        == "pending"
    )
    outpatient.close_encounter(session, w.doctor, w.encounter_id)
    closed = client.post(url, json={**body, "item_code": AMOXICILLIN, "dose": "0.5"}, headers=headers)
    assert closed.status_code == 409 and closed.json()["title"] == "患者没有进行中的就诊"


def test_fhir_condition_and_allergy_read(client: TestClient, session: Session) -> None:
    from fhir.resources.R4B.allergyintolerance import AllergyIntolerance
    from fhir.resources.R4B.condition import Condition

    w = make_rx_world(session)
    diagnosis = outpatient.add_diagnosis(session, w.doctor, w.encounter_id, "E11.900")
    allergy = record_service.add_allergy(session, w.doctor, w.patient_id, "青霉素类", "皮疹")
    headers = bearer(client, make_user(session, role=Role.DOCTOR, institution=w.hospital))
    condition = client.get(f"/fhir/Condition/{diagnosis.id}", headers=headers)
    assert condition.status_code == 200 and condition.headers["content-type"].startswith(
        "application/fhir+json"
    )
    parsed = Condition.model_validate(condition.json())
    assert parsed.code.coding[0].code == "E11.900" and parsed.category[0].text == "主要诊断"
    read = client.get(f"/fhir/AllergyIntolerance/{allergy.id}", headers=headers)
    assert AllergyIntolerance.model_validate(read.json()).code.text == "青霉素类"
    missing = client.get("/fhir/AllergyIntolerance/999999", headers=headers)
    assert missing.status_code == 404 and missing.json()["resourceType"] == "OperationOutcome"
    elsewhere = make_institution(session)
    stranger = bearer(client, make_user(session, role=Role.DOCTOR, institution=elsewhere))
    assert client.get(f"/fhir/Condition/{diagnosis.id}", headers=stranger).status_code == 403


def test_signed_record_prints_as_a5_pdf(client: TestClient, session: Session) -> None:
    w = make_rx_world(session)
    headers = bearer(client, make_user(session, role=Role.DOCTOR, institution=w.hospital))
    unsigned = client.get(f"/api/v1/encounters/{w.encounter_id}/record.pdf", headers=headers)
    assert unsigned.status_code == 400 and unsigned.json()["code"] == "invalid_record"
    record_service.save_record(
        session, w.doctor, w.encounter_id, RecordUpdate(chief_complaint="口干多饮 1 月")
    )
    outpatient.add_diagnosis(session, w.doctor, w.encounter_id, "E11.900")
    workbench.prescribe(session, w.doctor, w.encounter_id, "normal", metformin_line(days=7))
    record_service.sign(session, w.doctor, w.encounter_id)
    pdf = client.get(f"/api/v1/encounters/{w.encounter_id}/record.pdf", headers=headers)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF") and b"/MediaBox [0 0 419.53 595.28]" in pdf.content  # A5 in points


def test_live_check_only_in_a_visit_of_ones_institution(session: Session) -> None:
    from tests.builders import actor_of
    from yilian.kit.errors import Forbidden

    w = make_rx_world(session)
    stranger = actor_of(make_user(session, role=Role.DOCTOR, institution=make_institution(session)))
    with pytest.raises(Forbidden):
        workbench.live_check(session, stranger, w.encounter_id, "normal", metformin_line())
    nurse = actor_of(make_user(session, role=Role.NURSE, institution=w.hospital))
    with pytest.raises(Forbidden):
        workbench.live_check(session, nurse, w.encounter_id, "normal", metformin_line())


def test_a_reload_resumes_the_visit_last_on_screen_while_it_is_open(session: Session) -> None:
    w = make_rx_world(session)
    other = make_patient(session, institution=w.hospital)
    later = outpatient.open_encounter(
        session, w.doctor, EncounterCreate(patient_id=other.id, department_id=w.department.id)
    )
    session.flush()
    # without a visit on screen: the latest opened; with one: that one, while it is open
    latest = workbench.resume_visit(session, w.doctor)
    assert latest is not None and latest.id == later.id
    resumed = workbench.resume_visit(session, w.doctor, last=w.encounter_id)
    assert resumed is not None and resumed.id == w.encounter_id
    outpatient.close_encounter(session, w.doctor, w.encounter_id)
    session.flush()
    resumed = workbench.resume_visit(session, w.doctor, last=w.encounter_id)
    assert resumed is not None and resumed.id == later.id
    # another doctor's visit is never resumed for this one
    elsewhere = make_institution(session)
    department = make_department(session, institution=elsewhere)
    practitioner = make_practitioner(session, institution=elsewhere, department=department)
    stranger = actor_of(
        make_user(session, role=Role.DOCTOR, institution=elsewhere, practitioner=practitioner)
    )
    theirs = outpatient.open_encounter(
        session,
        stranger,
        EncounterCreate(
            patient_id=make_patient(session, institution=elsewhere).id, department_id=department.id
        ),
    )
    session.flush()
    resumed = workbench.resume_visit(session, w.doctor, last=theirs.id)
    assert resumed is not None and resumed.id == later.id
