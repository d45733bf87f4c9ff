"""Bed-use indicators: the database aggregates agree with the pure rules of docs/domain.md §8 over the
same stays; the API, its Excel export and the CLI."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from io import BytesIO

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from tests.builders import bearer, make_user
from tests.inpatient.helpers import Pool, admit_to, beds_of, patient
from yilian.inpatient import domain
from yilian.inpatient import service as svc
from yilian.kit.auth.domain import Role
from yilian.kit.clock import FrozenClock, business_date
from yilian.registry.domain import Sex


def _history(session: Session, pool: Pool, clock: FrozenClock) -> list[domain.Stay]:
    """Admissions and discharges over three weeks in the cardiology and respiratory wards."""
    beds = beds_of(session, pool.resp_ward)
    stays = []
    for i, (stay_days, borrowed_ward) in enumerate([(3, False), (0, False), (6, True), (10, False)]):
        bed = beds[i]
        department = pool.cardiology if borrowed_ward else pool.respiratory
        a = admit_to(session, pool, bed, department)
        discharged = None
        if i != 3:
            discharged = a.admitted_on + timedelta(days=stay_days)
            svc.discharge(session, pool.nurse, a.id, disposition=1, discharged_on=discharged)
        stays.append(domain.Stay(a.admitted_on, discharged, borrowed=a.borrowed))
        clock.advance(timedelta(days=2))
    return stays


def test_database_aggregates_match_the_rules(session: Session, pool: Pool, frozen_clock: FrozenClock) -> None:
    stays = _history(session, pool, frozen_clock)
    start, end = date(2026, 5, 8), date(2026, 5, 20)
    rows = svc.bed_indicators(session, pool.bedmgr, pool.hospital.id, start, end)
    assert len(rows) == 1
    got = rows[0].values
    expected = domain.indicators(stays, got.open_beds, start, end)
    assert got.open_beds == 5 + 4 + 2 + 4 + 3  # every bed of the pool (none closed)
    for name in ("occupied_bed_days", "admissions", "discharges", "discharged_bed_days", "borrowed"):
        assert getattr(got, name) == getattr(expected, name), name
    # 8–9 May; a same-day stay on 9 May counts one; 11–16 May; 13–20 May (still in at the end)
    assert got.occupied_bed_days == 2 + 1 + 6 + 8
    assert round(got.average_length_of_stay, 2) == round(expected.average_length_of_stay, 2)
    by_ward = {
        r.label: r.values
        for r in svc.bed_indicators(session, pool.bedmgr, pool.hospital.id, start, end, "ward")
    }
    assert by_ward["呼吸科一病区"].occupied_bed_days == got.occupied_bed_days
    by_dept = {
        r.label: r.values
        for r in svc.bed_indicators(session, pool.bedmgr, pool.hospital.id, start, end, "department")
    }
    assert by_dept["心血管内科"].borrowed == 1


def test_api_and_excel(client: TestClient, session: Session, pool: Pool, frozen_clock: FrozenClock) -> None:
    _history(session, pool, frozen_clock)
    user = make_user(session, role=Role.BED_MANAGER, institution=pool.hospital)
    session.commit()
    headers = bearer(client, user)
    params = {"institution_id": pool.hospital.id, "start": "2026-05-01", "end": "2026-05-31"}
    rows = client.get("/api/v1/inpatient/indicators", headers=headers, params=params).json()
    assert rows[0]["label"].endswith("（全院）") and rows[0]["admissions"] == 4 and rows[0]["discharges"] == 3
    r = client.get("/api/v1/inpatient/indicators.xlsx", headers=headers, params=params)
    assert r.status_code == 200
    sheet = load_workbook(BytesIO(r.content)).active
    assert sheet is not None
    assert sheet.cell(row=2, column=5).value == "病床使用率"
    assert sheet.cell(row=3, column=6).value == 4
    bad = client.get("/api/v1/inpatient/indicators", headers=headers, params={**params, "end": "2026-04-01"})
    assert bad.status_code == 400 and bad.json()["title"] == "住院数据不合法"
    assert business_date() > date(2026, 5, 7)


def test_past_stays_are_taken_over_in_bulk_and_counted(
    session: Session, pool: Pool, frozen_clock: FrozenClock
) -> None:
    today = business_date()
    people = [
        admit_to(session, pool, b, pool.respiratory).patient_id for b in beds_of(session, pool.resp_ward)[:2]
    ]
    first, second = (
        svc.PastStay(
            people[0], pool.respiratory.id, pool.resp_ward.id, today - timedelta(30), today - timedelta(25)
        ),
        svc.PastStay(
            people[1], pool.cardiology.id, pool.resp_ward.id, today - timedelta(20), today - timedelta(10), 2
        ),
    )
    before = session.query(svc.Admission).count()
    bad = [
        [svc.PastStay(people[0], pool.respiratory.id, 99_999, today - timedelta(5), today - timedelta(2))],
        [svc.PastStay(people[0], pool.respiratory.id, pool.resp_ward.id, today - timedelta(5), today)],
        [
            first,
            svc.PastStay(
                people[0],
                pool.respiratory.id,
                pool.resp_ward.id,
                today - timedelta(27),
                today - timedelta(22),
            ),
        ],
        [
            svc.PastStay(
                people[0],
                pool.respiratory.id,
                pool.resp_ward.id,
                today - timedelta(5),
                today - timedelta(2),
                9,
            )
        ],
    ]
    for stays in bad:
        with pytest.raises(svc.InvalidInpatientInput):
            svc.import_past_stays(session, pool.bedmgr, pool.hospital.id, stays)
    assert session.query(svc.Admission).count() == before  # nothing stored
    assert svc.import_past_stays(session, pool.bedmgr, pool.hospital.id, [first, second]) == 2
    rows = svc.bed_indicators(
        session, pool.bedmgr, pool.hospital.id, today - timedelta(30), today - timedelta(10)
    )
    got = rows[0].values
    assert (got.admissions, got.discharges, got.borrowed) == (2, 2, 1)
    assert got.occupied_bed_days == 5 + 10  # the discharge day is not a bed-day
    moved = session.query(svc.Movement).filter(svc.Movement.reason == "历史住院导入").count()
    assert moved == 2


def test_patients_in_hospital_at_go_live_are_taken_over_with_their_beds(
    session: Session, pool: Pool, frozen_clock: FrozenClock
) -> None:
    today = business_date()
    free = [b for b in beds_of(session, pool.resp_ward) if b.state == "free"]
    occupied = admit_to(session, pool, free[0], pool.respiratory)
    man, woman = patient(session, pool, sex=Sex.MALE), patient(session, pool, sex=Sex.FEMALE)
    own = svc.CurrentStay(man.id, pool.respiratory.id, free[1].id, today - timedelta(days=4))
    borrowed = svc.CurrentStay(woman.id, pool.cardiology.id, free[2].id, today - timedelta(days=2))
    before = (session.query(svc.Admission).count(), session.query(svc.BedEvent).count())
    bad: list[tuple[type[Exception], list[svc.CurrentStay]]] = [
        (svc.InvalidInpatientInput, [replace(own, bed_id=99_999)]),  # unknown bed
        (svc.BedTaken, [own, replace(borrowed, bed_id=free[0].id)]),  # an occupied bed
        (svc.AlreadyInHospital, [replace(own, patient_id=occupied.patient_id)]),
        (svc.InvalidInpatientInput, [replace(own, admitted_on=today + timedelta(days=1))]),
        (svc.InvalidInpatientInput, [own, replace(borrowed, patient_id=man.id)]),  # a patient twice
        (svc.InvalidInpatientInput, [replace(own, department_id=99_999)]),
    ]
    for error, stays in bad:
        with pytest.raises(error):
            svc.import_current_stays(session, pool.bedmgr, pool.hospital.id, stays)
        session.expire_all()
        assert (session.query(svc.Admission).count(), session.query(svc.BedEvent).count()) == before
        assert [svc.get_bed(session, b.id).state for b in free[1:3]] == ["free", "free"]  # nothing stored

    ids = svc.import_current_stays(session, pool.bedmgr, pool.hospital.id, [own, borrowed])
    first, second = (svc.find_admission(session, i) for i in ids)
    assert (first.status, first.bed_id, first.borrowed, first.admitted_on) == (
        "admitted",
        free[1].id,
        False,
        today - timedelta(days=4),
    )
    assert second.borrowed and second.in_hospital == woman.id
    bed = svc.get_bed(session, free[2].id)
    assert (bed.state, bed.admission_id, bed.occupant_sex, bed.using_department_id) == (
        "occupied",
        second.id,
        "F",
        pool.cardiology.id,
    )
    assert svc.repo.bed_history(session, bed.id)[-1].reason == "在院患者接管"
    # a second take-over of the same patients is refused, the nightly job charges them once
    with pytest.raises(svc.BedTaken):
        svc.import_current_stays(session, pool.bedmgr, pool.hospital.id, [own])
    assert svc.charge_day(session, first.id, today) == 2 and svc.charge_day(session, first.id, today) == 0
    # the bed-days since admission count; the borrowed bed returns to its owner on discharge
    got = svc.bed_indicators(session, pool.bedmgr, pool.hospital.id, today - timedelta(days=10), today)[0]
    assert got.values.occupied_bed_days >= 5 + 3
    svc.discharge(session, pool.nurse, second.id, disposition=1)
    assert svc.get_bed(session, free[2].id).using_department_id == pool.respiratory.id
