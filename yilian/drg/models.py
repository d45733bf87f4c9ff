"""Tables of the DRG area: imported schemes, weights and base rates, uploaded discharge records."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from yilian.kit.db import Base


class DrgScheme(Base):
    """One imported scheme version (e.g. ``chs-1.1``); several may coexist."""

    __tablename__ = "drg_schemes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    imported_at: Mapped[datetime]
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    notes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    high_ratio: Mapped[Decimal] = mapped_column(Numeric(6, 3), default=Decimal("2.0"))
    low_ratio: Mapped[Decimal] = mapped_column(Numeric(6, 3), default=Decimal("0.4"))
    #: the scheme's operating-room procedures (手术室手术), imported and versioned with its tables
    or_procedures: Mapped[list[str]] = mapped_column(JSON, default=list)


class DrgMdc(Base):
    """A major diagnostic category with its principal-diagnosis table (MDCZ also its body sites)."""

    __tablename__ = "drg_mdcs"
    __table_args__ = (UniqueConstraint("scheme_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("drg_schemes.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int]
    code: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(100))
    sex: Mapped[int] = mapped_column(default=0)
    principal_dx: Mapped[list[str]] = mapped_column(JSON, default=list)
    sites: Mapped[dict[str, list[str]]] = mapped_column(JSON, default=dict)


class DrgAdrg(Base):
    """An ADRG with its inclusion conditions (JSON), in table order."""

    __tablename__ = "drg_adrgs"
    __table_args__ = (UniqueConstraint("scheme_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("drg_schemes.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int]
    code: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(200))
    mdc: Mapped[str] = mapped_column(String(8))
    conditions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class DrgGroup(Base):
    """A DRG of a scheme, with the weight and means a city published (nullable until imported)."""

    __tablename__ = "drg_groups"
    __table_args__ = (UniqueConstraint("scheme_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("drg_schemes.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(200))
    adrg: Mapped[str] = mapped_column(String(8))
    weight: Mapped[Decimal | None] = mapped_column(Numeric(10, 4))
    mean_cost_fen: Mapped[int | None]
    mean_los_days: Mapped[Decimal | None] = mapped_column(Numeric(8, 2))
    high_ratio: Mapped[Decimal | None] = mapped_column(Numeric(6, 3))
    low_ratio: Mapped[Decimal | None] = mapped_column(Numeric(6, 3))


class DrgComplication(Base):
    """An MCC or CC code with the exclusion tables (表 7-N) it names."""

    __tablename__ = "drg_complications"
    __table_args__ = (UniqueConstraint("scheme_id", "code", "level"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("drg_schemes.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    level: Mapped[str] = mapped_column(String(4))
    tables: Mapped[list[int]] = mapped_column(JSON, default=list)


class DrgExclusion(Base):
    """An exclusion table 表 7-N: the principal diagnoses under which its CC/MCC do not count."""

    __tablename__ = "drg_exclusions"
    __table_args__ = (UniqueConstraint("scheme_id", "table_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("drg_schemes.id", ondelete="CASCADE"), index=True)
    table_no: Mapped[int]
    codes: Mapped[list[str]] = mapped_column(JSON, default=list)


class DrgBaseRate(Base):
    """Base rate (费率) in fen per weight unit, per scheme and institution level."""

    __tablename__ = "drg_base_rates"
    __table_args__ = (UniqueConstraint("scheme_id", "institution_level"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("drg_schemes.id", ondelete="CASCADE"), index=True)
    institution_level: Mapped[str] = mapped_column(String(16))
    rate_fen: Mapped[int]


class DrgBatch(Base):
    """One upload of discharge records (a month of 病案首页)."""

    __tablename__ = "drg_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("drg_schemes.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    institution_level: Mapped[str] = mapped_column(String(16), default="三级")
    uploaded_at: Mapped[datetime]
    uploaded_by: Mapped[str] = mapped_column(String(64))
    rows: Mapped[int] = mapped_column(default=0)
    grouped: Mapped[int] = mapped_column(default=0)
    ungroupable: Mapped[int] = mapped_column(default=0)
    ambiguous: Mapped[int] = mapped_column(default=0)


class DrgCase(Base):
    """A discharge record of a batch with its grouping and payment."""

    __tablename__ = "drg_cases"
    __table_args__ = (Index("ix_drg_cases_batch_dept", "batch_id", "department"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("drg_batches.id", ondelete="CASCADE"), index=True)
    record_no: Mapped[str] = mapped_column(String(40))
    department: Mapped[str] = mapped_column(String(100))
    doctor: Mapped[str] = mapped_column(String(100), default="")
    sex: Mapped[int] = mapped_column(default=0)
    age_years: Mapped[int | None]
    age_days: Mapped[int | None]
    birth_weight_g: Mapped[int | None]
    admission_date: Mapped[date | None]
    discharge_date: Mapped[date | None]
    los_days: Mapped[int] = mapped_column(default=0)
    disposition: Mapped[str] = mapped_column(String(8), default="")
    principal_dx: Mapped[str] = mapped_column(String(40))
    other_dx: Mapped[str] = mapped_column(Text, default="")
    procedures: Mapped[str] = mapped_column(Text, default="")
    ventilation_hours: Mapped[int | None]
    total_cost_fen: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(16))
    mdc: Mapped[str | None] = mapped_column(String(8))
    adrg: Mapped[str | None] = mapped_column(String(8))
    drg: Mapped[str] = mapped_column(String(8), index=True)
    severity: Mapped[str] = mapped_column(String(8), default="none")
    trigger: Mapped[str | None] = mapped_column(String(40))
    weight: Mapped[Decimal | None] = mapped_column(Numeric(10, 4))
    payment_fen: Mapped[int] = mapped_column(default=0)
    outlier: Mapped[str] = mapped_column(String(8), default="")
    explanation: Mapped[str] = mapped_column(Text, default="")
    #: codes of the row not in the 医保版 code tables (reported, not dropped)
    unknown_codes: Mapped[str] = mapped_column(Text, default="")
