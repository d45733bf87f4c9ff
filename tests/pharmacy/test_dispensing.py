"""The pharmacist's queue (the alliance lead reviews for a centre without a pharmacist) and the window:
dispense only reviewed and paid prescriptions, after a second check, FEFO over batches; labels; a
returned undispensed drug reverses its charge exactly; two windows and the last box: one wins."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.builders import (
    actor_of,
    bearer,
    make_department,
    make_institution,
    make_patient,
    make_practitioner,
    make_user,
)
from tests.dbutil import fresh_database
from tests.outpatient.rx_world import METFORMIN, RxWorld, make_rx_world, metformin_line
from yilian.billing import service as billing
from yilian.billing.domain import Channel
from yilian.kit import migrate
from yilian.kit.auth.domain import Role
from yilian.kit.clock import FrozenClock, business_date
from yilian.kit.db import build_engine, unit_of_work
from yilian.outpatient import rx_service
from yilian.outpatient import service as outpatient
from yilian.outpatient.schemas import EncounterCreate
from yilian.pharmacy import service as pharmacy
from yilian.pharmacy.errors import (
    AlreadyDispensed,
    InvalidCheck,
    NotPaid,
    NotReviewed,
    NotYourQueue,
    OutOfStock,
    PrescriptionExpired,
)
from yilian.pharmacy.models import StockBatch
from yilian.registry import service as registry
from yilian.workbench import service as workbench


def _passed(session: Session, w: RxWorld, encounter_id: int | None = None, **line: object) -> int:
    eid = encounter_id or w.encounter_id
    workbench.prescribe(session, w.doctor, eid, "normal", metformin_line(**{"days": 7, **line}))
    [p] = rx_service.prescriptions_of_encounter(session, eid)
    rx_service.submit(session, w.doctor, p.id)
    pharmacy.decide(session, w.pharmacist, p.id, "pass")
    return p.id


def test_unreviewed_prescription_is_not_dispensed(session: Session) -> None:
    w = make_rx_world(session)
    workbench.prescribe(session, w.doctor, w.encounter_id, "normal", metformin_line(days=7))
    [p] = rx_service.prescriptions_of_encounter(session, w.encounter_id)
    with pytest.raises(NotReviewed):
        pharmacy.dispense(session, w.pharmacist, p.id, checker=w.checker.username)
    rx_service.submit(session, w.doctor, p.id)
    with pytest.raises(NotReviewed):
        pharmacy.dispense(session, w.pharmacist, p.id, checker=w.checker.username)


def test_dispense_fefo_with_second_check_and_labels(session: Session) -> None:
    w = make_rx_world(session)
    pharmacy.receive(
        session, w.pharmacy_id, item_code=METFORMIN, batch_no="B-EARLY", expiry=date(2027, 1, 31), quantity=1
    )
    pharmacy.receive(
        session, w.pharmacy_id, item_code=METFORMIN, batch_no="B-GONE", expiry=date(2020, 1, 1), quantity=5
    )  # expired: never dispensed
    pid = _passed(session, w, days=7, dose="1", frequency="qid")  # 2 片 × 4 × 7 = 56 片 → 2 盒
    with pytest.raises(InvalidCheck, match="双人核对"):
        pharmacy.dispense(session, w.pharmacist, pid, checker=w.pharmacist.username)
    with pytest.raises(InvalidCheck):
        pharmacy.dispense(session, w.pharmacist, pid, checker="nobody")
    done = pharmacy.dispense(session, w.pharmacist, pid, checker=w.checker.username, window=2)
    assert done.status == "dispensed" and done.checker_name == w.checker.display_name
    stock = {
        b.batch_no: b.quantity for b in pharmacy.stock_of(session, w.pharmacy_id) if b.item_code == METFORMIN
    }
    assert stock == {"B-EARLY": 0, "B-GONE": 5, "B-LATE": 9}  # the early batch first, then the later one
    labels = pharmacy.labels(session, w.pharmacist, pid)
    assert [x.instructions for x in labels] == ["口服，每日4次，每次1g，连用7天；餐中或餐后服用"]
    assert "B-EARLY" in labels[0].batches and "B-LATE" in labels[0].batches and labels[0].quantity == "2盒"
    assert rx_service.find_prescription(session, pid).status == "dispensed"
    with pytest.raises(AlreadyDispensed):
        pharmacy.dispense(session, w.pharmacist, pid, checker=w.checker.username)


def test_not_enough_stock_refuses_the_whole_prescription(session: Session) -> None:
    w = make_rx_world(session, stock=1)
    pid = _passed(session, w, dose="1", frequency="qid")  # needs 2 盒, 1 in stock
    with pytest.raises(OutOfStock, match="库存不足"):
        pharmacy.dispense(session, w.pharmacist, pid, checker=w.checker.username)


def test_unpaid_prescription_waits(session: Session) -> None:
    w = make_rx_world(session)
    pid = _passed(session, w)
    order_id = rx_service.lines_of(session, pid)[0][1].id
    outpatient.find_order(session, order_id).status = "placed"  # as for a patient who must pay first
    with pytest.raises(NotPaid):
        pharmacy.dispense(session, w.pharmacist, pid, checker=w.checker.username)


def test_returned_undispensed_drug_reverses_the_charge_exactly(session: Session) -> None:
    w = make_rx_world(session)
    workbench.prescribe(session, w.doctor, w.encounter_id, "normal", metformin_line(days=7))
    amox = workbench.prescribe(
        session,
        w.doctor,
        w.encounter_id,
        "normal",
        metformin_line(item_code="XJ01CAA040A001010100001", dose="0.5", frequency="tid", days=5),
    )
    [p] = rx_service.prescriptions_of_encounter(session, w.encounter_id)
    rx_service.submit(session, w.doctor, p.id)
    pharmacy.decide(session, w.pharmacist, p.id, "pass")
    day = business_date()
    first = billing.settle(
        session, encounter_id=w.encounter_id, day=day, channel=Channel.WECHAT, idempotency_key="r"
    )
    assert first.total == 1280 + 2 * 950  # amoxicillin 0.5 g tid 5 d = 30 粒 → 2 盒
    returned = pharmacy.return_undispensed(session, w.pharmacist, amox.order_id, "患者自备")
    again = billing.settlement_of(session, w.encounter_id, day)
    assert again is not None and again.total == first.total - returned.amount
    assert (again.fund + again.personal_account + again.mutual_aid + again.cash) == again.total
    dispensed = pharmacy.dispense(session, w.pharmacist, p.id, checker=w.checker.username)
    assert dispensed.status == "dispensed"
    assert [x.name for x in pharmacy.labels(session, w.pharmacist, p.id)] == ["盐酸二甲双胍片"]


def test_alliance_lead_reviews_for_a_centre_without_pharmacist(session: Session) -> None:
    w = make_rx_world(session)
    alliance = registry.create_alliance(session, code="A-RX", name="测试医共体", region_code="320602")
    w.hospital.alliance_id = alliance.id
    centre = make_institution(session, alliance_id=alliance.id, level=1)
    centre.parent_id = w.hospital.id
    staffed = make_institution(session, alliance_id=alliance.id, level=1)
    staffed.parent_id = w.hospital.id
    make_user(session, role=Role.PHARMACIST, institution=staffed)
    other_lead = make_institution(session, alliance_id=alliance.id, level=2)
    village = make_institution(session, alliance_id=alliance.id, level=1)
    village.parent_id = other_lead.id  # led by a hospital without pharmacists: not ours
    orphan = make_institution(session, alliance_id=alliance.id, level=1)  # no parent: the top hospital leads
    session.flush()
    assert sorted(pharmacy.reviewed_institutions(session, w.hospital.id)) == sorted(
        [w.hospital.id, centre.id, other_lead.id, orphan.id]
    )

    dept = make_department(session, institution=centre, name="全科")
    gp = actor_of(
        make_user(
            session,
            role=Role.DOCTOR,
            institution=centre,
            practitioner=make_practitioner(session, institution=centre, department=dept),
        )
    )
    patient = make_patient(session, institution=centre)
    eid = outpatient.open_encounter(
        session, gp, EncounterCreate(patient_id=patient.id, department_id=dept.id)
    ).id
    workbench.prescribe(session, gp, eid, "normal", metformin_line(days=7))
    [p] = rx_service.prescriptions_of_encounter(session, eid)
    rx_service.submit(session, gp, p.id)
    queue = pharmacy.review_queue(session, w.pharmacist)
    assert [(q.prescription.id, q.institution_name) for q in queue] == [(p.id, centre.name)]
    stranger = actor_of(make_user(session, role=Role.PHARMACIST, institution=make_institution(session)))
    with pytest.raises(NotYourQueue):
        pharmacy.decide(session, stranger, p.id, "pass")
    assert pharmacy.decide(session, w.pharmacist, p.id, "pass").status == "passed"


def test_two_windows_dispense_the_last_box_one_wins() -> None:
    with fresh_database("rx") as url:
        engine = build_engine(url)
        try:
            migrate.upgrade(engine)
            factory = sessionmaker(bind=engine, expire_on_commit=False)
            with unit_of_work(factory) as s:
                w = make_rx_world(s, stock=1)
                second_patient = make_patient(s, institution=w.hospital, name="李四")
                other = outpatient.open_encounter(
                    s, w.doctor, EncounterCreate(patient_id=second_patient.id, department_id=w.department.id)
                ).id
                ids = [_passed(s, w), _passed(s, w, encounter_id=other)]
                checker = w.checker.username
            barrier = threading.Barrier(2, timeout=60)

            def attempt(pid: int) -> str:
                barrier.wait()
                try:
                    with unit_of_work(factory) as s:
                        pharmacy.dispense(s, w.pharmacist, pid, checker=checker)
                    return "ok"
                except OutOfStock as exc:
                    return exc.title

            with ThreadPoolExecutor(max_workers=2) as pool:
                outcomes = list(pool.map(attempt, ids))
            assert sorted(outcomes) == ["ok", "药房库存不足"]
            with unit_of_work(factory) as s:
                left = s.scalars(select(StockBatch.quantity).where(StockBatch.item_code == METFORMIN)).all()
                assert list(left) == [0]
                statuses = sorted(rx_service.find_prescription(s, i).status for i in ids)
                assert statuses == ["dispensed", "passed"]
        finally:
            engine.dispose()


def test_api_review_and_window(client: TestClient, session: Session) -> None:
    w = make_rx_world(session)
    workbench.prescribe(session, w.doctor, w.encounter_id, "normal", metformin_line(days=7))
    [p] = rx_service.prescriptions_of_encounter(session, w.encounter_id)
    me = bearer(client, w.checker)
    unreviewed = client.post(f"/api/v1/pharmacy/window/{p.id}/dispense", json={"checker": "x"}, headers=me)
    assert unreviewed.status_code == 409 and unreviewed.json()["title"] == "处方未通过审方，不能发药"
    assert unreviewed.headers["content-type"].startswith("application/problem+json")
    rx_service.submit(session, w.doctor, p.id)
    queue = client.get("/api/v1/pharmacy/reviews", headers=me).json()
    assert [q["prescription"]["id"] for q in queue] == [p.id] and "id_number" not in queue[0]
    bad = client.post(f"/api/v1/pharmacy/reviews/{p.id}", json={"verdict": "return"}, headers=me)
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_prescription"
    ok = client.post(f"/api/v1/pharmacy/reviews/{p.id}", json={"verdict": "pass"}, headers=me)
    assert ok.json()["status"] == "passed"
    assert (
        client.post(f"/api/v1/pharmacy/window/{p.id}/call", json={"window": 1}, headers=me).status_code == 200
    )
    screen = pharmacy.call_screen(session, w.hospital.id)
    assert [(n, s) for n, _name, s in screen] == [(1, "called")]
    done = client.post(
        f"/api/v1/pharmacy/window/{p.id}/dispense", json={"checker": w.pharmacist.username}, headers=me
    )
    assert done.status_code == 200, done.text
    labels = client.get(f"/api/v1/pharmacy/window/{p.id}/labels", headers=me).json()
    assert labels[0]["instructions"].startswith("口服，每日3次")
    doctor = bearer(client, make_user(session, role=Role.DOCTOR, institution=w.hospital))
    assert client.get("/api/v1/pharmacy/reviews", headers=doctor).status_code == 403


def test_a_prescription_is_valid_on_the_day_it_was_written(
    session: Session, frozen_clock: FrozenClock
) -> None:
    w = make_rx_world(session)
    pid = _passed(session, w)
    frozen_clock.advance(timedelta(days=1))
    with pytest.raises(PrescriptionExpired, match="仅当日有效"):
        pharmacy.dispense(session, w.pharmacist, pid, checker=w.checker.username)
