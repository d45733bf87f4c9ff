"""The referral letter (转诊单 PDF) with the patient's results attached from the registry, and the
referral as a FHIR R4 ServiceRequest (validated), over the service and over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B.servicerequest import ServiceRequest
from pydicom.uid import generate_uid
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.alliance.world import World, staff
from tests.builders import bearer, make_institution, make_practitioner, make_user
from yilian.alliance import errors, letter, service
from yilian.alliance.domain import ReferralKind
from yilian.alliance.schemas import ReferBackBody
from yilian.kit.access_log import AccessAudit
from yilian.kit.auth.domain import Role
from yilian.results import service as results
from yilian.results.domain import ResultStatus
from yilian.results.imaging import ImagingInput


def _study(session: Session, w: World, when: datetime, text: str) -> int:
    outcome = results.ingest_imaging(
        session,
        ImagingInput(
            study_uid=generate_uid(),
            id_number=w.patient.id_number,
            sender_code=w.member.code,
            modality="CT",
            body_part="CHEST",
            started=when,
            report_text=text,
            status=ResultStatus.FINAL,
        ),
    )
    return outcome.result_ids[0]


def test_letter_carries_the_referral_and_the_recent_results(session: Session, world: World) -> None:
    w = world
    recent = _study(
        session, w, datetime(2026, 5, 1, 1, 0, tzinfo=UTC), "检查所见：双肺纹理增多\n诊断意见：慢支"
    )
    _study(session, w, datetime(2025, 9, 1, 1, 0, tzinfo=UTC), "诊断意见：一年前的胸片")  # > 180 days
    r = w.refer_up(session)
    service.accept(session, w.desk, r.id, "同意接收")
    attached = service.attached_results(session, r)
    assert [x.id for x in attached] == [recent]
    data = service.letter_of(session, r)
    assert data.title == "双向转诊（上转）单" and data.state == "已接收"
    assert data.diagnosis == "2型糖尿病（E11.9）" and data.to_department == "内分泌科"
    assert data.from_doctor == "刘全科" and data.patient == "赵秀英"
    assert "*" in data.id_number and w.patient.id_number not in data.id_number  # masked on paper
    assert [(a.value, a.status) for a in data.results] == [("诊断意见：慢支", "终审")]
    assert [h[1] for h in data.history] == ["申请", "已接收"] and data.history[1][3] == "同意接收"
    pdf = service.referral_letter(session, w.gp_actor, r.id)
    assert pdf.startswith(b"%PDF") and b"/MediaBox [0 0 595.28 841.89]" in pdf  # A4 in points
    logged = session.scalars(
        select(AccessAudit).where(
            AccessAudit.resource == f"referral/{r.id}", AccessAudit.username == w.gp_actor.username
        )
    ).all()
    assert any(row.reason == f"转诊单 {r.id}" for row in logged)


def test_down_referral_letter_shows_the_care_plan(session: Session, world: World) -> None:
    w = world
    r = w.refer_up(session, kind=ReferralKind.ADMISSION, to_department_id=None)
    service.accept(session, w.desk, r.id)
    service.mark_arrived(session, w.specialist, r.id)
    down = service.refer_back(
        session,
        w.specialist,
        r.id,
        ReferBackBody(
            kind=ReferralKind.REHABILITATION,
            care_plan="每日步行 30 分钟，监测血糖",
            follow_up_dates=["2026-05-20"],
        ),
    )
    data = service.letter_of(session, down)
    assert data.title == "双向转诊（下转）单" and data.kind == "康复治疗"
    assert data.care_plan == "每日步行 30 分钟，监测血糖" and data.follow_up == "2026-05-20"
    assert letter.render(data).startswith(b"%PDF")


def test_letter_refused_outside_the_two_sides(session: Session, world: World) -> None:
    w = world
    r = w.refer_up(session)
    other = make_institution(session, name="无关医院", level=2)
    stranger = staff(Role.DOCTOR, other, make_practitioner(session, institution=other, name="旁人"))
    with pytest.raises(errors.NotYourReferral):
        service.referral_letter(session, stranger, r.id)
    with pytest.raises(errors.NotYourReferral):
        service.referral_service_request(session, stranger, r.id)


def test_service_request_is_valid_fhir_and_follows_the_state(session: Session, world: World) -> None:
    w = world
    study = _study(session, w, datetime(2026, 5, 6, 1, 0, tzinfo=UTC), "诊断意见：未见异常")
    r = w.refer_up(session)
    body = service.referral_service_request(session, w.gp_actor, r.id)
    ServiceRequest.model_validate(body)  # round trip
    assert (
        body["resourceType"] == "ServiceRequest" and body["status"] == "active" and body["intent"] == "order"
    )
    assert body["subject"] == {"reference": f"Patient/{w.patient.mpi_id}"}
    assert body["requester"] == {"reference": f"Practitioner/{w.gp.id}"}
    assert body["performer"] == [{"reference": f"Organization/{w.lead.id}"}]
    assert body["performerType"]["text"] == "内分泌科"
    assert body["reasonCode"][0]["coding"][0]["code"] == "E11.9"
    assert body["code"]["text"] == "专科门诊" and body["category"][0]["text"] == "双向转诊（上转）"
    assert body["supportingInfo"] == [{"reference": f"DiagnosticReport/{study}"}]
    service.refuse(session, w.desk, r.id, "本科室床位已满")
    body = service.referral_service_request(session, w.desk, r.id)
    assert body["status"] == "revoked" and any("床位已满" in n["text"] for n in body["note"])


def test_letter_and_service_request_over_http(session: Session, client: TestClient, world: World) -> None:
    w = world
    r = w.refer_up(session)
    session.commit()
    gp = bearer(client, make_user(session, role=Role.DOCTOR, institution=w.member, practitioner=w.gp))
    me = bearer(client, make_user(session, role=Role.PATIENT, patient=w.patient))
    other = make_institution(session, name="外院", level=2)
    outsider = bearer(client, make_user(session, role=Role.DOCTOR, institution=other))
    pdf = client.get(f"/api/v1/alliance/referrals/{r.id}/letter.pdf", headers=gp)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert client.get(f"/api/v1/alliance/referrals/{r.id}/letter.pdf", headers=me).status_code == 200
    refused = client.get(f"/api/v1/alliance/referrals/{r.id}/letter.pdf", headers=outsider)
    assert refused.status_code == 403 and refused.headers["content-type"].startswith(
        "application/problem+json"
    )
    assert refused.json()["title"] == "无权处理此转诊单"
    fhir = client.get(f"/fhir/ServiceRequest/{r.id}", headers=gp)
    assert fhir.status_code == 200 and fhir.headers["content-type"].startswith("application/fhir+json")
    assert fhir.json()["id"] == str(r.id) and fhir.json()["reasonCode"][0]["text"] == "2型糖尿病"
    missing = client.get("/fhir/ServiceRequest/999999", headers=gp)
    assert missing.status_code == 404 and missing.json()["resourceType"] == "OperationOutcome"
    assert "转诊单不存在" in missing.json()["issue"][0]["details"]["text"]
