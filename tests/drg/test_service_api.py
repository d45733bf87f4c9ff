"""DRG over HTTP and through the service: schemes, grouping, policy import, batch upload, analysis, export."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.builders import bearer, make_institution, make_user
from yilian.drg import service
from yilian.drg.domain import Grouper
from yilian.drg.errors import InvalidPolicyFile, InvalidScheme, SchemeExists
from yilian.drg.models import DrgBatch, DrgCase, DrgGroup, DrgScheme
from yilian.kit.access_log import AccessAudit
from yilian.kit.auth.domain import Role


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


@pytest.fixture
def stored(session: Session, texts: dict[str, str]) -> DrgScheme:
    row, _ = service.import_scheme(session, "chs-1.1", texts)
    service.import_policy(session, "chs-1.1", service.synthetic_policy_csv(session, "chs-1.1"))
    return row


def test_scheme_round_trips_through_the_database(
    session: Session, stored: DrgScheme, grouper: Grouper, texts: dict[str, str]
) -> None:
    g = service.grouper(session, "chs-1.1")
    assert g is service.grouper(session, "chs-1.1")  # cached per scheme
    assert len(g.scheme.adrgs) == 376 and len(g.drgs) == 628
    assert g.scheme.mcc == grouper.scheme.mcc and g.scheme.exclusions == grouper.scheme.exclusions
    assert [a.conditions for a in g.scheme.adrgs] == [a.conditions for a in grouper.scheme.adrgs]
    with pytest.raises(SchemeExists):
        service.import_scheme(session, "chs-1.1", texts)
    again, _ = service.import_scheme(session, "chs-1.1", texts, replace=True)
    assert again.id == stored.id
    assert len(service.grouper(session, "chs-1.1").scheme.adrgs) == 376  # tables replaced, not doubled
    with pytest.raises(InvalidScheme, match="7_CCE"):
        service.import_scheme(session, "other", {k: v for k, v in texts.items() if k != "7_CCE"})
    assert session.scalars(select(DrgScheme).where(DrgScheme.code == "other")).first() is None


def test_group_one_and_many_over_http(client: TestClient, session: Session, stored: DrgScheme) -> None:
    hospital = make_institution(session)
    doctor = make_user(session, role=Role.DOCTOR, institution=hospital)
    headers = bearer(client, doctor)
    listed = client.get("/api/v1/drg/schemes", headers=headers)
    assert listed.status_code == 200 and listed.json()[0]["code"] == "chs-1.1"
    one = client.post(
        "/api/v1/drg/group",
        json={"record": {"principal_dx": "I63.900", "other_dx": ["A01.100"], "sex": 1, "age_years": 70}},
        headers=headers,
    )
    assert one.status_code == 200, one.text
    body = one.json()["results"][0]
    assert body["drg"] == "BR21" and body["trigger"] == "A01.100" and body["scheme"] == "chs-1.1"
    assert any("MCC" in s for s in body["explanation"])
    many = client.post(
        "/api/v1/drg/group",
        json={
            "records": [
                {"principal_dx": "C61.x00", "procedures": ["60.5x02"], "sex": 1},
                {"principal_dx": "U99.999x999"},
            ]
        },
        headers=headers,
    )
    assert [r["drg"] for r in many.json()["results"]] == ["MA19", "0000"]
    with_or = client.post(
        "/api/v1/drg/group",
        json={"record": {"principal_dx": "K81.900", "procedures": ["88.7401", "51.2201"], "sex": 1}},
        headers=headers,
    ).json()["results"][0]
    assert (with_or["adrg"], with_or["principal_procedure"]) == ("HC2", "51.2201")
    assert with_or["unknown_codes"] == []  # no code table loaded here: nothing can be called unknown
    bad = client.post(
        "/api/v1/drg/group",
        json={"records": [{"principal_dx": "I63.900"}, {"principal_dx": "I63.900", "birth_weight_g": -3}]},
        headers=headers,
    )
    assert bad.status_code == 400
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert bad.json()["code"] == "drg_invalid_record" and "第 2 条" in bad.json()["detail"]
    cashier = make_user(session, role=Role.CASHIER, institution=hospital)
    assert (
        client.post(
            "/api/v1/drg/group", json={"record": {"principal_dx": "I63.900"}}, headers=bearer(client, cashier)
        ).status_code
        == 403
    )


def _upload_csv() -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(
        [
            "病案号",
            "科室",
            "主治医师",
            "性别",
            "年龄",
            "入院日期",
            "出院日期",
            "离院方式",
            "诊断编码",
            "手术操作编码",
            "总费用",
        ]
    )
    w.writerow(
        [
            "A1",
            "神经内科",
            "张医生",
            "1",
            "70",
            "2026-05-01",
            "2026-05-11",
            "1",
            "I63.900|A01.100",
            "",
            "30000.00",
        ]
    )
    w.writerow(
        ["A2", "神经内科", "张医生", "2", "66", "2026-05-02", "2026-05-09", "1", "I63.900", "", "9000.00"]
    )
    w.writerow(
        ["A3", "神经内科", "李医生", "1", "58", "2026-05-03", "2026-05-08", "1", "I63.900", "", "200.00"]
    )
    w.writerow(
        [
            "B1",
            "泌尿外科",
            "王医生",
            "1",
            "72",
            "2026-05-01",
            "2026-05-15",
            "1",
            "C61.x00",
            "60.5x02",
            "52000.50",
        ]
    )
    w.writerow(
        ["B2", "泌尿外科", "王医生", "1", "80", "2026-05-04", "2026-05-06", "1", "C61.x00", "01.2413", "8000"]
    )
    return buf.getvalue().encode("utf-8")


def test_upload_analyse_and_export(client: TestClient, session: Session, stored: DrgScheme) -> None:
    officer = make_user(session, role=Role.INSURANCE_OFFICER, institution=make_institution(session))
    headers = bearer(client, officer)
    created = client.post(
        "/api/v1/drg/batches",
        files={"file": ("2026-05.csv", _upload_csv(), "text/csv")},
        data={"scheme": "chs-1.1", "institution_level": "三级"},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    batch = created.json()
    assert (batch["rows"], batch["grouped"], batch["ambiguous"]) == (5, 4, 1)
    cases = {c.record_no: c for c in session.scalars(select(DrgCase).where(DrgCase.batch_id == batch["id"]))}
    weights = {
        g.code: g.weight for g in session.scalars(select(DrgGroup).where(DrgGroup.scheme_id == stored.id))
    }
    assert cases["A1"].drg == "BR21" and cases["B1"].drg == "MA19" and cases["B2"].drg == "MQY"
    assert cases["B1"].total_cost_fen == 5_200_050
    assert cases["A1"].payment_fen == int((weights["BR21"] * 1_200_000).to_integral_value())
    assert cases["A3"].outlier == "low"  # 200 yuan against a mean of RW × 12000 yuan
    analysis = client.get(f"/api/v1/drg/batches/{batch['id']}/analysis", headers=headers)
    assert analysis.status_code == 200
    depts = {d["unit"]: d for d in analysis.json()["departments"]}
    assert depts["神经内科"]["cases"] == 3 and depts["泌尿外科"]["cases"] == 1
    expected_cmi = (weights["BR21"] + 2 * weights["BR25"]) / 3
    assert depts["神经内科"]["cmi"] == pytest.approx(float(expected_cmi), abs=1e-4)
    assert depts["泌尿外科"]["cost_index"] == pytest.approx(1.0)
    assert depts["神经内科"]["profit_fen"] == sum(
        cases[k].payment_fen - cases[k].total_cost_fen for k in ("A1", "A2", "A3")
    )
    assert {d["unit"] for d in analysis.json()["doctors"]} == {
        "神经内科/张医生",
        "神经内科/李医生",
        "泌尿外科/王医生",
    }
    xlsx = client.get(f"/api/v1/drg/batches/{batch['id']}/export.xlsx", headers=headers)
    assert xlsx.status_code == 200
    wb = load_workbook(io.BytesIO(xlsx.content))
    assert wb.sheetnames == ["科室", "医生", "亏损病组", "病例"]
    assert wb["病例"].max_row == 6
    audits = session.scalars(
        select(AccessAudit).where(AccessAudit.resource == f"drg_batch:{batch['id']}")
    ).all()
    assert {a.action for a in audits} >= {"create", "read"}
    doctor = make_user(session, role=Role.DOCTOR, institution=make_institution(session))
    assert (
        client.get(f"/api/v1/drg/batches/{batch['id']}/analysis", headers=bearer(client, doctor)).status_code
        == 403
    )


def test_bad_row_stores_nothing(client: TestClient, session: Session, stored: DrgScheme) -> None:
    officer = make_user(session, role=Role.INSURANCE_OFFICER, institution=make_institution(session))
    before = (_count(session, DrgBatch), _count(session, DrgCase))
    text = _upload_csv().decode() + "C1,内科,赵,1,40,2026-05-09,2026-05-01,1,J18.900,,100\n"
    resp = client.post(
        "/api/v1/drg/batches",
        files={"file": ("x.csv", text.encode(), "text/csv")},
        headers=bearer(client, officer),
    )
    assert resp.status_code == 400
    assert "第 7 行" in resp.json()["detail"] and "出院日期早于入院日期" in resp.json()["detail"]
    assert (_count(session, DrgBatch), _count(session, DrgCase)) == before


def test_excel_upload(session: Session, stored: DrgScheme) -> None:
    from openpyxl import Workbook

    from tests.builders import actor_of

    wb = Workbook()
    rows = list(csv.reader(io.StringIO(_upload_csv().decode())))
    for r in rows:
        wb.active.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    parsed = service.read_table(buf.getvalue(), "may.xlsx")
    assert len(parsed) == 5 and parsed[0]["诊断编码"] == "I63.900|A01.100"
    officer = make_user(session, role=Role.INSURANCE_OFFICER, institution=make_institution(session))
    batch = service.upload_batch(session, actor_of(officer), "chs-1.1", parsed, name="may.xlsx")
    assert batch.grouped == 4


def test_policy_file_is_all_or_nothing(session: Session, stored: DrgScheme) -> None:
    before = session.scalar(
        select(DrgGroup.weight).where(DrgGroup.scheme_id == stored.id, DrgGroup.code == "BR21")
    )
    text = "type,key,weight,mean_cost_yuan,mean_los_days,high_ratio,low_ratio,rate_yuan\nweight,BR21,9.9,1,1,,,\nweight,XX99,1,1,1,,,\n"
    with pytest.raises(InvalidPolicyFile, match="XX99"):
        service.import_policy(session, "chs-1.1", text)
    after = session.scalar(
        select(DrgGroup.weight).where(DrgGroup.scheme_id == stored.id, DrgGroup.code == "BR21")
    )
    assert after == before
    with pytest.raises(InvalidPolicyFile, match="负数"):
        service.import_policy(session, "chs-1.1", "type,key,weight\nweight,BR21,-1\n")
