"""Every query of the alliance area."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from yilian.alliance.domain import ReadingState, State
from yilian.alliance.models import (
    Member,
    Network,
    Pairing,
    Posting,
    Reading,
    Referral,
    ReferralStep,
    ReservePolicy,
    Sitting,
    SlotReserve,
)

# ---------------------------------------------------------------- structure


def networks(session: Session) -> Sequence[Network]:
    return session.scalars(select(Network).order_by(Network.id)).all()


def network_by_name(session: Session, name: str) -> Network | None:
    return session.scalar(select(Network).where(Network.name == name))


def members(session: Session, network_id: int) -> Sequence[Member]:
    return session.scalars(select(Member).where(Member.network_id == network_id).order_by(Member.id)).all()


def member(session: Session, network_id: int, institution_id: int) -> Member | None:
    return session.scalar(
        select(Member).where(Member.network_id == network_id, Member.institution_id == institution_id)
    )


def networks_of(session: Session, institution_id: int) -> Sequence[Network]:
    return session.scalars(
        select(Network)
        .join(Member, Member.network_id == Network.id)
        .where(Member.institution_id == institution_id)
        .order_by(Network.id)
    ).all()


def shared_networks(session: Session, a: int, b: int) -> Sequence[Network]:
    """Alliances both institutions belong to."""
    other = select(Member.network_id).where(Member.institution_id == b)
    return session.scalars(
        select(Network)
        .join(Member, Member.network_id == Network.id)
        .where(Member.institution_id == a, Network.id.in_(other))
        .order_by(Network.id)
    ).all()


def lead_institution_ids(session: Session) -> list[int]:
    return list(session.scalars(select(Network.lead_institution_id).distinct()).all())


def pairings(session: Session, network_id: int) -> Sequence[Pairing]:
    return session.scalars(select(Pairing).where(Pairing.network_id == network_id).order_by(Pairing.id)).all()


# ---------------------------------------------------------------- reserve


def reserve_policy(session: Session, department_id: int) -> ReservePolicy | None:
    return session.get(ReservePolicy, department_id)


def reserve_policies(session: Session, department_ids: Sequence[int]) -> dict[int, ReservePolicy]:
    if not department_ids:
        return {}
    rows = session.scalars(select(ReservePolicy).where(ReservePolicy.department_id.in_(department_ids)))
    return {r.department_id: r for r in rows}


def reserved_slot_ids(session: Session, slot_ids: Sequence[int]) -> set[int]:
    if not slot_ids:
        return set()
    return set(session.scalars(select(SlotReserve.slot_id).where(SlotReserve.slot_id.in_(slot_ids))).all())


def reserves_of_schedules(session: Session, schedule_ids: Sequence[int]) -> Sequence[SlotReserve]:
    if not schedule_ids:
        return []
    return session.scalars(select(SlotReserve).where(SlotReserve.schedule_id.in_(schedule_ids))).all()


def due_reserves(session: Session, now: datetime, limit: int) -> list[int]:
    return list(
        session.scalars(
            select(SlotReserve.slot_id)
            .where(SlotReserve.released_at.is_(None), SlotReserve.release_at <= now)
            .order_by(SlotReserve.release_at)
            .limit(limit)
        ).all()
    )


def claim_reserved(session: Session, slot_id: int) -> bool:
    """Take one reserved place of a slot for a referral: conditional UPDATE, checked row count."""
    result = session.execute(
        update(SlotReserve)
        .where(
            SlotReserve.slot_id == slot_id,
            SlotReserve.used < SlotReserve.held,
            SlotReserve.released_at.is_(None),
        )
        .values(used=SlotReserve.used + 1)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def mark_released(session: Session, slot_id: int, now: datetime) -> int | None:
    """Close a slot's reserve (once): the places not used, to give back; None when already closed."""
    result = session.execute(
        update(SlotReserve)
        .where(SlotReserve.slot_id == slot_id, SlotReserve.released_at.is_(None))
        .values(released_at=now, released=SlotReserve.held - SlotReserve.used)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return session.scalar(select(SlotReserve.released).where(SlotReserve.slot_id == slot_id))


def reserve_totals(
    session: Session, institution_ids: Sequence[int], start: date, end: date
) -> tuple[int, int, int]:
    """Places held, used by referrals and released, for slots of these institutions' departments."""
    row = session.execute(
        select(
            func.coalesce(func.sum(SlotReserve.held), 0),
            func.coalesce(func.sum(SlotReserve.used), 0),
            func.coalesce(func.sum(SlotReserve.released), 0),
        ).where(SlotReserve.institution_id.in_(institution_ids), SlotReserve.day.between(start, end))
    ).one()
    return int(row[0]), int(row[1]), int(row[2])


# ---------------------------------------------------------------- referrals


def referral_steps(session: Session, referral_id: int) -> Sequence[ReferralStep]:
    return session.scalars(
        select(ReferralStep).where(ReferralStep.referral_id == referral_id).order_by(ReferralStep.id)
    ).all()


def move_referral(
    session: Session, referral_id: int, from_states: Sequence[str], values: dict[str, Any]
) -> bool:
    """Move a referral only from one of ``from_states`` (a conditional UPDATE: two clerks, one winner)."""
    result = session.execute(
        update(Referral)
        .where(Referral.id == referral_id, Referral.state.in_(from_states))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def referrals(
    session: Session,
    *,
    institution_id: int | None = None,
    side: str = "any",
    patient_id: int | None = None,
    states: Sequence[str] | None = None,
    direction: str | None = None,
    limit: int = 200,
) -> Sequence[Referral]:
    q = select(Referral)
    if institution_id is not None:
        if side == "sent":
            q = q.where(Referral.from_institution_id == institution_id)
        elif side == "received":
            q = q.where(Referral.to_institution_id == institution_id)
        else:
            q = q.where(
                or_(
                    Referral.from_institution_id == institution_id,
                    Referral.to_institution_id == institution_id,
                )
            )
    if patient_id is not None:
        q = q.where(Referral.patient_id == patient_id)
    if states:
        q = q.where(Referral.state.in_(states))
    if direction:
        q = q.where(Referral.direction == direction)
    return session.scalars(q.order_by(Referral.requested_at.desc(), Referral.id.desc()).limit(limit)).all()


def due_reminders(session: Session, remind_before: datetime) -> Sequence[Referral]:
    return session.scalars(
        select(Referral).where(
            Referral.state == State.REQUESTED.value,
            Referral.reminded_at.is_(None),
            Referral.requested_at <= remind_before,
        )
    ).all()


def overdue(session: Session, now: datetime) -> Sequence[Referral]:
    return session.scalars(
        select(Referral).where(Referral.state == State.REQUESTED.value, Referral.answer_due_at <= now)
    ).all()


def referral_counts(
    session: Session, network_id: int, start: datetime, end: datetime
) -> list[tuple[str, str, int, int, int]]:
    """Per direction and state: how many, and the answered ones' summed answer time in minutes."""
    rows = session.execute(
        select(Referral.direction, Referral.state, Referral.requested_at, Referral.answered_at).where(
            Referral.network_id == network_id, Referral.requested_at >= start, Referral.requested_at < end
        )
    ).all()
    out: dict[tuple[str, str], list[int]] = {}
    for direction, state, requested, answered in rows:
        acc = out.setdefault((direction, state), [0, 0, 0])
        acc[0] += 1
        if answered is not None:
            acc[1] += 1
            acc[2] += int((answered - requested).total_seconds() // 60)
    return [(d, s, v[0], v[1], v[2]) for (d, s), v in sorted(out.items())]


# ---------------------------------------------------------------- sittings


def postings(
    session: Session, *, network_id: int | None = None, practitioner_id: int | None = None
) -> Sequence[Posting]:
    q = select(Posting)
    if network_id is not None:
        q = q.where(Posting.network_id == network_id)
    if practitioner_id is not None:
        q = q.where(Posting.practitioner_id == practitioner_id)
    return session.scalars(q.order_by(Posting.id)).all()


def sitting(session: Session, posting_id: int, day: date) -> Sitting | None:
    return session.scalar(select(Sitting).where(Sitting.posting_id == posting_id, Sitting.day == day))


def sittings(
    session: Session, *, posting_ids: Sequence[int], start: date | None = None, end: date | None = None
) -> Sequence[Sitting]:
    if not posting_ids:
        return []
    q = select(Sitting).where(Sitting.posting_id.in_(posting_ids))
    if start is not None:
        q = q.where(Sitting.day >= start)
    if end is not None:
        q = q.where(Sitting.day <= end)
    return session.scalars(q.order_by(Sitting.day, Sitting.id)).all()


# ---------------------------------------------------------------- reading centres


def readings(
    session: Session,
    *,
    centre_id: int | None = None,
    member_id: int | None = None,
    states: Sequence[str] | None = None,
    limit: int = 200,
) -> Sequence[Reading]:
    q = select(Reading)
    if centre_id is not None:
        q = q.where(Reading.centre_institution_id == centre_id)
    if member_id is not None:
        q = q.where(Reading.member_institution_id == member_id)
    if states:
        q = q.where(Reading.state.in_(states))
    return session.scalars(q.order_by(Reading.queued_at, Reading.id).limit(limit)).all()


def reading_by_result(session: Session, result_id: int) -> Reading | None:
    return session.scalar(select(Reading).where(Reading.result_id == result_id))


def claim_reading(session: Session, reading_id: int, reader: str, now: datetime) -> bool:
    result = session.execute(
        update(Reading)
        .where(Reading.id == reading_id, Reading.state == ReadingState.QUEUED.value)
        .values(state=ReadingState.CLAIMED.value, reader=reader, claimed_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def finished_readings(
    session: Session, centre_ids: Sequence[int], start: datetime, end: datetime
) -> Sequence[Reading]:
    return session.scalars(
        select(Reading).where(
            Reading.centre_institution_id.in_(centre_ids),
            Reading.reported_at.is_not(None),
            and_(Reading.reported_at >= start, Reading.reported_at < end),
        )
    ).all()


# ---------------------------------------------------------------- indicators (bulk reads)


def all_members(session: Session, network_ids: Sequence[int] | None = None) -> Sequence[Member]:
    q = select(Member)
    if network_ids is not None:
        q = q.where(Member.network_id.in_(network_ids))
    return session.scalars(q.order_by(Member.network_id, Member.id)).all()


def referral_facts(
    session: Session, network_ids: Sequence[int], start: datetime, end: datetime
) -> list[tuple[int, str, str, int, int, datetime, datetime | None]]:
    """(network, direction, state, from, to, requested, answered) of referrals requested in [start, end)."""
    rows = session.execute(
        select(
            Referral.network_id,
            Referral.direction,
            Referral.state,
            Referral.from_institution_id,
            Referral.to_institution_id,
            Referral.requested_at,
            Referral.answered_at,
        ).where(
            Referral.network_id.in_(network_ids), Referral.requested_at >= start, Referral.requested_at < end
        )
    ).all()
    return [(int(r[0]), r[1], r[2], int(r[3]), int(r[4]), r[5], r[6]) for r in rows]


def reserve_by_day(
    session: Session, institution_ids: Sequence[int], start: date, end: date
) -> list[tuple[int, date, int, int, int]]:
    """(institution, day, held, used, released) of the referral reserve on the days in [start, end]."""
    rows = session.execute(
        select(
            SlotReserve.institution_id,
            SlotReserve.day,
            func.sum(SlotReserve.held),
            func.sum(SlotReserve.used),
            func.sum(SlotReserve.released),
        )
        .where(SlotReserve.institution_id.in_(institution_ids), SlotReserve.day.between(start, end))
        .group_by(SlotReserve.institution_id, SlotReserve.day)
    ).all()
    return [(int(r[0]), r[1], int(r[2] or 0), int(r[3] or 0), int(r[4] or 0)) for r in rows]


def sitting_facts(
    session: Session, network_ids: Sequence[int], start: date, end: date
) -> list[tuple[int, int, date, bool, int]]:
    """(network, member, day, arrived, patients seen) of the sitting days in [start, end]."""
    rows = session.execute(
        select(
            Posting.network_id,
            Posting.member_institution_id,
            Sitting.day,
            Sitting.arrived,
            Sitting.patients_seen,
        )
        .join(Posting, Posting.id == Sitting.posting_id)
        .where(Posting.network_id.in_(network_ids), Sitting.day.between(start, end))
    ).all()
    return [(int(r[0]), int(r[1]), r[2], bool(r[3]), int(r[4])) for r in rows]


def returned_readings(
    session: Session, centre_ids: Sequence[int], start: datetime, end: datetime
) -> list[tuple[int, int, str, datetime, datetime]]:
    """(centre, member, kind, queued, returned) of the readings whose report went back in [start, end):
    at verification, or at the report when no second reader is needed."""
    returned = func.coalesce(Reading.verified_at, Reading.reported_at)
    rows = session.execute(
        select(
            Reading.centre_institution_id,
            Reading.member_institution_id,
            Reading.kind,
            Reading.queued_at,
            returned,
        ).where(
            Reading.centre_institution_id.in_(centre_ids),
            or_(
                Reading.verified_at.is_not(None),
                and_(Reading.needs_verify.is_(False), Reading.reported_at.is_not(None)),
            ),
            returned >= start,
            returned < end,
        )
    ).all()
    return [(int(r[0]), int(r[1]), r[2], r[3], r[4]) for r in rows]


# ---------------------------------------------------------------- bulk reads for analytics (every alliance)


def referral_requests(
    session: Session, start: datetime, end: datetime
) -> list[tuple[str, int, int, int | None, datetime, int]]:
    """(direction, from, to, to department, requested at, referrals) of the referrals of every alliance
    requested in [start, end), grouped by those columns (the day is the local date of the request: the
    caller folds the instants, which no portable SQL turns into a Beijing date)."""
    q = (
        select(
            Referral.direction,
            Referral.from_institution_id,
            Referral.to_institution_id,
            Referral.to_department_id,
            Referral.requested_at,
            func.count(),
        )
        .where(Referral.requested_at >= start, Referral.requested_at < end)
        .group_by(
            Referral.direction,
            Referral.from_institution_id,
            Referral.to_institution_id,
            Referral.to_department_id,
            Referral.requested_at,
        )
    )
    return [
        (r[0], int(r[1]), int(r[2]), None if r[3] is None else int(r[3]), r[4], int(r[5]))
        for r in session.execute(q)
    ]


def sitting_day_counts(session: Session, start: date, end: date) -> list[tuple[date, int, int, int]]:
    """(day, member institution, member department, days an expert came) of the sittings of every
    alliance in [start, end], one GROUP BY."""
    q = (
        select(Sitting.day, Posting.member_institution_id, Posting.member_department_id, func.count())
        .join(Posting, Posting.id == Sitting.posting_id)
        .where(Sitting.day >= start, Sitting.day <= end, Sitting.arrived.is_(True))
        .group_by(Sitting.day, Posting.member_institution_id, Posting.member_department_id)
    )
    return [(r[0], int(r[1]), int(r[2]), int(r[3])) for r in session.execute(q)]
