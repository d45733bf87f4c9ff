"""Queries of the companion area."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from yilian.companion.models import FeedItem, Follow


def _live(at: datetime) -> list[object]:
    return [Follow.revoked_at.is_(None), or_(Follow.expires_at.is_(None), Follow.expires_at > at)]


def live_follows_of_patients(session: Session, patient_ids: Sequence[int], at: datetime) -> Sequence[Follow]:
    if not patient_ids:
        return []
    q = select(Follow).where(Follow.patient_id.in_(patient_ids), *_live(at)).order_by(Follow.id)  # type: ignore[arg-type]
    return session.scalars(q).all()


def follows_of_visit(session: Session, kind: str, visit_id: int) -> Sequence[Follow]:
    q = select(Follow).where(Follow.visit_kind == kind, Follow.visit_id == visit_id).order_by(Follow.id)
    return session.scalars(q).all()


def live_follows_of_schedule(session: Session, schedule_id: int, at: datetime) -> Sequence[Follow]:
    q = select(Follow).where(Follow.schedule_id == schedule_id, *_live(at)).order_by(Follow.id)  # type: ignore[arg-type]
    return session.scalars(q).all()


def live_follow_of(
    session: Session, *, relative_id: int, kind: str, visit_id: int, at: datetime
) -> Follow | None:
    q = select(Follow).where(
        Follow.relative_id == relative_id,
        Follow.visit_kind == kind,
        Follow.visit_id == visit_id,
        *_live(at),  # type: ignore[arg-type]
    )
    return session.scalars(q).first()


def follows_of_patient(session: Session, patient_id: int) -> Sequence[Follow]:
    return session.scalars(
        select(Follow).where(Follow.patient_id == patient_id).order_by(Follow.id.desc())
    ).all()


def follows_of_relative(session: Session, relative_id: int) -> Sequence[Follow]:
    q = select(Follow).where(Follow.relative_id == relative_id).order_by(Follow.id.desc())
    return session.scalars(q).all()


def items_of_events(
    session: Session, event_ids: Sequence[int], follow_ids: Sequence[int]
) -> set[tuple[int, int]]:
    """The (follow, event) pairs that already have their line, among these events and follows (a
    redelivered batch adds none; both lists, so the (follow, event) unique index answers)."""
    if not event_ids or not follow_ids:
        return set()
    found: set[tuple[int, int]] = set()
    for i in range(0, len(follow_ids), 500):
        q = select(FeedItem.follow_id, FeedItem.event_id).where(
            FeedItem.follow_id.in_(follow_ids[i : i + 500]), FeedItem.event_id.in_(event_ids)
        )
        found.update((int(f), int(e)) for f, e in session.execute(q))
    return found


def items_after(session: Session, follow_id: int, after_id: int, limit: int = 500) -> Sequence[FeedItem]:
    q = (
        select(FeedItem)
        .where(FeedItem.follow_id == follow_id, FeedItem.id > after_id)
        .order_by(FeedItem.id)
        .limit(limit)
    )
    return session.scalars(q).all()


def max_item_id(session: Session) -> int:
    return int(session.scalar(select(func.max(FeedItem.id))) or 0)


def items_of_follows_after(session: Session, follow_ids: Sequence[int], after_id: int) -> Sequence[FeedItem]:
    """The lines of these follows after ``after_id`` (the watcher's look for every open stream at once)."""
    q = (
        select(FeedItem)
        .where(FeedItem.follow_id.in_(follow_ids), FeedItem.id > after_id)
        .order_by(FeedItem.id)
    )
    return session.scalars(q).all()


def items_after_id(session: Session, after_id: int, limit: int = 100_000) -> Sequence[FeedItem]:
    """Every follow's lines after ``after_id`` (the watcher's one look for all open streams)."""
    q = select(FeedItem).where(FeedItem.id > after_id).order_by(FeedItem.id).limit(limit)
    return session.scalars(q).all()


def ended_follows(session: Session, follow_ids: Sequence[int], at: datetime) -> Sequence[Follow]:
    """Those of these follows that were revoked or have expired by ``at``."""
    q = select(Follow).where(
        Follow.id.in_(follow_ids), or_(Follow.revoked_at.is_not(None), Follow.expires_at <= at)
    )
    return session.scalars(q).all()
