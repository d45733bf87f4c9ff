"""Every query of herbal prescriptions (中药处方 / 膏方) and their lines."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Subquery, select, update
from sqlalchemy.orm import Session

from yilian.outpatient.domain import OrderStatus
from yilian.outpatient.herbal_models import HerbalLine, HerbalPrescription
from yilian.outpatient.models import Order


def prescription_by_token(session: Session, token: str) -> HerbalPrescription | None:
    return session.scalar(select(HerbalPrescription).where(HerbalPrescription.track_token == token))


def lines_of(session: Session, prescription_id: int) -> list[HerbalLine]:
    return list(
        session.scalars(
            select(HerbalLine).where(HerbalLine.prescription_id == prescription_id).order_by(HerbalLine.id)
        )
    )


def live_fee_order_ids(
    session: Session, encounter_id: int, fee_codes: Sequence[str], since: datetime
) -> Sequence[int]:
    """The encounter's orders of ``fee_codes`` placed since ``since`` that are not cancelled."""
    return session.scalars(
        select(Order.id).where(
            Order.encounter_id == encounter_id,
            Order.item_code.in_(fee_codes),
            Order.status != OrderStatus.CANCELLED.value,
            Order.placed_at >= since,
        )
    ).all()


def in_states(
    session: Session, institution_ids: Sequence[int], states: Sequence[str]
) -> list[HerbalPrescription]:
    stmt = (
        select(HerbalPrescription)
        .where(
            HerbalPrescription.institution_id.in_(list(institution_ids)),
            HerbalPrescription.status.in_(states),
        )
        .order_by(HerbalPrescription.id)
    )
    return list(session.scalars(stmt))


def written_between(
    session: Session, institution_ids: Sequence[int], start: datetime, end: datetime
) -> list[HerbalPrescription]:
    """The prescriptions of ``institution_ids`` written in [start, end)."""
    return list(
        session.scalars(
            select(HerbalPrescription).where(
                HerbalPrescription.institution_id.in_(institution_ids),
                HerbalPrescription.created_at >= start,
                HerbalPrescription.created_at < end,
            )
        )
    )


def promises() -> Subquery:
    """Every prescription's (id, promised_at, institution_id), for another area's statement to join."""
    return select(
        HerbalPrescription.id, HerbalPrescription.promised_at, HerbalPrescription.institution_id
    ).subquery("herbal_promises")


def move_if_in(session: Session, prescription_id: int, current: str, **values: Any) -> bool:
    """Set ``values`` on the prescription if its stored state still is ``current`` (conditional UPDATE)."""
    result = session.execute(
        update(HerbalPrescription)
        .where(HerbalPrescription.id == prescription_id, HerbalPrescription.status == current)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]
