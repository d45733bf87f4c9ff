"""HTTP: the referral path over the API with real logins, bad input as Chinese problem+json with nothing
stored, the patient's own list."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.alliance.world import CLINIC_DAY, World
from tests.builders import bearer, make_user
from yilian.alliance import service
from yilian.alliance.models import Referral
from yilian.kit.auth.domain import Role
from yilian.scheduling import service as scheduling


def _up(w: World, **kw: object) -> dict[str, object]:
    return {
        "patient_id": w.patient.id,
        "kind": "outpatient",
        "to_institution_id": w.lead.id,
        "to_department_id": w.dept.id,
        "diagnosis_code": "I10",
        "diagnosis": "高血压病 3 级",
        "reason": "血压控制不佳，需专科评估",
        **kw,
    }


def _problem(r: object, status: int, title: str) -> None:
    assert r.status_code == status, r.text  # type: ignore[attr-defined]
    assert r.headers["content-type"].startswith("application/problem+json")  # type: ignore[attr-defined]
    assert r.json()["title"] == title  # type: ignore[attr-defined]


def test_referral_path_over_http(session: Session, client: TestClient, world: World) -> None:
    w = world
    gp = bearer(client, make_user(session, role=Role.DOCTOR, institution=w.member, practitioner=w.gp))
    desk = bearer(client, make_user(session, role=Role.REGISTRAR, institution=w.lead))
    doc = bearer(client, make_user(session, role=Role.DOCTOR, institution=w.lead, practitioner=w.expert))
    me = bearer(client, make_user(session, role=Role.PATIENT, patient=w.patient))
    service.reserve_places(session, start=CLINIC_DAY, end=CLINIC_DAY)

    r = client.post("/api/v1/alliance/referrals", json=_up(w), headers=gp)
    assert r.status_code == 201 and r.json()["state_label"] == "申请"
    rid = r.json()["id"]
    assert client.post(f"/api/v1/alliance/referrals/{rid}/accept", json={}, headers=gp).status_code == 403
    assert (
        client.post(f"/api/v1/alliance/referrals/{rid}/accept", json={}, headers=desk).json()["state"]
        == "accepted"
    )
    slots = client.get(f"/api/v1/alliance/referrals/{rid}/slots", headers=desk).json()
    assert slots and slots[0]["reserved_left"] == 4
    r = client.post(
        f"/api/v1/alliance/referrals/{rid}/book", json={"slot_id": slots[0]["slot_id"]}, headers=desk
    )
    assert r.json()["state_label"] == "已预约" and r.json()["used_reserve"]
    assert client.post(f"/api/v1/alliance/referrals/{rid}/arrive", headers=doc).json()["state"] == "arrived"
    r = client.post(
        f"/api/v1/alliance/referrals/{rid}/refer-back",
        json={"kind": "chronic", "care_plan": "  "},
        headers=doc,
    )
    _problem(r, 400, "下转须附康复/随访方案")
    r = client.post(
        f"/api/v1/alliance/referrals/{rid}/refer-back",
        json={
            "kind": "chronic",
            "care_plan": "氨氯地平 5 mg 每日一次，社区每两周测血压",
            "follow_up_dates": ["2026-05-25"],
        },
        headers=doc,
    )
    assert r.status_code == 201 and r.json()["direction"] == "down" and r.json()["parent_id"] == rid
    detail = client.get(f"/api/v1/alliance/referrals/{rid}", headers=gp).json()
    assert [s["state"] for s in detail["steps"]][-1] == "returned"
    mine = client.get(f"/api/v1/alliance/patients/{w.patient.id}/referrals", headers=me).json()
    assert {x["state_label"] for x in mine} == {"已转回", "申请"}
    received = client.get("/api/v1/alliance/referrals", params={"side": "received"}, headers=gp).json()
    assert [x["parent_id"] for x in received] == [rid]
    assert scheduling.get_slot(session, slots[0]["slot_id"]).booked == 4


def test_bad_input_is_chinese_problem_json_and_nothing_stored(
    session: Session, client: TestClient, world: World
) -> None:
    w = world
    gp = bearer(client, make_user(session, role=Role.DOCTOR, institution=w.member, practitioner=w.gp))
    desk = bearer(client, make_user(session, role=Role.REGISTRAR, institution=w.lead))
    before = session.scalar(select(func.count()).select_from(Referral))
    _problem(
        client.post("/api/v1/alliance/referrals", json=_up(w, to_institution_id=w.outsider.id), headers=gp),
        400,
        "目标机构不在同一医联体内",
    )
    _problem(
        client.post("/api/v1/alliance/referrals", json=_up(w, to_department_id=None), headers=gp),
        400,
        "转诊单不合法",
    )
    assert session.scalar(select(func.count()).select_from(Referral)) == before
    rid = client.post("/api/v1/alliance/referrals", json=_up(w), headers=gp).json()["id"]
    _problem(
        client.post(f"/api/v1/alliance/referrals/{rid}/refuse", json={"reason": "不"}, headers=desk),
        422,
        "请求数据格式错误",
    )
    assert (
        client.post(
            f"/api/v1/alliance/referrals/{rid}/refuse", json={"reason": "专家本周外出"}, headers=desk
        ).status_code
        == 200
    )
    _problem(
        client.post(f"/api/v1/alliance/referrals/{rid}/accept", json={}, headers=desk),
        409,
        "转诊单状态不允许此操作",
    )
    assert session.get(Referral, rid).state == "refused"  # type: ignore[union-attr]


def test_admin_edits_an_alliance_and_a_pairing(session: Session, client: TestClient, world: World) -> None:
    w = world
    admin = bearer(client, make_user(session, role=Role.ADMIN))
    gp = bearer(client, make_user(session, role=Role.DOCTOR, institution=w.member, practitioner=w.gp))
    url = f"/api/v1/alliance/networks/{w.network.id}"
    body = {"name": "改名后的医联体", "kind": "county", "lead_institution_id": w.lead.id}
    _problem(client.put(url, json=body, headers=gp), 403, "没有权限")
    _problem(
        client.put(url, json={**body, "lead_institution_id": w.outsider.id}, headers=admin),
        400,
        "目标机构不在同一医联体内",
    )
    r = client.put(url, json=body, headers=admin)
    assert r.status_code == 200 and (r.json()["name"], r.json()["kind"]) == ("改名后的医联体", "county")

    pairing = {"senior_institution_id": w.lead.id, "member_institution_id": w.member.id}
    made = client.post(
        f"{url}/pairings", json={**pairing, "start": "2026-01-01", "end": "2026-12-31"}, headers=admin
    ).json()
    purl = f"/api/v1/alliance/pairings/{made['id']}"
    _problem(
        client.put(purl, json={"start": "2026-06-01", "end": "2026-05-01"}, headers=admin),
        400,
        "医联体信息不合法",
    )
    assert client.get(f"{url}/pairings", headers=admin).json()[0]["start"] == "2026-01-01"  # nothing stored
    r = client.put(
        purl, json={"start": "2026-02-01", "end": "2027-01-31", "goals": "胸痛中心建设"}, headers=admin
    )
    assert r.status_code == 200 and r.json()["goals"] == "胸痛中心建设" and r.json()["end"] == "2027-01-31"
    _problem(
        client.put("/api/v1/alliance/pairings/999999", json=r.json(), headers=admin), 404, "结对帮扶不存在"
    )
