"""The discharge abstract (病案首页): codes checked against ICD-10 医保版 through catalog, every change
kept with who and when, quality checks before sign-off, the sign-off event for drg."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.builders import bearer, make_user
from tests.inpatient.helpers import Pool, admit_to, beds_of
from yilian.catalog import service as catalog
from yilian.inpatient import service as svc
from yilian.inpatient.errors import AbstractInvalid, UnknownCode
from yilian.inpatient.models import AbstractChange
from yilian.kit.auth.domain import Role
from yilian.kit.clock import business_date
from yilian.kit.events import OutboxEvent

ICD = "code,name\nI21.900,急性心肌梗死\nI25.103,冠状动脉粥样硬化性心脏病\nE11.900,2型糖尿病不伴有并发症\nN40.x00,前列腺增生\nO80.000,单胎顺产\n"


def _stay(session: Session, pool: Pool) -> svc.Admission:
    catalog.import_diagnoses(session, ICD)
    admission = admit_to(session, pool, beds_of(session, pool.cardio_ward)[0], pool.cardiology)
    svc.charge_day(session, admission.id, business_date())
    svc.discharge(
        session, pool.nurse, admission.id, disposition=1, discharged_on=business_date() + timedelta(days=4)
    )
    return admission


def test_quality_checks_then_sign_off(session: Session, pool: Pool) -> None:
    admission = _stay(session, pool)
    _row, _record, problems = svc.read_abstract(session, pool.coder, admission.id)
    assert problems == ["缺少主要诊断"]
    with pytest.raises(AbstractInvalid, match="缺少主要诊断"):
        svc.sign_abstract(session, pool.coder, admission.id)
    svc.update_abstract(
        session,
        pool.coder,
        admission.id,
        principal_diagnosis="I21.900",
        other_diagnoses=["E11.900", "O80.000"],
        procedures=[svc.ProcedureIn("36.0601", business_date() - timedelta(days=3))],
        ventilation_hours=12,
    )
    _row, record, problems = svc.read_abstract(session, pool.coder, admission.id)
    assert "性别冲突：O80.000 仅适用于女性" in problems
    assert any(p.startswith("手术操作 36.0601 的日期") and p.endswith("不在住院期间") for p in problems)
    with pytest.raises(AbstractInvalid):
        svc.sign_abstract(session, pool.coder, admission.id)
    svc.update_abstract(
        session,
        pool.coder,
        admission.id,
        other_diagnoses=["E11.900"],
        procedures=[svc.ProcedureIn("36.0601", business_date() + timedelta(days=1))],
    )
    signed = svc.sign_abstract(session, pool.coder, admission.id)
    assert signed.status == "signed" and signed.signed_by == pool.coder.username
    record = svc.abstract_record(session, admission.id)
    assert (record.principal_dx, record.other_dx, record.procedures) == (
        "I21.900",
        ("E11.900",),
        ("36.0601",),
    )
    assert record.los_days == 4 and record.total_cost_fen == 7_600 and record.sex == 1
    assert svc.signed_abstracts(session, pool.hospital.id, date(2026, 1, 1), date(2026, 12, 31)) == [
        admission.id
    ]
    event = session.scalar(select(OutboxEvent).where(OutboxEvent.topic == "inpatient.abstract_signed"))
    assert event is not None and event.payload["admission_id"] == admission.id
    fields = [c.field for c in session.scalars(select(AbstractChange))]
    assert fields.count("other_diagnoses") == 2 and fields[-1] == "status"
    with pytest.raises(svc.AdmissionStateError):
        svc.update_abstract(session, pool.coder, admission.id, principal_diagnosis="I25.103")


def test_unknown_codes_are_refused_over_http(client: TestClient, session: Session, pool: Pool) -> None:
    admission = _stay(session, pool)
    coder = make_user(session, role=Role.INSURANCE_OFFICER, institution=pool.hospital)
    session.commit()
    headers = bearer(client, coder)
    url = f"/api/v1/inpatient/admissions/{admission.id}/abstract"
    r = client.patch(
        url, headers=headers, json={"principal_diagnosis": "I21.900", "other_diagnoses": ["Z99.999"]}
    )
    assert r.status_code == 400 and r.json()["title"] == "编码不在医保版编码库中"
    assert r.headers["content-type"].startswith("application/problem+json")
    r = client.patch(url, headers=headers, json={"procedures": [{"code": "abc"}]})
    assert r.status_code == 400 and r.json()["title"] == "编码不在医保版编码库中"
    got = client.get(url, headers=headers).json()
    assert got["principal_diagnosis"] == "" and got["problems"] == ["缺少主要诊断"]
    assert session.scalars(select(AbstractChange)).first() is None  # nothing stored
    found = client.get("/api/v1/inpatient/diagnosis-codes", headers=headers, params={"q": "I21"}).json()
    assert found == [{"code": "I21.900", "name": "急性心肌梗死"}]
    with pytest.raises(UnknownCode):
        svc.update_abstract(session, svc_coder(pool), admission.id, principal_diagnosis="X00.000")


def svc_coder(pool: Pool) -> svc.Actor:
    return pool.coder


def test_procedure_codes_are_searched_and_checked_against_the_table(
    client: TestClient, session: Session, pool: Pool
) -> None:
    admission = _stay(session, pool)
    catalog.load_code_table(
        session,
        "procedure",
        [("36.0601", "冠状动脉药物洗脱支架置入术", "gzdmywxtzjzrs"), ("99.0400", "输注红细胞", "szhxb")],
    )
    coder = make_user(session, role=Role.INSURANCE_OFFICER, institution=pool.hospital)
    session.commit()
    headers = bearer(client, coder)
    for q in ("36.06", "支架", "gzdm"):
        found = client.get("/api/v1/inpatient/procedure-codes", headers=headers, params={"q": q}).json()
        assert found == [{"code": "36.0601", "name": "冠状动脉药物洗脱支架置入术"}], q
    url = f"/api/v1/inpatient/admissions/{admission.id}/abstract"
    r = client.patch(url, headers=headers, json={"procedures": [{"code": "36.0601"}, {"code": "88.7201"}]})
    assert r.status_code == 400 and "88.7201" in r.json()["detail"]  # well formed, not in the table
    assert client.get(url, headers=headers).json()["procedures"] == []  # nothing stored
    r = client.patch(url, headers=headers, json={"procedures": [{"code": "36.0601"}]})
    assert r.status_code == 200 and [p["code"] for p in r.json()["procedures"]] == ["36.0601"]
