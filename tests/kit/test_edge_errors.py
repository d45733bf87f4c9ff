"""Bad input at the API's edge is a problem+json with a Chinese title and changes nothing: integers past
a column's range, unknown parent/alliance ids, null for a required field, repeated claim line ids,
binary files where a CSV is expected; slot times match what the OpenAPI document declares."""

from __future__ import annotations

import re
from dataclasses import asdict
from datetime import date

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.builders import bearer, make_institution, make_user
from tests.insurance.audit_helpers import line as claim_line
from yilian.insurance.audit.models import AuditClaimLine
from yilian.kit.auth.domain import Role
from yilian.registry.models import Institution

HUGE = 2**64
BINARY = bytes(range(256)) * 8


def _problem(response: object, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    assert response.headers["content-type"].startswith("application/problem+json")  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert re.search(r"[\u4e00-\u9fff]", body["title"]), body
    return body  # type: ignore[no-any-return]


@pytest.fixture
def admin(client: TestClient, session: Session) -> dict[str, str]:
    return bearer(client, make_user(session, role=Role.ADMIN))


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", f"/api/v1/patients/{HUGE}", None),
        ("GET", f"/api/v1/results/{HUGE}", None),
        ("GET", f"/api/v1/encounters/{HUGE}", None),
        ("GET", f"/api/v1/institutions/{HUGE}", None),
        ("GET", f"/api/v1/institutions?offset={HUGE}", None),
        ("GET", "/api/v1/results/recognition/indicators?until=0001-01-01", None),
        ("GET", f"/api/v1/scheduling/schedules?institution_id={HUGE}", None),
        ("POST", f"/api/v1/billing/encounters/{HUGE}/settle", {"channel": "wechat", "idempotency_key": "k"}),
        ("POST", f"/api/v1/billing/settlements/{HUGE}/reverse", {"reason": "x"}),
        ("POST", f"/api/v1/scheduling/bookings/{HUGE}/check-in", {}),
        ("POST", f"/api/v1/scheduling/queue/{HUGE}/recall", None),
        ("POST", "/api/v1/billing/visits", {"patient_id": HUGE, "department_id": 1}),
        ("POST", "/api/v1/consents", {"relation_id": HUGE, "grantor_id": 1, "scope": "view_record"}),
        ("PUT", "/api/v1/scheduling/templates", {"department_id": HUGE, "weekday": 1, "period": "am"}),
        (
            "POST",
            "/api/v1/insurance/policies/trial-split",
            {
                "region_code": "320600",
                "scheme": "employee",
                "tier": "tertiary",
                "visit_type": "outpatient",
                "year": HUGE,
                "lines": [],
            },
        ),
    ],
)
def test_integers_past_the_columns_range_are_422(
    client: TestClient, admin: dict[str, str], method: str, path: str, body: object
) -> None:
    answer = client.request(method, path, json=body, headers=admin)
    problem = _problem(answer, 422)
    assert problem["code"] == "validation_error" and problem["title"] == "请求数据格式错误"


def test_institution_parents_alliances_and_nulls(
    client: TestClient, session: Session, admin: dict[str, str]
) -> None:
    count = select(func.count()).select_from(Institution)
    before = session.scalar(count)
    new = {
        "code": "EDGE1",
        "name": "边界医院",
        "category": "general_hospital",
        "level": 2,
        "grade": "甲",
        "region_code": "320602",
    }
    assert (
        _problem(
            client.post("/api/v1/institutions", json={**new, "alliance_id": 2**31 - 1}, headers=admin), 404
        )["code"]
        == "alliance_not_found"
    )
    assert (
        _problem(
            client.post("/api/v1/institutions", json={**new, "parent_id": 2**31 - 1}, headers=admin), 404
        )["code"]
        == "institution_not_found"
    )
    assert session.scalar(count) == before
    inst = make_institution(session)
    url = f"/api/v1/institutions/{inst.id}"
    _problem(client.patch(url, json={"grade": None}, headers=admin), 422)
    _problem(client.patch(url, json={"name": None}, headers=admin), 422)
    _problem(client.patch(url, json={"alliance_id": 2**31 - 1}, headers=admin), 404)
    session.refresh(inst)
    assert inst.grade == "甲" and inst.alliance_id is None
    left = client.patch(
        url, json={"alliance_id": None, "phone": "0513-1234567"}, headers=admin
    )  # null: leave the alliance
    assert left.status_code == 200 and left.json()["phone"] == "0513-1234567"


def test_claim_lines_with_a_repeated_line_id_are_refused(
    client: TestClient, session: Session, admin: dict[str, str]
) -> None:
    line = {
        k: v.isoformat() if isinstance(v, date) else v
        for k, v in asdict(claim_line(770001, "250101001", claim_id="E1")).items()
    }
    rows = select(func.count()).select_from(AuditClaimLine)
    before = session.scalar(rows)
    twice = client.post("/api/v1/audit/claim-lines", json={"lines": [line, line]}, headers=admin)
    assert _problem(twice, 409)["code"] == "audit_claim_lines_duplicate"
    assert session.scalar(rows) == before
    assert client.post("/api/v1/audit/claim-lines", json={"lines": [line]}, headers=admin).status_code == 201
    again = client.post(
        "/api/v1/audit/claim-lines", json={"lines": [line, {**line, "line_id": 770002}]}, headers=admin
    )
    assert _problem(again, 409)["code"] == "audit_claim_lines_duplicate"
    assert session.scalar(rows) == before + 1
    _problem(
        client.post("/api/v1/audit/claim-lines", json={"lines": [{**line, "amount": HUGE}]}, headers=admin),
        422,
    )


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/results/code-maps/import",
        "/api/v1/catalog/items/import",
        "/api/v1/catalog/diagnoses/import",
        "/api/v1/drg/policy",
    ],
)
def test_a_binary_file_for_a_csv_import_is_400(client: TestClient, admin: dict[str, str], path: str) -> None:
    answer = client.post(path, files={"file": ("x.csv", BINARY, "text/csv")}, headers=admin)
    problem = _problem(answer, 400)
    assert problem["title"] == "文件格式不正确" and problem["code"] == "invalid_text_file"
    nul = client.post(path, files={"file": ("x.csv", b"code,name\x00\n", "text/csv")}, headers=admin)
    assert _problem(nul, 400)["code"] == "invalid_text_file"


def test_slot_times_match_their_declared_schema(api_app: FastAPI) -> None:
    spec = api_app.openapi()["components"]["schemas"]["SlotRead"]["properties"]["start"]
    assert "format" not in spec and re.fullmatch(spec["pattern"], "08:00:00")
    assert not re.fullmatch(spec["pattern"], "8:00") and not re.fullmatch(spec["pattern"], "24:00:00")
