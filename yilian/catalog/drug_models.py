"""Tables of drug knowledge (药品知识库): one row of facts per drug item, and the interaction pairs."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from yilian.kit.db import Base


class DrugKnowledge(Base):
    """The facts of one drug item (by catalogue code) that prescribing, review and dispensing read."""

    __tablename__ = "drug_knowledge"

    item_code: Mapped[str] = mapped_column(String(32), primary_key=True)
    form: Mapped[str] = mapped_column(String(16))
    strength: Mapped[Decimal] = mapped_column(Numeric(12, 4))
    strength_unit: Mapped[str] = mapped_column(String(8))
    form_unit: Mapped[str] = mapped_column(String(8))
    package_size: Mapped[Decimal] = mapped_column(Numeric(12, 4))
    ingredients: Mapped[list[str]] = mapped_column(JSON, default=list)
    drug_class: Mapped[str] = mapped_column(String(60), default="")
    allergy_groups: Mapped[list[str]] = mapped_column(JSON, default=list)
    max_single: Mapped[Decimal | None] = mapped_column(Numeric(12, 4))
    max_daily: Mapped[Decimal | None] = mapped_column(Numeric(12, 4))
    absolute_max_single: Mapped[Decimal | None] = mapped_column(Numeric(12, 4))
    max_daily_per_kg: Mapped[Decimal | None] = mapped_column(Numeric(12, 4))
    min_age_years: Mapped[int | None]
    frequencies: Mapped[list[str]] = mapped_column(JSON, default=list)
    default_route: Mapped[str] = mapped_column(String(8), default="po")
    default_dose: Mapped[Decimal | None] = mapped_column(Numeric(12, 4))
    default_frequency: Mapped[str] = mapped_column(String(8), default="")
    pregnancy: Mapped[str] = mapped_column(String(1), default="")
    lactation: Mapped[str] = mapped_column(String(8), default="")
    controlled: Mapped[str] = mapped_column(String(8), default="")
    controlled_release: Mapped[bool] = mapped_column(default=False)
    usage_note: Mapped[str] = mapped_column(String(100), default="")
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class DrugInteraction(Base):
    """Two ingredients or classes that interact (the pair table), with severity and a Chinese note."""

    __tablename__ = "drug_interactions"
    __table_args__ = (UniqueConstraint("a", "b"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    a: Mapped[str] = mapped_column(String(60))
    b: Mapped[str] = mapped_column(String(60))
    severity: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(String(200))
