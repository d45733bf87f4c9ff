"""Scheduled jobs run by the server: due periods, one run per period across processes, failures recorded,
and the real jobs (23:00 settlement, hold expiry) doing their work on a moved clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.builders import make_department, make_institution, make_patient
from yilian.areas import area_modules
from yilian.kit import jobs
from yilian.kit.clock import BUSINESS_TZ, FrozenClock, use_clock
from yilian.kit.db import unit_of_work
from yilian.kit.jobs import JobRun

SHANGHAI_DAY = datetime(2026, 5, 7, tzinfo=BUSINESS_TZ)


@pytest.fixture
def only(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, jobs.Job]]:
    """An empty job registry for the test (the areas' real jobs are put back afterwards)."""
    registry: dict[str, jobs.Job] = {}
    monkeypatch.setattr(jobs, "_jobs", registry)
    yield registry


def test_daily_job_runs_once_after_its_time_and_periodic_each_period(
    factory: sessionmaker[Session], only: dict[str, jobs.Job]
) -> None:
    calls: list[str] = []
    jobs.job("t.daily", daily_at=time(23, 0))(lambda _f, now: calls.append(f"d{now:%H%M}") or "ok")
    jobs.job("t.minute", every_seconds=60)(lambda _f, now: calls.append(f"m{now:%H%M}") or "ok")
    at = SHANGHAI_DAY.replace(hour=22, minute=59, second=30)
    assert jobs.run_due(factory, at) == ["t.minute"]  # the daily one is not due before 23:00
    assert jobs.run_due(factory, at + timedelta(seconds=20)) == []  # same minute: nothing new
    assert jobs.run_due(factory, at + timedelta(seconds=40)) == ["t.daily", "t.minute"]
    assert jobs.run_due(factory, at + timedelta(minutes=30)) == ["t.minute"]  # daily done for the day
    assert calls == ["m2259", "d2300", "m2300", "m2329"]
    nextday = (at + timedelta(days=1)).replace(hour=23, minute=5)
    assert "t.daily" in jobs.run_due(factory, nextday)


def test_a_period_is_claimed_by_one_process_and_failures_are_recorded(
    factory: sessionmaker[Session], only: dict[str, jobs.Job]
) -> None:
    def boom(_f: sessionmaker[Session], _now: datetime) -> str:
        raise RuntimeError("渠道不可用")

    jobs.job("t.boom", daily_at=time(1, 0))(boom)
    at = SHANGHAI_DAY.replace(hour=2)
    with factory() as s:  # another process already claimed today's run
        s.add(JobRun(job="t.boom", period="2026-05-06", started_at=at, outcome="", failed=False))
        s.commit()
    assert jobs.run_due(factory, at) == ["t.boom"]  # today's period is still free
    assert jobs.run_due(factory, at) == []  # and is now taken
    with factory() as s:
        row = s.get(JobRun, ("t.boom", "2026-05-07"))
        assert row is not None and row.failed and "渠道不可用" in row.outcome and row.finished_at


def test_job_needs_exactly_one_schedule() -> None:
    with pytest.raises(ValueError):
        jobs.job("t.bad")
    with pytest.raises(ValueError):
        jobs.job("t.bad", every_seconds=5, daily_at=time(1, 0))


def test_the_real_jobs_settle_the_day_at_23_and_release_stale_holds(factory: sessionmaker[Session]) -> None:
    from tests.billing.world import ITEMS, seed_policies
    from yilian.billing import service as billing
    from yilian.billing.models import Settlement
    from yilian.catalog import service as catalog
    from yilian.kit.auth.domain import ROLE_PERMISSIONS, Actor, Role
    from yilian.outpatient import service as outpatient
    from yilian.outpatient.schemas import EncounterCreate
    from yilian.scheduling import service as scheduling
    from yilian.scheduling.models import Booking

    area_modules("tasks")
    names = {j.name for j in jobs.registered()}
    assert {
        "billing.settle_day",
        "billing.reminders",
        "scheduling.expire_holds",
        "scheduling.generate",
    } <= names
    system = Actor.system("test-jobs")
    morning = SHANGHAI_DAY.replace(hour=9)
    with use_clock(FrozenClock(morning)), unit_of_work(factory) as s:
        catalog.import_items(s, ITEMS)
        seed_policies(s)
        inst = make_institution(s)
        dept = make_department(s, institution=inst)
        patient = make_patient(s, institution=inst)
        doctor = Actor(
            user_id=None,
            username="doc",
            role=Role.DOCTOR,
            institution_id=inst.id,
            permissions=ROLE_PERMISSIONS[Role.DOCTOR],
        )
        enc = outpatient.open_encounter(
            s, doctor, EncounterCreate(patient_id=patient.id, department_id=dept.id)
        )
        billing.order_with_credit(s, doctor, enc.id, "250301001000000")
        sched = scheduling.create_schedule(
            s, system, department_id=dept.id, day=morning.date() + timedelta(days=1), period="am"
        )
        slot = scheduling.repo.slots_of(s, sched.id)[0]
        held = scheduling.book(s, system, slot_id=slot.id, patient_id=patient.id, channel="desk").id
    with use_clock(FrozenClock(morning + timedelta(minutes=11))):
        assert "scheduling.expire_holds" in jobs.run_due(factory)
    with use_clock(FrozenClock(SHANGHAI_DAY.replace(hour=23, minute=1))):
        assert "billing.settle_day" in jobs.run_due(factory)
        assert "billing.settle_day" not in jobs.run_due(factory)
    with factory() as s:
        assert s.get(Booking, held).status == "expired"  # type: ignore[union-attr]
        assert s.scalar(select(func.count()).select_from(Settlement)) == 1
        row = s.get(JobRun, ("billing.settle_day", "2026-05-07"))
        assert row is not None and not row.failed and "转欠费 1 笔" in row.outcome  # no signed channel
