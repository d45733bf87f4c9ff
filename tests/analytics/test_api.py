"""The analytics API: the commission reads aggregates and the report; nobody else; and the commission
cannot reach patient rows anywhere."""

from __future__ import annotations

from io import BytesIO

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from tests.builders import bearer, make_institution, make_patient, make_user
from yilian.kit.auth.domain import Role


def test_commission_reads_aggregates_but_no_patient(client: TestClient, session: Session) -> None:
    hosp = make_institution(session)
    patient = make_patient(session, institution=hosp)
    commission = bearer(client, make_user(session, role=Role.COMMISSION))
    doctor = bearer(client, make_user(session, role=Role.DOCTOR, institution=hosp))
    r = client.get(
        "/api/v1/analytics/figures", params={"first": "2026-09", "last": "2026-10"}, headers=commission
    )
    assert r.status_code == 200, r.text
    codes = {f["code"] for f in r.json()["figures"]}
    assert {"visits", "credit_visits", "bed_occupancy", "grassroots_share"} <= codes
    assert {"referrals_up", "referrals_down", "expert_sitting_days"} <= codes
    registry = client.get("/api/v1/analytics/indicators", headers=commission).json()
    assert registry and all(i["available"] for i in registry)
    r = client.get("/api/v1/analytics/breakdown", params={"indicator": "visits"}, headers=commission)
    assert r.status_code == 200
    r = client.get(
        "/api/v1/analytics/report", params={"month": "2026-10", "format": "xlsx"}, headers=commission
    )
    assert r.status_code == 200 and r.content[:2] == b"PK"
    cells = {str(c.value) for ws in load_workbook(BytesIO(r.content)) for row in ws.iter_rows() for c in row}
    assert {"上转人次", "下转人次", "专家下沉坐诊天数"} <= cells  # the alliance's figures in the report
    r = client.get("/api/v1/analytics/report", params={"month": "2026-10"}, headers=commission)
    assert r.status_code == 200 and r.content[:5] == b"%PDF-"
    assert client.get("/api/v1/analytics/figures", headers=doctor).status_code == 403
    bad = client.get(
        "/api/v1/analytics/figures", params={"first": "2026-10", "last": "2026-01"}, headers=commission
    )
    assert bad.status_code == 400 and bad.headers["content-type"].startswith("application/problem+json")
    for url in ("/api/v1/patients", f"/api/v1/patients/{patient.id}"):
        assert client.get(url, headers=commission).status_code in (403, 404)
