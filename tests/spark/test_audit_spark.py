"""The batch audit on Spark (local mode) gives the same findings as on DuckDB: random rules on random
claims (the property of test_audit_equivalence, fewer examples: each one is a Spark job) and the
synthetic claim set with a violation of every shipped rule injected, read back from partitioned
Parquet."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.insurance.audit_helpers import library, synthetic_claims
from tests.insurance.audit_strategies import claims, rule_yaml
from yilian.insurance.audit import synth
from yilian.insurance.audit.batch import BatchEngine
from yilian.insurance.audit.domain import ClaimEngine, ClaimLine, default_library
from yilian.insurance.audit.spark import SparkAuditEngine, claims_frame


@settings(
    max_examples=5,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    rules=st.lists(st.integers(0, 10**6), min_size=3, max_size=6).flatmap(
        lambda ns: st.tuples(*[rule_yaml(i) for i in range(len(ns))])
    ),
    lines=claims(),
)
def test_spark_equals_duckdb_and_per_claim(
    spark: Any, rules: tuple[str, ...], lines: list[ClaimLine]
) -> None:
    lib = library("".join(rules))
    duck = BatchEngine(lib, stage=None).audit_lines(lines)
    assert ClaimEngine(lib).check_many(lines) == duck
    assert SparkAuditEngine(lib, stage=None).audit_lines(spark, lines) == duck


def test_synthetic_claims_from_partitioned_parquet(spark: Any, tmp_path: Path) -> None:
    lib = default_library()
    con = duckdb.connect()
    _, truth = synthetic_claims(con, lib, 3_000)
    duck = BatchEngine(lib).run(con)
    assert synth.score(duck, truth) == (1.0, 1.0)
    out = tmp_path / "claims"
    con.execute(
        f"COPY (SELECT *, strftime(service_date, '%Y-%m') AS month, "
        f"CASE WHEN line_id % 2 = 0 THEN '320100' ELSE '320200' END AS region FROM claim_lines) "
        f"TO '{out}' (FORMAT PARQUET, PARTITION_BY (month, region))"
    )
    assert len(list(out.glob("month=*/region=*"))) >= 2
    engine = SparkAuditEngine(lib)
    found = engine.findings(spark, claims_frame(spark, str(out)))
    assert found == duck
    assert len(found) >= len(truth.pairs)
