"""The end-of-day job killed halfway and run again settles every encounter exactly once (real commits)."""

from __future__ import annotations

from collections.abc import Iterator

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
from yilian.billing.models import Charge, Payment, Settlement
from yilian.billing.tasks import settle_day
from yilian.kit.clock import business_date
from yilian.kit.db import build_engine
from yilian.kit.migrate import upgrade
from yilian.outpatient import service as outpatient
from yilian.outpatient.schemas import EncounterCreate


@pytest.fixture
def own_db() -> Iterator[sessionmaker[Session]]:
    with fresh_database("settle") as url:
        engine: Engine = build_engine(url)
        upgrade(engine)
        yield sessionmaker(bind=engine, expire_on_commit=False)
        engine.dispose()


def test_crash_and_rerun_settles_each_encounter_once(own_db: sessionmaker[Session]) -> None:
    with own_db() as s:
        w = make_world(s)
        hospital, dept, doctor = w.hospital, w.department, w.doctor
        for i in range(12):
            patient = make_patient(s, institution=hospital, phone=f"1390000{i:04d}")
            if i % 3 == 0:
                billing.sign_agreement(
                    s, patient_id=patient.id, channel=Channel.WECHAT, payer_ref=f"openid-{i}"
                )
            eid = outpatient.open_encounter(
                s, doctor, EncounterCreate(patient_id=patient.id, department_id=dept.id)
            ).id
            billing.order_with_credit(s, doctor, eid, "250301001000000")
            billing.order_with_credit(s, doctor, eid, "XA10BAM039A001010100001")
            if i == 5:  # this patient settles on the phone before the job runs
                billing.settle(
                    s, encounter_id=eid, day=business_date(), channel=Channel.ALIPAY, idempotency_key="self-5"
                )
        s.commit()

    day = business_date()
    crashed = settle_day(own_db, day, chunk=3, stop_after=5)  # commits one chunk of 3, dies in the next
    assert crashed.settled + crashed.arrears == 3
    rerun = settle_day(own_db, day, chunk=3)
    assert rerun.errors == []
    again = settle_day(own_db, day)
    assert again.settled == again.arrears == 0

    with own_db() as s:
        settlements = s.scalars(select(Settlement)).all()
        assert len(settlements) == 12 == len({x.encounter_id for x in settlements})
        assert s.scalar(select(func.count()).select_from(Charge).where(Charge.status == "open")) == 0
        for x in settlements:
            paid = s.scalars(select(Payment).where(Payment.reference == f"settlement:{x.id}")).all()
            assert len(paid) == (1 if x.cash else 0), "no settlement is charged twice"
            assert x.fund + x.personal_account + x.mutual_aid + x.cash == x.total
        statuses = sorted(x.status for x in settlements)
        assert (
            statuses.count("settled") == 5 and statuses.count("arrears") == 7
        )  # signed channels 0,3,6,9 + self 5


def test_end_of_day_settles_what_was_added_after_the_patient_paid(own_db: sessionmaker[Session]) -> None:
    """A drug prescribed after the patient settled on the phone is settled at 23:00 as a further attempt,
    not left open behind the first settlement."""
    with own_db() as s:
        w = make_world(s)
        patient = make_patient(s, institution=w.hospital)
        billing.sign_agreement(s, patient_id=patient.id, channel=Channel.WECHAT, payer_ref="openid-late")
        eid = outpatient.open_encounter(
            s, w.doctor, EncounterCreate(patient_id=patient.id, department_id=w.department.id)
        ).id
        billing.order_with_credit(s, w.doctor, eid, "250301001000000")
        billing.settle(
            s, encounter_id=eid, day=business_date(), channel=Channel.ALIPAY, idempotency_key="own"
        )
        billing.order_with_credit(s, w.doctor, eid, "XA10BAM039A001010100001")
        s.commit()

    day = business_date()
    report = settle_day(own_db, day)
    assert (report.settled, report.errors) == (1, [])
    assert settle_day(own_db, day).settled == 0

    with own_db() as s:
        settlements = s.scalars(select(Settlement).order_by(Settlement.attempt)).all()
        assert [(x.attempt, x.mode, x.status) for x in settlements] == [
            (1, "self", "settled"),
            (2, "auto", "settled"),
        ]
        assert s.scalar(select(func.count()).select_from(Charge).where(Charge.status == "open")) == 0
        total = s.scalar(select(func.sum(Charge.amount)))
        assert sum(x.total for x in settlements) == total
