"""Tables of the pharmacy: pharmacies, stock batches, dispensations with the batches they took, returns."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from yilian.kit.db import Base


class Pharmacy(Base):
    """A pharmacy of an institution (门诊药房), with its windows."""

    __tablename__ = "pharmacies"

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(60))
    windows: Mapped[int] = mapped_column(default=2)


class StockBatch(Base):
    """Packages of one drug from one batch in one pharmacy; never below zero."""

    __tablename__ = "stock_batches"
    __table_args__ = (
        UniqueConstraint("pharmacy_id", "item_code", "batch_no"),
        CheckConstraint("quantity >= 0", name="quantity_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pharmacy_id: Mapped[int] = mapped_column(ForeignKey("pharmacies.id"), index=True)
    item_code: Mapped[str] = mapped_column(String(32), index=True)
    batch_no: Mapped[str] = mapped_column(String(32))
    expiry: Mapped[date] = mapped_column(Date)
    quantity: Mapped[int]
    received_at: Mapped[datetime]


class Dispensation(Base):
    """A prescription at the window: called (叫号), then dispensed after a second check (双人核对)."""

    __tablename__ = "dispensations"

    id: Mapped[int] = mapped_column(primary_key=True)
    prescription_id: Mapped[int] = mapped_column(ForeignKey("prescriptions.id"), unique=True)
    pharmacy_id: Mapped[int] = mapped_column(ForeignKey("pharmacies.id"), index=True)
    window: Mapped[int]
    status: Mapped[str] = mapped_column(String(16))  # called, dispensed
    called_at: Mapped[datetime]
    dispensed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    dispenser_name: Mapped[str] = mapped_column(String(40), default="")
    checked_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    checker_name: Mapped[str] = mapped_column(String(40), default="")
    dispensed_at: Mapped[datetime | None]


class DispensedBatch(Base):
    """What one dispensed line took from one batch."""

    __tablename__ = "dispensed_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    dispensation_id: Mapped[int] = mapped_column(ForeignKey("dispensations.id"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("stock_batches.id"))
    quantity: Mapped[int]


class DrugReturn(Base):
    """An undispensed drug returned (退药): its order cancelled and its charge reversed through billing."""

    __tablename__ = "drug_returns"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), unique=True)
    prescription_id: Mapped[int] = mapped_column(ForeignKey("prescriptions.id"), index=True)
    amount: Mapped[int]
    reason: Mapped[str] = mapped_column(String(200))
    returned_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    returned_at: Mapped[datetime]


from yilian.pharmacy.decoction_models import (  # noqa: E402  (the decoction floor)
    DecoctionMachine,
    DecoctionRun,
    DecoctionStep,
)

__all__ = [
    "DecoctionMachine",
    "DecoctionRun",
    "DecoctionStep",
    "DispensedBatch",
    "Dispensation",
    "DrugReturn",
    "Pharmacy",
    "StockBatch",
]
