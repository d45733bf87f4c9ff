"""On PostgreSQL the recognition check runs as one statement (``repo.CHECK_SQL``: item, scope, profiles,
QA, policy, audit row and candidates; issue 16). It must answer exactly as the statement-by-statement
check does — same candidates and rejections with the same reasons, same errors, one access-audit row per
permitted check and none for a refused one — whatever the reader, the sources and the policy."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.builders import SYSTEM, make_institution, make_patient
from tests.dbutil import is_postgres_run
from tests.results.world import TODAY, World, lab_result
from yilian.kit.access_log import AccessAudit
from yilian.kit.auth.domain import ROLE_PERMISSIONS, Actor, Role
from yilian.kit.clock import FrozenClock
from yilian.kit.errors import YilianError
from yilian.registry import service as registry
from yilian.results import service

pytestmark = pytest.mark.skipif(not is_postgres_run(), reason="the one-statement check is PostgreSQL's")


def _doctor(institution_id: int | None, role: Role = Role.DOCTOR) -> Actor:
    return Actor(
        user_id=None,
        username=f"t-{role.value}-{institution_id}",
        role=role,
        institution_id=institution_id,
        permissions=ROLE_PERMISSIONS[role],
    )


def _answer(session: Session, one: bool, actor: Actor, **kw: Any) -> tuple[Any, int]:
    service.ONE_STATEMENT_CHECK = one
    audits = session.scalar(select(func.count()).select_from(AccessAudit))
    try:
        with session.begin_nested():
            o = service.check_recognition(session, actor, on=TODAY, **kw)
            answer: Any = (
                o.item.code,
                o.item.name,
                o.item.price_fen,
                o.business_date,
                o.prompt_id is not None,
                [(c.result.id, c.result.value_text, c.result.observed_at, c.institution_name, c.assessment)
                 for c in o.candidates],
                [(c.result.id, c.institution_name, c.assessment) for c in o.rejected],
            )  # fmt: skip
            audited = session.scalar(select(func.count()).select_from(AccessAudit)) - audits
    except YilianError as exc:
        answer, audited = (type(exc).__name__, exc.detail), 0
    finally:
        service.ONE_STATEMENT_CHECK = True
    return answer, audited


def test_one_statement_check_answers_as_the_statement_by_statement_one(
    session: Session, world: World, frozen_clock: FrozenClock
) -> None:
    for n, (sender, days, status) in enumerate(
        [("TCO", 10, "F"), ("TCO", 20, "F"), ("TUNQ", 2, "F"), ("TCO", 30, "F"), ("TCO", 1, "P"),
         ("TOUT", 3, "F"), ("TGH", 5, "C")]
    ):  # fmt: skip
        lab_result(
            session, world, sender=sender, control=f"Q{n}", day=TODAY - timedelta(days=days), status=status
        )
    stranger = make_patient(session, name="李外院", institution=world.outside_low)
    granted = make_patient(session, name="赵授权", institution=world.outside_low)
    registry.grant_institution_access(
        session, patient_id=granted.id, institution_id=world.tertiary.id, reason="转诊", days=30
    )
    low = make_institution(session, name="社区卫生服务中心", code="TLOW", level=1)
    readers = [
        _doctor(world.tertiary.id),
        _doctor(world.county.id),
        _doctor(world.outside_low.id),
        _doctor(low.id),
        _doctor(None, Role.ADMIN),
    ]
    cases = []
    for reader in readers:
        inst = reader.institution_id or world.county.id
        for patient_id in (world.patient.id, stranger.id, granted.id, 999_999):
            for code in ("GLU", "K", "CT-CHEST", "NOPE"):
                cases.append((reader, {"patient_id": patient_id, "institution_id": inst, "item_code": code}))
    cases.append(
        (readers[-1], {"patient_id": world.patient.id, "institution_id": 999_999, "item_code": "GLU"})
    )
    answers = set()
    for policy in (None, {"require_hr_mark": True}, {"lab_requires_qa": False}):
        if policy is not None:
            service.set_policy(session, SYSTEM, service.get_policy(session).to_dict() | policy)
        for reader, kw in cases:
            fast, slow = _answer(session, True, reader, **kw), _answer(session, False, reader, **kw)
            assert fast == slow, (reader.role, reader.institution_id, kw, policy)
            answers.add(str(fast[0])[:40])
    assert len(answers) > 5  # candidates, none, refusals, unknown item, patient and institution all seen
