"""``yilian export --to parquet DIR``: the tables a provincial platform loads (claim lines, discharges,
the DRG tables and every table the indicators of ``analytics`` read) as Parquet datasets,
Hive-partitioned.

Each fact table is partitioned by ``month=YYYY-MM`` (of its date column) and ``region=<code>`` (the
exporting city's 行政区划 code), so a bureau can append one city after another; small reference tables
get only ``region``. Tables are read in chunks (constant memory) and named by table name, so kit
does not import any area. Column types come from the table's declaration (not from the values), so
every chunk and every city has the same schema, and an empty table is still written (one empty file
under ``month=unknown``) so an engine reading the tree finds it.

Patient-level tables the indicators read are exported with the columns the indicators use only
(数据最小化): ids, dates, institution and department, statuses and amounts — no names, notes or
free text. ``tests/spark/test_analytics_spark.py`` fails if an indicator query needs a column left out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
from sqlalchemy import Column, Table, select, types
from sqlalchemy.orm import Session

from yilian.kit.db import Base


@dataclass(frozen=True)
class Export:
    """How one table is exported: the date column of its month partition (None: reference table,
    region only) and the columns written (None: all)."""

    month_of: str | None = None
    columns: tuple[str, ...] | None = None


#: table → how it is exported
EXPORTS: dict[str, Export] = {
    # batch audit and DRG
    "audit_claim_lines": Export("service_date"),
    "drg_cases": Export("discharge_date"),
    "drg_batches": Export(),
    "drg_groups": Export(),
    "drg_base_rates": Export(),
    # bed indicators and DRG: the stays (by admission month)
    "admissions": Export("admitted_on"),
    # the indicators of analytics (service.collect), only the columns they read
    "institutions": Export(),
    "encounters": Export(
        "business_date", ("id", "institution_id", "department_id", "clinic_type", "business_date", "status")
    ),
    "charges": Export(
        "business_date",
        ("id", "encounter_id", "patient_id", "business_date", "amount", "hold", "on_credit", "status"),
    ),
    "sched_bookings": Export(
        "day", ("id", "institution_id", "department_id", "day", "status", "fee_fen", "qualifies_three_day")
    ),
    "sched_return_visits": Export("day", ("id", "booking_id", "day", "fee_waived_fen")),
    "results_prompts": Export(
        "business_date", ("id", "institution_id", "department_id", "item_code", "business_date")
    ),
    "results_decisions": Export("decided_at", ("id", "prompt_id", "decision", "fee_saved_fen", "decided_at")),
    "audit_findings": Export(
        "service_date", ("id", "run_id", "rule_id", "family", "severity", "service_date", "amount", "status")
    ),
    "beds": Export(None, ("id", "institution_id", "ward_id", "owner_department_id", "state")),
    "decoction_runs": Export("finished_at", ("id", "prescription_id", "finished_at")),
    "herbal_prescriptions": Export(
        "created_at", ("id", "institution_id", "status", "created_at", "promised_at")
    ),
    # the alliance's referrals (上转/下转) and expert sittings (专家坐诊), without the patient or any text
    "alliance_referrals": Export(
        "requested_at",
        (
            "id",
            "network_id",
            "direction",
            "state",
            "from_institution_id",
            "to_institution_id",
            "to_department_id",
            "requested_at",
        ),
    ),
    "alliance_postings": Export(None, ("id", "network_id", "member_institution_id", "member_department_id")),
    "alliance_sittings": Export("day", ("id", "posting_id", "day", "arrived")),
}
CHUNK = 50_000


def _arrow_type(column: Column[Any]) -> pa.DataType:
    """The Parquet type of a column, from its declared SQL type."""
    t = column.type
    if isinstance(t, types.TypeDecorator):
        t = t.impl_instance
    if isinstance(t, types.Boolean):
        return pa.bool_()
    if isinstance(t, types.Integer) or (isinstance(t, types.NullType) and column.foreign_keys):
        return pa.int64()
    if isinstance(t, types.Float):
        return pa.float64()
    if isinstance(t, types.Numeric):
        return pa.decimal128(t.precision or 18, t.scale or 0)
    if isinstance(t, types.DateTime):
        return pa.timestamp("us", tz="UTC") if t.timezone else pa.timestamp("us")
    if isinstance(t, types.Date):
        return pa.date32()
    if isinstance(t, types.LargeBinary):
        return pa.binary()
    return pa.string()  # strings, enums, JSON (as text)


def _plain(value: Any, kind: pa.DataType) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    if isinstance(value, Decimal) and not pa.types.is_decimal(kind):
        return str(value)
    return value


def _month(value: Any) -> str:
    if isinstance(value, datetime | date):
        return f"{value:%Y-%m}"
    return "unknown"


def arrow_schema(table: Table, spec: Export) -> tuple[list[str], pa.Schema]:
    """The exported columns of ``table`` and the Parquet schema of its dataset (partition columns last)."""
    cols = [c for c in table.columns if spec.columns is None or c.name in spec.columns]
    fields = [pa.field(c.name, _arrow_type(c)) for c in cols]
    if spec.month_of:
        fields.append(pa.field("month", pa.string()))
    fields.append(pa.field("region", pa.string()))
    return [c.name for c in cols], pa.schema(fields)


def export_table(session: Session, table: Table, spec: Export, target: Path, region: str) -> int:
    """Write one table under ``target`` (partitioned); returns the rows written."""
    names, schema = arrow_schema(table, spec)
    kinds = [schema.field(n).type for n in names]
    columns = [table.c[n] for n in names]
    month_col = table.c[spec.month_of] if spec.month_of else None
    if month_col is not None and spec.month_of not in names:
        columns.append(month_col)
    result = session.execute(select(*columns).execution_options(yield_per=CHUNK))
    parts = ["month", "region"] if spec.month_of else ["region"]
    n = 0
    for part, chunk in enumerate(result.partitions(CHUNK)):
        rows = []
        for r in chunk:
            row = {c: _plain(v, k) for c, v, k in zip(names, r, kinds, strict=False)}
            if month_col is not None:
                row["month"] = _month(r[len(names)] if spec.month_of not in names else row[spec.month_of])
            row["region"] = region
            rows.append(row)
        ds.write_dataset(
            pa.Table.from_pylist(rows, schema=schema),
            target,
            format="parquet",
            partitioning=parts,
            partitioning_flavor="hive",
            basename_template=f"part-{part}-{{i}}.parquet",
            existing_data_behavior="overwrite_or_ignore",
        )
        n += len(rows)
    if n == 0:  # the table exists, empty: one empty file with its schema
        folder = target / ("month=unknown" if spec.month_of else "") / f"region={region}"
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(schema.empty_table().drop_columns(parts), folder / "part-empty.parquet")
    return n


def export_parquet(
    session: Session, out: Path, region: str, tables: list[str] | None = None
) -> dict[str, int]:
    """Write every table of :data:`EXPORTS` present in the schema (or ``tables``) under ``out/<table>``;
    returns the rows written per table."""
    counts: dict[str, int] = {}
    for name in tables or list(EXPORTS):
        table = Base.metadata.tables.get(name)
        if table is None:
            continue
        counts[name] = export_table(session, table, EXPORTS.get(name, Export()), out / name, region)
    return counts
