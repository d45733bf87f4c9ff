"""Every query of drug knowledge."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from yilian.catalog.drug_models import DrugInteraction, DrugKnowledge


def knowledge_of(session: Session, codes: Sequence[str]) -> Sequence[DrugKnowledge]:
    if not codes:
        return []
    return session.scalars(select(DrugKnowledge).where(DrugKnowledge.item_code.in_(codes))).all()


def pairs_among(session: Session, names: Sequence[str]) -> Sequence[DrugInteraction]:
    return session.scalars(
        select(DrugInteraction).where(DrugInteraction.a.in_(names), DrugInteraction.b.in_(names))
    ).all()


def pair(session: Session, a: str, b: str) -> DrugInteraction | None:
    return session.scalar(
        select(DrugInteraction).where(
            or_(
                (DrugInteraction.a == a) & (DrugInteraction.b == b),
                (DrugInteraction.a == b) & (DrugInteraction.b == a),
            )
        )
    )
