"""The batch audit on Apache Spark: the queries of :mod:`batch`, compiled for the Spark dialect.

No rule is written twice: :func:`batch.compile_queries` renders every family for
:data:`batch.SPARK`, the rule parameter tables are the same Arrow tables (tiny: Spark broadcasts them
to each executor in the hash joins), and the claims are a DataFrame read from Parquet (partitioned by
month and region, on a local disk, ``hdfs://`` or ``s3a://``). The findings have the columns of
:data:`batch.FINDING_SCHEMA` and the same rows as the DuckDB engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from yilian.insurance.audit.batch import (
    FINDING_SCHEMA,
    LINE_SCHEMA,
    SPARK,
    BatchEngine,
    findings_from_arrow,
)
from yilian.insurance.audit.domain import LINE_COLUMNS, ClaimLine, Finding, RuleLibrary, Stage

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

_DDL = {
    pa.string(): "STRING",
    pa.date32(): "DATE",
    pa.int64(): "BIGINT",
    pa.int32(): "INT",
    pa.bool_(): "BOOLEAN",
    pa.list_(pa.string()): "ARRAY<STRING>",
    pa.list_(pa.int64()): "ARRAY<BIGINT>",
}


def ddl(schema: pa.Schema) -> str:
    """The Spark DDL schema string of an Arrow schema (the few types the audit uses)."""
    return ", ".join(f"`{f.name}` {_DDL[f.type]}" for f in schema)


def arrow_to_spark(spark: SparkSession, table: pa.Table) -> DataFrame:
    return spark.createDataFrame(table.to_pylist(), schema=ddl(table.schema))


def claims_frame(spark: SparkSession, source: str | Sequence[ClaimLine]) -> DataFrame:
    """Claim lines as a DataFrame with exactly :data:`LINE_COLUMNS` in the audit's types; ``source`` is
    a Parquet path/URI (a directory partitioned by month and region is read whole) or lines in memory."""
    from pyspark.sql import functions as F

    if isinstance(source, str):
        df = spark.read.parquet(source)
        return df.select(*[F.col(f.name).cast(_DDL[f.type]).alias(f.name) for f in LINE_SCHEMA])
    rows = [tuple(getattr(line, c) for c in LINE_COLUMNS) for line in source]
    return spark.createDataFrame(rows, schema=ddl(LINE_SCHEMA))


class SparkAuditEngine:
    """The library compiled once; ``run`` audits a claims DataFrame lazily (one union of queries)."""

    def __init__(self, library: RuleLibrary, stage: Stage | None = Stage.POST) -> None:
        self.batch = BatchEngine(library, stage=stage)

    def run(self, spark: SparkSession, claims: DataFrame, view: str = "claim_lines") -> DataFrame:
        from pyspark.sql import functions as F

        for name, tbl in self.batch.tables.items():
            arrow_to_spark(spark, tbl).createOrReplaceTempView(name)
        claims.createOrReplaceTempView(view)
        cols = [F.col(f.name).cast(_DDL[f.type]).alias(f.name) for f in FINDING_SCHEMA]
        parts = [spark.sql(q).select(*cols) for q in self.batch.sql(view, SPARK).values()]
        if not parts:
            return spark.createDataFrame([], schema=ddl(FINDING_SCHEMA))
        out = parts[0]
        for p in parts[1:]:
            out = out.unionByName(p)
        return out

    def findings(self, spark: SparkSession, claims: DataFrame) -> list[Finding]:
        """Run and collect (sorted like the other engines); for tests and small runs."""
        return findings_from_arrow(collect_arrow(self.run(spark, claims), FINDING_SCHEMA))

    def audit_lines(self, spark: SparkSession, lines: Sequence[ClaimLine]) -> list[Finding]:
        return self.findings(spark, claims_frame(spark, lines))


def collect_arrow(df: DataFrame, schema: pa.Schema) -> pa.Table:
    rows: list[dict[str, Any]] = [r.asDict(recursive=True) for r in df.collect()]
    return pa.Table.from_pylist(rows, schema=schema)
