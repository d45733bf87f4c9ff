"""亲情付 from the feed: a relative with the 费用 scope and the patient's 亲情付 consent settles her bill of
today through billing (he pays the cash part, once per key); without either, nothing is paid."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.billing.world import ITEMS, seed_policies
from tests.builders import SYSTEM, actor_of, make_user
from tests.companion.world import World, invite, person, pump, texts
from yilian.billing import service as billing
from yilian.billing.domain import Channel
from yilian.billing.models import Payment, Settlement
from yilian.catalog import service as catalog
from yilian.companion import service
from yilian.companion.errors import InvalidFollow, NotYourFollow
from yilian.kit.access_log import AccessAudit
from yilian.kit.auth.domain import Actor, Role
from yilian.outpatient import service as outpatient
from yilian.outpatient.schemas import EncounterCreate
from yilian.registry import service as registry
from yilian.registry.domain import ConsentScope
from yilian.registry.models import Department, Institution, Practitioner
from yilian.registry.schemas import ConsentCreate

CT = "210300001000000"  # 胸部CT平扫 ¥240, 乙 10 %


def _bill(session: Session, w: World) -> int:
    """The girl sees the doctor and gets a CT on credit: her bill of today."""
    catalog.import_items(session, ITEMS)
    seed_policies(session)
    doctor = _doctor(session, w)
    enc = outpatient.open_encounter(
        session, doctor, EncounterCreate(patient_id=w.girl.id, department_id=w.schedule.department_id)
    )
    billing.order_with_credit(session, doctor, enc.id, CT)
    return enc.id


def _doctor(session: Session, w: World) -> Actor:
    dept = session.get(Department, w.schedule.department_id)
    assert dept is not None
    inst = session.get(Institution, dept.institution_id)
    doc = session.get(Practitioner, w.schedule.practitioner_id)
    return actor_of(make_user(session, role=Role.DOCTOR, institution=inst, practitioner=doc))


def _family_pay_consent(session: Session, w: World) -> None:
    relation = next(r for r in registry.relation_reads(session, w.girl.id) if r.relative_id == w.father.id)
    registry.grant_consent(
        session,
        SYSTEM,
        ConsentCreate(relation_id=relation.id, grantor_id=w.girl.id, scope=ConsentScope.FAMILY_PAY),
    )


def test_father_pays_her_bill_from_the_feed_once(session: Session, world: World) -> None:
    father = person(world.father.id, Role.FAMILY)
    f = service.grant(session, person(world.girl.id), invite(world, bills=True))
    encounter_id = _bill(session, world)
    assert service.family_bills(session, father, f.id) == []  # no 亲情付 consent yet: nothing offered
    with pytest.raises(InvalidFollow):
        service.pay_as_family(
            session,
            father,
            f.id,
            encounter_id=encounter_id,
            channel=Channel.WECHAT,
            idempotency_key="fp-0000",
        )
    assert session.scalar(select(func.count()).select_from(Settlement)) == 0

    _family_pay_consent(session, world)
    [bill] = service.family_bills(session, father, f.id)
    assert (bill.encounter_id, bill.total, bill.settled) == (encounter_id, 24_000, False)
    assert 0 < bill.cash <= bill.total
    paid = service.pay_as_family(
        session, father, f.id, encounter_id=encounter_id, channel=Channel.WECHAT, idempotency_key="fp-0001"
    )
    again = service.pay_as_family(  # a double tap with the same key: the same settlement, one payment
        session, father, f.id, encounter_id=encounter_id, channel=Channel.WECHAT, idempotency_key="fp-0001"
    )
    assert again.id == paid.id and paid.cash_payer_id == world.father.id and paid.cash == bill.cash
    assert paid.fund + paid.personal_account + paid.mutual_aid + paid.cash == paid.total == 24_000
    payments = session.scalars(select(Payment).where(Payment.reference == f"settlement:{paid.id}")).all()
    assert [(p.payer_patient_id, p.amount) for p in payments] == [(world.father.id, paid.cash)]
    [after] = service.family_bills(session, father, f.id)
    assert after.settled and after.paid_by_relative
    pump(session)  # the settlement is in his feed (费用 scope)
    assert texts(session, f.id)[-1] == "女儿的门诊费用已结算"
    reasons = session.scalars(
        select(AccessAudit.reason).where(AccessAudit.resource == f"companion/follows/{f.id}/family-pay")
    ).all()
    assert reasons == [f"亲情付：就诊 {encounter_id}"] * 2
    with pytest.raises(InvalidFollow, match="不是本患者"):  # another patient's visit is not his to pay
        other = outpatient.open_encounter(
            session,
            _doctor(session, world),
            EncounterCreate(patient_id=world.father.id, department_id=world.schedule.department_id),
        )
        service.pay_as_family(
            session, father, f.id, encounter_id=other.id, channel=Channel.WECHAT, idempotency_key="fp-0002"
        )


def test_family_pay_needs_the_bills_scope_a_live_follow_and_her_visit(session: Session, world: World) -> None:
    father = person(world.father.id, Role.FAMILY)
    encounter_id = _bill(session, world)
    _family_pay_consent(session, world)
    progress_only = service.grant(session, person(world.girl.id), invite(world))
    with pytest.raises(InvalidFollow, match="未授权您查看费用"):
        service.pay_as_family(
            session,
            father,
            progress_only.id,
            encounter_id=encounter_id,
            channel=Channel.WECHAT,
            idempotency_key="fp-1000",
        )
    service.revoke(session, person(world.girl.id), progress_only.id)
    f = service.grant(session, person(world.girl.id), invite(world, bills=True))
    with pytest.raises(NotYourFollow):  # only the invited relative pays through his follow
        service.pay_as_family(
            session,
            person(world.girl.id),
            f.id,
            encounter_id=encounter_id,
            channel=Channel.WECHAT,
            idempotency_key="fp-1001",
        )
    service.revoke(session, person(world.girl.id), f.id)
    with pytest.raises(InvalidFollow, match="撤销"):
        service.pay_as_family(
            session,
            father,
            f.id,
            encounter_id=encounter_id,
            channel=Channel.WECHAT,
            idempotency_key="fp-1002",
        )
    assert session.scalar(select(func.count()).select_from(Settlement)) == 0
