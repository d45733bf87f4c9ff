"""HTTP: grant and refusals as problem+json, the feed, and the SSE stream (resume, 401, ended)."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.builders import bearer, make_patient, make_user
from tests.companion.world import World, pump
from yilian.companion.models import FeedItem, Follow
from yilian.kit import clock, events
from yilian.kit.access_log import AccessAudit
from yilian.kit.auth.domain import Role


def body(w: World, **kw: object) -> dict[str, object]:
    return {
        "patient_id": w.girl.id,
        "relative_id": w.father.id,
        "visit_kind": "booking",
        "visit_id": w.booking_id,
        **kw,
    }


def parse(text: str) -> list[dict[str, str]]:
    out = []
    for block in text.split("\n\n"):
        fields = dict(
            line.split(": ", 1) for line in block.splitlines() if ": " in line and not line.startswith(":")
        )
        if "event" in fields:
            out.append(fields)
    return out


def test_grant_refusals_feed_and_sse_resume(
    session: Session, client: TestClient, world: World, frozen_clock: clock.FrozenClock
) -> None:
    girl = bearer(client, make_user(session, role=Role.PATIENT, patient=world.girl))
    dad = bearer(client, make_user(session, role=Role.FAMILY, patient=world.father))
    stranger = make_patient(session, name="路人")
    r = client.post("/api/v1/companion/follows", json=body(world, relative_id=stranger.id), headers=girl)
    assert r.status_code == 400 and r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["title"] == "云伴诊授权不合法" and "核验" in r.json()["detail"]
    assert session.scalar(select(func.count()).select_from(Follow)) == 0
    r = client.post("/api/v1/companion/follows", json=body(world, results=True), headers=girl)
    assert r.status_code == 201, r.text
    fid = r.json()["id"]
    for n in range(3):
        events.emit(
            session, "results.received", {"result_ids": list(range(n + 1)), "patient_ids": [world.girl.id]}
        )
    pump(session)
    ids = list(session.scalars(select(FeedItem.id).where(FeedItem.follow_id == fid).order_by(FeedItem.id)))
    feed = client.get(f"/api/v1/companion/follows/{fid}/feed", headers=dad).json()
    assert [i["text"] for i in feed["items"]] == [
        f"女儿的 {n} 项检查检验结果已出，可在报告中查看" for n in (1, 2, 3)
    ]
    assert client.get(f"/api/v1/companion/follows/{fid}/feed", headers=girl).status_code == 200
    # a forged token: 401 problem+json, nothing streamed, no audit row
    audits = session.scalar(select(func.count()).select_from(AccessAudit))
    r = client.get(f"/api/v1/companion/follows/{fid}/stream", headers={"Authorization": "Bearer forged"})
    assert r.status_code == 401 and r.headers["content-type"].startswith("application/problem+json")
    assert "data:" not in r.text
    assert session.scalar(select(func.count()).select_from(AccessAudit)) == audits
    # resume after the first line: the missed lines once, in order; the visit ended, so the stream says why
    follow = session.get(Follow, fid)
    assert follow is not None
    follow.expires_at = clock.utcnow() + timedelta(minutes=1)  # the patient chose a short expiry
    session.flush()
    frozen_clock.advance(timedelta(minutes=2))
    with client.stream(
        "GET", f"/api/v1/companion/follows/{fid}/stream", headers={**dad, "Last-Event-ID": str(ids[0])}
    ) as s:
        assert s.status_code == 200 and s.headers["content-type"].startswith("text/event-stream")
        got = parse(s.read().decode())
    assert [g["id"] for g in got if g.get("event") == "line"] == [str(i) for i in ids[1:]]
    assert got[-1]["event"] == "ended" and "到期" in got[-1]["data"]
    rows = session.scalars(select(AccessAudit).where(AccessAudit.channel == "sse")).all()
    assert len(rows) == 1 and rows[0].patient_id == world.girl.id


def test_revoked_stream_ends_at_once_and_others_cannot_read(
    session: Session, client: TestClient, world: World
) -> None:
    girl = bearer(client, make_user(session, role=Role.PATIENT, patient=world.girl))
    dad = bearer(client, make_user(session, role=Role.FAMILY, patient=world.father))
    other = bearer(client, make_user(session, role=Role.FAMILY, patient=make_patient(session, name="路人")))
    fid = client.post("/api/v1/companion/follows", json=body(world), headers=girl).json()["id"]
    assert client.get(f"/api/v1/companion/follows/{fid}/feed", headers=other).status_code == 403
    assert client.get(f"/api/v1/companion/follows/{fid}/stream", headers=other).status_code == 403
    assert client.post(f"/api/v1/companion/follows/{fid}/revoke", headers=dad).status_code == 403
    r = client.post(f"/api/v1/companion/follows/{fid}/revoke", headers=girl)
    assert r.status_code == 200 and r.json()["revoked_at"]
    with client.stream("GET", f"/api/v1/companion/follows/{fid}/stream", headers=dad) as s:
        got = parse(s.read().decode())
    assert [g["event"] for g in got] == ["ended"] and "撤销" in got[0]["data"]
    mine = client.get(f"/api/v1/companion/patients/{world.girl.id}/follows", headers=girl).json()
    assert [m["id"] for m in mine] == [fid]
    assert client.get("/api/v1/companion/following", headers=dad).json()[0]["revoked_at"]


def test_sse_with_an_expired_token_is_refused_before_anything_streams(
    session: Session, client: TestClient, world: World, frozen_clock: clock.FrozenClock
) -> None:
    from yilian.kit.settings import get_settings

    girl = bearer(client, make_user(session, role=Role.PATIENT, patient=world.girl))
    dad = bearer(client, make_user(session, role=Role.FAMILY, patient=world.father))
    fid = client.post("/api/v1/companion/follows", json=body(world, results=True), headers=girl).json()["id"]
    events.emit(session, "results.received", {"result_ids": [1], "patient_ids": [world.girl.id]})
    pump(session)
    audits = session.scalar(select(func.count()).select_from(AccessAudit))
    frozen_clock.advance(timedelta(hours=get_settings().session_ttl_hours, minutes=1))
    r = client.get(f"/api/v1/companion/follows/{fid}/stream", headers=dad)
    assert r.status_code == 401 and r.headers["content-type"].startswith("application/problem+json")
    assert "过期" in r.json()["title"] + r.json().get("detail", "")
    assert "data:" not in r.text and "女儿" not in r.text
    assert session.scalar(select(func.count()).select_from(AccessAudit)) == audits
