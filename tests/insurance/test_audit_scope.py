"""Who sees which audit findings (审核疑点): the administrator all; a hospital's insurance office those of
its institution and of claim files with bare department codes; a doctor those of their institution and of
their own departments; findings without a department everyone with the permission. Out of scope is 404."""

from __future__ import annotations

from datetime import date
from io import BytesIO

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from tests.builders import (
    SYSTEM,
    bearer,
    make_department,
    make_institution,
    make_practitioner,
    make_user,
)
from tests.insurance.audit_helpers import line
from yilian.insurance.audit import service
from yilian.kit.auth.domain import Role

MALE_ONLY = "XG03BAA001"  # SEX-001 of the shipped library: one finding per claim below


def test_findings_are_scoped_to_institution_and_department(client: TestClient, session: Session) -> None:
    a = make_institution(session, code="HOSPA")
    b = make_institution(session, code="HOSPB")
    departments = {
        "A": "HOSPA/NK01",  # settled at hospital A
        "B": "HOSPB/NK01",  # settled at hospital B
        "AW": "HOSPA/WK01",  # hospital A, another department
        "BARE": "NK01",  # a claim file with bare codes
        "BAREW": "WK01",
        "NONE": "",  # an older claim file
    }
    lines = [
        line(i, MALE_ONLY, claim_id=claim, patient_id=f"P{claim}", department=dept)
        for i, (claim, dept) in enumerate(departments.items(), start=1)
    ]
    service.store_lines(session, lines, "scope-test")
    run = service.run_audit(session, SYSTEM, date(2026, 1, 1), date(2026, 12, 31))
    all_rows, _ = service.list_findings(session, SYSTEM, run.id, limit=100)
    fid = {r.claim_id: r.id for r in all_rows}
    assert set(fid) == set(departments)

    nk01_a = make_department(session, institution=a, code="NK01")
    users = {
        "admin": make_user(session, role=Role.ADMIN),
        "office A": make_user(session, role=Role.INSURANCE_OFFICER, institution=a),
        "doctor A/NK01": make_user(
            session,
            role=Role.DOCTOR,
            institution=a,
            practitioner=make_practitioner(session, institution=a, department=nk01_a),
        ),
        "doctor B": make_user(
            session,
            role=Role.DOCTOR,
            institution=b,
            practitioner=make_practitioner(
                session, institution=b, department=make_department(session, institution=b, code="EK01")
            ),
        ),
    }
    expected = {
        "admin": set(departments),
        "office A": {"A", "AW", "BARE", "BAREW", "NONE"},
        "doctor A/NK01": {"A", "AW", "BARE", "NONE"},
        "doctor B": {"B", "NONE"},
    }
    for who, user in users.items():
        h = bearer(client, user)
        listed = client.get(f"/api/v1/audit/runs/{run.id}/findings", params={"limit": 200}, headers=h)
        assert listed.status_code == 200, (who, listed.text)
        assert {f["claim_id"] for f in listed.json()["items"]} == expected[who], who
        assert listed.json()["total"] == len(expected[who])
        for claim, finding_id in fid.items():
            got = client.get(f"/api/v1/audit/findings/{finding_id}", headers=h)
            assert got.status_code == (200 if claim in expected[who] else 404), (who, claim, got.text)
            if got.status_code == 404:
                assert got.headers["content-type"].startswith("application/problem+json")
                appeal = client.post(
                    f"/api/v1/audit/findings/{finding_id}/review",
                    json={"action": "appeal", "reason": "越权申诉"},
                    headers=h,
                )
                assert appeal.status_code in (403, 404), (who, claim)

    # the doctor sees another department of his hospital but may not appeal it (403, nothing changes)
    dh = bearer(client, users["doctor A/NK01"])
    refused = client.post(
        f"/api/v1/audit/findings/{fid['AW']}/review",
        json={"action": "appeal", "reason": "不是本科室"},
        headers=dh,
    )
    assert refused.status_code == 403 and "只能申诉本科室的疑点" in refused.json()["detail"]
    assert client.get(f"/api/v1/audit/findings/{fid['AW']}", headers=dh).json()["status"] == "open"
    # the office's Excel export holds its scope only
    office = bearer(client, users["office A"])
    xlsx = client.get(f"/api/v1/audit/runs/{run.id}/export.xlsx", headers=office)
    assert xlsx.status_code == 200
    sheet = load_workbook(BytesIO(xlsx.content))["疑点清单"]
    assert {row[4] for row in sheet.iter_rows(min_row=2, values_only=True)} == expected["office A"]
