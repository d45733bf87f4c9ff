"""Every query of the shared TCM pharmacy's floor (共享中药房): machines, runs and traced steps."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Subquery, select, update
from sqlalchemy.orm import Session

from yilian.kit.auth.models import User
from yilian.pharmacy.decoction_models import DecoctionMachine, DecoctionRun, DecoctionStep


def user_by_username(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username))


def run_of(session: Session, prescription_id: int) -> DecoctionRun | None:
    return session.scalar(select(DecoctionRun).where(DecoctionRun.prescription_id == prescription_id))


def runs_of(session: Session, prescription_ids: Sequence[int]) -> dict[int, DecoctionRun]:
    """The runs of ``prescription_ids`` by prescription."""
    return {
        r.prescription_id: r
        for r in session.scalars(
            select(DecoctionRun).where(DecoctionRun.prescription_id.in_(prescription_ids))
        )
    }


def machine_at(session: Session, institution_id: int, code: str) -> DecoctionMachine | None:
    """The institution's machine of ``code`` (active or not)."""
    return session.scalar(
        select(DecoctionMachine).where(
            DecoctionMachine.code == code, DecoctionMachine.institution_id == institution_id
        )
    )


def machine_with_code(session: Session, code: str) -> DecoctionMachine | None:
    return session.scalar(select(DecoctionMachine).where(DecoctionMachine.code == code))


def active_machines(session: Session, institution_id: int) -> list[DecoctionMachine]:
    return list(
        session.scalars(
            select(DecoctionMachine)
            .where(DecoctionMachine.institution_id == institution_id, DecoctionMachine.is_active)
            .order_by(DecoctionMachine.code)
        )
    )


def fleet(session: Session, institution_id: int) -> list[DecoctionMachine]:
    """Every machine of the institution, active or not, by code."""
    return list(
        session.scalars(
            select(DecoctionMachine)
            .where(DecoctionMachine.institution_id == institution_id)
            .order_by(DecoctionMachine.code)
        )
    )


def bind_machine(session: Session, machine_id: int, prescription_id: int, at: datetime) -> bool:
    """Take the machine if it is free (conditional UPDATE); False when another prescription has it."""
    result = session.execute(
        update(DecoctionMachine)
        .where(DecoctionMachine.id == machine_id, DecoctionMachine.prescription_id.is_(None))
        .values(prescription_id=prescription_id, bound_at=at)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def free_machine(session: Session, machine_id: int) -> None:
    session.execute(
        update(DecoctionMachine)
        .where(DecoctionMachine.id == machine_id)
        .values(prescription_id=None, bound_at=None)
        .execution_options(synchronize_session=False)
    )


def steps_of(session: Session, prescription_id: int) -> list[DecoctionStep]:
    return list(
        session.scalars(
            select(DecoctionStep)
            .where(DecoctionStep.prescription_id == prescription_id)
            .order_by(DecoctionStep.id)
        )
    )


def steps_of_prescriptions(session: Session, prescription_ids: Sequence[int]) -> list[DecoctionStep]:
    return list(
        session.scalars(select(DecoctionStep).where(DecoctionStep.prescription_id.in_(prescription_ids)))
    )


def steps_on_machines(
    session: Session, codes: Sequence[str], start: datetime, end: datetime
) -> Sequence[DecoctionStep]:
    """The steps on the machines of ``codes`` taken in [start, end)."""
    return session.scalars(
        select(DecoctionStep).where(
            DecoctionStep.machine_code.in_(codes), DecoctionStep.at >= start, DecoctionStep.at < end
        )
    ).all()


def latest_receipt(session: Session, prescription_id: int) -> DecoctionStep | None:
    """The last receiving scan of the prescription's bag, if any."""
    return session.scalar(
        select(DecoctionStep)
        .where(
            DecoctionStep.prescription_id == prescription_id,
            DecoctionStep.detail["scan"].as_string() == "receive",
        )
        .order_by(DecoctionStep.id.desc())
        .limit(1)
    )


def finished_runs(
    session: Session, promises: Subquery, start: datetime, end: datetime
) -> list[tuple[datetime | None, datetime | None, int]]:
    """(finished at, promised at, institution) of the runs finished in [start, end); ``promises`` is
    outpatient's subquery of each prescription's (id, promised_at, institution_id)."""
    q = (
        select(DecoctionRun.finished_at, promises.c.promised_at, promises.c.institution_id)
        .join(promises, promises.c.id == DecoctionRun.prescription_id)
        .where(DecoctionRun.finished_at >= start, DecoctionRun.finished_at < end)
    )
    return [(r[0], r[1], int(r[2])) for r in session.execute(q)]
