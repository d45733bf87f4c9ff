"""The DRG demo seed: scheme from ../shared, synthetic policy, a month of discharges that group."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.builders import make_department, make_institution
from yilian.drg import demo
from yilian.drg.models import DrgBaseRate, DrgCase, DrgGroup


def test_demo_seeds_a_month_of_grouped_discharges(session: Session) -> None:
    hospital = make_institution(session, level=3)
    for name in ("心血管内科", "骨科", "妇产科", "检验科"):
        make_department(session, institution=hospital, name=name)
    summary = demo.seed(session, seed_value=3, scale=0.05)
    assert "150 discharges" in summary
    cases = session.scalars(select(DrgCase)).all()
    assert len(cases) >= 150
    assert {c.department.split("/")[1] for c in cases} == {"心血管内科", "骨科", "妇产科"}  # no lab
    grouped = [c for c in cases if c.status == "grouped"]
    assert len(grouped) > 0.8 * len(cases)
    assert all(c.weight is not None and c.payment_fen > 0 for c in grouped)
    assert session.scalar(select(func.count()).select_from(DrgBaseRate)) >= 3
    assert (
        session.scalar(select(func.count()).select_from(DrgGroup).where(DrgGroup.weight.is_not(None))) == 628
    )


def test_demo_without_tables_says_so(
    session: Session, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("YILIAN_DRG_SCHEME_DIR", str(tmp_path))
    assert "skipped" in demo.seed(session, seed_value=3, scale=0.05)
