"""On PostgreSQL the recognition check runs as one statement (``repo.CHECK_SQL``: item, scope, profiles,
QA, policy, audit row and candidates; issue 16). It must answer exactly as the statement-by-statement
check does — same candidates and rejections with the same reasons, same errors, one access-audit row per
permitted check and none for a refused one — whatever the reader, the sources and the policy."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from tests.builders import SYSTEM, make_institution, make_patient
from tests.dbutil import is_postgres_run
from tests.results.world import TODAY, World, lab_result, make_world
from yilian.kit.access_log import AccessAudit
from yilian.kit.auth.domain import ROLE_PERMISSIONS, Actor, Permission, Role
from yilian.kit.clock import FrozenClock
from yilian.kit.errors import NotFound, YilianError
from yilian.registry import service as registry
from yilian.results import service
from yilian.results.errors import ResultAccessDenied
from yilian.results.models import Prompt
from yilian.results.service import CheckOutcome

pytestmark = pytest.mark.skipif(not is_postgres_run(), reason="the one-statement check is PostgreSQL's")


def _doctor(institution_id: int | None, role: Role = Role.DOCTOR) -> Actor:
    return Actor(
        user_id=None,
        username=f"t-{role.value}-{institution_id}",
        role=role,
        institution_id=institution_id,
        permissions=ROLE_PERMISSIONS[role],
    )


def _regional() -> Actor:
    """A reader of no institution who may read across the alliance (reaches the receiver's own check)."""
    return Actor(
        user_id=None,
        username="t-regional",
        role=Role.DOCTOR,
        institution_id=None,
        permissions=ROLE_PERMISSIONS[Role.DOCTOR] | {Permission.PATIENT_ALLIANCE},
    )


def _outcome(o: CheckOutcome) -> Any:
    return (
        o.item.code,
        o.item.name,
        o.item.price_fen,
        o.business_date,
        o.prompt_id is not None,
        [(c.result.id, c.result.value_text, c.result.observed_at, c.institution_name, c.assessment)
         for c in o.candidates],
        [(c.result.id, c.institution_name, c.assessment) for c in o.rejected],
    )  # fmt: skip


def _answer(session: Session, one: bool, actor: Actor, **kw: Any) -> tuple[Any, int]:
    service.ONE_STATEMENT_CHECK = one
    audits = session.scalar(select(func.count()).select_from(AccessAudit))
    try:
        with session.begin_nested():
            # commit=True as the endpoint asks: in a savepoint the statement does not commit itself
            o = service.check_recognition(session, actor, on=TODAY, commit=one, **kw)
            answer: Any = _outcome(o)
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
        _regional(),
    ]
    cases = []
    for reader in readers:
        inst = reader.institution_id or world.county.id
        for patient_id in (world.patient.id, stranger.id, granted.id, 999_999):
            for code in ("GLU", "K", "CT-CHEST", "NOPE"):
                cases.append((reader, {"patient_id": patient_id, "institution_id": inst, "item_code": code}))
    for reader in readers[-2:]:
        cases.append(
            (reader, {"patient_id": world.patient.id, "institution_id": 999_999, "item_code": "GLU"})
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


def _counts(factory: sessionmaker[Session]) -> tuple[int, int]:
    """(access-audit rows, prompts) as committed (seen from a session of its own)."""
    with factory() as other:
        return (
            int(other.scalar(select(func.count()).select_from(AccessAudit)) or 0),
            int(other.scalar(select(func.count()).select_from(Prompt)) or 0),
        )


def test_the_endpoints_check_commits_itself_only_in_a_session_that_holds_nothing(
    factory: sessionmaker[Session], frozen_clock: FrozenClock
) -> None:
    """``commit=True`` (the endpoint): in a session that owns its transaction and has sent nothing, the
    statement commits the read with its audit row (and then the prompt) by itself; the answer is the
    same; a refused check or one that raises commits nothing; a session already holding work, or a
    savepoint, keeps everything in its transaction."""
    with factory() as s:
        world = make_world(s)
        for n, days in enumerate((10, 20)):
            lab_result(s, world, sender="TCO", control=f"C{n}", day=TODAY - timedelta(days=days))
        stranger = make_patient(s, name="李外院", institution=world.outside_low)
        s.commit()
        patient, tertiary, stranger_id = world.patient.id, world.tertiary.id, stranger.id
    doctor = _doctor(tertiary)
    check: dict[str, Any] = {
        "patient_id": patient,
        "institution_id": tertiary,
        "item_code": "GLU",
        "on": TODAY,
    }

    with factory() as s:
        expected = _outcome(service.check_recognition(s, doctor, **check))
        s.rollback()
    before = _counts(factory)

    with factory() as s:  # committed by the statements themselves, before the caller's commit
        o = service.check_recognition(s, doctor, commit=True, **check)
        assert _outcome(o) == expected and o.prompt_id is not None
        assert _counts(factory) == (before[0] + 1, before[1] + 1)
        s.commit()
    with factory() as s:  # no candidates: the audit row alone
        o = service.check_recognition(s, doctor, commit=True, **(check | {"item_code": "K"}))
        assert o.prompt_id is None and _counts(factory) == (before[0] + 2, before[1] + 1)
        s.commit()
    before = _counts(factory)

    refusals: list[tuple[Actor, dict[str, Any], type[Exception]]] = [
        (doctor, check | {"patient_id": stranger_id}, ResultAccessDenied),
        (doctor, check | {"patient_id": 999_999}, NotFound),
        (doctor, check | {"item_code": "NOPE"}, YilianError),
        (_regional(), check | {"institution_id": 999_999}, NotFound),
    ]
    for actor, kw, error in refusals:
        with factory() as s:
            with pytest.raises(error):
                service.check_recognition(s, actor, commit=True, **kw)
            s.rollback()
        assert _counts(factory) == before, kw

    with factory() as s:  # a session that has read something already: the caller's transaction
        s.scalar(select(func.count()).select_from(AccessAudit))
        o = service.check_recognition(s, doctor, commit=True, **check)
        assert o.prompt_id is not None and _counts(factory) == before
        s.rollback()
    with factory() as s:  # unflushed work: the caller's transaction too
        s.add(AccessAudit(at=frozen_clock.now(), username="x", role="doctor", action="read", resource="x"))
        service.check_recognition(s, doctor, commit=True, **check)
        assert _counts(factory) == before
        s.rollback()
    assert _counts(factory) == before

    with factory() as s:  # the prompt's INSERT fails after the read was committed with its audit row
        with pytest.raises(IntegrityError):
            service.check_recognition(s, doctor, commit=True, department_id=999_999, **check)
        s.rollback()
    assert _counts(factory) == (before[0] + 1, before[1])  # the read happened: its audit row stays
