"""The HTTP API: the fire alarm system's reports re-plan; refusals are problem+json in Chinese."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.builders import bearer, make_user
from tests.evacuation.hospital import Hospital
from yilian.evacuation.generator import ward_building
from yilian.kit.auth.domain import Role
from yilian.kit.auth.models import User


def _user(session: Session, hosp: Hospital, role: Role) -> User:
    return make_user(session, role=role, institution=hosp.hospital)


def test_alarm_system_reports_and_the_plan_follows(
    client: TestClient, session: Session, hosp: Hospital
) -> None:
    h = bearer(client, _user(session, hosp, Role.SECURITY_OFFICER))
    bid = hosp.building.id
    r = client.post(
        f"/api/v1/evacuation/buildings/{bid}/events", json={"kind": "alarm", "hour": 10}, headers=h
    )
    assert r.status_code == 201, r.text
    eid = r.json()["id"]
    r = client.post(
        f"/api/v1/evacuation/events/{eid}/hazards",
        json={"kind": "smoke", "target": "7F-B-C", "source": "alarm", "detector": "SD-7B-01"},
        headers=h,
    )
    assert r.status_code == 200, r.text
    plan = r.json()
    assert plan["threatened"] == ["7F-B"] and plan["counts"]["evacuate"] > 0
    tasks = [t for s in plan["staff"] for t in s["tasks"]]
    assert tasks and all(t["destination"].startswith("7F-A") for t in tasks)
    r = client.post(
        f"/api/v1/evacuation/events/{eid}/hazards", json={"kind": "stair_lost", "target": "S2"}, headers=h
    )
    assert "S2" not in {f["code"] for f in r.json()["flows"]}
    assert client.get(f"/api/v1/evacuation/events/{eid}/plan", headers=h).json()["revision"] == 2
    bad = client.post(
        f"/api/v1/evacuation/events/{eid}/hazards", json={"kind": "fire", "target": "9F-X"}, headers=h
    )
    assert bad.status_code == 400
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert bad.json()["title"] == "火警事件不合法" and bad.json()["detail"] == "空间 9F-X 不存在"


def test_import_refused_with_every_problem(client: TestClient, session: Session, hosp: Hospital) -> None:
    h = bearer(client, _user(session, hosp, Role.ADMIN))
    doc = ward_building(floors=2, code="B2")
    doc["floors"][0]["compartments"][0]["spaces"][0]["polygon"].pop()
    r = client.post(
        "/api/v1/evacuation/buildings", json={"institution_id": hosp.hospital.id, "document": doc}, headers=h
    )
    assert r.status_code == 400
    assert r.json()["title"] == "建筑模型不合法"
    assert any("多边形未闭合" in p for p in r.json()["problems"])
    good = ward_building(floors=2, code="B2")
    r = client.post(
        "/api/v1/evacuation/buildings", json={"institution_id": hosp.hospital.id, "document": good}, headers=h
    )
    assert r.status_code == 201 and r.json()["code"] == "B2"


def test_nurse_sets_mobility_but_cannot_command(client: TestClient, session: Session, hosp: Hospital) -> None:
    h = bearer(client, _user(session, hosp, Role.NURSE))
    from yilian.inpatient import service as inpatient

    adm = next(r.admission_id for r in inpatient.bed_census(session, hosp.hospital.id) if r.admission_id)
    r = client.put(f"/api/v1/evacuation/admissions/{adm}/mobility", json={"mobility": "bedridden"}, headers=h)
    assert r.status_code == 200 and r.json()["mobility"] == "bedridden"
    r = client.put(f"/api/v1/evacuation/admissions/{adm}/mobility", json={"mobility": "flying"}, headers=h)
    assert r.status_code == 400
    r = client.post(
        f"/api/v1/evacuation/buildings/{hosp.building.id}/events", json={"kind": "drill"}, headers=h
    )
    assert r.status_code == 403 and r.json()["title"] == "无权进行疏散指挥操作"
