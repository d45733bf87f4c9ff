"""The platform's own discharges in DRG: the coder's preview of an inpatient abstract (and without each
secondary diagnosis), and the signed abstract grouped once into the month's batch that the department
analysis reads."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.inpatient.helpers import Pool, admit_to, beds_of, make_pool
from yilian.catalog import service as catalog
from yilian.drg import inpatient_cases, service
from yilian.drg.models import DrgCase
from yilian.inpatient import service as inpatient
from yilian.kit.clock import business_date

ICD = "code,name\nI21.900,急性心肌梗死\nE11.900,2型糖尿病不伴有并发症\nJ18.900,肺炎\n"


@pytest.fixture
def pool(session: Session) -> Pool:
    """The inpatient tests' hospital with its bed pool."""
    return make_pool(session)


@pytest.fixture
def stored(session: Session, texts: dict[str, str]) -> None:
    service.import_scheme(session, "chs-1.1", texts)
    service.import_policy(session, "chs-1.1", service.synthetic_policy_csv(session, "chs-1.1"))


def test_preview_and_grouping_on_sign_off(session: Session, pool: Pool, stored: None) -> None:
    catalog.import_diagnoses(session, ICD)
    admission = admit_to(session, pool, beds_of(session, pool.cardio_ward)[0], pool.cardiology)
    for day in range(5):
        inpatient.charge_day(session, admission.id, business_date() + timedelta(days=day))
    inpatient.discharge(
        session, pool.nurse, admission.id, disposition=1, discharged_on=business_date() + timedelta(days=5)
    )
    inpatient.update_abstract(
        session,
        pool.coder,
        admission.id,
        principal_diagnosis="I21.900",
        other_diagnoses=["E11.900", "J18.900"],
    )
    found = inpatient_cases.preview(session, pool.coder, admission.id)
    assert found.current.result.status == "grouped" and found.current.result.drg.startswith("F")
    assert found.current.weight is not None and found.current.payment_fen > 0
    assert [code for code, _ in found.without] == ["E11.900", "J18.900"]
    assert inpatient_cases.store_signed(session, admission.id) is None  # not signed yet

    inpatient.sign_abstract(session, pool.coder, admission.id)
    case = inpatient_cases.store_signed(session, admission.id)
    again = inpatient_cases.store_signed(session, admission.id)
    assert case is not None and again is not None and case.id == again.id
    assert case.drg == found.current.result.drg and case.total_cost_fen == 5 * 7_600
    assert case.department == "心血管内科" and case.los_days == 5
    analysis = service.analyse_batch(session, pool.coder, case.batch_id)
    assert [(d.unit, d.cases) for d in analysis.departments] == [("心血管内科", 1)]
    assert len(list(session.scalars(select(DrgCase)))) == 1
