"""The decoction floor (煎药中心): machines, one run per prescription with its timings, every step traced."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from yilian.kit.db import Base


class DecoctionMachine(Base):
    """A decoction machine (煎药机); ``prescription_id`` set while it runs one, taken by a conditional
    UPDATE so that two operators never start the same machine."""

    __tablename__ = "decoction_machines"

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(40))
    prescription_id: Mapped[int | None] = mapped_column(ForeignKey("herbal_prescriptions.id"))
    bound_at: Mapped[datetime | None]
    is_active: Mapped[bool] = mapped_column(default=True)


class DecoctionRun(Base):
    """The timings of one prescription on the floor."""

    __tablename__ = "decoction_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    prescription_id: Mapped[int] = mapped_column(ForeignKey("herbal_prescriptions.id"), unique=True)
    dispensed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    machine_id: Mapped[int | None] = mapped_column(ForeignKey("decoction_machines.id"))
    soak_started_at: Mapped[datetime | None]
    decoct_started_at: Mapped[datetime | None]
    rest_added_at: Mapped[datetime | None]
    late_added_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    volume_ml: Mapped[int | None]
    reworks: Mapped[int] = mapped_column(default=0)
    courier: Mapped[str] = mapped_column(String(40), default="")
    signed_at: Mapped[datetime | None]


class DecoctionStep(Base):
    """One step of a prescription's life: from, to, who, on which machine, when, and why."""

    __tablename__ = "decoction_steps"

    id: Mapped[int] = mapped_column(primary_key=True)
    prescription_id: Mapped[int] = mapped_column(ForeignKey("herbal_prescriptions.id"), index=True)
    from_state: Mapped[str] = mapped_column(String(8))
    to_state: Mapped[str] = mapped_column(String(8))
    operator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    operator_name: Mapped[str] = mapped_column(String(40), default="")
    machine_code: Mapped[str] = mapped_column(String(16), default="")
    at: Mapped[datetime]
    note: Mapped[str] = mapped_column(String(200), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
