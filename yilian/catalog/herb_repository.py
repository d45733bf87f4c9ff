"""Every query of the herbal slice catalogue (中药饮片)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from yilian.catalog.herb_models import HerbRow


def herbs_with_codes(session: Session, codes: Sequence[str]) -> dict[str, HerbRow]:
    """The herbs of ``codes`` by code, active or not (for the upsert of an import)."""
    return {h.code: h for h in session.scalars(select(HerbRow).where(HerbRow.code.in_(codes)))}


def active_herbs(session: Session) -> Sequence[HerbRow]:
    return session.scalars(select(HerbRow).where(HerbRow.is_active).order_by(HerbRow.code)).all()


def active_herbs_with_codes(session: Session, codes: Sequence[str]) -> Sequence[HerbRow]:
    return session.scalars(select(HerbRow).where(HerbRow.code.in_(codes), HerbRow.is_active)).all()
