"""50 bed officers give the same 10 free beds at once, real commits, a session per thread: exactly 10
assignments, the rest refused with a clear reason; no bed given twice."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from tests.builders import actor_of, make_department, make_institution, make_patient, make_user
from tests.dbutil import fresh_database
from yilian.inpatient import service as svc
from yilian.inpatient.errors import BedTaken
from yilian.inpatient.models import Bed, BedEvent, BedRequest
from yilian.kit import migrate
from yilian.kit.auth.domain import Role
from yilian.kit.db import build_engine, unit_of_work

OFFICERS = 50
BEDS = 10


def test_fifty_officers_ten_free_beds() -> None:
    with fresh_database("inpatient") as url:
        engine = (
            build_engine(url, pool_size=10, max_overflow=OFFICERS, pool_timeout=120)
            if "postgresql" in url
            else build_engine(url)
        )
        try:
            migrate.upgrade(engine)
            factory = sessionmaker(bind=engine, expire_on_commit=False)
            with unit_of_work(factory) as s:
                hospital = make_institution(s)
                department = make_department(s, institution=hospital, name="骨科")
                admin = actor_of(make_user(s, role=Role.ADMIN, institution=hospital))
                officers = [
                    actor_of(make_user(s, role=Role.BED_MANAGER, institution=hospital))
                    for _ in range(OFFICERS)
                ]
                ward = svc.create_ward(
                    s,
                    admin,
                    institution_id=hospital.id,
                    department_id=department.id,
                    code="W-GK1",
                    name="骨科一病区",
                    rooms=[svc.RoomSpec(f"70{i}", 2) for i in range(BEDS // 2)],
                )
                beds = [b.id for b in svc.repo.beds_of_institution(s, hospital.id, ward.id)]
                requests = [
                    svc.request_bed(
                        s,
                        admin,
                        patient_id=make_patient(
                            s,
                            name="患者" + "甲乙丙丁戊己庚辛壬癸"[i % 10] + "子丑寅卯辰"[i // 10],
                            institution=hospital,
                        ).id,
                        department_id=department.id,
                    ).id
                    for i in range(OFFICERS)
                ]
            assert len(beds) == BEDS
            barrier = threading.Barrier(OFFICERS, timeout=120)

            def attempt(i: int) -> str:
                barrier.wait()
                try:
                    with unit_of_work(factory) as s:
                        svc.assign(s, officers[i], requests[i], beds[i % BEDS])
                    return "ok"
                except BedTaken as exc:
                    return exc.title

            with ThreadPoolExecutor(max_workers=OFFICERS) as pool:
                outcomes = list(pool.map(attempt, range(OFFICERS)))
            assert outcomes.count("ok") == BEDS
            assert outcomes.count("床位已被占用或已分配") == OFFICERS - BEDS
            with unit_of_work(factory) as s:
                assert s.scalar(select(func.count()).select_from(Bed).where(Bed.state == "reserved")) == BEDS
                assert (
                    s.scalar(
                        select(func.count()).select_from(BedRequest).where(BedRequest.status == "assigned")
                    )
                    == BEDS
                )
                reserved_for = list(s.scalars(select(Bed.request_id).where(Bed.state == "reserved")))
                assert len(set(reserved_for)) == BEDS
                assert s.scalar(select(func.count()).select_from(BedEvent)) == BEDS
        finally:
            engine.dispose()
