"""Expert sittings (专家下沉坐诊): a posting makes the member's bookable clinic schedules through
scheduling, sitting days are recorded, and the counts add up to the schedules."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy.orm import Session

from tests.alliance.world import World, staff
from tests.builders import SYSTEM, make_department, make_patient, make_practitioner
from yilian.alliance import errors, service
from yilian.alliance.schemas import PostingCreate, SittingRecord
from yilian.kit import clock
from yilian.kit.auth.domain import Role
from yilian.kit.errors import Forbidden
from yilian.scheduling import service as scheduling


def _posting(w: World, dept_id: int, **kw: object) -> PostingCreate:
    data = {
        "practitioner_id": w.expert.id,
        "member_institution_id": w.member.id,
        "member_department_id": dept_id,
        "start": date(2026, 5, 11),
        "end": date(2026, 5, 31),
        "weekdays": [0, 3],
    } | kw
    return PostingCreate.model_validate(data)


def test_posting_makes_bookable_member_clinics_and_counts_add_up(
    session: Session, world: World, frozen_clock: clock.FrozenClock
) -> None:
    w = world
    gp_dept = make_department(session, institution=w.member, name="全科")
    posting = service.create_posting(session, SYSTEM, w.network.id, _posting(w, gp_dept.id))
    sittings = service.sittings_of(session, SYSTEM, posting.id)
    assert [s.day for s in sittings] == [date(2026, 5, d) for d in (11, 14, 18, 21, 25, 28)]
    clinics = scheduling.open_schedules(
        session, start=date(2026, 5, 11), end=date(2026, 5, 31), department_id=gp_dept.id
    )
    assert len(clinics) == len(sittings) and {c.practitioner_id for c in clinics} == {w.expert.id}
    assert {c.institution_id for c in clinics} == {w.member.id} and {c.clinic_type for c in clinics} == {
        "expert"
    }
    patient = make_patient(session, name="钱秀兰", institution=w.member)
    slot = scheduling.slots(session, clinics[0].id)[0]
    booking = scheduling.book(session, SYSTEM, slot_id=slot.id, patient_id=patient.id, channel="desk")
    assert booking.practitioner_id == w.expert.id and booking.fee_fen > 0

    with pytest.raises(errors.InvalidPosting, match="尚未到"):
        service.record_sitting(session, staff(Role.DOCTOR, w.lead, w.expert), sittings[0].id, SittingRecord())
    frozen_clock.advance(timedelta(days=30))
    me = staff(Role.DOCTOR, w.lead, w.expert)
    for n, s in enumerate(sittings):
        arrived = n != 2  # one day missed
        record = SittingRecord(
            arrived=arrived, patients_seen=10 + n if arrived else 0, teaching_rounds=int(arrived)
        )
        service.record_sitting(session, me, s.id, record)
    with pytest.raises(Forbidden):
        service.record_sitting(session, w.gp_actor, sittings[0].id, SittingRecord())
    counts = service.sitting_counts(session, w.network.id, date(2026, 5, 1), date(2026, 5, 31))
    assert len(counts) == 1
    c = counts[0]
    assert (c.month, c.postings, c.scheduled_days, c.sitting_days) == ("2026-05", 1, len(clinics), 5)
    assert c.patients_seen == sum(10 + n for n in range(6) if n != 2) and c.teaching_rounds == 5


def test_bad_postings_refused_in_chinese(session: Session, world: World) -> None:
    w = world
    gp_dept = make_department(session, institution=w.member, name="全科")
    local = make_practitioner(session, institution=w.member, name="本地医生")
    with pytest.raises(errors.InvalidPosting, match="牵头医院"):
        service.create_posting(
            session, SYSTEM, w.network.id, _posting(w, gp_dept.id, practitioner_id=local.id)
        )
    far = make_department(session, institution=w.outsider, name="全科")
    with pytest.raises(errors.OutsideAlliance):
        service.create_posting(
            session, SYSTEM, w.network.id, _posting(w, far.id, member_institution_id=w.outsider.id)
        )
    with pytest.raises(errors.InvalidPosting, match="不能早于"):
        service.create_posting(
            session,
            SYSTEM,
            w.network.id,
            _posting(w, gp_dept.id, start=date(2026, 6, 1), end=date(2026, 5, 1)),
        )
    assert service.postings(session, SYSTEM, w.network.id) == []


def test_sitting_calendar_shows_whose_postings(session: Session, world: World) -> None:
    """The calendar page's data: the expert sees their own postings with the days, the member's
    administrator theirs, a doctor of the member none (they record nothing)."""
    w = world
    gp_dept = make_department(session, institution=w.member, name="全科")
    posting = service.create_posting(session, SYSTEM, w.network.id, _posting(w, gp_dept.id))
    [mine] = service.sitting_calendar(session, staff(Role.DOCTOR, w.lead, w.expert))
    assert mine.posting.id == posting.id and (mine.expert, mine.member, mine.department) == (
        "王专家",
        "测试城东社区",
        "全科",
    )
    assert mine.weekdays_label == "周一、周四" and len(mine.sittings) == 6
    assert [v.posting.id for v in service.sitting_calendar(session, staff(Role.ADMIN, w.member))] == [
        posting.id
    ]
    assert service.sitting_calendar(session, w.gp_actor) == []
    assert [v.posting.id for v in service.sitting_calendar(session, SYSTEM)] == [posting.id]
