"""Tables of analytics: monthly facts (one number per month, institution, department and measure), the
keys of distinct measures, the refresh log and the stored monthly reports. Institution and department
0 mean "not attributed" (a city-level figure such as the audit's or DRG's)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from yilian.kit.db import Base


class Fact(Base):
    __tablename__ = "analytics_facts"
    __table_args__ = (
        UniqueConstraint("month", "institution_id", "department_id", "measure"),
        Index("ix_analytics_facts_measure_month", "measure", "month"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[date] = mapped_column(Date)  # the first day of the month
    institution_id: Mapped[int]
    department_id: Mapped[int]
    measure: Mapped[str] = mapped_column(String(40))
    value: Mapped[int]


class FactKey(Base):
    """One key (a patient) of a distinct measure in a month, institution and department."""

    __tablename__ = "analytics_fact_keys"
    __table_args__ = (
        Index("ix_analytics_fact_keys_measure_month", "measure", "month"),
        Index("ix_analytics_fact_keys_month", "month"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[date] = mapped_column(Date)
    institution_id: Mapped[int]
    department_id: Mapped[int]
    measure: Mapped[str] = mapped_column(String(40))
    key: Mapped[int]


class DistinctFact(Base):
    """The distinct keys of a month counted by when the same key was last seen before (``seen_before``:
    the latest earlier month within the 36 months a range may span, None if none), at one grain (city:
    institution and department 0; institution: department 0; department). Derived from the keys by the
    refresh; the distinct count of a range [a, b] is the sum over its months of the rows with
    ``seen_before`` None or before a, so a page never counts keys."""

    __tablename__ = "analytics_distinct_facts"
    __table_args__ = (Index("ix_analytics_distinct_facts_grain_month", "grain", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[date] = mapped_column(Date)
    grain: Mapped[str] = mapped_column(String(12))  # city / institution / department
    institution_id: Mapped[int]
    department_id: Mapped[int]
    measure: Mapped[str] = mapped_column(String(40))
    seen_before: Mapped[date | None] = mapped_column(Date)
    value: Mapped[int]


class Refresh(Base):
    """One refresh of a range of months (by the job, the CLI or a person)."""

    __tablename__ = "analytics_refreshes"

    id: Mapped[int] = mapped_column(primary_key=True)
    first_month: Mapped[date] = mapped_column(Date)
    last_month: Mapped[date] = mapped_column(Date)
    trigger: Mapped[str] = mapped_column(String(16))  # job / cli / manual / demo
    rows: Mapped[int] = mapped_column(default=0)
    milliseconds: Mapped[int] = mapped_column(default=0)
    finished_at: Mapped[datetime]


class Report(Base):
    """A generated monthly report (月度报表), kept by the job of the 1st."""

    __tablename__ = "analytics_reports"
    __table_args__ = (UniqueConstraint("month", "institution_id", "format"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[date] = mapped_column(Date)
    institution_id: Mapped[int]  # 0: the city
    format: Mapped[str] = mapped_column(String(8))  # pdf / xlsx
    filename: Mapped[str] = mapped_column(String(200))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]
