"""Referrals through the services: the state machine, bad input refused in Chinese with nothing stored,
the referral share of a clinic held and released, access granted and expired with the referral."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.alliance.world import CLINIC_DAY, World, staff
from tests.builders import make_department, make_patient
from yilian.alliance import errors, service
from yilian.alliance.domain import ReferralKind, State
from yilian.alliance.models import Referral, SlotReserve
from yilian.alliance.schemas import ReferBackBody, ReferralCreate
from yilian.kit import clock
from yilian.kit.access_log import AccessAudit
from yilian.kit.auth.domain import Role
from yilian.kit.errors import Forbidden
from yilian.registry import service as registry
from yilian.scheduling import service as scheduling

SURNAMES = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨朱秦尤许"


def _count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Referral)) or 0


def _slot(session: Session, w: World) -> int:
    return scheduling.slots(session, w.schedule.id)[0].id


def test_full_path_up_and_back_down(session: Session, world: World) -> None:
    w = world
    service.reserve_places(session, start=CLINIC_DAY, end=CLINIC_DAY)
    r = w.refer_up(session)
    assert r.state == "requested" and r.direction == "up" and r.network_id == w.network.id
    service.accept(session, w.desk, r.id)
    assert r.state == "accepted" and r.access_until is not None
    service.book(session, w.desk, r.id, _slot(session, w))
    assert r.state == "booked" and r.used_reserve and r.booking_id is not None
    assert r.to_practitioner_id == w.expert.id and r.booked_day == CLINIC_DAY
    service.mark_arrived(session, w.specialist, r.id)
    down = service.refer_back(
        session,
        w.specialist,
        r.id,
        ReferBackBody(
            kind=ReferralKind.CHRONIC,
            care_plan="二甲双胍 0.5 g 每日三次，每月社区复查血糖",
            follow_up_dates=[date(2026, 6, 11)],
        ),
    )
    assert r.state == "returned" and down.parent_id == r.id and down.direction == "down"
    assert down.to_institution_id == w.member.id and down.state == "requested"
    assert [s.state for s in service.steps(session, r.id)] == [
        "requested",
        "accepted",
        "booked",
        "arrived",
        "returned",
    ]
    received = service.list_referrals(session, w.gp_actor, side="received")
    assert [x.id for x in received] == [down.id]
    service.accept(session, w.gp_actor, down.id)
    service.mark_arrived(session, w.gp_actor, down.id)
    service.close(session, w.gp_actor, down.id, "已建立慢病随访档案")
    assert down.state == "closed"


def test_bad_input_refused_in_chinese_nothing_stored(session: Session, world: World) -> None:
    w = world
    before = _count(session)
    with pytest.raises(errors.OutsideAlliance) as outside:
        w.refer_up(
            session, to_institution_id=w.outsider.id, to_department_id=None, kind=ReferralKind.ADMISSION
        )
    assert "医联体" in outside.value.detail
    empty = make_department(session, institution=w.lead, name="疼痛科")
    with pytest.raises(errors.NoClinic, match="没有可预约的门诊"):
        w.refer_up(session, to_department_id=empty.id)
    down_actor = staff(Role.DOCTOR, w.lead, w.expert)
    inpatient = make_patient(session, name="孙建国", institution=w.lead)

    with pytest.raises(errors.CarePlanMissing, match="方案"):
        service.create_referral(
            session,
            down_actor,
            ReferralCreate(
                patient_id=inpatient.id,
                kind=ReferralKind.REHABILITATION,
                to_institution_id=w.member.id,
                diagnosis="腰椎术后",
                reason="术后康复",
            ),
        )
    assert _count(session) == before
    r = w.refer_up(session)
    service.refuse(session, w.desk, r.id, "本周专家外出，请改约")
    with pytest.raises(errors.ReferralStateError, match="已拒绝"):
        service.accept(session, w.desk, r.id)
    assert session.get(Referral, r.id).state == "refused"  # type: ignore[union-attr]
    with pytest.raises(errors.NotYourReferral):
        service.accept(session, w.gp_actor, w.refer_up(session).id)  # the sender cannot accept


def test_reserve_held_then_released_at_the_cut_off(
    session: Session, world: World, frozen_clock: clock.FrozenClock
) -> None:
    w = world
    slot_id = _slot(session, w)
    run = service.reserve_places(session, start=CLINIC_DAY, end=CLINIC_DAY)
    assert run.reserved_places == 4  # 20 % of 20
    assert scheduling.get_slot(session, slot_id).booked == 4  # held back from the public
    assert service.reserve_places(session, start=CLINIC_DAY, end=CLINIC_DAY).reserved_places == 0  # once
    # the public fills the other 16 places; the 17th is refused while the reserve is kept
    for i in range(16):
        p = make_patient(session, name=f"{SURNAMES[i]}某")
        scheduling.book(session, w.desk, slot_id=slot_id, patient_id=p.id, channel="desk")
    late = make_patient(session, name="晚到者")
    with pytest.raises(scheduling.SlotFull):
        scheduling.book(session, w.desk, slot_id=slot_id, patient_id=late.id, channel="desk")
    r = w.refer_up(session)
    service.accept(session, w.desk, r.id)
    service.book(session, w.desk, r.id, slot_id)
    assert r.used_reserve
    assert service.release_due(session) == 0  # not yet: 24 h before 08:00 on the clinic day
    frozen_clock.set(clock.local_datetime(CLINIC_DAY - timedelta(days=1), scheduling.PERIOD_TIMES["am"][0]))
    assert service.release_due(session) == 3
    assert service.release_due(session) == 0  # released once
    res = session.get(SlotReserve, slot_id)
    assert res is not None and res.used == 1 and res.released == 3
    assert scheduling.get_slot(session, slot_id).booked == 17
    scheduling.book(session, w.desk, slot_id=slot_id, patient_id=late.id, channel="desk")  # now public
    r2 = w.refer_up(session, patient_id=make_patient(session, name="转诊二", institution=w.member).id)
    service.accept(session, w.desk, r2.id)
    service.book(session, w.desk, r2.id, slot_id)  # a public place now
    assert not r2.used_reserve


def test_access_granted_with_the_referral_and_expired_after(
    session: Session, world: World, frozen_clock: clock.FrozenClock
) -> None:
    w = world
    with pytest.raises(Forbidden):
        registry.get_patient(session, w.specialist, w.patient.id)
    r = w.refer_up(session)
    service.accept(session, w.desk, r.id)
    assert registry.get_patient(session, w.specialist, w.patient.id).id == w.patient.id
    service.get_referral(session, w.specialist, r.id)
    audit = session.scalars(
        select(AccessAudit).where(AccessAudit.resource == f"referral/{r.id}", AccessAudit.action == "read")
    ).all()
    assert audit and audit[-1].reason == f"转诊单 {r.id}" and audit[-1].patient_id == w.patient.id
    frozen_clock.advance(timedelta(days=31))
    with pytest.raises(Forbidden):
        registry.get_patient(session, w.specialist, w.patient.id)


def test_reminder_once_after_twelve_hours_and_overdue_after_a_day(
    session: Session, world: World, frozen_clock: clock.FrozenClock
) -> None:
    w = world
    r = w.refer_up(session)
    assert service.remind_and_flag(session) == (0, 0)
    frozen_clock.advance(timedelta(hours=12, minutes=1))
    assert service.remind_and_flag(session) == (1, 0)
    assert service.remind_and_flag(session) == (0, 0)
    frozen_clock.advance(timedelta(hours=12))
    assert service.remind_and_flag(session) == (0, 1) and service.is_overdue(r)


def test_patient_sees_own_referrals_only(session: Session, world: World) -> None:
    from yilian.kit.auth.domain import ROLE_PERMISSIONS, Actor

    w = world
    r = w.refer_up(session)
    me = Actor(
        user_id=None,
        username="p",
        role=Role.PATIENT,
        patient_id=w.patient.id,
        permissions=ROLE_PERMISSIONS[Role.PATIENT],
    )
    assert [x.id for x in service.patient_referrals(session, me, w.patient.id)] == [r.id]
    other = make_patient(session, name="别人")
    with pytest.raises(Forbidden):
        service.patient_referrals(session, me, other.id)
    assert State(r.state).label == "申请"
