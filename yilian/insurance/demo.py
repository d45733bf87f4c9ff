"""Demo data of the insurance area: synthetic claim lines with injected violations, and one audit run."""

from __future__ import annotations

from datetime import date

import duckdb
from sqlalchemy.orm import Session

from yilian.insurance.audit import service, synth
from yilian.insurance.audit.batch import lines_to_arrow
from yilian.insurance.audit.domain import ClaimLine, default_library


def seed(session: Session, *, seed_value: int, scale: float) -> str:
    lib = default_library()
    n = max(2000, int(20_000 * scale))
    con = duckdb.connect()
    try:
        synth.create_base_table(con, lib, n, seed=seed_value, table="base")
        extra, truth = synth.injected(lib, start_line_id=n, copies=2)
        con.register("extra", lines_to_arrow(extra))
        rows = con.sql("SELECT * FROM base UNION ALL SELECT * FROM extra").to_arrow_table().to_pylist()
    finally:
        con.close()
    service.store_lines(session, [ClaimLine(**r) for r in rows], "demo")
    run = service.run_audit(session, service.office_actor("demo"), date(2026, 1, 1), date(2026, 12, 31))
    return (
        f"audit: {len(rows)} claim lines, run {run.id} with {run.findings_count} findings "
        f"({len(truth.pairs)} injected)"
    )
