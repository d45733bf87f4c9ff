"""``yilian drg`` commands against the test database (they commit, so the test cleans up after itself)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import delete, select
from typer.testing import CliRunner

from tests.drg.helpers import DATA
from yilian.catalog import service as catalog
from yilian.catalog.models import DiagnosisCode, ProcedureCode
from yilian.drg.cli import app
from yilian.drg.models import DrgBaseRate, DrgGroup, DrgScheme
from yilian.drg.repository import delete_scheme_tables
from yilian.kit.db import unit_of_work

CODE = "cli-test-1.1"


@pytest.fixture
def code_tables(engine: object) -> Iterator[None]:
    """The shipped 医保版 code tables, committed for the CLI and removed afterwards."""
    with unit_of_work() as session:
        catalog.load_code_table(session, "diagnosis")
        catalog.load_code_table(session, "procedure")
    yield
    with unit_of_work() as session:
        session.execute(delete(DiagnosisCode))
        session.execute(delete(ProcedureCode))


@pytest.fixture
def cli_scheme(engine: object) -> Iterator[str]:
    result = CliRunner().invoke(app, ["import-scheme", "--version", CODE])  # the shipped tables
    assert result.exit_code == 0, result.output
    assert (
        "adrg=376" in result.output and "drg=628" in result.output and "exclusion_tables=223" in result.output
    )
    yield CODE
    with unit_of_work() as session:
        row = session.scalars(select(DrgScheme).where(DrgScheme.code == CODE)).one()
        delete_scheme_tables(session, row.id)
        session.execute(delete(DrgBaseRate).where(DrgBaseRate.scheme_id == row.id))
        session.delete(row)


def test_batch_group_writes_every_column_back(cli_scheme: str, code_tables: None, tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    src = DATA / "cases_with_expected_drg.csv"
    result = CliRunner().invoke(
        app, ["group", "--scheme", cli_scheme, "--input", str(src), "--output", str(out)]
    )
    assert result.exit_code == 0, result.output
    with src.open(encoding="utf-8-sig") as fh:
        rows_in = list(csv.DictReader(fh))
    with out.open(encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)
        assert reader.fieldnames == [
            *rows_in[0].keys(),
            "group_mdc",
            "group_adrg",
            "group_drg",
            "group_status",
            "group_explanation",
            "principal_dx_name",
            "principal_procedure_name",
            "unknown_codes",
        ]
    assert len(rows) == len(rows_in) == 30
    first = rows[0]  # K22.301 with 96.0800x005
    assert first["principal_dx_name"] == "食管破裂"
    assert first["principal_procedure_name"] == "鼻十二指肠营养管置入术" and first["unknown_codes"] == ""
    assert "K22.301 食管破裂" in first["group_explanation"]
    for before, after in zip(rows_in, rows, strict=True):
        assert {k: after[k] for k in before} == before
        if before["drg"]:
            assert after["group_drg"] == before["drg"]
        assert after["group_explanation"].startswith("1. ")


def test_bad_rows_are_marked_and_exit_1(cli_scheme: str, tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text(
        "Index,gender,age,ageDay,weight,dept,inHospitalTime,leavingType,ICD10_DRGS,ICD9_DRGS\n1,1,60,,,x,5,1,I63.900,\n2,1,60,,-2,x,5,1,P07.300,\n3,1,60,,,x,5,1,NOTACODE,\n",
        encoding="utf-8",
    )
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(
        app, ["group", "--scheme", cli_scheme, "--input", str(src), "--output", str(out)]
    )
    assert result.exit_code == 1
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [r["group_status"] for r in rows] == ["grouped", "error", "error"]
    assert rows[0]["group_drg"] == "BR25"


def test_unknown_codes_are_reported_not_dropped(cli_scheme: str, code_tables: None, tmp_path: Path) -> None:
    src = tmp_path / "in.csv"
    src.write_text(
        "Index,gender,age,ICD10_DRGS,ICD9_DRGS\n1,1,60,I63.900|A99.999x999,88.9999\n",
        encoding="utf-8",
    )
    out = tmp_path / "out.csv"
    result = CliRunner().invoke(
        app, ["group", "--scheme", cli_scheme, "--input", str(src), "--output", str(out)]
    )
    assert result.exit_code == 0, result.output
    (row,) = list(csv.DictReader(out.open(encoding="utf-8")))
    assert row["unknown_codes"] == "A99.999x999|88.9999"
    assert row["principal_dx_name"] == "脑梗死" and row["group_drg"] == "BR25"
    assert "A99.999x999、88.9999 不在医保版编码表中" in row["group_explanation"]


def test_policy_import_and_unknown_scheme(cli_scheme: str, tmp_path: Path) -> None:
    path = tmp_path / "policy.csv"
    path.write_text(
        "type,key,weight,mean_cost_yuan,mean_los_days,high_ratio,low_ratio,rate_yuan\nweight,BR25,0.9512,11414.40,9.5,,,\nbase_rate,三级,,,,,,12000\nthreshold,default,,,,2.0,0.4,\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["import-policy", str(path), "--scheme", cli_scheme])
    assert result.exit_code == 0, result.output
    assert "weights: 1; base rates: 1; thresholds: 1" in result.output
    with unit_of_work() as session:
        sid = session.scalars(select(DrgScheme.id).where(DrgScheme.code == cli_scheme)).one()
        g = session.scalars(select(DrgGroup).where(DrgGroup.scheme_id == sid, DrgGroup.code == "BR25")).one()
        assert str(g.weight) == "0.9512" and g.mean_cost_fen == 1_141_440
    missing = CliRunner().invoke(app, ["group", "--scheme", "nope", "--input", str(path)])
    assert missing.exit_code == 2 and "方案" in missing.output
