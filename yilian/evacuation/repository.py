"""Every query of the evacuation area."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from yilian.evacuation.domain import ReplayStatus
from yilian.evacuation.models import EvacBuilding, EvacEvent, EvacHazard, EvacReplay


def building_by_code(session: Session, institution_id: int, code: str) -> EvacBuilding | None:
    return session.scalar(
        select(EvacBuilding).where(EvacBuilding.institution_id == institution_id, EvacBuilding.code == code)
    )


def buildings_of(session: Session, institution_id: int) -> list[EvacBuilding]:
    q = select(EvacBuilding).where(EvacBuilding.institution_id == institution_id)
    return list(session.scalars(q.order_by(EvacBuilding.code)))


def hazards_of(session: Session, event_id: int) -> list[EvacHazard]:
    q = select(EvacHazard).where(EvacHazard.event_id == event_id)
    return list(session.scalars(q.order_by(EvacHazard.at, EvacHazard.id)))


def events_of(session: Session, building_id: int) -> list[EvacEvent]:
    q = select(EvacEvent).where(EvacEvent.building_id == building_id)
    return list(session.scalars(q.order_by(EvacEvent.id.desc())))


def replays_of(session: Session, event_ids: list[int]) -> list[EvacReplay]:
    if not event_ids:
        return []
    q = select(EvacReplay).where(EvacReplay.event_id.in_(event_ids))
    return list(session.scalars(q.order_by(EvacReplay.id.desc())))


def pending_replays(session: Session) -> list[int]:
    q = select(EvacReplay.id).where(EvacReplay.status == ReplayStatus.PENDING.value).order_by(EvacReplay.id)
    return list(session.scalars(q))


def claim_replay(session: Session, replay_id: int) -> bool:
    """pending → running, by one process only (a conditional update)."""
    done = session.execute(
        update(EvacReplay)
        .where(EvacReplay.id == replay_id, EvacReplay.status == ReplayStatus.PENDING.value)
        .values(status=ReplayStatus.RUNNING.value)
    )
    return bool(getattr(done, "rowcount", 0))
