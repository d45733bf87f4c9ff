"""The audit over HTTP and in the database: 3101-style pre-check, library versions, claim lines, runs,
findings with the review trail, Excel export, permissions; bad input changes nothing."""

from __future__ import annotations

import io
from datetime import date, timedelta
from pathlib import Path

import duckdb
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.builders import bearer, make_department, make_institution, make_practitioner, make_user
from yilian.insurance.audit import nhsa, service, synth
from yilian.insurance.audit.batch import lines_to_arrow
from yilian.insurance.audit.domain import Stage, default_library
from yilian.insurance.audit.models import AuditClaimLine, AuditFinding, AuditFindingEvent, AuditRuleLibrary
from yilian.insurance.audit.schemas import PrecheckRequest
from yilian.kit.access_log import AccessAudit
from yilian.kit.auth.domain import Role


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def _3101(orders: list[dict[str, object]], **enc: object) -> dict[str, object]:
    encounter: dict[str, object] = {
        "mdtrt_id": "MD1",
        "medins_lv": 3,
        "med_mdtrt_type": "1",
        "insutype": "310",
        "adm_date": "2026-11-20 09:12:00",
        "dscg_main_dise_codg": "J06.900",
        "fsi_order_dtos": orders,
    }
    encounter.update(enc)
    return {
        "syscode": "HIS",
        "task_id": "T1",
        "trig_scen": "2",
        "patient_dtos": [
            {
                "patn_id": "P9",
                "patn_name": "张三",
                "gend": "2",
                "brdy": "1980-02-03",
                "curr_mdtrt_id": "MD1",
                "fsi_encounter_dtos": [encounter],
            }
        ],
    }


def test_precheck_3101_finds_a_sex_limited_drug_for_a_woman(client: TestClient, session: Session) -> None:
    doctor = make_user(session, role=Role.DOCTOR, institution=make_institution(session))
    headers = bearer(client, doctor)
    body = _3101(
        [
            {"rx_id": "RX-1", "hilist_code": "XG03BAA001", "cnt": 2, "pric": 6000},
            {"rx_id": "RX-2", "hilist_code": "250101001", "cnt": 1, "pric": 2000},
        ]
    )
    response = client.post("/api/v1/audit/precheck", json=body, headers=headers)
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["stage"] == "pre"
    [result] = data["result_dtos"]
    assert result["rule_id"] == "SEX-001" and result["sev_deg"] == "1" and result["vola_amt"] == 12000
    assert "限男性" in result["vola_cont"]
    assert [d["rx_id"] for d in result["judge_result_detail_dtos"]] == ["RX-1"]
    assert _count(session, AccessAudit) >= 1

    clean = _3101([{"rx_id": "RX-2", "hilist_code": "250101001", "cnt": 1, "pric": 2000}])
    assert client.post("/api/v1/audit/precheck", json=clean, headers=headers).json()["result_dtos"] == []


def test_precheck_uses_history_for_readmission_and_rejects_bad_input(
    client: TestClient, session: Session
) -> None:
    officer = make_user(session, role=Role.INSURANCE_OFFICER, institution=make_institution(session))
    headers = bearer(client, officer)
    first = {
        "mdtrt_id": "MD0",
        "medins_lv": 3,
        "med_mdtrt_type": "2",
        "adm_date": "2026-11-01",
        "dscg_date": "2026-11-08",
        "dscg_main_dise_codg": "J18.000",
        "fsi_order_dtos": [{"rx_id": "B0", "hilist_code": "120100001", "cnt": 1, "pric": 4000}],
    }
    body = _3101(
        [{"rx_id": "B1", "hilist_code": "120100001", "cnt": 1, "pric": 4000}],
        med_mdtrt_type="2",
        adm_date="2026-11-18",
        dscg_date="2026-11-20",
        dscg_main_dise_codg="J18.900",
    )
    body["trig_scen"] = "9"
    body["patient_dtos"][0]["fsi_encounter_dtos"].insert(0, first)  # type: ignore[index]
    # readmission is a post-event rule only; in-event (事中) it is not reported
    assert client.post("/api/v1/audit/precheck", json=body, headers=headers).json()["result_dtos"] == []
    current, history, _ = nhsa.to_lines(PrecheckRequest.model_validate(body))
    [post] = service.precheck(current, history=history, stage=Stage.POST)
    assert (post.rule_id, post.related, post.value) == ("READM-001", ("MD0",), "10")

    bad = _3101([{"rx_id": "X", "hilist_code": "A", "cnt": 0, "pric": 1}])
    assert client.post("/api/v1/audit/precheck", json=bad, headers=headers).status_code == 422
    missing = _3101([{"rx_id": "X", "hilist_code": "A", "cnt": 1, "pric": 1}])
    missing["patient_dtos"][0]["curr_mdtrt_id"] = "nope"  # type: ignore[index]
    problem = client.post("/api/v1/audit/precheck", json=missing, headers=headers)
    assert problem.status_code == 400 and problem.json()["code"] == "audit_claim_file_invalid"


def test_patients_and_cashiers_may_not_precheck(client: TestClient, session: Session) -> None:
    cashier = make_user(session, role=Role.CASHIER, institution=make_institution(session))
    body = _3101([{"rx_id": "X", "hilist_code": "A", "cnt": 1, "pric": 1}])
    assert (
        client.post("/api/v1/audit/precheck", json=body, headers=bearer(client, cashier)).status_code == 403
    )
    assert client.post("/api/v1/audit/precheck", json=body).status_code == 401


def test_library_validate_save_and_reject(client: TestClient, session: Session) -> None:
    officer = make_user(session, role=Role.INSURANCE_OFFICER, institution=make_institution(session))
    headers = bearer(client, officer)
    current = client.get("/api/v1/audit/rules", headers=headers).json()
    assert current["version"] == "2026.11" and len(current["rules"]) == len(default_library().rules)

    broken = current["text"].replace("sex: M}", "sex: X}", 1)
    checked = client.post("/api/v1/audit/rules/validate", json={"text": broken}, headers=headers).json()
    assert not checked["valid"] and checked["issues"][0]["line"] == 12
    before = _count(session, AuditRuleLibrary)
    refused = client.post("/api/v1/audit/rules", json={"text": broken}, headers=headers)
    assert refused.status_code == 400 and _count(session, AuditRuleLibrary) == before

    newer = (
        current["text"]
        .replace('version: "2026.11"', 'version: "2026.12"')
        .replace(
            "  - id: SEX-002",
            "  - id: SEX-009\n    family: sex\n    description: 测试\n    params: {items: [ZZ1], sex: M}\n"
            "  - id: SEX-002",
        )
    )
    saved = client.post("/api/v1/audit/rules", json={"text": newer}, headers=headers)
    assert saved.status_code == 201, saved.text
    assert client.get("/api/v1/audit/rules", headers=headers).json()["version"] == "2026.12"
    assert client.post("/api/v1/audit/rules", json={"text": newer}, headers=headers).status_code == 400

    doctor = make_user(session, role=Role.DOCTOR, institution=make_institution(session))
    denied = client.post("/api/v1/audit/rules", json={"text": newer}, headers=bearer(client, doctor))
    assert denied.status_code == 403


def test_run_over_stored_lines_review_workflow_and_export(client: TestClient, session: Session) -> None:
    officer = make_user(session, role=Role.INSURANCE_OFFICER, institution=make_institution(session))
    oh = bearer(client, officer)
    lib = default_library()
    extra, truth = synth.injected(lib, start_line_id=1)
    payload = [
        {k: (v.isoformat() if isinstance(v, date) else v) for k, v in vars_of(line).items()} for line in extra
    ]
    stored = client.post("/api/v1/audit/claim-lines", json={"source": "test", "lines": payload}, headers=oh)
    assert stored.status_code == 201 and stored.json()["stored"] == len(extra)

    run = client.post(
        "/api/v1/audit/runs", json={"date_from": "2026-01-01", "date_to": "2026-12-31"}, headers=oh
    )
    assert run.status_code == 201, run.text
    run_data = run.json()
    assert run_data["lines_scanned"] == len(extra) and run_data["findings_count"] == len(truth.pairs)
    found = client.get(
        f"/api/v1/audit/runs/{run_data['id']}/findings", params={"limit": 200}, headers=oh
    ).json()
    assert {(f["rule_id"], f["claim_id"]) for f in found["items"]} == truth.pairs
    only_sex = client.get(
        f"/api/v1/audit/runs/{run_data['id']}/findings", params={"family": "sex"}, headers=oh
    ).json()
    sex_rules = sum(1 for rule in lib.rules if rule.family == "sex")
    assert only_sex["total"] == sex_rules >= 2 and all(f["family"] == "sex" for f in only_sex["items"])

    fid = only_sex["items"][0]["id"]
    (dept_code,) = only_sex["items"][0]["departments"]
    of_dept = client.get(
        f"/api/v1/audit/runs/{run_data['id']}/findings",
        params={"department": dept_code, "limit": 200},
        headers=oh,
    ).json()
    assert 0 < of_dept["total"] < len(truth.pairs)
    assert all(f["departments"] == [dept_code] for f in of_dept["items"])
    # a doctor of the finding's department (科室编码 as in the registry) appeals; one of another may not
    hospital = make_institution(session)
    own_dept = make_department(session, institution=hospital, code=dept_code)
    doctor = make_user(
        session,
        role=Role.DOCTOR,
        institution=hospital,
        practitioner=make_practitioner(session, institution=hospital, department=own_dept),
    )
    stranger = make_user(
        session,
        role=Role.DOCTOR,
        institution=hospital,
        practitioner=make_practitioner(session, institution=hospital),
    )
    dh = bearer(client, doctor)
    detail = client.get(f"/api/v1/audit/findings/{fid}", headers=oh).json()
    assert detail["evidence"]["lines"][0]["item_code"] and detail["trail"] == []
    # dismissing needs a reason; nothing changes without one
    no_reason = client.post(f"/api/v1/audit/findings/{fid}/review", json={"action": "dismiss"}, headers=oh)
    assert no_reason.status_code == 400 and _count(session, AuditFindingEvent) == 0
    confirmed = client.post(f"/api/v1/audit/findings/{fid}/review", json={"action": "confirm"}, headers=oh)
    assert confirmed.json()["status"] == "confirmed"
    # the doctor may not confirm, but the department may appeal
    assert (
        client.post(
            f"/api/v1/audit/findings/{fid}/review", json={"action": "confirm"}, headers=dh
        ).status_code
        == 403
    )
    refused = client.post(
        f"/api/v1/audit/findings/{fid}/review",
        json={"action": "appeal", "reason": "不是本科室"},
        headers=bearer(client, stranger),
    )
    assert refused.status_code == 404  # another department's finding of a claim file is not shown
    appeal = client.post(
        f"/api/v1/audit/findings/{fid}/review",
        json={"action": "appeal", "reason": "患者为男性，登记有误"},
        headers=dh,
    )
    assert appeal.status_code == 200 and appeal.json()["status"] == "appealed"
    final = client.post(
        f"/api/v1/audit/findings/{fid}/review", json={"action": "dismiss", "reason": "申诉成立"}, headers=oh
    ).json()
    assert final["status"] == "dismissed"
    assert [(e["action"], e["from_status"], e["to_status"]) for e in final["trail"]] == [
        ("confirm", "open", "confirmed"),
        ("appeal", "confirmed", "appealed"),
        ("dismiss", "appealed", "dismissed"),
    ]
    again = client.post(f"/api/v1/audit/findings/{fid}/review", json={"action": "confirm"}, headers=oh)
    assert again.status_code == 409

    xlsx = client.get(f"/api/v1/audit/runs/{run_data['id']}/export.xlsx", headers=oh)
    assert xlsx.status_code == 200
    sheet = load_workbook(io.BytesIO(xlsx.content))["疑点清单"]
    assert sheet.max_row == 1 + len(truth.pairs)
    header = [c.value for c in sheet[1]]
    assert header[6] == "科室" and {row[6] for row in sheet.iter_rows(min_row=2, values_only=True)} >= {
        dept_code
    }
    assert client.get("/api/v1/audit/runs/99999", headers=oh).status_code == 404


def vars_of(line: object) -> dict[str, object]:
    from dataclasses import asdict

    return asdict(line)  # type: ignore[call-overload]


def test_cli_service_run_with_file_scores_synthetic_data(session: Session, tmp_path: Path) -> None:
    lib = default_library()
    con = duckdb.connect()
    synth.create_base_table(con, lib, 5000, table="base")
    extra, truth = synth.injected(lib, start_line_id=5000)
    con.register("extra", lines_to_arrow(extra))
    path = tmp_path / "claims.csv"
    con.sql(f"COPY (SELECT * FROM base UNION ALL SELECT * FROM extra) TO '{path}' (FORMAT CSV, HEADER)")
    con.close()
    actor = service.office_actor()
    run = service.run_audit(
        session, actor, date(2026, 1, 1), date(2026, 12, 31), files=[path], include_stored=False
    )
    assert run.lines_scanned == 5000 + len(extra)
    rows = session.scalars(select(AuditFinding).where(AuditFinding.run_id == run.id)).all()
    assert {(r.rule_id, r.claim_id) for r in rows} == truth.pairs
    # a narrower period sees fewer lines; the stored-lines import skips lines already there
    assert service.import_claim_file(session, actor, path) == 5000 + len(extra)
    assert service.import_claim_file(session, actor, path) == 0
    assert _count(session, AuditClaimLine) == 5000 + len(extra)
    narrow = service.run_audit(session, actor, date(2026, 1, 1), date(2026, 1, 1) + timedelta(days=6))
    assert 0 < narrow.lines_scanned < 5000

    bad = tmp_path / "bad.csv"
    bad.write_text("line_id,claim_id\n1,C1\n", encoding="utf-8")
    before = _count(session, AuditClaimLine)
    try:
        service.import_claim_file(session, actor, bad)
    except service.ClaimFileInvalid as exc:
        assert "缺少列" in exc.detail
    else:
        raise AssertionError("a file without the layout must be refused")
    assert _count(session, AuditClaimLine) == before
