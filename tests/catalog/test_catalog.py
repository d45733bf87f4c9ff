"""The catalogue: code formats, row checks, CSV import all-or-nothing with a report, API and CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.builders import bearer, make_institution, make_user
from yilian.catalog import service
from yilian.catalog.cli import app as catalog_cli
from yilian.catalog.domain import (
    InsuranceClass,
    ItemKind,
    check_diagnosis_code,
    check_item_code,
    parse_catalog_row,
)
from yilian.catalog.errors import InvalidCatalogRow, InvalidDiagnosisCode, InvalidItemCode
from yilian.catalog.models import CatalogItem
from yilian.kit.auth.domain import Role

HEADER = "code,kind,name,spec,unit,price_yuan,insurance_class,self_pay_ratio,limit_sex,limit_min_age,limit_max_age,limit_indications,limit_settings,limit_min_level\n"
GLUCOSE = "250301001000000,lab,葡萄糖测定（血糖）,,项,5.00,甲,,,,,,,\n"
METFORMIN = "XA10BAM039A001010100001,drug,盐酸二甲双胍片,0.5g*48片,盒,12.80,乙,0.1,,,,E11|E13,,\n"


def test_item_codes_by_kind() -> None:
    assert check_item_code("250301001000000", ItemKind.LAB) == "250301001000000"
    assert check_item_code("xa10bam039a001010100001", ItemKind.DRUG) == "XA10BAM039A001010100001"
    with pytest.raises(InvalidItemCode):
        check_item_code("25030100100000", ItemKind.LAB)  # 14 digits
    with pytest.raises(InvalidItemCode):
        check_item_code("250301001000000", ItemKind.DRUG)
    with pytest.raises(InvalidItemCode):
        check_item_code("A10BAM039A001010100001", ItemKind.DRUG)


@pytest.mark.parametrize(
    ("code", "normalised"),
    [
        ("E11.900", "E11.900"),
        ("E11.900x001", "E11.900x001"),
        ("I10.x00", "I10.x00"),
        ("J18", "J18"),
        ("e11.900", "E11.900"),
        ("  K35.800x001 ", "K35.800x001"),
    ],
)
def test_icd10_codes(code: str, normalised: str) -> None:
    assert check_diagnosis_code(code) == normalised


@pytest.mark.parametrize("code", ["E1.900", "11.900", "E11.9000", "E11.900y001", ""])
def test_bad_icd10_codes(code: str) -> None:
    with pytest.raises(InvalidDiagnosisCode):
        check_diagnosis_code(code)


def test_row_parsing() -> None:
    row = parse_catalog_row(dict(zip(HEADER.strip().split(","), METFORMIN.strip().split(","), strict=True)))
    assert row.price_fen == 1280 and row.insurance_class is InsuranceClass.B and row.self_pay_permille == 100
    assert row.restrictions.indications == ("E11", "E13")
    bad = dict(zip(HEADER.strip().split(","), GLUCOSE.strip().split(","), strict=True))
    for key, value, reason in [
        ("price_yuan", "5.001", "单价"),
        ("insurance_class", "丁", "医保类别"),
        ("self_pay_ratio", "0.1", "只有乙类"),
        ("kind", "food", "项目类别"),
        ("limit_sex", "3", "限定性别"),
    ]:
        with pytest.raises(InvalidCatalogRow) as err:
            parse_catalog_row({**bad, key: value})
        assert reason in err.value.detail


def test_import_is_all_or_nothing_with_a_report(session: Session) -> None:
    before = session.scalar(select(func.count()).select_from(CatalogItem))
    text = HEADER + GLUCOSE + "25030100100000,lab,坏编码,,项,5.00,甲,,,,,,,\n" + GLUCOSE
    report = service.import_items(session, text)
    assert not report.applied and report.created == 0
    assert [(p.line, p.reason[:8]) for p in report.rejected] == [
        (3, "医疗服务项目编码"),
        (4, "文件中编码重复"),
    ]
    assert session.scalar(select(func.count()).select_from(CatalogItem)) == before

    partial = service.import_items(session, text, partial=True)
    assert partial.applied and partial.created + partial.updated == 1
    again = service.import_items(session, HEADER + GLUCOSE.replace("5.00", "6.50") + METFORMIN)
    assert again.updated == 1 and again.created + again.updated == 2
    assert service.get_item(session, "250301001000000").price_fen == 650


def test_api_search_and_upload(client: TestClient, session: Session) -> None:
    hospital = make_institution(session)
    admin = bearer(client, make_user(session, role=Role.ADMIN))
    response = client.post(
        "/api/v1/catalog/items/import",
        files={"file": ("items.csv", (HEADER + GLUCOSE + METFORMIN).encode())},
        headers=admin,
    )
    assert response.status_code == 200 and response.json()["applied"] is True
    doctor = bearer(client, make_user(session, role=Role.DOCTOR, institution=hospital))
    found = client.get("/api/v1/catalog/items", params={"q": "二甲双胍"}, headers=doctor).json()
    assert found["items"][0]["price_fen"] == 1280
    assert (
        client.post(
            "/api/v1/catalog/items/import", files={"file": ("x.csv", b"a,b\n")}, headers=doctor
        ).status_code
        == 403
    )
    bad = client.post("/api/v1/catalog/items/import", files={"file": ("x.csv", b"a,b\n1,2\n")}, headers=admin)
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_catalog_row"


def test_cli_import_reports_rejected_rows(tmp_path: Path, engine: object) -> None:
    path = tmp_path / "items.csv"
    path.write_text(HEADER + "bad-code,lab,坏编码,,项,5.00,甲,,,,,,,\n", encoding="utf-8")
    result = CliRunner().invoke(catalog_cli, ["import", str(path)])
    assert result.exit_code == 1
    assert "line 2" in result.output and "nothing was stored" in result.output


def test_search_by_code_name_or_pinyin_initials(session: Session) -> None:
    from yilian.kit.pinyin import name_initials

    assert name_initials("葡萄糖测定（血糖）") == "pttcdxt"
    assert name_initials("胸部CT平扫") == "xbctps"
    service.import_items(session, HEADER + GLUCOSE + METFORMIN)

    def codes(q: str) -> list[str]:
        return [i.code for i in service.search_items(session, q=q)[0]]

    assert codes("ptt") == ["250301001000000"]  # 葡萄糖 by initials
    assert codes("YSEJ") == ["XA10BAM039A001010100001"]  # 盐酸二甲双胍 by initials, any case
    assert codes("xa10bam") == ["XA10BAM039A001010100001"]  # by code, any case
    assert codes("二甲双胍") == ["XA10BAM039A001010100001"]
    assert codes("2503") == ["250301001000000"]
    assert codes("zzz") == []
