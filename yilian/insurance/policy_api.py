"""HTTP API of the insurance policy tables (医保待遇政策): list, create or change a row, trial split."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from yilian.insurance import policy_service as service
from yilian.insurance.domain import Accounts, BillLine, YearToDate
from yilian.insurance.policy_models import InsurancePolicy
from yilian.insurance.policy_schemas import PolicyRead, PolicyUpdate, TrialSplitRead, TrialSplitRequest
from yilian.kit.auth.deps import AreaRouter, SessionDep, require
from yilian.kit.auth.domain import Actor, Permission

router = AreaRouter(prefix="/api/v1/insurance", tags=["医保待遇政策"])
Office = Annotated[Actor, require(Permission.INSURANCE_POLICY)]


def _read(row: InsurancePolicy) -> PolicyRead:
    return PolicyRead(
        id=row.id,
        region_code=row.region_code,
        scheme=row.scheme,
        tier=row.tier,
        visit_type=row.visit_type,
        year=row.year,
        deductible=row.deductible,
        ratio_permille=row.ratio_permille,
        cap=row.cap,
        accounts_pay_self_funded=row.accounts_pay_self_funded,
        scheme_label=service.SCHEME_LABELS.get(row.scheme, row.scheme),
        tier_label=service.TIER_LABELS.get(row.tier, row.tier),
        visit_type_label=service.VISIT_TYPE_LABELS.get(row.visit_type, row.visit_type),
    )


@router.get("/policies", response_model=list[PolicyRead], summary="医保待遇政策表（可筛选）")
def list_policies(
    session: SessionDep,
    actor: Office,
    region_code: Annotated[str | None, Query(description="统筹区划代码")] = None,
    scheme: str | None = None,
    tier: str | None = None,
    visit_type: str | None = None,
    year: Annotated[int | None, Query(ge=1900, le=2200)] = None,
) -> list[PolicyRead]:
    rows = service.list_policies(
        session, actor, region_code=region_code, scheme=scheme, tier=tier, visit_type=visit_type, year=year
    )
    return [_read(r) for r in rows]


@router.put("/policies", response_model=PolicyRead, summary="新增或修改一条医保待遇政策")
def put_policy(body: PolicyUpdate, session: SessionDep, actor: Office) -> PolicyRead:
    """Create or replace the row of (region, scheme, tier, visit type, year); bad values change nothing."""
    return _read(service.save_policy(session, actor, **body.model_dump()))


@router.post("/policies/trial-split", response_model=TrialSplitRead, summary="医保结算试算")
def trial_split(body: TrialSplitRequest, session: SessionDep, actor: Office) -> TrialSplitRead:
    """Split a trial bill with a stored policy row: fund, accounts, cash; the parts sum to the total."""
    split = service.trial_split(
        session,
        actor,
        region_code=body.region_code,
        scheme=body.scheme,
        tier=body.tier,
        visit_type=body.visit_type,
        year=body.year,
        lines=[BillLine(x.amount, x.insurance_class, x.self_pay_permille) for x in body.lines],
        year_so_far=YearToDate(body.deductible_used, body.fund_paid),
        accounts=Accounts(body.personal_balance, body.use_personal_account, body.mutual_aid_balance),
    )
    return TrialSplitRead(
        total=split.total,
        self_funded=split.self_funded,
        self_pay_first=split.self_pay_first,
        deductible=split.deductible,
        copay=split.copay,
        over_cap=split.over_cap,
        fund=split.fund,
        personal_account=split.personal_account,
        mutual_aid=split.mutual_aid,
        cash=split.cash,
        patient_share=split.patient_share,
    )
