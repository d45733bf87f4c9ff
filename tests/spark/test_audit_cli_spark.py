"""``yilian audit run --engine spark``: synthetic claims (Parquet) audited on Spark; the findings
Parquet equals the DuckDB engine's findings on the same file, and --load stores them as one audit run
for review (the test commits, so it removes its run afterwards)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
from sqlalchemy import delete, select
from typer.testing import CliRunner

from yilian.insurance.audit.batch import BatchEngine, findings_from_arrow
from yilian.insurance.audit.cli import app
from yilian.insurance.audit.domain import default_library
from yilian.insurance.audit.models import AuditFinding, AuditFindingDepartment, AuditRun
from yilian.kit.db import unit_of_work


def test_run_on_spark_writes_parquet_and_loads_for_review(spark: Any, engine: object, tmp_path: Path) -> None:
    claims = tmp_path / "claims.parquet"
    made = CliRunner().invoke(app, ["synth", "--out", str(claims), "--lines", "2000", "--copies", "1"])
    assert made.exit_code == 0, made.output
    out = tmp_path / "findings"
    result = CliRunner().invoke(
        app,
        [
            "run",
            "--engine",
            "spark",
            "--claims",
            str(claims),
            "--master",
            "local[2]",
            "--out",
            str(out),
            "--load",
        ],
    )
    assert result.exit_code == 0, result.output
    con = duckdb.connect()
    con.sql(f"CREATE VIEW claim_lines AS SELECT * FROM '{claims}'")
    expected = BatchEngine(default_library()).run(con)
    assert findings_from_arrow(pq.read_table(out)) == expected
    assert f"{len(expected)} findings" in result.output
    run_id = int(result.output.split("run ")[1].split(":")[0])
    try:
        with unit_of_work() as session:
            run = session.get(AuditRun, run_id)
            assert run is not None and run.findings_count == len(expected) and run.lines_scanned > 2000
            stored = session.scalars(select(AuditFinding).where(AuditFinding.run_id == run_id)).all()
            assert sorted((f.rule_id, f.claim_id) for f in stored) == sorted(
                (f.rule_id, f.claim_id) for f in expected
            )
            assert all(f.status == "open" for f in stored)
            assert any(f.evidence["lines"] for f in stored)
    finally:
        with unit_of_work() as session:
            ids = select(AuditFinding.id).where(AuditFinding.run_id == run_id)
            session.execute(delete(AuditFindingDepartment).where(AuditFindingDepartment.finding_id.in_(ids)))
            session.execute(delete(AuditFinding).where(AuditFinding.run_id == run_id))
            session.execute(delete(AuditRun).where(AuditRun.id == run_id))
