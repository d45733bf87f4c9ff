"""Herbal prescriptions (中药处方, 膏方) written on a visit, their lines and their state (DOMAIN §9)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from yilian.kit.db import Base


class HerbalPrescription(Base):
    __tablename__ = "herbal_prescriptions"
    __table_args__ = (CheckConstraint("doses > 0", name="doses_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    encounter_id: Mapped[int] = mapped_column(ForeignKey("encounters.id"), index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"), index=True)
    doctor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    doctor_name: Mapped[str] = mapped_column(String(40), default="")
    kind: Mapped[str] = mapped_column(String(8))  # 汤剂, 膏方
    formula_class: Mapped[str] = mapped_column(String(8))
    doses: Mapped[int]
    decoct: Mapped[bool]
    bag_ml: Mapped[int]
    bags_per_dose: Mapped[int]
    child: Mapped[bool] = mapped_column(default=False)
    pregnant: Mapped[bool] = mapped_column(default=False)
    instructions: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(8), index=True)
    version: Mapped[int] = mapped_column(default=1)
    amount: Mapped[int] = mapped_column(default=0)  # fen, the sum of its orders
    findings: Mapped[list[Any]] = mapped_column(JSON, default=list)
    review_reason: Mapped[str] = mapped_column(String(200), default="")
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    cosigned_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # 医生双签
    track_token: Mapped[str] = mapped_column(String(32), unique=True)
    created_at: Mapped[datetime]
    approved_at: Mapped[datetime | None]
    promised_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]


class HerbalLine(Base):
    __tablename__ = "herbal_lines"
    __table_args__ = (CheckConstraint("grams > 0", name="grams_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    prescription_id: Mapped[int] = mapped_column(ForeignKey("herbal_prescriptions.id"), index=True)
    herb_code: Mapped[str] = mapped_column(String(32))
    herb_name: Mapped[str] = mapped_column(String(40))
    grams: Mapped[int]  # per dose (剂)
    handling: Mapped[str] = mapped_column(String(4), default="")
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
