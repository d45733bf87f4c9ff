"""The end-of-day job killed halfway and run again settles every encounter exactly once (real commits)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.billing.conftest import ITEMS, seed_policies
from tests.builders import (
    actor_of,
    make_department,
    make_institution,
    make_patient,
    make_practitioner,
    make_user,
)
from tests.dbutil import fresh_database
from yilian.billing import settlement as billing
from yilian.billing.domain import Channel
from yilian.billing.models import Charge, Payment, Settlement
from yilian.billing.tasks import settle_day
from yilian.catalog import service as catalog
from yilian.kit.auth.domain import Role
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
        catalog.import_items(s, ITEMS)
        seed_policies(s)
        hospital = make_institution(s)
        dept = make_department(s, institution=hospital)
        doctor = actor_of(
            make_user(
                s,
                role=Role.DOCTOR,
                institution=hospital,
                practitioner=make_practitioner(s, institution=hospital, department=dept),
            )
        )
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
