"""Delivery by scanning the bag's label: the pharmacy hands the bag to a courier, the receiving clinic
takes it in and hands it to the patient, or the patient confirms at her door; every scan is a traced
step (who, where, when, which courier); a wrong station, a wrong code or a skipped scan is refused."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.builders import actor_of, bearer, make_institution, make_user
from tests.pharmacy.tcm_world import GUIPI, TcmWorld, body, make_tcm_world
from yilian.kit.auth.domain import Actor, Role
from yilian.kit.auth.models import User
from yilian.kit.clock import FrozenClock
from yilian.kit.errors import Forbidden
from yilian.outpatient.herbal_domain import TransitionRefused
from yilian.outpatient.herbal_models import HerbalPrescription
from yilian.pharmacy import decoction_service as tcm
from yilian.pharmacy.decoction_domain import token_of
from yilian.pharmacy.decoction_models import DecoctionStep
from yilian.pharmacy.decoction_service import BagNotFound, InvalidStep, StepInput


@pytest.fixture
def w(session: Session, frozen_clock: FrozenClock) -> TcmWorld:
    return make_tcm_world(session)


def _ready(session: Session, w: TcmWorld) -> HerbalPrescription:
    """An approved prescription taken through the floor (not decocted: no timing rules) to 待配送."""
    p, _ = tcm.prescribe(session, w.rx.doctor, w.rx.encounter_id, body(w, *GUIPI, decoct=False))
    tcm.decide(session, w.rx.pharmacist, p.id, "approve")
    for action in ("dispense", "check", "pack", "label", "qc_pass"):
        tcm.step(session, w.checker if action == "check" else w.rx.pharmacist, p.id, StepInput(action))
    assert p.status == "待配送"
    return p


def _nurse(session: Session, w: TcmWorld) -> Actor:
    return actor_of(make_user(session, role=Role.NURSE, institution=w.rx.hospital))


def _label(p: HerbalPrescription) -> str:
    return f"https://yilian.example/tcm/track/{p.track_token}"  # what the bag's QR code says


def _scans(session: Session, p: HerbalPrescription) -> list[tuple[str, str, str]]:
    rows = session.scalars(
        select(DecoctionStep).where(DecoctionStep.prescription_id == p.id).order_by(DecoctionStep.id)
    ).all()
    return [(r.from_state, r.to_state, r.note) for r in rows if r.detail.get("scan")]


def test_label_code_is_the_qr_text_or_the_bare_token() -> None:
    assert token_of("https://h.example/tcm/track/abc123") == "abc123"
    assert (
        token_of(" abc123 ")
        == token_of("/tcm/track/abc123/")
        == token_of("x/tcm/track/abc123?x=1")
        == "abc123"
    )


def test_pharmacy_courier_clinic_patient_each_scan_traced(session: Session, w: TcmWorld) -> None:
    p = _ready(session, w)
    nurse = _nurse(session, w)
    assert tcm.scan_bag(session, nurse, _label(p)).actions == []  # the clinic waits for the courier
    with pytest.raises(TransitionRefused, match="不能交配送员"):
        tcm.scan(session, nurse, _label(p), "handover", courier="李师傅")
    with pytest.raises(BagNotFound):
        tcm.scan(
            session, w.rx.pharmacist, "https://yilian.example/tcm/track/forged", "handover", courier="李"
        )
    with pytest.raises(InvalidStep, match="配送员"):
        tcm.scan(session, w.rx.pharmacist, _label(p), "handover")
    assert tcm.scan_bag(session, w.rx.pharmacist, _label(p)).actions == ["handover"]
    tcm.scan(session, w.rx.pharmacist, _label(p), "handover", courier="顺丰 李师傅")
    assert p.status == "配送中"

    with pytest.raises(TransitionRefused, match="须先由接收机构扫码入站"):
        tcm.scan(session, nurse, p.track_token, "sign")  # a skipped scan
    assert tcm.scan_bag(session, nurse, p.track_token).actions == ["receive"]
    tcm.scan(session, nurse, p.track_token, "receive")
    assert p.status == "配送中" and tcm.scan_bag(session, nurse, p.track_token).actions == ["sign"]
    with pytest.raises(TransitionRefused, match="不能接收入站"):
        tcm.scan(session, nurse, p.track_token, "receive")  # taken in once
    assert not tcm.track(session, p.track_token).can_sign
    with pytest.raises(TransitionRefused, match="到该机构取药"):
        tcm.sign_by_patient(session, p.track_token)  # the bag waits at the clinic
    tcm.scan(session, nurse, _label(p), "sign")
    assert p.status == "已签收"

    clinic = w.rx.hospital.name
    assert _scans(session, p) == [
        ("待配送", "配送中", f"扫码交接：{clinic} → 配送员 顺丰 李师傅"),
        ("配送中", "配送中", f"扫码接收：配送员 顺丰 李师傅 → {clinic}"),
        ("配送中", "已签收", f"扫码签收：{clinic} 交患者本人"),
    ]
    steps = session.scalars(select(DecoctionStep).where(DecoctionStep.prescription_id == p.id)).all()
    assert all(s.operator_name and s.at for s in steps)
    notes = [n for _s, _at, n in tcm.track(session, p.track_token).steps]
    assert sum(n.startswith("扫码") for n in notes) == 3  # the patient's page shows every hand-over


def test_delivered_to_the_door_the_patient_signs_once(session: Session, w: TcmWorld) -> None:
    p = _ready(session, w)
    assert not tcm.track(session, p.track_token).can_sign
    with pytest.raises(TransitionRefused):
        tcm.sign_by_patient(session, p.track_token)  # not out for delivery yet
    tcm.scan(session, w.rx.pharmacist, _label(p), "handover", courier="顺丰 王师傅")
    assert tcm.track(session, p.track_token).can_sign
    tcm.sign_by_patient(session, p.track_token)
    assert p.status == "已签收"
    with pytest.raises(TransitionRefused):
        tcm.sign_by_patient(session, p.track_token)
    last = _scans(session, p)[-1]
    assert last == ("配送中", "已签收", "扫码签收：配送员 顺丰 王师傅 送货上门")


def test_a_station_of_another_institution_cannot_scan(session: Session, w: TcmWorld) -> None:
    p = _ready(session, w)
    other = actor_of(make_user(session, role=Role.NURSE, institution=make_institution(session)))
    with pytest.raises(Forbidden):
        tcm.scan_bag(session, other, _label(p))
    with pytest.raises(Forbidden):
        tcm.scan(session, other, _label(p), "handover", courier="李")
    assert p.status == "待配送"


def test_scan_over_http(client: TestClient, session: Session, w: TcmWorld) -> None:
    p = _ready(session, w)
    user = session.get(User, w.rx.pharmacist.user_id)
    assert user is not None
    headers = bearer(client, user)
    bad = client.post(
        "/api/v1/tcm/scan", json={"code": "nope", "action": "handover", "courier": "李"}, headers=headers
    )
    assert bad.status_code == 404 and bad.json()["title"] == "药袋标签码无效"
    r = client.post(
        "/api/v1/tcm/scan",
        json={"code": _label(p), "action": "handover", "courier": "顺丰 李师傅"},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "配送中" and r.json()["courier"] == "顺丰 李师傅"
    assert r.json()["steps"][-1]["note"].startswith("扫码交接")
    signed = client.post(f"/api/v1/tcm/track/{p.track_token}/sign")
    assert signed.status_code == 200 and signed.json()["state"] == "已签收"
    again = client.post(f"/api/v1/tcm/track/{p.track_token}/sign")
    assert again.status_code == 409 and again.headers["content-type"].startswith("application/problem+json")
