"""Herbal prescriptions (中药处方 / 膏方) on a visit: write one (its herbs ordered per gram and the
decoction or 膏方 processing fee per dose, so billing charges them like any order), revise a returned
one, read it, and move its state with a conditional UPDATE so that two people never make the same
step twice. Review and the floor are the pharmacy's; it moves states through ``move``."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Subquery
from sqlalchemy.orm import Session

from yilian.catalog.herb_domain import FormulaClass, Herb
from yilian.catalog.herb_service import DECOCTION_FEE, PASTE_FEE
from yilian.kit.auth.domain import Actor
from yilian.kit.clock import utcnow
from yilian.kit.errors import found
from yilian.outpatient import herbal_repository as repo
from yilian.outpatient import service as encounters
from yilian.outpatient.herbal_domain import (
    EDITABLE,
    HerbalKind,
    HerbalState,
    InvalidHerbal,
    TransitionRefused,
    check_transition,
    check_volume,
)
from yilian.outpatient.herbal_models import HerbalLine as HerbalLine  # re-exported for other areas
from yilian.outpatient.herbal_models import HerbalPrescription as HerbalPrescription  # re-exported
from yilian.outpatient.models import Order

MAX_QUANTITY = 999  # an order's quantity limit: grams × doses of one herb


@dataclass(frozen=True)
class LineInput:
    herb_code: str
    grams: int


@dataclass(frozen=True)
class HerbalInput:
    lines: Sequence[LineInput]
    doses: int = 7
    kind: str = HerbalKind.DECOCTION.value
    formula_class: str = FormulaClass.GENERAL.value
    decoct: bool = True
    bag_ml: int = 200
    bags_per_dose: int = 2
    child: bool = False
    pregnant: bool = False
    instructions: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)


class HerbalNotFound(InvalidHerbal):
    status = 404
    code = "herbal_prescription_not_found"
    title = "中药处方不存在"


def validate(body: HerbalInput, herbs: Mapping[str, Herb]) -> tuple[HerbalKind, FormulaClass]:
    """Check a prescription's shape (the herbs are known: the caller looked them up)."""
    try:
        kind = HerbalKind(body.kind)
    except ValueError as exc:
        raise InvalidHerbal(f"处方类别应为 汤剂 或 膏方，而不是“{body.kind}”") from exc
    try:
        formula = FormulaClass(body.formula_class)
    except ValueError as exc:
        raise InvalidHerbal(f"方剂类别应为 {'、'.join(f.value for f in FormulaClass)} 之一") from exc
    if not body.lines:
        raise InvalidHerbal("处方至少要有一味药")
    if body.doses < 1:
        raise InvalidHerbal(f"剂数应至少为 1，当前 {body.doses}")
    if len(body.instructions) > 200:
        raise InvalidHerbal("用法说明不超过 200 字")
    for line in body.lines:
        if line.grams <= 0:
            raise InvalidHerbal(f"{herbs[line.herb_code].name} 的克数应大于 0，当前 {line.grams} g")
        if line.grams * body.doses > MAX_QUANTITY:
            raise InvalidHerbal(f"{herbs[line.herb_code].name} 总量 {line.grams * body.doses} g 超过 999 g")
    if kind is HerbalKind.DECOCTION and body.decoct:
        if body.bag_ml <= 0 or body.bags_per_dose <= 0:
            raise InvalidHerbal("每袋容量与每剂袋数应大于 0")
        check_volume(body.bag_ml * body.bags_per_dose, child=body.child)
    return kind, formula


def _place_orders(
    session: Session, actor: Actor, p: HerbalPrescription, body: HerbalInput, herbs: Mapping[str, Herb]
) -> list[Order]:
    orders = []
    for line in body.lines:
        herb = herbs[line.herb_code]
        order = encounters.place_order(session, actor, p.encounter_id, herb.code, line.grams * body.doses)
        session.add(
            HerbalLine(
                prescription_id=p.id,
                herb_code=herb.code,
                herb_name=herb.name,
                grams=line.grams,
                handling=herb.handling.value,
                order_id=order.id,
            )
        )
        orders.append(order)
    if p.kind == HerbalKind.PASTE.value:
        orders.append(encounters.place_order(session, actor, p.encounter_id, PASTE_FEE, 1))
    elif p.decoct:
        orders.append(encounters.place_order(session, actor, p.encounter_id, DECOCTION_FEE, body.doses))
    p.amount = sum(o.amount for o in orders)
    p.findings = [dict(o) for o in body.extra.get("findings", [])]
    session.flush()
    return orders


def _apply(p: HerbalPrescription, body: HerbalInput, kind: HerbalKind, formula: FormulaClass) -> None:
    p.kind, p.formula_class, p.doses = kind.value, formula.value, body.doses
    p.decoct = body.decoct or kind is HerbalKind.PASTE
    p.bag_ml, p.bags_per_dose = body.bag_ml, body.bags_per_dose
    p.child, p.pregnant, p.instructions = body.child, body.pregnant, body.instructions.strip()


def write(
    session: Session, actor: Actor, encounter_id: int, body: HerbalInput, herbs: Mapping[str, Herb]
) -> tuple[HerbalPrescription, list[Order]]:
    """A new herbal prescription on an open visit of the doctor's institution, waiting for review."""
    kind, formula = validate(body, herbs)
    encounter = encounters.writable_encounter(session, actor, encounter_id)
    now = utcnow()
    p = HerbalPrescription(
        encounter_id=encounter.id,
        institution_id=encounter.institution_id,
        patient_id=encounter.patient_id,
        doctor_id=actor.user_id,
        doctor_name=actor.display_name or actor.username,
        status=HerbalState.PENDING_REVIEW.value,
        track_token=secrets.token_urlsafe(12),
        created_at=now,
        updated_at=now,
    )
    _apply(p, body, kind, formula)
    session.add(p)
    session.flush()
    return p, _place_orders(session, actor, p, body, herbs)


def revise(
    session: Session, actor: Actor, p: HerbalPrescription, body: HerbalInput, herbs: Mapping[str, Herb]
) -> list[Order]:
    """Replace a returned prescription's content (the caller cancelled its old orders) and send it again."""
    kind, formula = validate(body, herbs)
    if HerbalState(p.status) not in EDITABLE:
        raise TransitionRefused(f"处方“{p.status}”，不能修改")
    if p.doctor_id != actor.user_id:
        encounters.writable_encounter(session, actor, p.encounter_id)
    for line in lines_of(session, p.id):
        session.delete(line)
    session.flush()
    _apply(p, body, kind, formula)
    if p.status == HerbalState.RETURNED.value:
        move(session, p, HerbalState.PENDING_REVIEW)
    p.version += 1
    p.review_reason = ""
    return _place_orders(session, actor, p, body, herbs)


def get(session: Session, prescription_id: int) -> HerbalPrescription:
    return found(
        session.get(HerbalPrescription, prescription_id), HerbalNotFound(f"中药处方不存在: {prescription_id}")
    )


def by_token(session: Session, token: str) -> HerbalPrescription:
    return found(repo.prescription_by_token(session, token), HerbalNotFound("查询码无效"))


def lines_of(session: Session, prescription_id: int) -> list[HerbalLine]:
    return repo.lines_of(session, prescription_id)


def order_ids_of(session: Session, p: HerbalPrescription) -> list[int]:
    """The live orders of a prescription (herbs and fee)."""
    herb_orders = [x.order_id for x in lines_of(session, p.id) if x.order_id is not None]
    fee = repo.live_fee_order_ids(session, p.encounter_id, (DECOCTION_FEE, PASTE_FEE), p.created_at)
    return [*herb_orders, *fee]


def in_states(
    session: Session, institution_ids: Sequence[int], states: Sequence[HerbalState]
) -> list[HerbalPrescription]:
    return repo.in_states(session, institution_ids, [s.value for s in states])


def find_written_between(
    session: Session, institution_ids: Sequence[int], start: datetime, end: datetime
) -> list[HerbalPrescription]:
    """The prescriptions of ``institution_ids`` written in [start, end), without an access check (for the
    pharmacy's indicators, which check their own)."""
    return repo.written_between(session, institution_ids, start, end)


def promises() -> Subquery:
    """A subquery of every prescription's (id, promised_at, institution_id) for another area's
    repository to join in one statement, so it need not read outpatient's tables itself."""
    return repo.promises()


def check_transition_of(p: HerbalPrescription, target: HerbalState) -> None:
    check_transition(HerbalState(p.status), target, decoct=p.decoct)


def move(
    session: Session, p: HerbalPrescription, target: HerbalState, *, at: datetime | None = None, **values: Any
) -> HerbalState:
    """Move ``p`` to ``target`` if its stored state still is the one read (conditional UPDATE); the one
    who loses a race gets ``TransitionRefused``. Returns the state it left."""
    current = HerbalState(p.status)
    check_transition(current, target, decoct=p.decoct)
    if not repo.move_if_in(
        session, p.id, current.value, status=target.value, updated_at=at or utcnow(), **values
    ):
        session.refresh(p)
        raise TransitionRefused(f"处方已被他人处理（当前“{p.status}”）")
    session.refresh(p)
    return current
