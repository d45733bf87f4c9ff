"""The pharmacy's indicators on a moved clock: three prescriptions of one clinic — one returned for a
十八反 pair then delivered on time, one decocted, reworked and scrapped, one delivered late — give the
rates, the turnaround, returns by rule and the machine's utilisation; the Excel export holds them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import BytesIO

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.builders import bearer
from tests.pharmacy.tcm_world import GUIPI, TcmWorld, body, make_tcm_world
from yilian.kit.auth.models import User
from yilian.kit.clock import FrozenClock, business_date, utcnow
from yilian.kit.errors import InvalidInput
from yilian.outpatient.herbal_models import HerbalPrescription
from yilian.pharmacy import decoction_indicators as stats
from yilian.pharmacy import decoction_service as tcm
from yilian.pharmacy.decoction_service import StepInput


@pytest.fixture
def w(session: Session, frozen_clock: FrozenClock) -> TcmWorld:
    return make_tcm_world(session)


def _do(session: Session, w: TcmWorld, p: HerbalPrescription, *actions: str, **kw: object) -> None:
    for action in actions:
        actor = w.checker if action == "check" else w.rx.pharmacist
        tcm.step(session, actor, p.id, StepInput(action, **kw))  # type: ignore[arg-type]


def _deliver(session: Session, w: TcmWorld, p: HerbalPrescription) -> None:
    _do(session, w, p, "dispense", "check", "pack", "label", "qc_pass")
    label = f"/tcm/track/{p.track_token}"
    tcm.scan(session, w.rx.pharmacist, label, "handover", courier="顺丰 李师傅")
    tcm.sign_by_patient(session, p.track_token)


def test_rates_turnaround_returns_and_machines(
    session: Session, w: TcmWorld, frozen_clock: FrozenClock
) -> None:
    day = business_date()
    doctor, pharmacist = w.rx.doctor, w.rx.pharmacist
    # 1: returned for 甘草 + 海藻 (十八反), fixed, delivered 3 h after approval (on time)
    first, _ = tcm.prescribe(
        session, doctor, w.rx.encounter_id, body(w, ("甘草", 6), ("海藻", 9), decoct=False)
    )
    tcm.decide(session, pharmacist, first.id, "return", reason="甘草反海藻")
    tcm.revise(session, doctor, first.id, body(w, ("甘草", 6), ("茯苓", 12), decoct=False))
    tcm.decide(session, pharmacist, first.id, "approve")
    frozen_clock.advance(timedelta(hours=3))
    _deliver(session, w, first)
    # 2: decocted 25 min, reworked, decocted 25 min again, scrapped
    second, _ = tcm.prescribe(session, doctor, w.rx.encounter_id, body(w, *GUIPI))
    tcm.decide(session, pharmacist, second.id, "approve")
    machine = f"J{w.rx.hospital.id}-1"
    _do(session, w, second, "dispense", "check", "soak")
    frozen_clock.advance(timedelta(minutes=30))
    _do(session, w, second, "decoct", machine=machine)
    frozen_clock.advance(timedelta(minutes=25))
    _do(session, w, second, "finish", volume_ml=400)
    _do(session, w, second, "pack", "label")
    _do(session, w, second, "qc_rework", reason="药液浑浊")
    _do(session, w, second, "decoct", machine=machine)
    frozen_clock.advance(timedelta(minutes=25))
    _do(session, w, second, "finish", volume_ml=400)
    _do(session, w, second, "pack", "label")
    _do(session, w, second, "qc_scrap", reason="包装破损")
    # 3: promised within 1 h, delivered 2 h later (late)
    third, _ = tcm.prescribe(session, doctor, w.rx.encounter_id, body(w, *GUIPI, decoct=False))
    tcm.decide(session, pharmacist, third.id, "approve", promise_hours=1)
    frozen_clock.advance(timedelta(hours=2))
    _deliver(session, w, third)

    ind = stats.indicators(session, pharmacist, day, day)
    clinic = w.rx.hospital.name
    mine = next(r for r in ind.rows if r.institution == clinic)
    total = ind.rows[-1]
    assert (total.institution, total.month) == (stats.TOTAL, stats.TOTAL)
    for row in (mine, total):
        assert (row.prescriptions, row.returned, row.delivered, row.on_time) == (3, 1, 2, 1)
        assert (row.decocted, row.reworked, row.scrapped) == (1, 1, 1)
        assert row.on_time_rate == 0.5 and row.rework_rate == 1.0 and row.scrap_rate == pytest.approx(1 / 3)
        assert row.return_rate == pytest.approx(1 / 3)
        assert row.mean_turnaround_hours == pytest.approx(2.5)  # (3 h + 2 h) / 2
    assert ind.daily == [(day, clinic, 3)]
    assert ind.returns_by_rule == [("十八反", 1)]
    used = {m.code: m for m in ind.machines}
    assert used[machine].busy_hours == pytest.approx(50 / 60, abs=0.01)
    assert used[machine].shift_hours == stats.SHIFT_HOURS
    assert used[f"J{w.rx.hospital.id}-2"].busy_hours == 0

    book = openpyxl.load_workbook(BytesIO(stats.to_xlsx(ind)))
    assert book.sheetnames == ["按机构和月份", "每日处方量", "审方退回原因", "煎药机利用率"]
    rows = list(book["按机构和月份"].iter_rows(min_row=3, values_only=True))
    assert rows[-1][:4] == (stats.TOTAL, stats.TOTAL, 3, 1) and rows[-1][7] == 0.5


def test_bad_ranges_and_outsiders(client: TestClient, session: Session, w: TcmWorld) -> None:
    day = business_date()
    with pytest.raises(InvalidInput):
        stats.indicators(session, w.rx.pharmacist, day, day - timedelta(days=1))
    pharmacist = session.get(User, w.rx.pharmacist.user_id)
    doctor = session.get(User, w.rx.doctor.user_id)
    assert pharmacist is not None and doctor is not None
    q = f"start={day}&end={day}"
    ok = client.get(f"/api/v1/tcm/indicators?{q}", headers=bearer(client, pharmacist))
    assert ok.status_code == 200 and ok.json()["rows"] == []
    xlsx = client.get(f"/api/v1/tcm/indicators.xlsx?{q}", headers=bearer(client, pharmacist))
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    backwards = client.get(
        f"/api/v1/tcm/indicators?start={day}&end={day - timedelta(days=1)}",
        headers=bearer(client, pharmacist),
    )
    assert backwards.status_code == 400 and "结束日期" in backwards.json()["detail"]
    assert client.get(f"/api/v1/tcm/indicators?{q}", headers=bearer(client, doctor)).status_code == 403


def aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def test_finished_decoctions_for_the_city_indicators(
    session: Session, w: TcmWorld, frozen_clock: FrozenClock
) -> None:
    p, _ = tcm.prescribe(session, w.rx.doctor, w.rx.encounter_id, body(w, *GUIPI))
    tcm.decide(session, w.rx.pharmacist, p.id, "approve", promise_hours=1)
    _do(session, w, p, "dispense", "check", "soak")
    frozen_clock.advance(timedelta(minutes=30))
    _do(session, w, p, "decoct", machine=f"J{w.rx.hospital.id}-1")
    frozen_clock.advance(timedelta(minutes=25))
    _do(session, w, p, "finish", volume_ml=400)
    finished = utcnow()
    [(at, promised, institution_id)] = tcm.finished_decoctions(
        session, finished - timedelta(hours=1), finished + timedelta(seconds=1)
    )
    assert institution_id == p.institution_id and promised is not None
    assert aware(at) == finished and p.promised_at is not None and aware(promised) == aware(p.promised_at)
    assert (
        tcm.finished_decoctions(session, finished + timedelta(seconds=1), finished + timedelta(hours=1)) == []
    )
