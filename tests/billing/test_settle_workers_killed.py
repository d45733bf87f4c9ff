"""The set-based end-of-day settlement's workers killed mid-batch (SIGKILL with a chunk's writes flushed
and not committed) and restarted: every encounter is settled exactly once, with one payment, one set
of audited claim lines and one ``billing.settled`` event (real processes, real commits)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.billing.world import make_world
from tests.builders import (
    make_patient,
)
from tests.dbutil import fresh_database
from yilian.billing import service as billing
from yilian.billing.domain import Channel
from yilian.billing.models import Arrear, Charge, Payment, Settlement
from yilian.insurance import policy_service as insurance
from yilian.insurance.audit.models import AuditClaimLine
from yilian.kit.clock import business_date
from yilian.kit.db import build_engine
from yilian.kit.events import OutboxEvent
from yilian.kit.migrate import upgrade
from yilian.outpatient import service as outpatient
from yilian.outpatient.schemas import EncounterCreate

ROOT = Path(__file__).resolve().parents[2]
ENCOUNTERS = 30
CHUNK = 4

WORKER = """
import os, signal, sys
from datetime import date
from sqlalchemy.orm import sessionmaker
from yilian.billing.service import settle_worker
from yilian.kit.db import build_engine

url, day, start, die_at, chunk = sys.argv[1], date.fromisoformat(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])

def die(session, chunk_no):
    if chunk_no == die_at:
        os.kill(os.getpid(), signal.SIGKILL)  # mid-batch: this chunk's writes are flushed, not committed

factory = sessionmaker(bind=build_engine(url), expire_on_commit=False)
report = settle_worker(factory, day, chunk=chunk, start_at=start, before_commit=die if die_at else None)
print(report.settled + report.arrears + report.skipped, len(report.errors))
"""


@pytest.fixture
def own_db() -> Iterator[tuple[str, sessionmaker[Session]]]:
    with fresh_database("killed") as url:
        engine: Engine = build_engine(url)
        upgrade(engine)
        yield url, sessionmaker(bind=engine, expire_on_commit=False)
        engine.dispose()


def _workers(url: str, day: date, die_at: list[int]) -> list[subprocess.CompletedProcess[str]]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, url, day.isoformat(), str(k / len(die_at)), str(d), str(CHUNK)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for k, d in enumerate(die_at)
    ]
    done = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        done.append(subprocess.CompletedProcess(p.args, p.returncode, out, err))
    return done


def test_killed_workers_restart_and_settle_each_encounter_once(
    own_db: tuple[str, sessionmaker[Session]],
) -> None:
    url, factory = own_db
    with factory() as s:
        w = make_world(s)
        hospital, dept, doctor = w.hospital, w.department, w.doctor
        patients = [make_patient(s, institution=hospital, phone=f"1391111{i:04d}") for i in range(10)]
        for i, patient in enumerate(patients):
            if i % 2 == 0:
                billing.sign_agreement(
                    s, patient_id=patient.id, channel=Channel.WECHAT, payer_ref=f"openid-{i}"
                )
        for i in range(ENCOUNTERS):  # three visits per patient: the year's use carries from one to the next
            eid = outpatient.open_encounter(
                s, doctor, EncounterCreate(patient_id=patients[i % 10].id, department_id=dept.id)
            ).id
            billing.order_with_credit(s, doctor, eid, "250301001000000")
            billing.order_with_credit(s, doctor, eid, "210300001000000")
        s.commit()
    day = business_date()

    killed = _workers(url, day, die_at=[2, 3])  # each commits a chunk or two, then dies in the next
    assert [p.returncode for p in killed] == [-signal.SIGKILL, -signal.SIGKILL], [p.stderr for p in killed]
    with factory() as s:
        part = s.scalar(select(func.count()).select_from(Settlement)) or 0
        assert 0 < part < ENCOUNTERS, "killed mid-batch: some chunks committed, the ones in flight lost"
        half = s.scalar(
            select(func.count())
            .select_from(Charge)
            .where(Charge.status == "open", Charge.settlement_id.is_not(None))
        )
        assert half == 0, "a killed chunk leaves nothing half-written"

    restarted = _workers(url, day, die_at=[0, 0])
    assert [p.returncode for p in restarted] == [0, 0], [p.stderr for p in restarted]
    assert all(p.stdout.split()[1] == "0" for p in restarted), [p.stdout for p in restarted]
    again = _workers(url, day, die_at=[0])
    assert again[0].stdout.split() == ["0", "0"], "a rerun finds nothing left"

    with factory() as s:
        settlements = s.scalars(select(Settlement)).all()
        assert len(settlements) == ENCOUNTERS == len({x.encounter_id for x in settlements})
        assert s.scalar(select(func.count()).select_from(Charge).where(Charge.status == "open")) == 0
        for x in settlements:
            paid = s.scalars(select(Payment).where(Payment.reference == f"settlement:{x.id}")).all()
            assert len(paid) == (1 if x.cash else 0), "no settlement is charged twice"
            if paid:
                assert x.payment_id == paid[0].id
            assert x.fund + x.personal_account + x.mutual_aid + x.cash == x.total
            assert x.status == ("settled" if paid and paid[0].status == "succeeded" else "arrears")
            lines = s.scalar(
                select(func.count())
                .select_from(AuditClaimLine)
                .where(AuditClaimLine.source == f"settlement:{x.id}")
            )
            assert lines == 2
        assert s.scalar(select(func.count()).select_from(Arrear)) == sum(
            x.status == "arrears" for x in settlements
        )
        settled_events = s.scalars(
            select(OutboxEvent.payload).where(OutboxEvent.topic == "billing.settled")
        ).all()
        assert sorted(e["settlement_id"] for e in settled_events) == sorted(x.id for x in settlements)
        # each patient's year: the fund paid over the three visits is what the settlements say
        by_patient: dict[int, int] = {}
        for x in settlements:
            by_patient[x.patient_id] = by_patient.get(x.patient_id, 0) + x.fund
        for pid, fund in by_patient.items():
            assert insurance.year_to_date(s, pid, day.year, "outpatient").fund_paid == fund
