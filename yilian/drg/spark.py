"""CHS-DRG grouping and the department / hospital analysis on Apache Spark.

The grouper is the pure :class:`domain.Grouper` of ``yilian drg group``: it is broadcast once (each
executor's Python worker unpickles it once and keeps it) and applied per partition with
``mapInArrow``; every row gets the same :data:`domain.OUT_COLUMNS` as the CLI writes. The analysis
(CMI, cost and time consumption indices, payment, profit, outliers) is a Spark aggregate with the
meaning of :func:`domain.analyse`.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from yilian.drg.domain import OUT_COLUMNS, Grouper, UnitStats, group_row

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


def group_frame(spark: SparkSession, records: DataFrame, grouper: Grouper) -> DataFrame:
    """``records``: one row per discharge, in any column layout ``record_from_row`` accepts; returns
    its columns (as strings) plus :data:`OUT_COLUMNS`."""
    from pyspark.sql import functions as F

    inputs = [c for c in records.columns if c not in OUT_COLUMNS]
    src = records.select(*[F.coalesce(F.col(c).cast("string"), F.lit("")).alias(c) for c in inputs])
    shared = spark.sparkContext.broadcast(grouper)

    def per_partition(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        g = shared.value  # unpickled once per Python worker, then reused
        for batch in batches:
            out = [group_row(g, row) for row in batch.to_pylist()]
            cols = [batch.column(c) for c in inputs]
            cols += [pa.array([o[c] for o in out], pa.string()) for c in OUT_COLUMNS]
            yield pa.RecordBatch.from_arrays(cols, names=[*inputs, *OUT_COLUMNS])

    schema = ", ".join(f"`{c}` STRING" for c in [*inputs, *OUT_COLUMNS])
    return src.mapInArrow(per_partition, schema=schema)


def analyse_frame(facts: DataFrame, by: str = "department") -> DataFrame:
    """``facts`` has the fields of :class:`domain.CaseFact` (weight a decimal); one row per unit with
    the fields of :class:`domain.UnitStats`, rounded half up to 4 places like :func:`domain.analyse`."""
    from pyspark.sql import functions as F

    unit = "department" if by == "department" else "doctor"
    dec = "DECIMAL(38,12)"
    per_drg = facts.groupBy("drg").agg(
        F.count("*").alias("n_drg"), F.sum("cost_fen").alias("cost_drg"), F.sum("los_days").alias("los_drg")
    )
    per_unit_drg = (
        facts.groupBy(unit, "drg")
        .agg(F.count("*").alias("n"))
        .join(per_drg, "drg")
        .select(
            unit,
            (F.col("n") * F.col("cost_drg")).cast(dec).alias("exp_cost_num"),
            F.col("n_drg"),
            (F.col("n") * F.col("los_drg")).cast(dec).alias("exp_los_num"),
        )
        .select(
            unit,
            (F.col("exp_cost_num") / F.col("n_drg")).cast(dec).alias("exp_cost"),
            (F.col("exp_los_num") / F.col("n_drg")).cast(dec).alias("exp_los"),
        )
        .groupBy(unit)
        .agg(F.sum("exp_cost").alias("exp_cost"), F.sum("exp_los").alias("exp_los"))
    )
    totals = facts.groupBy(unit).agg(
        F.count("*").alias("cases"),
        F.sum(F.col("weight").cast("DECIMAL(20,4)")).alias("tw"),
        F.sum("cost_fen").alias("cost_fen"),
        F.sum("los_days").alias("los"),
        F.sum("payment_fen").alias("payment_fen"),
        F.sum(F.when(F.col("outlier") == "high", 1).otherwise(0)).alias("high_outliers"),
        F.sum(F.when(F.col("outlier") == "low", 1).otherwise(0)).alias("low_outliers"),
    )

    def ratio(num: Any, den: Any) -> Any:
        return F.when(den == 0, F.lit(0).cast("DECIMAL(20,4)")).otherwise(
            F.round(num.cast(dec) / den, 4).cast("DECIMAL(20,4)")
        )

    return (
        totals.join(per_unit_drg, unit)
        .select(
            F.col(unit).alias("unit"),
            "cases",
            F.round("tw", 4).cast("DECIMAL(20,4)").alias("total_weight"),
            F.round(F.col("tw").cast(dec) / F.col("cases"), 4).cast("DECIMAL(20,4)").alias("cmi"),
            ratio(F.col("cost_fen"), F.col("exp_cost")).alias("cost_index"),
            ratio(F.col("los"), F.col("exp_los")).alias("time_index"),
            "cost_fen",
            "payment_fen",
            (F.col("payment_fen") - F.col("cost_fen")).alias("profit_fen"),
            "high_outliers",
            "low_outliers",
        )
        .orderBy("unit")
    )


def unit_stats(df: DataFrame) -> list[UnitStats]:
    """Collect :func:`analyse_frame` into the domain's type (for tests and reports)."""
    return [
        UnitStats(
            unit=r["unit"],
            cases=int(r["cases"]),
            total_weight=Decimal(r["total_weight"]),
            cmi=Decimal(r["cmi"]),
            cost_index=Decimal(r["cost_index"]),
            time_index=Decimal(r["time_index"]),
            cost_fen=int(r["cost_fen"]),
            payment_fen=int(r["payment_fen"]),
            profit_fen=int(r["profit_fen"]),
            high_outliers=int(r["high_outliers"]),
            low_outliers=int(r["low_outliers"]),
        )
        for r in df.collect()
    ]
