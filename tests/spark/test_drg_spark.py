"""DRG on Spark (local mode): synthetic discharge records (the generator of benchmarks/drg.py) get the
same groups and explanations as in-process (``yilian drg group``), bad rows included; the department
analysis as Spark aggregates equals :func:`domain.analyse`."""

from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

import pytest

from benchmarks.drg import make_lines
from yilian.catalog import service as catalog
from yilian.drg import importer
from yilian.drg.domain import (
    OUT_COLUMNS,
    CaseFact,
    DrgPolicy,
    Grouper,
    analyse,
    expected_payment_fen,
    group_row,
    outlier,
)
from yilian.drg.spark import analyse_frame, group_frame, unit_stats

LAYOUT = ("Index", "gender", "age", "ageDay", "weight", "dept", "inHospitalTime", "leavingType")


@pytest.fixture(scope="module")
def grouper() -> Grouper:
    scheme, _ = importer.build_scheme("chs-1.1", importer.read_texts(importer.packaged_dir()))
    names = {c: n for kind in ("diagnosis", "procedure") for c, n, _ in catalog.shipped_table_rows(kind)}  # type: ignore[arg-type]
    return Grouper(scheme, names)


def _rows(g: Grouper, n: int) -> list[dict[str, str]]:
    rows = []
    for line in make_lines(g, n, seed=7):
        f = line.split(",")
        rows.append({**dict(zip(LAYOUT, f[:8], strict=True)), "ICD10_DRGS": f[8], "ICD9_DRGS": f[9]})
    rows[3]["gender"] = "X"  # unreadable: status error, as in the CLI
    rows[5]["ICD10_DRGS"] = ""
    return rows


def test_same_groups_as_in_process(spark: Any, grouper: Grouper) -> None:
    rows = _rows(grouper, 1500)
    expected = {r["Index"]: group_row(grouper, r) for r in rows}
    df = spark.createDataFrame(rows).repartition(3)
    got = {r["Index"]: {c: r[c] for c in OUT_COLUMNS} for r in group_frame(spark, df, grouper).collect()}
    assert got == expected
    statuses = {v["group_status"] for v in got.values()}
    assert "error" in statuses and len(statuses) >= 2
    assert sum(1 for v in got.values() if v["group_drg"] not in ("", "0000")) > 1000


def test_department_analysis_as_spark_aggregates(spark: Any, grouper: Grouper) -> None:
    rnd = random.Random(3)
    drgs = [f"D{i:02d}" for i in range(12)]
    policy = {
        d: DrgPolicy(
            d, Decimal(rnd.randint(3000, 30000)) / 10000, mean_cost_fen=rnd.randint(300_000, 3_000_000)
        )
        for d in drgs
    }
    facts = []
    for _ in range(800):
        d = rnd.choice(drgs)
        p = policy[d]
        cost = rnd.randint(50_000, 8_000_000)
        facts.append(
            CaseFact(
                department=rnd.choice(["NK01", "NK02", "WK01", "EK01"]),
                doctor=f"Dr{rnd.randint(1, 9)}",
                drg=d,
                weight=p.weight,
                cost_fen=cost,
                los_days=rnd.randint(1, 30),
                payment_fen=expected_payment_fen(p.weight, 1_200_000),
                outlier=outlier(cost, p),
            )
        )
    df = spark.createDataFrame(
        [f.__dict__ for f in facts],
        schema="department STRING, doctor STRING, drg STRING, weight DECIMAL(10,4), cost_fen BIGINT, "
        "los_days BIGINT, payment_fen BIGINT, outlier STRING",
    )
    for by in ("department", "doctor"):
        assert unit_stats(analyse_frame(df, by)) == analyse(facts, by)
