"""Drill replays (演练回放): asked for by the command centre, made in JuPedSim outside any transaction,
read back with each agent's positions per second and the persons safe over time."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.builders import bearer, make_user
from tests.evacuation.hospital import Hospital, admit_floor, make_hospital
from yilian.evacuation import replay, service, tasks
from yilian.evacuation.domain import parse_building
from yilian.evacuation.errors import EvacuationForbidden, InvalidHazard, ReplayNotFound
from yilian.evacuation.generator import ward_building
from yilian.kit.auth.domain import Role


@pytest.fixture
def small(session: Session) -> Hospital:
    """The 8-floor building with a few patients on floor 6 only (a fast replay)."""
    h = make_hospital(session, admit_wards=())
    h.admitted = admit_floor(session, h.nurse, h.hospital.id, "W06", every=8)
    return h


def test_request_refused_to_a_nurse_and_for_an_unknown_floor(session: Session, small: Hospital) -> None:
    event = service.start_drill(session, small.security, small.building.id, "6F-605", hour=10)
    with pytest.raises(EvacuationForbidden):
        service.request_replay(session, small.nurse, event.id, floor=6)
    with pytest.raises(InvalidHazard) as err:
        service.request_replay(session, small.security, event.id, floor=40)
    assert err.value.detail == "楼层 40 不存在"
    with pytest.raises(ReplayNotFound):
        service.read_replay(session, small.security, 999_999)


def test_a_replay_is_claimed_once(session: Session, small: Hospital) -> None:
    event = service.start_drill(session, small.security, small.building.id, "6F-605", hour=10)
    row = service.request_replay(session, small.security, event.id, floor=6)
    assert row.status == "pending" and service.pending_replays(session) == [row.id]
    assert service.claim_replay(session, row.id)
    assert not service.claim_replay(session, row.id)
    session.refresh(row)
    assert row.status == "running" and service.pending_replays(session) == []
    service.store_replay(session, row.id, None, "模拟失败：测试")
    session.refresh(row)
    assert row.status == "failed" and row.error == "模拟失败：测试" and row.finished_at is not None


def test_positions_are_put_back_on_their_floor() -> None:
    b = parse_building(ward_building(3))
    offset = {1: 0.0, 2: 40.0, 3: 80.0}
    assert replay.on_floor(b, offset, 5.0, 42.5)[0] == 2
    f, x, y = replay.on_floor(b, offset, 5.0, 85.0)
    assert (f, x) == (3, 5.0) and abs(y - 5.0) < 1e-9
    run = {
        "agents": [{"id": "a", "bed": False, "t0": 2, "p": [[2, 0.0, 0.0], [2, 10.0, 0.0], [1, 10.0, 3.0]]}]
    }
    assert replay.positions(run, 1.0, 2) == []  # not yet in the simulation
    assert replay.positions(run, 2.5, 2) == [(5.0, 0.0, False)]  # between two samples
    assert replay.positions(run, 4.0, 1) == [(10.0, 3.0, False)]
    assert replay.positions(run, 5.0, 1) == []  # out
    assert replay.safe_counts({"a": 1.2, "b": 3.0, "c": float("inf")}, 3, 4) == [0, 0, 1, 2, 2]


@pytest.mark.simulation
def test_replay_of_a_drill_walks_both_in_jupedsim(session: Session, small: Hospital) -> None:
    event = service.start_drill(session, small.security, small.building.id, "6F-605", hour=10)
    row = service.request_replay(
        session, small.security, event.id, floor=service.fire_floor(session, event.id)
    )
    assert row.floor == 6
    assert service.claim_replay(session, row.id)
    data = service.replay_input(session, row.id)
    assert data.hazards.fire == frozenset({"6F-605"}) and "7F-A-C" in data.hazards.smoke  # every report
    doc = service.simulate_replay(data)
    service.store_replay(session, row.id, doc)
    got, _ = service.read_replay(session, small.security, row.id)
    assert got.status == "done" and got.persons > 0
    plan, nearest = got.document["runs"]["plan"], got.document["runs"]["nearest"]
    assert plan["persons"] == nearest["persons"] == got.persons  # the same threatened occupants
    assert plan["unfinished"] == 0 and plan["safe"][-1] == plan["persons"]
    assert all(a <= b for a, b in zip(plan["safe"], plan["safe"][1:], strict=False))
    assert got.plan_seconds is not None and got.nearest_seconds is not None
    assert got.plan_seconds <= got.nearest_seconds
    # agents start on floor 6 and move
    first = plan["agents"][0]
    assert first["p"][0][0] == 6
    assert first["p"][0][1:] != first["p"][min(20, len(first["p"]) - 1)][1:]
    print(f"\nreplay: {got.persons} persons, plan {got.plan_seconds} s, nearest exit {got.nearest_seconds} s")


def test_replay_api(
    client: TestClient, session: Session, small: Hospital, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tasks, "BACKGROUND", False)
    h = bearer(client, make_user(session, role=Role.SECURITY_OFFICER, institution=small.hospital))
    r = client.post(
        f"/api/v1/evacuation/buildings/{small.building.id}/events",
        json={"origin": "6F-605", "hour": 10},
        headers=h,
    )
    eid = r.json()["id"]
    r = client.post(f"/api/v1/evacuation/events/{eid}/replays", json={"floor": 6}, headers=h)
    assert r.status_code == 202, r.text
    rid = r.json()["id"]
    assert r.json()["status"] == "pending"
    listed = client.get(f"/api/v1/evacuation/events/{eid}/replays", headers=h).json()
    assert [x["id"] for x in listed] == [rid]
    service.store_replay(
        session, rid, {"runs": {"plan": {"seconds": 1.0, "persons": 0}, "nearest": {"seconds": 2.0}}}
    )
    got = client.get(f"/api/v1/evacuation/replays/{rid}", headers=h).json()
    assert got["status"] == "done" and got["document"]["runs"]["plan"]["seconds"] == 1.0
    nurse = bearer(client, make_user(session, role=Role.NURSE, institution=small.hospital))
    refused = client.post(f"/api/v1/evacuation/events/{eid}/replays", json={}, headers=nurse)
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    missing = client.get("/api/v1/evacuation/replays/999999", headers=h)
    assert missing.status_code == 404 and missing.json()["title"] == "演练回放不存在"
