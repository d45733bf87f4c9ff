"""Benchmark: the batch audit and DRG grouping on Spark local[N] at 1, 2, 4, 8 × a base size, beside
DuckDB (audit) and the in-process grouper (DRG) on the same data.

    .venv/bin/python benchmarks/spark_scale.py [--quick] [--base-lines N] [--base-records N] [--master local[2]]

Synthetic claims (``yilian audit synth``: clean base lines + a violation of every shipped rule) are
written as Parquet partitioned by month and region; Spark reads them back, audits them and writes the
findings as Parquet (the whole path, not a count). DRG: synthetic discharge records of
benchmarks/drg.py grouped with ``mapInArrow`` (scheme broadcast), the result written as Parquet.
Indicators (``--visits``, base outpatient visits, one in five with charges on credit, over a year of
20 institutions): the analytics refresh evaluated by Spark over an export-shaped tree (every table the
indicators read; the other tables empty) with ``analytics.spark.collect`` — the areas' own queries
compiled to Spark SQL — beside DuckDB running the same two big GROUP BYs (visits, credit encounters)
written by hand over the same Parquet, rows fetched by both.
Per size: lines/s and records/s and per core; the scaling slope is the least-squares slope of
log(time) against log(size) over the sizes (1.0 = cost grows linearly; < 1 = fixed costs still
dominate). The last stdout line is one JSON object. Needs Java 17 and ``yilian[spark]``;
the driver gets 3 GB unless YILIAN_SPARK_DRIVER_MEMORY says otherwise.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import duckdb  # noqa: E402

from benchmarks.drg import make_lines  # noqa: E402
from yilian.catalog import service as catalog  # noqa: E402
from yilian.drg import importer  # noqa: E402
from yilian.drg.domain import Grouper, group_row  # noqa: E402
from yilian.insurance.audit import synth  # noqa: E402
from yilian.insurance.audit.batch import BatchEngine, lines_to_arrow  # noqa: E402
from yilian.insurance.audit.domain import default_library  # noqa: E402

LAYOUT = ("Index", "gender", "age", "ageDay", "weight", "dept", "inHospitalTime", "leavingType")


def slope(xs: list[float], ys: list[float]) -> float:
    lx, ly = [math.log(x) for x in xs], [math.log(y) for y in ys]
    mx, my = sum(lx) / len(lx), sum(ly) / len(ly)
    return sum((a - mx) * (b - my) for a, b in zip(lx, ly, strict=True)) / sum((a - mx) ** 2 for a in lx)


def write_claims(path: Path, lines: int) -> int:
    lib = default_library()
    con = duckdb.connect()
    synth.create_base_table(con, lib, lines, table="base")
    extra, _ = synth.injected(lib, start_line_id=lines + 1, copies=3)
    con.register("extra", lines_to_arrow(extra))
    con.execute(
        f"COPY (SELECT *, strftime(service_date, '%Y-%m') AS month, "
        f"CASE WHEN line_id % 3 = 0 THEN '320100' WHEN line_id % 3 = 1 THEN '320200' ELSE '320500' END AS region "
        f"FROM (SELECT * FROM base UNION ALL SELECT * FROM extra)) "
        f"TO '{path}' (FORMAT PARQUET, PARTITION_BY (month, region))"
    )
    return lines + len(extra)


def write_indicator_tables(root: Path, visits: int, seed: int) -> None:
    """An export-shaped tree (``yilian export`` layout and schemas) of a year of outpatient activity."""
    import random
    from datetime import date, timedelta

    import pyarrow as pa
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    from yilian.cli import area_modules
    from yilian.kit.db import Base
    from yilian.kit.export import EXPORTS, arrow_schema

    area_modules("models")
    rng = random.Random(seed)
    region, start = "320600", date(2025, 1, 1)
    days = [start + timedelta(days=rng.randrange(365)) for _ in range(visits)]
    inst = [rng.randint(1, 20) for _ in range(visits)]
    data: dict[str, dict[str, list[Any]]] = {
        "institutions": {
            "id": list(range(1, 21)),
            "code": [f"I{i:03d}" for i in range(1, 21)],
            "name": [f"医院{i}" for i in range(1, 21)],
            "short_name": [f"医院{i}" for i in range(1, 21)],
            "category": ["community_centre" if i > 16 else "general_hospital" for i in range(1, 21)],
            "level": [1 if i > 16 else 3 for i in range(1, 21)],
            "grade": ["A"] * 20,
            "region_code": [region] * 20,
            "address": [""] * 20,
            "phone": [""] * 20,
            "is_active": [True] * 20,
        },
        "encounters": {
            "id": list(range(1, visits + 1)),
            "institution_id": inst,
            "department_id": [i * 100 + rng.randint(1, 10) for i in inst],
            "clinic_type": ["general"] * visits,
            "business_date": days,
            "status": ["closed"] * visits,
        },
        "charges": {
            "id": list(range(1, visits + 1)),
            "encounter_id": list(range(1, visits + 1)),
            "patient_id": [rng.randint(1, visits // 4 + 1) for _ in range(visits)],
            "business_date": days,
            "amount": [rng.randint(500, 30_000) for _ in range(visits)],
            "hold": [rng.randint(100, 6_000) for _ in range(visits)],
            "on_credit": [rng.random() < 0.2 for _ in range(visits)],
            "status": ["billed"] * visits,
        },
    }
    for name, spec in EXPORTS.items():
        table = Base.metadata.tables.get(name)
        if table is None:
            continue
        _names, schema = arrow_schema(table, spec)
        cols = data.get(name)
        if cols is None:  # not generated: present and empty, as the export writes it
            parts = ["month", "region"] if spec.month_of else ["region"]
            folder = root / name / ("month=unknown" if spec.month_of else "") / f"region={region}"
            folder.mkdir(parents=True, exist_ok=True)
            pq.write_table(schema.empty_table().drop_columns(parts), folder / "part-empty.parquet")
            continue
        n = len(next(iter(cols.values())))
        full = {f.name: cols.get(f.name, [None] * n) for f in schema}
        full["region"] = [region] * n
        if spec.month_of:
            full["month"] = [f"{d:%Y-%m}" for d in cols[spec.month_of]]
        ds.write_dataset(
            pa.Table.from_pydict(full, schema=schema),
            root / name,
            format="parquet",
            partitioning=["month", "region"] if spec.month_of else ["region"],
            partitioning_flavor="hive",
        )


INDICATOR_SQL = [
    """SELECT business_date, institution_id, department_id, count(*) FROM encounters
       WHERE business_date BETWEEN DATE '2025-01-01' AND DATE '2025-12-31' GROUP BY 1, 2, 3""",
    """SELECT c.business_date, e.institution_id, e.department_id, c.encounter_id, c.patient_id, sum(c.hold)
       FROM charges c JOIN encounters e ON e.id = c.encounter_id
       WHERE c.on_credit AND c.status <> 'void' AND c.business_date BETWEEN DATE '2025-01-01' AND DATE '2025-12-31'
       GROUP BY 1, 2, 3, 4, 5""",
]


def indicators_run(spark: Any, root: Path, cores: int) -> tuple[float, float, int]:
    """(Spark refresh seconds, DuckDB hand-written GROUP BYs seconds, visits counted)."""
    from yilian.analytics import spark as on_spark
    from yilian.analytics.domain import Month

    t0 = time.perf_counter()
    on_spark.register_views(spark, str(root), "320600")
    collected = on_spark.collect(spark, Month(2025, 1), Month(2025, 12))
    t_spark = time.perf_counter() - t0
    con = duckdb.connect()
    con.execute(f"SET threads = {cores}")
    t0 = time.perf_counter()
    for name in ("encounters", "charges"):
        con.sql(
            f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{root}/{name}/**/*.parquet', hive_partitioning = true)"
        )
    got = [con.execute(q).fetchall() for q in INDICATOR_SQL]
    t_duck = time.perf_counter() - t0
    visits = sum(v for (_k, m), v in collected.sums.items() if m == "visits")
    assert visits == sum(r[3] for r in got[0]), "Spark and DuckDB count different visits"
    credit = sum(v for (_k, m), v in collected.sums.items() if m == "credit_visits")
    assert credit == len({(r[0].replace(day=1), r[3]) for r in got[1]})
    return t_spark, t_duck, visits


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small base sizes (a few minutes on a busy machine)")
    ap.add_argument("--base-lines", type=int, default=100_000)
    ap.add_argument("--base-records", type=int, default=3_000)
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--factors", default="1,2,4,8")
    ap.add_argument("--visits", type=int, default=100_000, help="base outpatient visits for the indicators")
    args = ap.parse_args()
    base_lines = 50_000 if args.quick else args.base_lines
    base_records = 4_000 if args.quick else args.base_records
    base_visits = 20_000 if args.quick else args.visits
    factors = [int(f) for f in args.factors.split(",")]
    m = re.match(r"local\[(\d+)\]", args.master)
    cores = int(m.group(1)) if m else 2

    from yilian.drg.spark import group_frame
    from yilian.insurance.audit.spark import SparkAuditEngine, claims_frame
    from yilian.kit.spark import session

    # the broadcast hash joins of the audit outgrow a 1 GB driver at a few hundred thousand lines
    os.environ.setdefault("YILIAN_SPARK_DRIVER_MEMORY", "3g")

    spark = session(args.master, "yilian-bench", shuffle_partitions=2 * cores)
    spark.sparkContext.setLogLevel("ERROR")
    lib = default_library()
    scheme, _ = importer.build_scheme("chs-1.1", importer.read_texts(importer.packaged_dir()))
    names = {c: n for kind in ("diagnosis", "procedure") for c, n, _ in catalog.shipped_table_rows(kind)}  # type: ignore[arg-type]
    grouper = Grouper(scheme, names)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        # warm-up: JVM, Python workers, code paths (not timed)
        w = Path(tmp) / "warm"
        write_claims(w, 2_000)
        SparkAuditEngine(lib).run(spark, claims_frame(spark, str(w))).write.mode("overwrite").parquet(
            f"{tmp}/wf"
        )
        write_indicator_tables(Path(tmp) / "warm-export", 2_000, 0)
        indicators_run(spark, Path(tmp) / "warm-export", cores)
        for f in factors:
            path = Path(tmp) / f"claims{f}"
            n_lines = write_claims(path, base_lines * f)
            t0 = time.perf_counter()
            found = SparkAuditEngine(lib).run(spark, claims_frame(spark, str(path)))
            found.write.mode("overwrite").parquet(f"{tmp}/findings{f}")
            t_spark = time.perf_counter() - t0
            con = duckdb.connect()
            con.execute(f"SET threads = {cores}")
            t0 = time.perf_counter()
            con.sql(f"CREATE VIEW claim_lines AS SELECT * FROM read_parquet('{path}/**/*.parquet')")
            dres = BatchEngine(lib).run_arrow(con)
            con.execute(f"COPY (SELECT * FROM dres) TO '{tmp}/dfind{f}.parquet' (FORMAT PARQUET)")
            t_duck = time.perf_counter() - t0
            n_found = spark.read.parquet(f"{tmp}/findings{f}").count()
            assert n_found == dres.num_rows, (n_found, dres.num_rows)
            # DRG
            n_rec = base_records * f
            recs = []
            for line in make_lines(grouper, n_rec, seed=f):
                p = line.split(",")
                recs.append({**dict(zip(LAYOUT, p[:8], strict=True)), "ICD10_DRGS": p[8], "ICD9_DRGS": p[9]})
            rpath = Path(tmp) / f"records{f}.parquet"
            import pyarrow as pa
            import pyarrow.parquet as pq

            pq.write_table(pa.Table.from_pylist(recs), rpath)
            t0 = time.perf_counter()
            grouped = group_frame(spark, spark.read.parquet(str(rpath)).repartition(2 * cores), grouper)
            grouped.write.mode("overwrite").parquet(f"{tmp}/grouped{f}")
            t_drg = time.perf_counter() - t0
            t0 = time.perf_counter()
            for r in recs:
                group_row(grouper, r)
            t_inproc = time.perf_counter() - t0
            # indicators
            n_visits = base_visits * f
            write_indicator_tables(Path(tmp) / f"export{f}", n_visits, f)
            t_ind, t_ind_duck, counted = indicators_run(spark, Path(tmp) / f"export{f}", cores)
            assert counted == n_visits
            row = {
                "factor": f,
                "lines": n_lines,
                "findings": n_found,
                "spark_audit_s": round(t_spark, 2),
                "duckdb_audit_s": round(t_duck, 2),
                "spark_lines_per_s": round(n_lines / t_spark),
                "duckdb_lines_per_s": round(n_lines / t_duck),
                "records": n_rec,
                "spark_drg_s": round(t_drg, 2),
                "spark_records_per_s": round(n_rec / t_drg),
                "inprocess_records_per_s": round(n_rec / t_inproc),
                "visits": n_visits,
                "spark_indicators_s": round(t_ind, 2),
                "duckdb_indicators_s": round(t_ind_duck, 2),
                "spark_visits_per_s": round(n_visits / t_ind),
                "duckdb_visits_per_s": round(n_visits / t_ind_duck),
            }
            rows.append(row)
            print(
                f"×{f}: audit {n_lines:,} lines — Spark {t_spark:.2f} s ({n_lines / t_spark / cores:,.0f} lines/s/core), "
                f"DuckDB {t_duck:.2f} s ({n_lines / t_duck / cores:,.0f} lines/s/core), {n_found} findings; "
                f"DRG {n_rec:,} records — Spark {t_drg:.2f} s ({n_rec / t_drg / cores:,.0f} rec/s/core), "
                f"in-process 1 core {n_rec / t_inproc:,.0f} rec/s; "
                f"indicators {n_visits:,} visits — Spark {t_ind:.2f} s, DuckDB (2 GROUP BYs) {t_ind_duck:.2f} s",
                flush=True,
            )
    spark.stop()
    sizes = [float(r["lines"]) for r in rows]
    a_slope = slope(sizes, [r["spark_audit_s"] for r in rows]) if len(rows) > 1 else 1.0
    d_slope = (
        slope([float(r["records"]) for r in rows], [r["spark_drg_s"] for r in rows]) if len(rows) > 1 else 1.0
    )
    i_slope = (
        slope([float(r["visits"]) for r in rows], [r["spark_indicators_s"] for r in rows])
        if len(rows) > 1
        else 1.0
    )
    last = rows[-1]
    print(
        json.dumps(
            {
                "benchmark": "spark_scale",
                "master": args.master,
                "cores": cores,
                "spark_lines_per_s": last["spark_lines_per_s"],
                "duckdb_lines_per_s": last["duckdb_lines_per_s"],
                "spark_lines_per_s_per_core": round(last["spark_lines_per_s"] / cores),
                "duckdb_lines_per_s_per_core": round(last["duckdb_lines_per_s"] / cores),
                "spark_records_per_s": last["spark_records_per_s"],
                "spark_records_per_s_per_core": round(last["spark_records_per_s"] / cores),
                "inprocess_records_per_s": last["inprocess_records_per_s"],
                "scaling_slope": round(a_slope, 3),
                "drg_scaling_slope": round(d_slope, 3),
                "spark_visits_per_s": last["spark_visits_per_s"],
                "duckdb_visits_per_s": last["duckdb_visits_per_s"],
                "indicators_scaling_slope": round(i_slope, 3),
                "runs": rows,
            },
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
