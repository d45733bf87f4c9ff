"""``yilian export --to parquet``: stored claim lines come back from the partitioned dataset whole, and
the DuckDB audit of the export finds what the audit of the stored lines finds."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import duckdb
import pyarrow.dataset as ds
from sqlalchemy.orm import Session

from tests.insurance.audit_helpers import DAY, line
from yilian.insurance.audit import service
from yilian.insurance.audit.batch import BatchEngine
from yilian.insurance.audit.domain import default_library
from yilian.kit.export import export_parquet


def test_claim_lines_partitioned_by_month_and_region(session: Session, tmp_path: Path) -> None:
    lib = default_library()
    price_rule = next(r for r in lib.rules if r.family == "price")
    code, price = next(iter(price_rule.params["prices"].items()))
    lines = [
        line(i, code, claim_id=f"C{i}", service_date=DAY + timedelta(days=25 * i), unit_price=price + (i % 2))
        for i in range(1, 7)
    ]
    service.store_lines(session, lines, source="t")
    session.flush()
    counts = export_parquet(session, tmp_path, "320100", ["audit_claim_lines", "drg_cases"])
    assert counts == {"audit_claim_lines": 6, "drg_cases": 0}
    months = sorted(p.name for p in (tmp_path / "audit_claim_lines").iterdir())
    assert months == sorted({f"month={(DAY + timedelta(days=25 * i)):%Y-%m}" for i in range(1, 7)})
    assert len(months) == 5 and all(
        (tmp_path / "audit_claim_lines" / m / "region=320100").is_dir() for m in months
    )
    table = ds.dataset(tmp_path / "audit_claim_lines", partitioning="hive").to_table()
    assert sorted(table.column("line_id").to_pylist()) == [1, 2, 3, 4, 5, 6]
    con = duckdb.connect()
    con.sql(
        f"CREATE VIEW claim_lines AS SELECT * EXCLUDE (source, month, region) "
        f"FROM read_parquet('{tmp_path}/audit_claim_lines/**/*.parquet', hive_partitioning = true)"
    )
    exported = BatchEngine(lib).run(con)
    assert exported == BatchEngine(lib).audit_lines(lines)
    assert {f.claim_id for f in exported} == {"C1", "C3", "C5"}
    # an empty table is still a dataset, with the declared column types (decimal weights, dates)
    drg = ds.dataset(tmp_path / "drg_cases", partitioning="hive")
    assert drg.count_rows() == 0
    assert str(drg.schema.field("weight").type) == "decimal128(10, 4)"
    assert str(drg.schema.field("discharge_date").type) == "date32[day]"
