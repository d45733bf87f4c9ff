"""Indicators on Spark (统计指标的分布式计算): the refresh of :mod:`yilian.analytics.service`, evaluated by
Spark over the tables of ``yilian export --to parquet``.

One definition, two engines. The indicators are defined once: each measure by its area's bulk read (a
SQLAlchemy GROUP BY in the area's repository) and by the fold of :func:`service.collect`; each
indicator by :data:`domain.INDICATORS` and :func:`domain.value`. Here the very same
:func:`service.collect` runs with a SQLAlchemy session bound to Spark (:mod:`yilian.kit.spark_sql`):
every area query is compiled to Spark SQL and executed over temporary views named like the tables,
read from the exported Parquet (one region of the tree). Nothing about an indicator is written a
second time, so the two engines cannot drift apart; ``tests/spark/test_analytics_spark.py`` shows the
rows are identical.

What runs where: the scans, joins and GROUP BYs over the raw tables run on the cluster; the driver
receives their grouped rows (per day, institution and department; per encounter-day for 先诊疗后付费,
per decoction for the on-time rate and per referral instant for 上转/下转) and folds them into monthly
facts exactly as the in-database refresh does.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from sqlalchemy.orm import Session

from yilian.analytics import domain, service
from yilian.analytics.domain import INDICATORS, Month
from yilian.kit import spark_sql
from yilian.kit.db import Base
from yilian.kit.export import EXPORTS, arrow_schema

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

FACTS = pa.schema(
    [
        ("month", pa.date32()),
        ("institution_id", pa.int64()),
        ("department_id", pa.int64()),
        ("measure", pa.string()),
        ("value", pa.int64()),
    ]
)
KEYS = pa.schema(
    [
        ("month", pa.date32()),
        ("institution_id", pa.int64()),
        ("department_id", pa.int64()),
        ("measure", pa.string()),
        ("key", pa.int64()),
    ]
)


def register_views(spark: SparkSession, source: str, region: str | None = None) -> list[str]:
    """A temporary view per exported table under ``source`` (a directory, ``hdfs://…`` or ``s3a://…``),
    one region's rows when ``region`` is given (ids are a city's own: never mix two cities in one
    evaluation), without the partition columns; returns the tables found. The Parquet schema is the
    export's (from the table declarations), so Spark infers nothing (one job less per table)."""
    from pyspark.errors import AnalysisException
    from pyspark.sql import functions as F
    from pyspark.sql.pandas.types import from_arrow_schema

    found = []
    for name, spec in EXPORTS.items():
        table = Base.metadata.tables.get(name)
        path = f"{source.rstrip('/')}/{name}"
        reader = spark.read.option("basePath", path)
        if table is not None:
            reader = reader.schema(from_arrow_schema(arrow_schema(table, spec)[1]))
        try:
            frame = reader.parquet(path)
        except AnalysisException:
            continue
        if region is not None:
            frame = frame.where(F.col("region").cast("string") == region)
        frame.drop("month", "region").createOrReplaceTempView(name)
        found.append(name)
    return found


def regions(spark: SparkSession, source: str) -> list[str]:
    """The regions (cities) present in the exported institutions (none: not an export)."""
    from pyspark.errors import AnalysisException
    from pyspark.sql import functions as F

    path = f"{source.rstrip('/')}/institutions"
    try:
        frame = spark.read.option("basePath", path).parquet(path)
    except AnalysisException:
        return []
    rows = frame.select(F.input_file_name().alias("f")).distinct().collect()
    found = {m.group(1) for r in rows if (m := re.search(r"/region=([^/]+)/", str(r[0])))}
    return sorted(found)
    return sorted(str(r[0]) for r in rows)


def collect(spark: SparkSession, first: Month, last: Month) -> service.Collector:
    """:func:`service.collect` of the months [first, last], its queries run by Spark over the views."""
    with Session(spark_sql.engine(spark)) as session:
        return service.collect(session, first, last)


def write(spark: SparkSession, c: service.Collector, out: str) -> tuple[int, int]:
    """The facts and distinct keys as Parquet, as the refresh stores them (``out/analytics_facts`` and
    ``out/analytics_fact_keys``, partitioned by month); returns the two row counts."""
    facts, keys = service.fact_rows(c)
    for name, rows, schema in (("analytics_facts", facts, FACTS), ("analytics_fact_keys", keys, KEYS)):
        frame = spark.createDataFrame(pa.Table.from_pylist(rows, schema=schema))
        frame.write.mode("overwrite").partitionBy("month").parquet(f"{out.rstrip('/')}/{name}")
    return len(facts), len(keys)


def city_values(c: service.Collector, month: Month, today: date) -> dict[str, float | int | None]:
    """Every indicator of the city in one month from a collection (:func:`domain.value`, as the
    dashboards compute it from the stored facts)."""
    sums: dict[str, int] = {}
    for (key, measure), v in c.sums.items():
        if key[0] == month.first:
            sums[measure] = sums.get(measure, 0) + v
    distinct: dict[str, set[int]] = {}
    for key, measure, value in c.keys:
        if key[0] == month.first:
            distinct.setdefault(measure, set()).add(value)
    sums.update({m: len(v) for m, v in distinct.items()})
    end = min(month.last, today)
    days = (end - month.first).days + 1 if end >= month.first else 0
    return {i.code: domain.value(i, sums, days) for i in INDICATORS}


def read_facts(path: str | Path) -> list[dict[str, Any]]:
    """The fact rows written by :func:`write` (a local directory), sorted (tests, checks)."""
    import pyarrow.dataset as ds

    table = ds.dataset(Path(path) / "analytics_facts", partitioning="hive").to_table()
    rows = [{**r, "month": date.fromisoformat(str(r["month"])[:10])} for r in table.to_pylist()]
    return sorted(rows, key=lambda r: (r["month"], r["institution_id"], r["department_id"], r["measure"]))
