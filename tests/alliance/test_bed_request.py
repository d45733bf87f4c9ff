"""An admission referral (上转住院): the lead's referral desk asks its bed office for a bed; the request
joins the bed office's queue as a referral (source 转诊) and the referral becomes 已预约. Bad input is
refused in Chinese with nothing stored."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.alliance.world import World
from tests.builders import bearer, make_department, make_user
from yilian.alliance import errors, service
from yilian.alliance.domain import ReferralKind
from yilian.alliance.schemas import BedBody
from yilian.inpatient.models import BedRequest
from yilian.kit.auth.domain import Role


def _beds(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(BedRequest)) or 0)


def test_desk_requests_a_bed_for_an_admission_referral(session: Session, world: World) -> None:
    w = world
    r = w.refer_up(session, kind=ReferralKind.ADMISSION, to_department_id=None)
    service.accept(session, w.desk, r.id)
    before = _beds(session)
    with pytest.raises(errors.InvalidReferral, match="收治科室"):
        service.request_bed(session, w.desk, r.id, BedBody())
    far = make_department(session, institution=w.outsider, name="内科")
    with pytest.raises(errors.InvalidReferral, match="不属于接收机构"):
        service.request_bed(session, w.desk, r.id, BedBody(department_id=far.id))
    with pytest.raises(errors.InvalidReferral, match="早于今天"):
        service.request_bed(
            session, w.desk, r.id, BedBody(department_id=w.dept.id, expected_on=date(2026, 5, 1))
        )
    with pytest.raises(errors.NotYourReferral):
        service.request_bed(session, w.gp_actor, r.id, BedBody(department_id=w.dept.id))
    assert _beds(session) == before and service.find_referral(session, r.id).state == "accepted"

    done = service.request_bed(
        session, w.desk, r.id, BedBody(department_id=w.dept.id, expected_on=date(2026, 5, 9), severe=True)
    )
    assert (
        done.state == "booked" and done.booked_day == date(2026, 5, 9) and done.to_department_id == w.dept.id
    )
    bed = session.get(BedRequest, done.bed_request_id)
    assert bed is not None and (bed.source, bed.status, bed.severity) == ("referral", "waiting", "severe")
    assert bed.institution_id == w.lead.id and bed.patient_id == w.patient.id and f"转诊单 {r.id}" in bed.note
    assert "已申请 内分泌科 床位" in service.steps(session, r.id)[-1].note
    with pytest.raises(errors.ReferralStateError):
        service.request_bed(session, w.desk, r.id, BedBody(department_id=w.dept.id))
    assert _beds(session) == before + 1


def test_only_admission_referrals_get_a_bed(session: Session, world: World) -> None:
    w = world
    r = w.refer_up(session)
    service.accept(session, w.desk, r.id)
    with pytest.raises(errors.InvalidReferral, match="只有住院转诊"):
        service.request_bed(session, w.desk, r.id, BedBody(department_id=w.dept.id))


def test_bed_request_over_http(session: Session, client: TestClient, world: World) -> None:
    w = world
    r = w.refer_up(session, kind=ReferralKind.ADMISSION, to_department_id=None)
    service.accept(session, w.desk, r.id)
    desk = bearer(client, make_user(session, role=Role.REGISTRAR, institution=w.lead))
    gp = bearer(client, make_user(session, role=Role.DOCTOR, institution=w.member, practitioner=w.gp))
    url = f"/api/v1/alliance/referrals/{r.id}/bed-request"
    bad = client.post(url, json={}, headers=desk)
    assert bad.status_code == 400 and bad.headers["content-type"].startswith("application/problem+json")
    assert bad.json()["title"] == "转诊单不合法" and "收治科室" in bad.json()["detail"]
    assert client.post(url, json={"department_id": w.dept.id}, headers=gp).status_code == 403
    ok = client.post(url, json={"department_id": w.dept.id}, headers=desk)
    assert ok.status_code == 200 and ok.json()["state_label"] == "已预约" and ok.json()["bed_request_id"]
