"""Every query of the pharmacy."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from yilian.kit.auth.models import User
from yilian.pharmacy.domain import WindowStatus
from yilian.pharmacy.models import Dispensation, DispensedBatch, Pharmacy, StockBatch


def pharmacy_of(session: Session, institution_id: int) -> Pharmacy | None:
    return session.scalar(
        select(Pharmacy).where(Pharmacy.institution_id == institution_id).order_by(Pharmacy.id)
    )


def institutions_with_pharmacists(session: Session, institution_ids: Sequence[int]) -> set[int]:
    if not institution_ids:
        return set()
    return {
        i
        for i in session.scalars(
            select(User.institution_id).where(
                User.institution_id.in_(institution_ids), User.role == "pharmacist", User.is_active.is_(True)
            )
        )
        if i is not None
    }


def pharmacist(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username, User.is_active.is_(True)))


def batches_fefo(session: Session, pharmacy_id: int, item_code: str, today: date) -> Sequence[StockBatch]:
    """Unexpired batches with stock, first to expire first."""
    return session.scalars(
        select(StockBatch)
        .where(
            StockBatch.pharmacy_id == pharmacy_id,
            StockBatch.item_code == item_code,
            StockBatch.quantity > 0,
            StockBatch.expiry >= today,
        )
        .order_by(StockBatch.expiry, StockBatch.id)
    ).all()


def take(session: Session, batch_id: int, quantity: int) -> bool:
    """Take packages from a batch if it still holds them (a conditional UPDATE; the row count tells)."""
    result = session.execute(
        update(StockBatch)
        .where(StockBatch.id == batch_id, StockBatch.quantity >= quantity)
        .values(quantity=StockBatch.quantity - quantity)
        .execution_options(synchronize_session=False)
    )
    assert isinstance(result, CursorResult)
    return result.rowcount == 1


def stock(session: Session, pharmacy_id: int) -> Sequence[StockBatch]:
    return session.scalars(
        select(StockBatch)
        .where(StockBatch.pharmacy_id == pharmacy_id)
        .order_by(StockBatch.item_code, StockBatch.expiry, StockBatch.id)
    ).all()


def batch(session: Session, pharmacy_id: int, item_code: str, batch_no: str) -> StockBatch | None:
    return session.scalar(
        select(StockBatch).where(
            StockBatch.pharmacy_id == pharmacy_id,
            StockBatch.item_code == item_code,
            StockBatch.batch_no == batch_no,
        )
    )


def dispensation_of(session: Session, prescription_id: int) -> Dispensation | None:
    return session.scalar(select(Dispensation).where(Dispensation.prescription_id == prescription_id))


def dispensations_of(session: Session, prescription_ids: Sequence[int]) -> dict[int, Dispensation]:
    if not prescription_ids:
        return {}
    rows = session.scalars(select(Dispensation).where(Dispensation.prescription_id.in_(prescription_ids)))
    return {d.prescription_id: d for d in rows}


def finish(session: Session, dispensation_id: int) -> bool:
    """Mark a called dispensation dispensed, once (a second window's attempt changes no row)."""
    result = session.execute(
        update(Dispensation)
        .where(Dispensation.id == dispensation_id, Dispensation.status == WindowStatus.CALLED.value)
        .values(status=WindowStatus.DISPENSED.value)
        .execution_options(synchronize_session=False)
    )
    assert isinstance(result, CursorResult)
    return result.rowcount == 1


def taken_batches(session: Session, dispensation_id: int) -> list[tuple[DispensedBatch, StockBatch]]:
    rows = session.execute(
        select(DispensedBatch, StockBatch)
        .join(StockBatch, StockBatch.id == DispensedBatch.batch_id)
        .where(DispensedBatch.dispensation_id == dispensation_id)
        .order_by(DispensedBatch.id)
    ).all()
    return [(d, b) for d, b in rows]


def called_today(session: Session, pharmacy_id: int, since: object) -> Sequence[Dispensation]:
    return session.scalars(
        select(Dispensation)
        .where(Dispensation.pharmacy_id == pharmacy_id, Dispensation.called_at >= since)
        .order_by(Dispensation.called_at.desc())
    ).all()
