"""Alliance indicators (医联体运行指标) per alliance, member and month: built from referrals, the referral
reserve, outpatient visits, sittings and readings made here, checked figure by figure; the API, the Excel
export and bad input (Chinese problem+json)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from io import BytesIO

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from pydicom.uid import generate_uid
from sqlalchemy.orm import Session

from tests.alliance.world import CLINIC_DAY, World, staff
from tests.builders import SYSTEM, bearer, make_department, make_patient, make_practitioner, make_user
from yilian.alliance import errors, service, stats
from yilian.alliance.schemas import PostingCreate, SittingRecord
from yilian.kit import clock
from yilian.kit.auth.domain import Role
from yilian.kit.errors import Forbidden
from yilian.outpatient import service as outpatient
from yilian.outpatient.schemas import EncounterCreate
from yilian.results import service as results
from yilian.results.domain import ResultStatus
from yilian.results.imaging import ImagingInput

MAY = (date(2026, 5, 1), date(2026, 5, 31))


def _activity(session: Session, w: World, fc: clock.FrozenClock) -> None:
    """In May 2026: three up-referrals (one refused, one accepted after 2 h and booked into a kept place),
    visits (3 at the member, 1 at the lead), two sitting days (one attended), one reading (5 h)."""
    service.reserve_places(session, start=CLINIC_DAY, end=CLINIC_DAY)  # 20 % of 20 places = 4 kept
    a = w.refer_up(session)
    b = w.refer_up(session)
    w.refer_up(session)  # left unanswered
    fc.advance(timedelta(hours=2))
    service.accept(session, w.desk, a.id)
    service.refuse(session, w.desk, b.id, "专科无床位")
    slot = service.bookable_slots(session, w.desk, a.id)[0][1][0][0]
    service.book(session, w.desk, a.id, slot.id)
    gp_dept = make_department(session, institution=w.member, name="全科")
    for n in range(3):
        p = make_patient(session, name="就诊" + "甲乙丙"[n], institution=w.member)
        outpatient.open_encounter(
            session, w.gp_actor, EncounterCreate(patient_id=p.id, department_id=gp_dept.id)
        )
    outpatient.open_encounter(
        session, w.specialist, EncounterCreate(patient_id=w.patient.id, department_id=w.dept.id)
    )
    posting = service.create_posting(
        session,
        SYSTEM,
        w.network.id,
        PostingCreate(
            practitioner_id=w.expert.id,
            member_institution_id=w.member.id,
            member_department_id=gp_dept.id,
            start=date(2026, 5, 11),
            end=date(2026, 5, 14),
            weekdays=[0, 3],
        ),
    )
    sittings = service.sittings_of(session, SYSTEM, posting.id)
    study = results.ingest_imaging(
        session,
        ImagingInput(
            study_uid=generate_uid(),
            id_number=w.patient.id_number,
            sender_code=w.member.code,
            modality="CT",
            body_part="CHEST",
            started=datetime(2026, 5, 7, 0, 30, tzinfo=UTC),
            report_text="待诊断中心出具报告",
            status=ResultStatus.PRELIMINARY,
        ),
    ).result_ids[0]
    reading = service.queue_reading(session, w.gp_actor, study)
    r1 = staff(Role.DOCTOR, w.lead, make_practitioner(session, institution=w.lead, name="影像甲"))
    r2 = staff(Role.DOCTOR, w.lead, make_practitioner(session, institution=w.lead, name="影像乙"))
    r2 = replace(r2, username="reader-2")
    service.claim_reading(session, r1, reading.id)
    service.report_reading(session, r1, reading.id, "双肺纹理清晰，未见实变", "胸部 CT 未见异常")
    fc.advance(timedelta(hours=5))
    service.verify_reading(session, r2, reading.id)
    fc.advance(timedelta(days=10))  # 2026-05-17: both sitting days have come
    service.record_sitting(
        session, w.specialist, sittings[0].id, SittingRecord(arrived=True, patients_seen=12)
    )
    service.record_sitting(session, w.specialist, sittings[1].id, SittingRecord(arrived=False))


def test_indicators_add_up_per_member_and_alliance(
    session: Session, world: World, frozen_clock: clock.FrozenClock
) -> None:
    w = world
    _activity(session, w, frozen_clock)
    ind = service.indicators(session, SYSTEM, w.network.id, *MAY)
    by = {r.institution_id: r for r in ind.rows}
    member, lead = by[w.member.id], by[w.lead.id]
    assert [r.month for r in ind.rows] == ["2026-05", "2026-05"] and ind.rows[0].is_lead  # lead first
    assert (member.up_referrals, member.accepted, member.refused, member.answered) == (3, 1, 1, 2)
    assert member.acceptance_hours == 2.0 and lead.up_referrals == 0
    assert (lead.reserved_places, lead.reserved_used, lead.reserve_use_rate) == (4, 1, 0.25)
    assert (member.visits, member.grassroots_visits, lead.visits, lead.grassroots_visits) == (3, 3, 1, 0)
    assert member.grassroots and not lead.grassroots
    assert (member.sitting_days, member.sitting_patients) == (1, 12)
    assert (member.readings, member.reading_hours) == (1, 5.0)
    [total] = ind.totals
    assert total.institution == stats.TOTAL and total.visits == 4 and total.grassroots_share == 0.75
    assert (total.up_referrals, total.reserved_used, total.sitting_days, total.readings) == (3, 1, 1, 1)
    april = service.indicators(session, SYSTEM, w.network.id, date(2026, 4, 1), date(2026, 4, 30))
    assert all(
        r.up_referrals == r.visits == r.readings == 0 for r in april.rows
    )  # nothing leaks across months
    bulk = service.indicator_rows(session, *MAY)  # the analytics' bulk read: every alliance
    assert [r for r in bulk if r.network_id == w.network.id] == ind.rows


def test_indicator_bad_input_and_access(session: Session, world: World) -> None:
    w = world
    with pytest.raises(errors.InvalidNetwork, match="不能早于"):
        service.indicators(session, SYSTEM, w.network.id, date(2026, 5, 31), date(2026, 5, 1))
    with pytest.raises(errors.InvalidNetwork, match="366"):
        service.indicators(session, SYSTEM, w.network.id, date(2025, 1, 1), date(2026, 5, 1))
    with pytest.raises(Forbidden):
        service.indicators(session, w.gp_actor, w.network.id, *MAY)  # a member's doctor
    assert service.indicators(session, w.desk, w.network.id, *MAY).rows  # the lead's referral desk


def test_indicators_over_http_and_excel(
    session: Session, client: TestClient, world: World, frozen_clock: clock.FrozenClock
) -> None:
    w = world
    _activity(session, w, frozen_clock)
    admin = bearer(client, make_user(session, role=Role.ADMIN))
    gp = bearer(client, make_user(session, role=Role.DOCTOR, institution=w.member, practitioner=w.gp))
    url = f"/api/v1/alliance/networks/{w.network.id}/indicators"
    got = client.get(url, params={"start": "2026-05-01", "end": "2026-05-31"}, headers=admin)
    assert got.status_code == 200, got.text
    [total] = got.json()["totals"]
    assert total["grassroots_share"] == 0.75 and total["acceptance_hours"] == 2.0
    bad = client.get(url, params={"start": "2026-05-31", "end": "2026-05-01"}, headers=admin)
    assert bad.status_code == 400 and bad.headers["content-type"].startswith("application/problem+json")
    assert bad.json()["title"] == "医联体信息不合法" and "不能早于" in bad.json()["detail"]
    assert client.get(url, params={"start": "2026-05-01", "end": "2026-05-31"}, headers=gp).status_code == 403
    xlsx = client.get(url + ".xlsx", params={"start": "2026-05-01", "end": "2026-05-31"}, headers=admin)
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    wb = load_workbook(BytesIO(xlsx.content))
    assert wb.sheetnames == ["医联体按月", "成员机构按月"]
    sheet = wb["医联体按月"]
    assert [c.value for c in sheet[2]][:4] == ["月份", "医联体", "机构", "上转"]
    row = [c.value for c in sheet[3]]
    assert row[0] == "2026-05" and row[2] == stats.TOTAL and row[3] == 3 and row[13] == 0.75
    assert len(list(wb["成员机构按月"].iter_rows(min_row=3))) == 2
