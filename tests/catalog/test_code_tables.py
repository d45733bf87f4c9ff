"""The ICD-10 and ICD-9-CM-3 医保版 code tables shipped with yilian: one code list for order entry,
the discharge abstract, the audit and the DRG grouper."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.builders import bearer, make_institution, make_user
from yilian.catalog import service
from yilian.catalog.cli import app as catalog_cli
from yilian.catalog.errors import UnknownCodes
from yilian.catalog.models import DiagnosisCode, ProcedureCode
from yilian.drg import importer
from yilian.drg.domain import Grouper
from yilian.kit.auth.domain import Role
from yilian.kit.db import unit_of_work


@pytest.fixture
def tables(session: Session) -> Session:
    dx = service.load_code_table(session, "diagnosis")
    px = service.load_code_table(session, "procedure")
    assert (dx.created, px.created) == (33_304, 13_686)
    return session


def test_shipped_tables_are_whole_and_well_formed() -> None:
    dx = service.shipped_table_rows("diagnosis")
    px = service.shipped_table_rows("procedure")
    assert len(dx) == len({c for c, _, _ in dx}) == 33_304
    assert len(px) == len({c for c, _, _ in px}) == 13_686
    names = {c: (n, i) for c, n, i in dx}
    assert names["K35.800x001"] == ("急性阑尾炎", "jxlwy")
    assert names["A18.303+K93.0*"][0]  # dagger/asterisk pairs are codes of the table


def test_loading_twice_adds_nothing_and_search_finds_by_code_name_and_initials(tables: Session) -> None:
    again = service.load_code_table(tables, "diagnosis")
    assert (again.created, again.updated) == (0, 0)
    assert [e.code for e in service.search_codes(tables, "diagnosis", "K35.800x")] == ["K35.800x001"]
    assert "K35.800x001" in [e.code for e in service.search_codes(tables, "diagnosis", "jxlwy", limit=50)]
    assert "K35.800x001" in [
        e.code for e in service.search_codes(tables, "diagnosis", "急性阑尾炎", limit=50)
    ]
    found = service.search_codes(tables, "procedure", "51.2201")
    assert [e.label for e in found] == ["51.2201 残余胆囊切除术"]
    assert service.code_names(tables)["96.7101"] == "呼吸机治疗[小于96小时]"


def test_codes_a_person_types_must_be_in_the_table(tables: Session) -> None:
    ok = service.require_codes(tables, "diagnosis", ["I63.900", " K35.800x001 "])
    assert [e.name for e in ok] == ["脑梗死", "急性阑尾炎"]
    with pytest.raises(UnknownCodes) as exc:
        service.require_codes(tables, "diagnosis", ["I63.900", "A99.999x999", "NOTACODE"])
    assert exc.value.detail == (
        "诊断编码格式不正确：NOTACODE；不在医保版诊断编码表中：A99.999x999。请从编码表中选择。"
    )
    with pytest.raises(UnknownCodes, match="手术操作编码.*88.9999"):
        service.require_codes(tables, "procedure", ["51.2201", "88.9999"])
    assert service.unknown_codes(tables, "procedure", ["51.2201", "88.9999"]) == ["88.9999"]
    assert service.get_procedure(tables, "51.2201").name == "残余胆囊切除术"


def test_common_diagnoses_are_in_the_table_and_grouped_by_the_scheme(tables: Session) -> None:
    common = service.common_diagnoses(tables)
    text = (service.resources.files("yilian.catalog") / "data" / "common_icd10.txt").read_text("utf-8")
    listed = [x.strip() for x in text.splitlines() if x.strip() and not x.startswith("#")]
    assert [e.code for e in common] == listed  # none missing from the 医保版 table
    scheme, _ = importer.build_scheme("chs-1.1", importer.read_texts(importer.packaged_dir()))
    grouper = Grouper(scheme)
    assert [c for c in listed if grouper.principal_dx_problem(c)[0] is not None] == []
    assert "K35.800x001" in listed and "K35.800" not in listed


def test_api_searches_both_tables(client: TestClient, tables: Session) -> None:
    doctor = bearer(client, make_user(tables, role=Role.DOCTOR, institution=make_institution(tables)))
    dx = client.get("/api/v1/catalog/diagnoses", params={"q": "jxlwy"}, headers=doctor).json()
    assert "K35.800x001" in [i["code"] for i in dx["items"]]
    px = client.get("/api/v1/catalog/procedures", params={"q": "51.2201"}, headers=doctor).json()
    assert px["items"] == [{"code": "51.2201", "name": "残余胆囊切除术"}] and px["total"] == 1


def test_cli_loads_another_edition_and_reports_bad_lines(engine: object, tmp_path: Path) -> None:
    path = tmp_path / "dx.txt"
    path.write_text("Z99.998x001 测试诊断甲\nNOTACODE 坏行\nZ99.998x002 测试诊断乙\n", encoding="utf-8")
    empty = tmp_path / "px.txt"
    empty.write_text("99.9998 测试操作\n", encoding="utf-8")
    try:
        result = CliRunner().invoke(
            catalog_cli, ["load-codes", "--diagnoses", str(path), "--procedures", str(empty)]
        )
        assert result.exit_code == 1, result.output
        assert "line 2 [NOTACODE]" in result.output and "diagnosis: 2 codes; created 2" in result.output
        with unit_of_work() as session:
            assert (
                service.code_entries(session, "diagnosis", ["Z99.998x002"])["Z99.998x002"].name_initials
                == "cszdy"
            )
    finally:
        with unit_of_work() as session:
            session.execute(delete(DiagnosisCode).where(DiagnosisCode.code.like("Z99.998%")))
            session.execute(delete(ProcedureCode).where(ProcedureCode.code == "99.9998"))
