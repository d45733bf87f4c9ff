"""The shared TCM pharmacy over HTTP: bad input is a Chinese problem+json and stores nothing; the story
from prescription to the patient's tracking page through the API; who may do what."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.builders import bearer
from tests.pharmacy.tcm_world import TcmWorld, make_tcm_world
from yilian.kit.auth.models import User
from yilian.kit.clock import FrozenClock
from yilian.outpatient.herbal_models import HerbalLine, HerbalPrescription
from yilian.outpatient.models import Order


@pytest.fixture
def w(session: Session, frozen_clock: FrozenClock) -> TcmWorld:
    return make_tcm_world(session)


def _headers(client: TestClient, session: Session, user_id: int | None) -> dict[str, str]:
    user = session.get(User, user_id)
    assert user is not None
    return bearer(client, user)


def _lines(w: TcmWorld, *pairs: tuple[str, int]) -> list[dict[str, object]]:
    return [{"herb_code": w.codes.get(n, n), "grams": g} for n, g in pairs]


@pytest.mark.parametrize(
    ("payload", "title", "detail"),
    [
        ({"lines": [("ZZZ", 9)]}, "饮片目录中没有该药", "ZZZ"),
        ({"lines": [("黄芪", -3)]}, "中药处方内容不合法", "克数应大于 0"),
        ({"lines": [("黄芪", 15)], "doses": 0}, "中药处方内容不合法", "剂数"),
        ({"lines": [("黄芪", 15)], "bag_ml": 400}, "中药处方内容不合法", "400–600 ml"),
        ({"lines": []}, "中药处方内容不合法", "至少"),
    ],
)
def test_bad_prescriptions_are_chinese_problems_and_store_nothing(
    client: TestClient, session: Session, w: TcmWorld, payload: dict[str, object], title: str, detail: str
) -> None:
    doctor = _headers(client, session, w.rx.doctor.user_id)
    body = {**payload, "lines": _lines(w, *payload["lines"])}  # type: ignore[misc]
    orders_before = session.scalar(select(func.count()).select_from(Order))
    r = client.post(f"/api/v1/tcm/encounters/{w.rx.encounter_id}/herbal", json=body, headers=doctor)
    assert r.status_code in (400, 404), r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["title"] == title and detail in r.json()["detail"]
    assert session.scalar(select(func.count()).select_from(HerbalPrescription)) == 0
    assert session.scalar(select(func.count()).select_from(HerbalLine)) == 0
    assert session.scalar(select(func.count()).select_from(Order)) == orders_before


def test_story_over_http(
    client: TestClient, session: Session, w: TcmWorld, frozen_clock: FrozenClock
) -> None:
    doctor = _headers(client, session, w.rx.doctor.user_id)
    pharmacist = _headers(client, session, w.rx.pharmacist.user_id)
    checker = bearer(client, w.rx.checker)
    bad = {"lines": _lines(w, ("甘草", 6), ("茯苓", 12), ("海藻", 9)), "doses": 5}
    live = client.post("/api/v1/tcm/check", json=bad, headers=doctor).json()
    assert [f["message"] for f in live] == ["十八反：甘草 与 海藻 不宜同用"]
    created = client.post(f"/api/v1/tcm/encounters/{w.rx.encounter_id}/herbal", json=bad, headers=doctor)
    assert created.status_code == 201, created.text
    pid = created.json()["id"]
    assert (
        client.post(f"/api/v1/tcm/reviews/{pid}", json={"verdict": "approve"}, headers=doctor).status_code
        == 403
    )
    desk = client.get("/api/v1/tcm/reviews", headers=pharmacist).json()
    assert [d["id"] for d in desk] == [pid] and desk[0]["findings"][0]["rule"] == "十八反"
    refused = client.post(f"/api/v1/tcm/reviews/{pid}", json={"verdict": "approve"}, headers=pharmacist)
    assert refused.status_code == 409 and "十八反" in refused.json()["detail"]
    returned = client.post(
        f"/api/v1/tcm/reviews/{pid}", json={"verdict": "return", "reason": "甘草反海藻"}, headers=pharmacist
    )
    assert returned.json()["status"] == "已退回"
    fixed = {"lines": _lines(w, ("甘草", 6), ("茯苓", 12)), "doses": 5}
    assert client.put(f"/api/v1/tcm/herbal/{pid}", json=fixed, headers=doctor).json()["status"] == "待审方"
    approved = client.post(
        f"/api/v1/tcm/reviews/{pid}", json={"verdict": "approve"}, headers=pharmacist
    ).json()
    assert approved["status"] == "待调配"
    token = approved["track_token"]

    def step(action: str, who: dict[str, str] = pharmacist, **kw: object) -> dict[str, object]:
        r = client.post(f"/api/v1/tcm/floor/{pid}/steps", json={"action": action, **kw}, headers=who)
        return {**r.json(), "http": r.status_code}

    skipped = step("pack")
    assert skipped["http"] == 409 and skipped["title"] == "中药处方状态流转不允许"
    step("dispense")
    step("check", checker)
    step("soak")
    frozen_clock.advance(timedelta(minutes=20))
    machine = f"J{w.rx.hospital.id}-1"
    early = step("decoct", machine=machine)
    assert early["http"] == 409 and "已泡 20 分钟" in str(early["detail"])
    frozen_clock.advance(timedelta(minutes=15))
    assert step("decoct", machine=machine)["status"] == "煎药中"
    board = client.get("/api/v1/tcm/floor", headers=pharmacist).json()
    assert [(c["id"], c["state"], c["machine"]) for c in board["cards"]] == [(pid, "煎药中", machine)]
    assert any(m["code"] == machine and m["prescription_id"] == pid for m in board["machines"])
    frozen_clock.advance(timedelta(minutes=25))
    assert step("finish", volume_ml=700)["http"] == 400
    assert step("finish", volume_ml=400)["status"] == "待包装"
    for action in ("pack", "label", "qc_pass"):
        assert step(action)["http"] == 200
    label = client.get(f"/api/v1/tcm/floor/{pid}/label", headers=pharmacist).json()
    assert label["qr_text"].endswith(f"/tcm/track/{token}") and label["bags"] == 10
    step("dispatch", courier="李师傅")
    step("sign", token=token)
    tracked = client.get(f"/api/v1/tcm/track/{token}").json()
    assert tracked["state"] == "已签收"
    states = [s["state"] for s in tracked["steps"]]
    assert states[0] == "待审方" and states[-1] == "已签收" and "泡药中" in states and "待质检" in states
    assert client.get("/api/v1/tcm/track/not-a-token").status_code == 404
