"""The insurance office's policy tables (医保待遇政策) and the trial split (试算): service and API."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.builders import actor_of, bearer, make_institution, make_user
from yilian.insurance import policy_service as policies
from yilian.insurance.domain import BillLine
from yilian.insurance.policy_models import InsurancePolicy
from yilian.kit.access_log import AccessAudit
from yilian.kit.auth.domain import Role
from yilian.kit.errors import Forbidden

KEY = {
    "region_code": "320600",
    "scheme": "employee",
    "tier": "tertiary",
    "visit_type": "outpatient",
    "year": 2031,
}


def test_office_saves_lists_and_is_refused_bad_values(session: Session) -> None:
    officer = actor_of(make_user(session, role=Role.INSURANCE_OFFICER, institution=make_institution(session)))
    row = policies.save_policy(session, officer, **KEY, deductible=80_000, ratio_permille=600, cap=400_000)
    policies.save_policy(
        session, officer, **{**KEY, "scheme": "resident"}, deductible=50_000, ratio_permille=500, cap=150_000
    )
    listed = policies.list_policies(session, officer, year=2031, scheme="employee")
    assert [r.id for r in listed] == [row.id]
    assert len(policies.list_policies(session, officer, year=2031)) == 2
    audit = session.scalar(select(AccessAudit).where(AccessAudit.resource == f"insurance_policies/{row.id}"))
    assert audit is not None and "职工医保" in audit.reason

    with pytest.raises(policies.InvalidPolicy) as bad:
        policies.save_policy(
            session,
            officer,
            **{**KEY, "region_code": "32", "tier": "quaternary"},
            deductible=-1,
            ratio_permille=1001,
            cap=-5,
        )
    for words in ("区划代码", "机构级别", "起付线", "封顶线", "报销比例"):
        assert words in bad.value.detail
    assert session.get(InsurancePolicy, row.id).ratio_permille == 600  # type: ignore[union-attr]

    cashier = actor_of(make_user(session, role=Role.CASHIER, institution=make_institution(session)))
    with pytest.raises(Forbidden):
        policies.save_policy(session, cashier, **KEY, deductible=0, ratio_permille=1000, cap=0)
    with pytest.raises(Forbidden):
        policies.list_policies(session, cashier)


def test_trial_split_parts_sum_to_the_total(session: Session) -> None:
    officer = actor_of(make_user(session, role=Role.INSURANCE_OFFICER, institution=make_institution(session)))
    policies.save_policy(session, officer, **KEY, deductible=10_000, ratio_permille=700, cap=400_000)
    split = policies.trial_split(
        session,
        officer,
        **KEY,
        lines=[BillLine(30_000, "甲"), BillLine(12_345, "乙", 100), BillLine(5_000, "丙")],
    )
    # 乙 先行自付 1,235 (half-up); in policy 41,110; deductible 10,000; fund 70 % of 31,110 = 21,777
    assert (split.self_pay_first, split.deductible, split.fund) == (1_235, 10_000, 21_777)
    assert split.fund + split.personal_account + split.mutual_aid + split.cash == split.total == 47_345
    with pytest.raises(policies.PolicyNotFound):
        policies.trial_split(session, officer, **{**KEY, "year": 2040}, lines=[BillLine(100, "甲")])


def test_policy_api(client: TestClient, session: Session) -> None:
    officer = make_user(session, role=Role.INSURANCE_OFFICER, institution=make_institution(session))
    headers = bearer(client, officer)
    body = {
        **KEY,
        "deductible": 30_000,
        "ratio_permille": 800,
        "cap": 400_000,
        "accounts_pay_self_funded": True,
    }
    put = client.put("/api/v1/insurance/policies", json=body, headers=headers)
    assert put.status_code == 200, put.text
    assert put.json()["scheme_label"] == "职工医保" and put.json()["tier_label"] == "三级医院"
    got = client.get("/api/v1/insurance/policies", params={"year": 2031}, headers=headers).json()
    assert [(r["ratio_permille"], r["accounts_pay_self_funded"]) for r in got] == [(800, True)]

    bad = client.put("/api/v1/insurance/policies", json={**body, "ratio_permille": 1200}, headers=headers)
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_insurance_policy"
    assert "报销比例" in bad.json()["detail"]
    again = client.get("/api/v1/insurance/policies", params={"year": 2031}, headers=headers).json()
    assert again[0]["ratio_permille"] == 800  # bad input changed nothing

    trial = {
        **KEY,
        "lines": [
            {"amount": 20_000, "insurance_class": "甲"},
            {"amount": 9_999, "insurance_class": "乙", "self_pay_permille": 150},
            {"amount": 1_000, "insurance_class": "丙"},
        ],
        "personal_balance": 5_000,
        "use_personal_account": True,
    }
    split = client.post("/api/v1/insurance/policies/trial-split", json=trial, headers=headers)
    assert split.status_code == 200, split.text
    s = split.json()
    assert s["fund"] + s["personal_account"] + s["mutual_aid"] + s["cash"] == s["total"] == 30_999
    assert s["personal_account"] == 5_000
    wrong_line = {**trial, "lines": [{"amount": -1, "insurance_class": "丁"}]}
    assert (
        client.post("/api/v1/insurance/policies/trial-split", json=wrong_line, headers=headers).status_code
        == 422
    )

    cashier = make_user(session, role=Role.CASHIER, institution=make_institution(session))
    assert client.get("/api/v1/insurance/policies", headers=bearer(client, cashier)).status_code == 403
    assert (
        client.put("/api/v1/insurance/policies", json=body, headers=bearer(client, cashier)).status_code
        == 403
    )
    assert client.get("/api/v1/insurance/policies").status_code == 401
