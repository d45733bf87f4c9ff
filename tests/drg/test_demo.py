"""The DRG demo seed: the scheme shipped in the package, synthetic policy, a month of discharges that group."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.builders import make_department, make_institution
from yilian.drg import demo
from yilian.drg.models import DrgBaseRate, DrgCase, DrgGroup


def test_demo_seeds_a_month_of_grouped_discharges(session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("YILIAN_DRG_SCHEME_DIR", raising=False)  # the package's own tables
    hospital = make_institution(session, level=3)
    for name in ("心血管内科", "骨科", "妇产科", "检验科"):
        make_department(session, institution=hospital, name=name)
    summary = demo.seed(session, seed_value=3, scale=0.05)
    assert "150 discharges" in summary
    cases = session.scalars(select(DrgCase)).all()
    assert len(cases) >= 150
    ours = [c for c in cases if c.department.split("/")[0] == (hospital.short_name or hospital.name)]
    # (other institutions of this test process's database may lend departments too)
    assert {c.department.split("/")[1] for c in ours} == {"心血管内科", "骨科", "妇产科"}  # no lab
    grouped = [c for c in cases if c.status == "grouped"]
    assert len(grouped) == len(cases)  # every demo case groups: no 0000, no QY
    assert all(c.weight is not None and c.payment_fen > 0 for c in grouped)
    assert session.scalar(select(func.count()).select_from(DrgBaseRate)) >= 3
    assert (
        session.scalar(select(func.count()).select_from(DrgGroup).where(DrgGroup.weight.is_not(None))) == 628
    )


def test_demo_without_tables_says_so(
    session: Session, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("YILIAN_DRG_SCHEME_DIR", str(tmp_path))
    groups_before = session.scalar(select(func.count()).select_from(DrgGroup))
    cases_before = session.scalar(select(func.count()).select_from(DrgCase))
    summary = demo.seed(session, seed_value=3, scale=0.05)
    assert summary == f"drg: CHS-DRG tables not found at {tmp_path}; scheme import skipped"
    assert session.scalar(select(func.count()).select_from(DrgGroup)) == groups_before  # nothing imported
    assert session.scalar(select(func.count()).select_from(DrgCase)) == cases_before
