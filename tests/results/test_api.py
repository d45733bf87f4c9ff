"""Recognition at ordering over HTTP, look-up with access rules and audit, FHIR read/search and ingest,
qualification admin and indicators."""

from __future__ import annotations

from datetime import date, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.builders import SYSTEM, actor_of, bearer, make_patient, make_user
from tests.results.messages import fhir_bundle
from tests.results.world import TODAY, World, lab_result
from yilian.kit.access_log import AccessAudit
from yilian.kit.auth.domain import Role
from yilian.kit.clock import FrozenClock
from yilian.registry import service as registry
from yilian.registry.domain import ConsentScope, RelationType
from yilian.registry.models import PatientAccessGrant
from yilian.registry.schemas import ConsentCreate, RelationCreate
from yilian.results import fhir, service
from yilian.results.models import Result


def test_check_decide_and_indicators(
    client: TestClient, session: Session, world: World, frozen_clock: FrozenClock
) -> None:
    recent = lab_result(session, world, sender="TCO", control="A1", day=TODAY - timedelta(days=10))
    older = lab_result(session, world, sender="TCO", control="A2", day=TODAY - timedelta(days=20))
    unqualified = lab_result(session, world, sender="TUNQ", control="A3", day=TODAY - timedelta(days=2))
    lab_result(session, world, sender="TCO", control="A4", day=TODAY - timedelta(days=30))  # expired (day 31)
    preliminary = lab_result(
        session, world, sender="TCO", control="A5", day=TODAY - timedelta(days=1), status="P"
    )
    doctor = make_user(session, role=Role.DOCTOR, institution=world.tertiary, practitioner=world.doctor)
    headers = bearer(client, doctor)
    body = {
        "patient_id": world.patient.id,
        "institution_id": world.tertiary.id,
        "item_code": "GLU",
        "practitioner_id": world.doctor.id,
    }
    checked = client.post("/api/v1/results/recognition/check", json=body, headers=headers)
    assert checked.status_code == 200, checked.text
    data = checked.json()
    assert [c["result"]["id"] for c in data["candidates"]] == [recent, older]  # newest first
    assert "同一医联体内互认" in data["candidates"][0]["why"]
    assert (
        data["candidates"][0]["valid_until"] == (TODAY - timedelta(days=10) + timedelta(days=29)).isoformat()
    )
    assert {c["result"]["id"] for c in data["rejected"]} == {unqualified, preliminary}
    assert data["price_fen"] == 600 and data["prompt_id"]

    refused = client.post(
        "/api/v1/results/recognition/decisions",
        headers=headers,
        json={"prompt_id": data["prompt_id"], "decision": "不互认", "reasons": []},
    )
    assert refused.status_code == 400 and refused.json()["code"] == "results_invalid_decision"
    too_long = client.post(
        "/api/v1/results/recognition/decisions",
        headers=headers,
        json={"prompt_id": data["prompt_id"], "decision": "不互认", "reasons": ["other"], "note": "长" * 201},
    )
    assert too_long.status_code == 400
    not_offered = client.post(
        "/api/v1/results/recognition/decisions",
        headers=headers,
        json={"prompt_id": data["prompt_id"], "decision": "互认", "result_id": unqualified},
    )
    assert not_offered.status_code == 400

    decided = client.post(
        "/api/v1/results/recognition/decisions",
        headers=headers,
        json={"prompt_id": data["prompt_id"], "decision": "互认", "result_id": recent},
    )
    assert decided.status_code == 201, decided.text
    assert decided.json()["fee_saved_fen"] == 600 and decided.json()["order_placed"] is False
    twice = client.post(
        "/api/v1/results/recognition/decisions",
        headers=headers,
        json={"prompt_id": data["prompt_id"], "decision": "互认", "result_id": recent},
    )
    assert twice.status_code == 409
    grant = session.scalar(
        select(PatientAccessGrant).where(
            PatientAccessGrant.patient_id == world.patient.id,
            PatientAccessGrant.institution_id == world.tertiary.id,
        )
    )
    assert grant is not None and "互认" in grant.reason

    second = client.post("/api/v1/results/recognition/check", json=body, headers=headers).json()
    client.post(
        "/api/v1/results/recognition/decisions",
        headers=headers,
        json={
            "prompt_id": second["prompt_id"],
            "decision": "不互认",
            "reasons": ["condition_changed", "fast_changing"],
            "note": "血糖波动",
        },
    )
    stats = client.get(
        "/api/v1/results/recognition/indicators", params={"group": "item"}, headers=headers
    ).json()
    glu = next(r for r in stats["rows"] if r["key"] == "GLU")
    assert glu == {
        "key": "GLU",
        "name": "葡萄糖测定（血糖）",
        "prompts": 2,
        "recognised": 1,
        "not_recognised": 1,
        "recognition_rate": 0.5,
        "fee_saved_fen": 600,
    }
    assert {r["reason"] for r in stats["reasons"]} == {"condition_changed", "fast_changing"}
    by_inst = client.get("/api/v1/results/recognition/indicators", headers=headers).json()
    assert by_inst["rows"][0]["name"] == "测试总医院" and by_inst["totals"]["fee_saved_fen"] == 600


def test_nothing_to_recognise_records_no_prompt(
    client: TestClient, session: Session, world: World, frozen_clock: FrozenClock
) -> None:
    doctor = make_user(session, role=Role.DOCTOR, institution=world.tertiary)
    out = client.post(
        "/api/v1/results/recognition/check",
        headers=bearer(client, doctor),
        json={"patient_id": world.patient.id, "institution_id": world.tertiary.id, "item_code": "K"},
    )
    assert out.status_code == 200 and out.json()["candidates"] == [] and out.json()["prompt_id"] is None
    other = client.post(
        "/api/v1/results/recognition/check",
        headers=bearer(client, doctor),
        json={"patient_id": world.patient.id, "institution_id": world.county.id, "item_code": "K"},
    )
    assert other.status_code == 403


def test_equivalent_local_codes_are_recognised(
    client: TestClient, session: Session, world: World, frozen_clock: FrozenClock
) -> None:
    service.add_code_map(session, SYSTEM, institution_id=world.county.id, local_code="XT-01", item_code="GLU")
    rid = lab_result(session, world, sender="TCO", control="L1", day=TODAY - timedelta(days=3), code="XT-01")
    doctor = make_user(session, role=Role.DOCTOR, institution=world.tertiary)
    data = client.post(
        "/api/v1/results/recognition/check",
        headers=bearer(client, doctor),
        json={"patient_id": world.patient.id, "institution_id": world.tertiary.id, "item_code": "GLU"},
    ).json()
    assert [c["result"]["id"] for c in data["candidates"]] == [rid]
    assert data["candidates"][0]["result"]["local_code"] == "XT-01"


def test_results_lookup_access_and_audit(
    client: TestClient, session: Session, world: World, frozen_clock: FrozenClock
) -> None:
    rid = lab_result(session, world, sender="TCO", control="R1", day=TODAY - timedelta(days=3))
    url = f"/api/v1/results/patients/{world.patient.id}"
    doctor = make_user(session, role=Role.DOCTOR, institution=world.tertiary)
    stranger = make_user(session, role=Role.DOCTOR, institution=world.outside_low)
    own = make_user(session, role=Role.PATIENT, patient=world.patient)
    relative = make_patient(session, name="王家属", institution=world.tertiary, birth_date=date(2008, 3, 1))
    family = make_user(session, role=Role.FAMILY, patient=relative)
    audits = session.scalar(select(func.count()).select_from(AccessAudit)) or 0
    seen = client.get(url, headers=bearer(client, doctor))
    assert seen.status_code == 200 and [r["id"] for r in seen.json()["items"]] == [rid]
    assert (session.scalar(select(func.count()).select_from(AccessAudit)) or 0) > audits
    assert client.get(url, headers=bearer(client, own)).json()["total"] == 1
    assert client.get(url, headers=bearer(client, stranger)).status_code == 403
    assert client.get(url, headers=bearer(client, family)).status_code == 403
    relation = registry.add_relation(
        session,
        SYSTEM,
        world.patient.id,
        RelationCreate(relative_id=relative.id, relation_type=RelationType.CHILD),
    )
    registry.confirm_relation(session, SYSTEM, relation.id)
    registry.verify_relation(session, SYSTEM, relation.id)
    registry.grant_consent(
        session,
        SYSTEM,
        ConsentCreate(
            relation_id=relation.id, grantor_id=world.patient.id, scope=ConsentScope.COMPANION_RESULTS
        ),
    )
    assert client.get(url, headers=bearer(client, family)).json()["total"] == 1


def test_fhir_ingest_read_and_search(
    client: TestClient, session: Session, world: World, frozen_clock: FrozenClock
) -> None:
    ingester = make_user(session, role=Role.ADMIN)
    headers = bearer(client, ingester)
    posted = client.post("/fhir", json=fhir_bundle(world), headers=headers)
    assert posted.status_code == 201, posted.text
    location = posted.json()["entry"][0]["response"]["location"]
    again = client.post("/fhir", json=fhir_bundle(world), headers=headers)
    assert again.status_code == 200 and again.json()["entry"][0]["response"]["location"] == location
    bad = fhir_bundle(world)
    bad["entry"] = bad["entry"][1:]  # type: ignore[index]
    rejected = client.post("/fhir", json=bad, headers=headers)
    assert rejected.status_code == 400 and rejected.json()["resourceType"] == "OperationOutcome"
    assert "Patient" in rejected.json()["issue"][0]["diagnostics"]
    assert session.scalar(select(func.count()).select_from(Result)) == 1

    doctor = make_user(session, role=Role.DOCTOR, institution=world.tertiary)
    dh = bearer(client, doctor)
    obs = client.get(f"/fhir/{location}", headers=dh)
    assert obs.status_code == 200 and obs.headers["content-type"].startswith("application/fhir+json")
    assert obs.json()["valueQuantity"]["value"] == 6.2 and obs.json()["subject"]["reference"].startswith(
        "Patient/YL"
    )
    found = client.get(
        "/fhir/Observation",
        params={"patient": world.patient.mpi_id, "code": "http://loinc.org|2345-7"},
        headers=dh,
    ).json()
    assert found["total"] == 1 and found["entry"][0]["resource"]["code"]["coding"][0]["code"] == "GLU"
    assert found == fhir.validated(found) and obs.json() == fhir.validated(
        obs.json()
    )  # no pydantic on the path
    none = client.get(
        "/fhir/Observation", params={"patient": world.patient.mpi_id, "code": "K"}, headers=dh
    ).json()
    assert none["total"] == 0

    # the same result as a DiagnosticReport (LAB) pointing at its Observation
    rid = location.split("/")[1]
    report = client.get(f"/fhir/DiagnosticReport/{rid}", headers=dh)
    assert report.status_code == 200 and report.headers["content-type"].startswith("application/fhir+json")
    body = report.json()
    assert body["resourceType"] == "DiagnosticReport" and body["status"] == "final"
    assert body["category"][0]["coding"][0]["code"] == "LAB" and body["result"] == [{"reference": location}]
    searched = client.get(
        "/fhir/DiagnosticReport",
        params={"patient": world.patient.mpi_id, "category": "LAB", "_include": "DiagnosticReport:result"},
        headers=dh,
    ).json()
    assert searched["total"] == 1
    modes = [(e["resource"]["resourceType"], e["search"]["mode"]) for e in searched["entry"]]
    assert modes == [("DiagnosticReport", "match"), ("Observation", "include")]
    assert searched == fhir.validated(searched) and body == fhir.validated(body)
    assert (
        client.get(
            "/fhir/DiagnosticReport", params={"patient": world.patient.mpi_id, "category": "RAD"}, headers=dh
        ).json()["total"]
        == 0
    )
    bad_category = client.get(
        "/fhir/DiagnosticReport", params={"patient": world.patient.mpi_id, "category": "XYZ"}, headers=dh
    )
    assert bad_category.status_code == 400 and bad_category.json()["resourceType"] == "OperationOutcome"
    other = make_patient(session, name="周邻人")
    stranger = bearer(client, make_user(session, role=Role.PATIENT, patient=other))
    assert client.get(f"/fhir/DiagnosticReport/{rid}", headers=stranger).status_code == 403


def test_hl7_over_http_and_qualification_admin(client: TestClient, session: Session, world: World) -> None:
    admin = make_user(session, role=Role.ADMIN)
    headers = bearer(client, admin)
    msg = "\r".join(
        [
            "MSH|^~\\&|LIS|TCO|YILIAN|REGION|20261110090000||ORU^R01^ORU_R01|H1|P|2.5",
            f"PID|1||{world.patient.id_number}^^^^NNCHN",
            "OBR|1||F1|K|||20261110080000",
            "OBX|1|NM|K^钾^L||4.0|mmol/L|3.5-5.3||||F|||20261110080000",
        ]
    )
    ok = client.post("/api/v1/results/hl7", content=msg.encode(), headers=headers)
    assert ok.status_code == 200 and len(ok.json()["result_ids"]) == 1
    bad = client.post("/api/v1/results/hl7", content=b"hello", headers=headers)
    assert bad.status_code == 400 and bad.json()["code"] == "results_bad_message"
    qa = client.put(
        f"/api/v1/results/qualifications/{world.unqualified.id}/qa",
        headers=headers,
        json={
            "discipline": "临床化学",
            "passed": True,
            "passed_on": "2026-02-01",
            "expires_on": "2026-01-01",
        },
    )
    assert qa.status_code == 400
    hr = client.put(
        f"/api/v1/results/qualifications/{world.unqualified.id}/hr", headers=headers, json={"hr_mark": True}
    )
    assert hr.status_code == 200
    rows = client.get("/api/v1/results/qualifications", headers=headers).json()
    row = next(r for r in rows if r["institution_id"] == world.unqualified.id)
    assert row["hr_mark"] is True and row["tier"] == "high" and row["qa"] == []
    csv_text = "institution_code,local_code,local_name,item_code\nTCO,XT,血糖,GLU\nTCO,BAD,坏,NOPE\n"
    failed = client.post(
        "/api/v1/results/code-maps/import",
        headers=headers,
        files={"file": ("map.csv", csv_text.encode(), "text/csv")},
    )
    assert failed.status_code == 400 and len(failed.json()["errors"]) == 1
    assert service.list_code_maps(session, world.county.id) == []
    good = client.post(
        "/api/v1/results/code-maps/import",
        headers=headers,
        files={"file": ("map.csv", (csv_text.splitlines()[0] + "\nTCO,XT,血糖,GLU\n").encode(), "text/csv")},
    )
    assert good.status_code == 200 and good.json()["created"] == 1
    policy = client.put("/api/v1/results/policy", headers=headers, json={"matrix": {"low": {}}})
    assert policy.status_code == 400
    doctor = make_user(session, role=Role.DOCTOR, institution=world.tertiary)
    assert (
        client.put(
            f"/api/v1/results/qualifications/{world.county.id}/hr",
            json={"hr_mark": False},
            headers=bearer(client, doctor),
        ).status_code
        == 403
    )


def test_dicom_upload_and_fhir_imaging_study(client: TestClient, session: Session, world: World) -> None:
    from pydicom.uid import generate_uid

    from tests.results.messages import dicom_bytes

    admin = make_user(session, role=Role.ADMIN)
    uid = generate_uid()
    posted = client.post(
        "/api/v1/results/imaging/dicom",
        headers=bearer(client, admin),
        data={"report_text": "双肺未见明显异常。", "sender_code": "TCO"},
        files={"file": ("ct.dcm", dicom_bytes(world.patient.id_number, uid), "application/dicom")},
    )
    assert posted.status_code == 200, posted.text
    rid = posted.json()["result_ids"][0]
    doctor = make_user(session, role=Role.DOCTOR, institution=world.tertiary)
    study = client.get(f"/fhir/ImagingStudy/{rid}", headers=bearer(client, doctor))
    assert study.status_code == 200, study.text
    body = study.json()
    assert body["identifier"][0]["value"] == f"urn:oid:{uid}" and body["modality"][0]["code"] == "CT"
    bad = client.post(
        "/api/v1/results/imaging/dicom",
        headers=bearer(client, admin),
        data={"report_text": "x", "sender_code": "TCO"},
        files={"file": ("x.dcm", b"not dicom", "application/dicom")},
    )
    assert bad.status_code == 400 and bad.json()["code"] == "results_bad_message"


def test_imaging_report_carries_the_conclusion_and_the_study() -> None:
    from datetime import UTC, datetime
    from types import SimpleNamespace

    at = datetime(2026, 11, 10, 8, 0, tzinfo=UTC)
    row = SimpleNamespace(
        id=7,
        kind="imaging",
        item_code="CT-CHEST",
        source_key="dicom:TCO:1.2.3",
        status="final",
        observed_at=at,
        received_at=at,
        institution_id=3,
        report_text="双肺未见明显异常。",
        study_uid="1.2.840.1",
    )
    body = fhir.diagnostic_report_resource(row, item_name="胸部CT平扫", loinc="", mpi_id="YL0000000001")
    assert body["category"][0]["coding"][0]["code"] == "RAD" and "result" not in body
    assert body["conclusion"] == "双肺未见明显异常。"
    assert body["imagingStudy"] == [{"reference": "ImagingStudy/7"}]


def test_result_history_over_http_is_audited(
    client: TestClient, session: Session, world: World, frozen_clock: FrozenClock
) -> None:
    """A final result then its correction: the result shows the correction, its history both deliveries
    (who sent what when), read by the treating doctor with an audit row; another hospital's doctor 403."""
    day = TODAY - timedelta(days=3)
    first = lab_result(session, world, sender="TCO", control="H1", day=day, value="7.0")
    text = "\r".join(
        [
            f"MSH|^~\\&|LIS|TCO|YILIAN|REGION|{day:%Y%m%d}110000||ORU^R01^ORU_R01|H2|P|2.5",
            f"PID|1||{world.patient.id_number}^^^^NNCHN||王^血糖",
            f"OBR|1||H1-F|GLU|||{day:%Y%m%d}080000",
            f"OBX|1|NM|GLU^项目^L||6.1|mmol/L|3.9-6.1||||C|||{day:%Y%m%d}080000",
            "NTE|1||复核后更正",
        ]
    )
    corrected = service.ingest_hl7(session, text)
    assert corrected.result_ids == [first] and corrected.updated_ids == [first]
    doctor = make_user(session, role=Role.DOCTOR, institution=world.tertiary, practitioner=world.doctor)
    headers = bearer(client, doctor)
    audits = session.scalar(select(func.count()).select_from(AccessAudit))
    shown = client.get(f"/api/v1/results/{first}", headers=headers).json()
    assert (shown["status"], shown["value_text"], shown["comment"]) == ("corrected", "6.1", "复核后更正")
    history = client.get(f"/api/v1/results/{first}/history", headers=headers)
    assert history.status_code == 200
    assert [
        (h["message_id"], h["status"], h["value_text"], h["sender"], h["applied"]) for h in history.json()
    ] == [
        ("H1", "final", "7.0", "TCO", True),
        ("H2", "corrected", "6.1", "TCO", True),
    ]
    assert session.scalar(select(func.count()).select_from(AccessAudit)) == audits + 2
    outsider = make_user(session, role=Role.DOCTOR, institution=world.outside_low)
    denied = client.get(f"/api/v1/results/{first}/history", headers=bearer(client, outsider))
    assert denied.status_code == 403 and denied.headers["content-type"].startswith("application/problem+json")


def test_results_page_totals_with_and_without_the_count_query(
    session: Session, world: World, frozen_clock: FrozenClock
) -> None:
    """The total of a patient's results is counted only when the page does not tell it (a full page, or
    an empty page past the end): every page gives the same total."""
    for n in range(3):
        lab_result(session, world, sender="TCO", control=f"P{n}", day=TODAY - timedelta(days=n + 1))
    doctor = make_user(session, role=Role.DOCTOR, institution=world.tertiary, practitioner=world.doctor)
    actor = actor_of(doctor)
    pages = [(0, 50), (0, 2), (2, 2), (3, 2), (9, 2), (0, 3)]
    got = [
        (len(rows), total)
        for offset, limit in pages
        for rows, total in [
            service.patient_results(session, actor, world.patient.id, offset=offset, limit=limit)
        ]
    ]
    assert got == [(3, 3), (2, 3), (1, 3), (0, 3), (0, 3), (3, 3)]


def test_observation_search_rows_match_the_results_page(
    client: TestClient, session: Session, world: World, frozen_clock: FrozenClock
) -> None:
    """The FHIR Observation search reads plain rows with the item's name and LOINC joined in: the same
    results, order and totals as ``patient_results``, and an item no longer in the active catalogue
    shows its code (no LOINC), as the catalogue look-up did."""
    for n in range(3):
        lab_result(session, world, sender="TCO", control=f"R{n}", day=TODAY - timedelta(days=n + 1))
    lab_result(
        session, world, sender="TCO", control="RK", day=TODAY - timedelta(days=1), code="K", value="4.1"
    )
    doctor = make_user(session, role=Role.DOCTOR, institution=world.tertiary, practitioner=world.doctor)
    actor = actor_of(doctor)
    for item_code in (None, "GLU", "K", "ALT"):
        for offset, limit in [(0, 50), (0, 2), (2, 2), (9, 2)]:
            rows, total = service.patient_observations(
                session, actor, world.patient.id, item_code=item_code, offset=offset, limit=limit
            )
            orm, orm_total = service.patient_results(
                session, actor, world.patient.id, item_code=item_code, offset=offset, limit=limit
            )
            assert ([r.id for r in rows], total) == ([r.id for r in orm], orm_total)

    dh = bearer(client, doctor)
    before = client.get("/fhir/Observation", params={"patient": world.patient.mpi_id}, headers=dh).json()
    glu = [e["resource"] for e in before["entry"] if e["resource"]["code"]["coding"][0]["code"] == "GLU"]
    assert glu and all(len(r["code"]["coding"]) == 2 and r["code"]["text"] != "GLU" for r in glu)
    service.get_item(session, "GLU").is_active = False
    session.flush()
    after = client.get("/fhir/Observation", params={"patient": world.patient.mpi_id}, headers=dh).json()
    assert after["total"] == before["total"] == 4 and after == fhir.validated(after)
    for entry in after["entry"]:
        code = entry["resource"]["code"]
        if code["coding"][0]["code"] == "GLU":
            assert code["text"] == "GLU" and code["coding"] == [
                {"system": fhir.REGIONAL_ITEM_SYSTEM, "code": "GLU", "display": "GLU"}
            ]
        else:
            assert code["text"] != "K" and code["coding"][1]["system"] == fhir.LOINC
