"""Tables of the catalogue."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from yilian.kit.db import Base


class CatalogItem(Base):
    """A chargeable item: service, drug, material or consultation, with its price in fen."""

    __tablename__ = "catalog_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    name_initials: Mapped[str] = mapped_column(
        String(100), index=True, default="", server_default=""
    )  # 拼音首字母
    spec: Mapped[str] = mapped_column(String(100), default="")
    unit: Mapped[str] = mapped_column(String(16))
    price_fen: Mapped[int]
    insurance_class: Mapped[str] = mapped_column(String(2))
    self_pay_permille: Mapped[int] = mapped_column(default=0)
    restrictions: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    is_active: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime]


class DiagnosisCode(Base):
    """An ICD-10 (医保版) diagnosis code, dagger/asterisk pairs included (``A18.303+K93.0*``)."""

    __tablename__ = "diagnosis_codes"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    name_initials: Mapped[str] = mapped_column(String(100), index=True, default="", server_default="")
    is_active: Mapped[bool] = mapped_column(default=True)


class ProcedureCode(Base):
    """An ICD-9-CM-3 (医保版) procedure code (手术操作编码)."""

    __tablename__ = "procedure_codes"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    name_initials: Mapped[str] = mapped_column(String(100), index=True, default="", server_default="")
    is_active: Mapped[bool] = mapped_column(default=True)


from yilian.catalog.drug_models import DrugInteraction, DrugKnowledge  # noqa: E402  (drug knowledge tables)
from yilian.catalog.herb_models import HerbRow  # noqa: E402  (herbal slice catalogue)

__all__ = ["CatalogItem", "DiagnosisCode", "DrugInteraction", "DrugKnowledge", "HerbRow"]
