"""The shared TCM pharmacy end to end in services: write and charge, review (return, approve, double
signature), every floor step with its timing rule on a moved clock, machines one at a time, QC rework
and scrap, delivery and sign-off, cancellation refunding exactly, and the day's plan."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.dbutil import fresh_database
from tests.pharmacy.tcm_world import GUIPI, TcmWorld, body, make_tcm_world
from yilian.billing import service as billing
from yilian.billing.domain import Channel
from yilian.billing.models import Charge
from yilian.catalog.errors import UnknownHerb
from yilian.kit import migrate
from yilian.kit.clock import FrozenClock, business_date
from yilian.kit.db import build_engine, unit_of_work
from yilian.outpatient.herbal_domain import InvalidHerbal, TransitionRefused
from yilian.outpatient.herbal_models import HerbalLine, HerbalPrescription
from yilian.outpatient.herbal_service import LineInput
from yilian.pharmacy import decoction_service as tcm
from yilian.pharmacy.decoction_models import DecoctionMachine, DecoctionStep
from yilian.pharmacy.decoction_service import InvalidStep, MachineBusy, StepInput


@pytest.fixture
def w(session: Session, frozen_clock: FrozenClock) -> TcmWorld:
    return make_tcm_world(session)


def _approved(
    session: Session, w: TcmWorld, *herbs: tuple[str, int], **changes: object
) -> HerbalPrescription:
    hours = int(changes.pop("promise_hours", 24))  # type: ignore[call-overload]
    p, _ = tcm.prescribe(session, w.rx.doctor, w.rx.encounter_id, body(w, *(herbs or GUIPI), **changes))
    return tcm.decide(session, w.rx.pharmacist, p.id, "approve", promise_hours=hours)


def _do(session: Session, w: TcmWorld, p: HerbalPrescription, action: str, **kw: object) -> None:
    actor = w.checker if action == "check" else w.rx.pharmacist
    tcm.step(session, actor, p.id, StepInput(action, **kw))  # type: ignore[arg-type]


def test_prescribe_charges_each_herb_per_gram_and_the_decoction_fee(session: Session, w: TcmWorld) -> None:
    p, _ = tcm.prescribe(session, w.rx.doctor, w.rx.encounter_id, body(w, ("黄芪", 15), ("甘草", 6), doses=7))
    # 黄芪 ¥0.18/g × 105 g + 甘草 ¥0.12/g × 42 g + 代煎 ¥3 × 7
    assert p.amount == 18 * 105 + 12 * 42 + 300 * 7
    charges = session.scalars(select(Charge).where(Charge.encounter_id == w.rx.encounter_id)).all()
    assert sum(c.amount for c in charges if c.status == "open") >= p.amount
    assert p.status == "待审方" and p.findings == []


def test_paste_is_its_own_kind_with_a_processing_fee(session: Session, w: TcmWorld) -> None:
    p, _ = tcm.prescribe(
        session, w.rx.doctor, w.rx.encounter_id, body(w, ("黄芪", 300), ("枸杞子", 200), doses=1, kind="膏方")
    )
    assert p.kind == "膏方" and p.decoct
    assert p.amount == 18 * 300 + 40 * 200 + 30000


@pytest.mark.parametrize(
    ("herbs", "changes", "error", "match"),
    [
        ((("不存在", 9),), {}, UnknownHerb, "ZZ999"),
        ((("黄芪", -5),), {}, InvalidHerbal, "克数应大于 0"),
        ((("黄芪", 15),), {"doses": 0}, InvalidHerbal, "剂数"),
        ((("黄芪", 15),), {"bag_ml": 350}, InvalidHerbal, "400–600 ml"),
        ((("黄芪", 15),), {"bag_ml": 200, "child": True}, InvalidHerbal, "100–300 ml"),
        ((("黄芪", 15),), {"formula_class": "乱写"}, InvalidHerbal, "方剂类别"),
    ],
)
def test_bad_input_stores_nothing(
    session: Session,
    w: TcmWorld,
    herbs: tuple[tuple[str, int], ...],
    changes: dict[str, object],
    error: type[Exception],
    match: str,
) -> None:
    w.codes["不存在"] = "ZZ999"
    with pytest.raises(error, match=match):
        tcm.prescribe(session, w.rx.doctor, w.rx.encounter_id, body(w, *herbs, **changes))
    assert session.scalar(select(func.count()).select_from(HerbalPrescription)) == 0
    assert session.scalar(select(func.count()).select_from(HerbalLine)) == 0


def test_review_returns_for_a_clash_and_the_fixed_one_passes(session: Session, w: TcmWorld) -> None:
    p, _ = tcm.prescribe(
        session, w.rx.doctor, w.rx.encounter_id, body(w, ("海藻", 9), ("茯苓", 12), ("甘草", 6))
    )
    assert [f["rule"] for f in p.findings] == ["十八反"]
    assert [x.id for x in tcm.review_desk(session, w.rx.pharmacist)] == [p.id]
    with pytest.raises(TransitionRefused, match="十八反：甘草 与 海藻"):
        tcm.decide(session, w.rx.pharmacist, p.id, "approve")
    with pytest.raises(InvalidStep, match="原因"):
        tcm.decide(session, w.rx.pharmacist, p.id, "return")
    tcm.decide(session, w.rx.pharmacist, p.id, "return", reason="甘草反海藻，请调整")
    assert p.status == "已退回" and p.review_reason == "甘草反海藻，请调整"
    day = business_date()
    before = sum(
        c.amount for c in billing.running_bill(session, w.rx.encounter_id, day) if c.status == "open"
    )
    first_amount = p.amount
    tcm.revise(session, w.rx.doctor, p.id, body(w, ("茯苓", 12), ("甘草", 6)))
    after = sum(c.amount for c in billing.running_bill(session, w.rx.encounter_id, day) if c.status == "open")
    assert after - before == p.amount - first_amount  # old orders off the bill, new ones on, exactly
    assert p.status == "待审方" and p.version == 2 and p.findings == []
    tcm.decide(session, w.rx.pharmacist, p.id, "approve")
    assert p.status == "待调配" and p.promised_at == p.approved_at + timedelta(hours=24)  # type: ignore[operator]
    assert [s.to_state for s in tcm.steps_of(session, p.id)] == ["已退回", "待审方", "待调配"]


def test_override_needs_the_prescribing_doctors_double_signature(session: Session, w: TcmWorld) -> None:
    p, _ = tcm.prescribe(session, w.rx.doctor, w.rx.encounter_id, body(w, ("细辛", 5), ("茯苓", 12)))
    with pytest.raises(InvalidStep, match="开方医生"):
        tcm.decide(session, w.rx.pharmacist, p.id, "override", reason="病情需要", cosigner="nobody")
    doctor = w.rx.doctor.username
    tcm.decide(session, w.rx.pharmacist, p.id, "override", reason="久病顽痹，医生确认", cosigner=doctor)
    assert p.status == "待调配" and p.cosigned_by == w.rx.doctor.user_id
    assert tcm.steps_of(session, p.id)[-1].note.startswith("医生双签通过")


def test_floor_with_timing_rules_on_a_moved_clock(
    session: Session, w: TcmWorld, frozen_clock: FrozenClock
) -> None:
    p = _approved(session, w, ("石膏", 30), ("薄荷", 6), ("甘草", 6), formula_class="清热")
    machine = f"J{w.rx.hospital.id}-1"
    with pytest.raises(TransitionRefused, match="不能从“待调配”直接到“泡药中”"):
        _do(session, w, p, "soak")  # a skipped step
    _do(session, w, p, "dispense")
    with pytest.raises(InvalidStep, match="双人核对"):
        tcm.step(session, w.rx.pharmacist, p.id, StepInput("check"))
    _do(session, w, p, "check")
    _do(session, w, p, "soak")
    frozen_clock.advance(timedelta(minutes=20))
    with pytest.raises(TransitionRefused, match="已泡 20 分钟"):
        _do(session, w, p, "decoct", machine=machine)
    assert p.status == "泡药中"
    frozen_clock.advance(timedelta(minutes=10))
    _do(session, w, p, "decoct", machine=machine)
    assert p.status == "煎药中"
    frozen_clock.advance(timedelta(minutes=20))
    with pytest.raises(TransitionRefused, match="先煎药须先煎 30 分钟"):
        _do(session, w, p, "add_rest")
    frozen_clock.advance(timedelta(minutes=10))
    _do(session, w, p, "add_rest")  # 石膏 先煎 30 min
    frozen_clock.advance(timedelta(minutes=8))
    _do(session, w, p, "add_late")  # 薄荷 后下
    frozen_clock.advance(timedelta(minutes=9))  # boiled 17 min (清热 15–20), 后下 9 min before the end
    with pytest.raises(InvalidHerbal, match="400–600"):
        _do(session, w, p, "finish", volume_ml=380)
    _do(session, w, p, "finish", volume_ml=420)
    m = session.scalar(select(DecoctionMachine).where(DecoctionMachine.code == machine))
    assert m is not None and m.prescription_id is None  # freed
    for action in ("pack", "label"):
        _do(session, w, p, action)
    with pytest.raises(InvalidStep, match="原因"):
        _do(session, w, p, "qc_rework")
    _do(session, w, p, "qc_rework", reason="药液浑浊")
    assert p.status == "待煎药"
    _do(session, w, p, "decoct", machine=machine)
    frozen_clock.advance(timedelta(minutes=30))
    _do(session, w, p, "add_rest")
    frozen_clock.advance(timedelta(minutes=10))
    _do(session, w, p, "add_late")
    frozen_clock.advance(timedelta(minutes=6))
    _do(session, w, p, "finish", volume_ml=450)
    for action in ("pack", "label", "qc_pass"):
        _do(session, w, p, action)
    with pytest.raises(InvalidStep, match="配送员"):
        _do(session, w, p, "dispatch")
    _do(session, w, p, "dispatch", courier="顺丰 张师傅")
    with pytest.raises(InvalidStep, match="签收码"):
        _do(session, w, p, "sign", token="wrong")
    _do(session, w, p, "sign", token=p.track_token)
    assert p.status == "已签收"
    track = tcm.track(session, p.track_token)
    states = [s for s, _at, _note in track.steps]
    assert states[0] == "待审方" and states[-1] == "已签收"
    assert "泡药中" in states and "待煎药" in states and states.count("煎药中") >= 4
    steps = session.scalars(select(DecoctionStep).where(DecoctionStep.prescription_id == p.id)).all()
    assert all(s.operator_name for s in steps)
    assert any(s.machine_code == machine and s.to_state == "煎药中" for s in steps)
    assert "*" in track.patient


def test_scrap_after_qc_failure(session: Session, w: TcmWorld, frozen_clock: FrozenClock) -> None:
    p = _approved(session, w, decoct=False)
    for action in ("dispense", "check", "pack", "label"):
        _do(session, w, p, action)
    with pytest.raises(TransitionRefused, match="不代煎"):
        _do(session, w, p, "qc_rework", reason="称量错误")
    _do(session, w, p, "qc_scrap", reason="称量错误")
    assert p.status == "已报废"
    with pytest.raises(TransitionRefused):
        _do(session, w, p, "qc_pass")


def test_a_busy_machine_refuses_a_second_prescription(
    session: Session, w: TcmWorld, frozen_clock: FrozenClock
) -> None:
    a, b = _approved(session, w), _approved(session, w)
    machine = f"J{w.rx.hospital.id}-2"
    for p in (a, b):
        for action in ("dispense", "check", "soak"):
            _do(session, w, p, action)
    frozen_clock.advance(timedelta(minutes=31))
    _do(session, w, a, "decoct", machine=machine)
    with pytest.raises(MachineBusy):
        tcm.step(session, w.rx.pharmacist, b.id, StepInput("decoct", machine=machine))


def test_cancel_refunds_exactly(session: Session, w: TcmWorld) -> None:
    p, _ = tcm.prescribe(session, w.rx.doctor, w.rx.encounter_id, body(w, *GUIPI, doses=5))
    day = business_date()
    first = billing.settle(
        session, encounter_id=w.rx.encounter_id, day=day, channel=Channel.WECHAT, idempotency_key="tcm"
    )
    taken_off = tcm.cancel(session, w.rx.doctor, p.id, "患者改用颗粒剂")
    assert taken_off == p.amount
    again = billing.settlement_of(session, w.rx.encounter_id, day)
    rest = 0 if again is None else again.total
    assert first.total - rest == p.amount
    if again is not None:
        assert again.fund + again.personal_account + again.mutual_aid + again.cash == again.total
    assert p.status == "已取消"
    with pytest.raises(TransitionRefused):
        tcm.cancel(session, w.rx.doctor, p.id, "再取消")


def test_day_plan_warns_when_machines_cannot_meet_promises(
    session: Session, w: TcmWorld, frozen_clock: FrozenClock
) -> None:
    many = [_approved(session, w, formula_class="补益", promise_hours=4) for _ in range(8)]
    plan = tcm.day_plan(session, w.rx.pharmacist)
    # 2 machines, each run 40+60+15 = 115 min, ready after 60 min, due 4 h − 2 h = 120 min: none fits
    assert len(plan.slots) == 8
    assert sorted(plan.late) == sorted(p.id for p in many)
    relaxed = [_approved(session, w, formula_class="解表") for _ in range(3)]  # 24 h promise
    plan = tcm.day_plan(session, w.rx.pharmacist)
    on_time = {s.job_id for s in plan.slots if s.on_time}
    assert {p.id for p in relaxed} <= on_time


def test_two_operators_start_the_same_machine_one_wins() -> None:
    with fresh_database("tcm") as url:
        engine = build_engine(url)
        try:
            migrate.upgrade(engine)
            factory = sessionmaker(bind=engine, expire_on_commit=False)
            clock = FrozenClock(
                __import__("datetime").datetime(2026, 5, 7, 1, 0, tzinfo=__import__("datetime").UTC)
            )
            from yilian.kit.clock import use_clock

            with use_clock(clock):
                with unit_of_work(factory) as s:
                    w = make_tcm_world(s)
                    ids = []
                    for _ in range(2):
                        p = _approved(s, w)
                        for action in ("dispense", "check", "soak"):
                            _do(s, w, p, action)
                        ids.append(p.id)
                clock.advance(timedelta(minutes=31))
                machine = f"J{w.rx.hospital.id}-1"
                barrier = threading.Barrier(2, timeout=60)

                def attempt(pid: int) -> str:
                    barrier.wait()
                    try:
                        with unit_of_work(factory) as s:
                            tcm.step(s, w.rx.pharmacist, pid, StepInput("decoct", machine=machine))
                        return "ok"
                    except MachineBusy as exc:
                        return exc.title

                with ThreadPoolExecutor(max_workers=2) as pool:
                    outcomes = list(pool.map(attempt, ids))
            assert sorted(outcomes) == ["ok", "煎药机正在使用"]
            with unit_of_work(factory) as s:
                m = s.scalar(select(DecoctionMachine).where(DecoctionMachine.code == machine))
                assert m is not None and m.prescription_id in ids
                states = s.scalars(
                    select(HerbalPrescription.status).where(HerbalPrescription.id.in_(ids))
                ).all()
                assert sorted(states) == ["泡药中", "煎药中"]
        finally:
            engine.dispose()


def test_unknown_line_code_in_review_lines(session: Session, w: TcmWorld) -> None:
    with pytest.raises(UnknownHerb):
        tcm.findings_of(session, body(w, ("黄芪", 9)).__class__(lines=[LineInput("NOPE", 3)]))
