"""Per-visit consent (grant / refuse / revoke / expire) and the feed built from outbox events."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.builders import SYSTEM, make_patient
from tests.companion.world import World, invite, person, pump, relate, texts
from yilian.companion import service
from yilian.companion.domain import Basis, EndReason, VisitKind
from yilian.companion.errors import InvalidFollow
from yilian.companion.models import Follow
from yilian.companion.schemas import FollowCreate
from yilian.kit import clock, events
from yilian.kit.access_log import AccessAudit
from yilian.kit.auth.domain import Role
from yilian.kit.errors import Forbidden
from yilian.registry.domain import RelationType, Sex
from yilian.scheduling import service as scheduling


def count(session: Session, model: type) -> int:
    return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_patient_invites_her_father_and_he_reads_relation_aware_lines(session: Session, world: World) -> None:
    f = service.grant(session, person(world.girl.id), invite(world, results=True))
    assert (f.progress, f.results, f.bills) == (True, True, False)
    assert f.relative_role == "parent" and f.basis == "self"
    assert f.expires_at == clock.local_datetime(date(2026, 5, 8), time(0))  # the end of the visit day
    audit = session.scalars(
        select(AccessAudit).where(AccessAudit.resource == f"companion/follows/{f.id}")
    ).all()
    assert [a.action for a in audit] == ["create"] and "进度、结果" in audit[0].reason
    # someone else checks in first, then the girl: "女儿已签到，前面还有 1 人"
    other = make_patient(session, name="王五")
    b2 = scheduling.book(session, SYSTEM, slot_id=world.slots[1].id, patient_id=other.id, channel="desk")
    scheduling.confirm(session, SYSTEM, b2.id)
    scheduling.check_in(session, SYSTEM, b2.id)
    scheduling.check_in(session, SYSTEM, world.booking_id)
    pump(session)
    assert texts(session, f.id) == ["女儿已签到，前面还有 1 人"]
    first = scheduling.call_next(session, SYSTEM, world.schedule.id)
    assert first.patient_id == other.id
    pump(session)  # another patient called: the girl's father reads only her place, no other name
    assert texts(session, f.id)[-1] == "女儿前面还有 0 人" and "王" not in "".join(texts(session, f.id))
    scheduling.call_next(session, SYSTEM, world.schedule.id)
    pump(session)
    assert texts(session, f.id)[-1].startswith("女儿被叫号了，请到")
    # the relative's view of the feed is audited: who, which patient, which scope
    view = service.open_feed(session, person(world.father.id, Role.FAMILY), f.id)
    assert view.ended is None and len(view.items) == 3
    row = session.scalars(select(AccessAudit).order_by(AccessAudit.id.desc())).first()
    assert row is not None and row.patient_id == world.girl.id and row.action == "read"
    assert row.username == f"family{world.father.id}" and "进度、结果" in row.reason


def test_each_scope_filters_its_events(session: Session, world: World) -> None:
    progress_only = service.grant(session, person(world.girl.id), invite(world))
    mother = make_patient(session, name="陈红", birth_date=date(1986, 1, 1), sex=Sex.FEMALE)
    relate(session, world.girl, mother, RelationType.PARENT)
    bills_only = service.grant(
        session, person(world.girl.id), invite(world, relative_id=mother.id, progress=False, bills=True)
    )
    events.emit(session, "results.received", {"result_ids": [1, 2], "patient_ids": [world.girl.id]})
    events.emit(session, "billing.arrears_opened", {"patient_id": world.girl.id, "amount": 1250})
    scheduling.check_in(session, SYSTEM, world.booking_id)
    pump(session)
    assert texts(session, progress_only.id) == ["女儿已签到，前面还有 0 人"]
    assert texts(session, bills_only.id) == ["女儿有待补缴的费用 ¥12.50"]


def test_results_scope_is_opt_in_and_shows_results(session: Session, world: World) -> None:
    f = service.grant(session, person(world.girl.id), invite(world, results=True))
    events.emit(session, "results.received", {"result_ids": [7], "patient_ids": [world.girl.id, 999999]})
    pump(session)
    assert texts(session, f.id) == ["女儿的 1 项检查检验结果已出，可在报告中查看"]


def test_revocation_stops_the_next_event_and_is_audited(session: Session, world: World) -> None:
    f = service.grant(session, person(world.girl.id), invite(world, results=True))
    scheduling.check_in(session, SYSTEM, world.booking_id)
    pump(session)
    service.revoke(session, person(world.girl.id), f.id)
    scheduling.call_next(session, SYSTEM, world.schedule.id)
    events.emit(session, "results.received", {"result_ids": [1], "patient_ids": [world.girl.id]})
    pump(session)
    assert len(texts(session, f.id)) == 1
    view = service.open_feed(session, person(world.father.id, Role.FAMILY), f.id)
    assert view.ended is EndReason.REVOKED and view.items == []
    actions = session.scalars(
        select(AccessAudit.action)
        .where(AccessAudit.resource == f"companion/follows/{f.id}")
        .order_by(AccessAudit.id)
    ).all()
    assert list(actions) == ["create", "update"]
    with pytest.raises(Forbidden):  # the relative cannot revoke (nor re-grant) for her
        service.revoke(session, person(world.father.id, Role.FAMILY), f.id)


def test_expiry_on_a_moved_clock(session: Session, world: World, frozen_clock: clock.FrozenClock) -> None:
    f = service.grant(session, person(world.girl.id), invite(world))
    frozen_clock.advance(timedelta(days=1))  # past the end of the visit day
    events.emit(session, "billing.arrears_opened", {"patient_id": world.girl.id, "amount": 1})
    scheduling_event = {"kind": "called", "schedule_id": world.schedule.id, "patient_id": world.girl.id}
    events.emit(session, "scheduling.queue_changed", scheduling_event)
    pump(session)
    assert texts(session, f.id) == []
    assert service.open_feed(session, person(world.father.id, Role.FAMILY), f.id).ended is EndReason.EXPIRED


@pytest.mark.parametrize("state", ["pending", "rejected"])
def test_unverified_relations_get_nothing(session: Session, world: World, state: str) -> None:
    aunt = make_patient(session, name="林芳", birth_date=date(1980, 2, 2), sex=Sex.FEMALE)
    relate(session, world.girl, aunt, RelationType.OTHER, verify=None if state == "pending" else False)
    before = (count(session, Follow), count(session, AccessAudit))
    with pytest.raises(InvalidFollow) as err:
        service.grant(session, person(world.girl.id), invite(world, relative_id=aunt.id))
    assert "核验" in err.value.detail
    assert (count(session, Follow), count(session, AccessAudit)) == before


def test_non_relative_relative_of_relative_and_ex_spouse_fail(session: Session, world: World) -> None:
    stranger = make_patient(session, name="路人")
    grandma = make_patient(session, name="林奶奶", birth_date=date(1955, 1, 1), sex=Sex.FEMALE)
    relate(session, world.father, grandma, RelationType.PARENT)  # the father's mother: not bound to the girl
    for other in (stranger, grandma):
        with pytest.raises(InvalidFollow):
            service.grant(session, person(world.girl.id), invite(world, relative_id=other.id))
    # an ex-spouse who binds an adult patient after the divorce: the relation stays unconfirmed, unverified
    adult = make_patient(session, name="周敏", birth_date=date(1988, 1, 1), sex=Sex.FEMALE)
    ex = make_patient(session, name="赵刚", birth_date=date(1987, 1, 1))
    from yilian.registry import service as registry
    from yilian.registry.schemas import RelationCreate

    registry.add_relation(
        session, person(ex.id), ex.id, RelationCreate(relative_id=adult.id, relation_type=RelationType.SPOUSE)
    )
    b = scheduling.book(session, SYSTEM, slot_id=world.slots[2].id, patient_id=adult.id, channel="desk")
    with pytest.raises(InvalidFollow):  # even the patient herself cannot invite him
        service.grant(
            session,
            person(adult.id),
            FollowCreate(patient_id=adult.id, relative_id=ex.id, visit_kind=VisitKind.BOOKING, visit_id=b.id),
        )
    with pytest.raises(Forbidden):  # and he cannot invite himself
        service.grant(
            session,
            person(ex.id),
            FollowCreate(patient_id=adult.id, relative_id=ex.id, visit_kind=VisitKind.BOOKING, visit_id=b.id),
        )
    assert count(session, Follow) == 0


def test_visit_of_another_patient_is_refused(session: Session, world: World) -> None:
    other = make_patient(session, name="王五")
    b2 = scheduling.book(session, SYSTEM, slot_id=world.slots[1].id, patient_id=other.id, channel="desk")
    with pytest.raises(InvalidFollow, match="不是本患者"):
        service.grant(session, person(world.girl.id), invite(world, visit_id=b2.id))
    with pytest.raises(Forbidden):  # nor may a patient grant for someone else
        service.grant(session, person(other.id), invite(world))
    assert count(session, Follow) == 0


def test_guardian_of_a_minor_and_authorised_relative(session: Session, world: World) -> None:
    # the father, as guardian of his 12-year-old daughter, invites the mother
    mother = make_patient(session, name="陈红", birth_date=date(1986, 1, 1), sex=Sex.FEMALE)
    relate(session, world.girl, mother, RelationType.PARENT)
    f = service.grant(
        session,
        person(world.father.id, Role.FAMILY),
        invite(world, relative_id=mother.id, basis=Basis.GUARDIAN),
    )
    assert f.basis == "guardian" and f.granted_by == f"family{world.father.id}"
    service.revoke(session, person(world.father.id, Role.FAMILY), f.id)  # the guardian may revoke too
    # an adult patient: the guardian path is closed; an authorised relative needs evidence
    grandpa = make_patient(session, name="林老汉", birth_date=date(1940, 1, 1))
    son = world.father
    relate(session, grandpa, son, RelationType.CHILD)
    b = scheduling.book(session, SYSTEM, slot_id=world.slots[3].id, patient_id=grandpa.id, channel="desk")
    data = {"patient_id": grandpa.id, "relative_id": son.id, "visit_kind": "booking", "visit_id": b.id}
    with pytest.raises(Forbidden):
        service.grant(
            session, person(son.id, Role.FAMILY), FollowCreate.model_validate({**data, "basis": "self"})
        )
    with pytest.raises(InvalidFollow, match="成年"):
        service.grant(
            session, person(son.id, Role.FAMILY), FollowCreate.model_validate({**data, "basis": "guardian"})
        )
    with pytest.raises(InvalidFollow, match="依据"):
        service.grant(
            session, person(son.id, Role.FAMILY), FollowCreate.model_validate({**data, "basis": "authorised"})
        )
    g = service.grant(
        session,
        person(son.id, Role.FAMILY),
        FollowCreate.model_validate(
            {**data, "basis": "authorised", "evidence": "南通一院诊断证明：重度认知障碍"}
        ),
    )
    assert g.evidence.startswith("南通一院") and g.relative_role == "child"
    scheduling.confirm(session, SYSTEM, b.id)
    scheduling.check_in(session, SYSTEM, b.id)
    pump(session)
    assert texts(session, g.id) == ["爸爸已预约挂号", "爸爸已签到，前面还有 0 人"]


def test_admission_follow_ends_seven_days_after_discharge(
    session: Session, world: World, frozen_clock: clock.FrozenClock
) -> None:
    f = Follow(
        patient_id=world.girl.id,
        relative_id=world.father.id,
        relation_id=1,
        relative_role="parent",
        visit_kind="admission",
        visit_id=4242,
        progress=True,
        results=False,
        bills=True,
        basis="self",
        granted_by="t",
        granted_at=clock.utcnow(),
        expires_at=None,
    )
    f.relation_id = session.scalars(select(Follow.relation_id)).first() or _relation(session, world)
    session.add(f)
    session.flush()
    events.emit(session, "inpatient.deposit_paid", {"admission_id": 4242, "amount": 200000})
    events.emit(session, "inpatient.discharged", {"admission_id": 4242, "institution_id": 1})
    pump(session)
    assert texts(session, f.id) == ["女儿的住院押金已缴 ¥2000.00", "女儿已出院"]
    assert f.expires_at == clock.utcnow() + timedelta(days=7)
    frozen_clock.advance(timedelta(days=7, seconds=1))
    assert service.end_reason(f) is EndReason.EXPIRED


def _relation(session: Session, world: World) -> int:
    from yilian.registry import service as registry

    return next(
        r.id for r in registry.relation_reads(session, world.girl.id) if r.relative_id == world.father.id
    )


def test_a_guardians_authority_ends_on_the_childs_eighteenth_birthday(session: Session, world: World) -> None:
    """A parent's relation as guardian lapses when the child comes of age: the day before her 18th
    birthday he may still grant for her, on the birthday itself the grant is refused and nothing stored."""
    today = clock.business_date()

    def child_born(birth: date, slot: int) -> tuple[FollowCreate, int]:
        child = make_patient(session, name="林小满之妹", birth_date=birth, sex=Sex.FEMALE)
        relate(session, child, world.father, RelationType.PARENT)
        b = scheduling.book(
            session, SYSTEM, slot_id=world.slots[slot].id, patient_id=child.id, channel="desk"
        )
        data = {
            "patient_id": child.id,
            "relative_id": world.father.id,
            "visit_kind": "booking",
            "visit_id": b.id,
        }
        return FollowCreate.model_validate({**data, "basis": "guardian"}), child.id

    seventeen, _ = child_born(today.replace(year=today.year - 18) + timedelta(days=1), 4)
    f = service.grant(session, person(world.father.id, Role.FAMILY), seventeen)
    assert f.basis == "guardian"

    eighteen, adult_id = child_born(today.replace(year=today.year - 18), 5)
    before = count(session, Follow)
    with pytest.raises(InvalidFollow, match="成年"):
        service.grant(session, person(world.father.id, Role.FAMILY), eighteen)
    assert count(session, Follow) == before
    assert session.scalar(select(func.count()).select_from(Follow).where(Follow.patient_id == adult_id)) == 0
