"""Tables of fire evacuation: buildings (the validated document), events (an alarm or a drill) and
their hazard reports over time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from yilian.kit.db import Base


class EvacBuilding(Base):
    """A building of a campus; ``document`` is the imported JSON (docs/evacuation.md), valid."""

    __tablename__ = "evac_buildings"
    __table_args__ = (UniqueConstraint("institution_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    campus_id: Mapped[int | None] = mapped_column(ForeignKey("campuses.id"))
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(60))
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    wards: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # ward code → inpatient ward id
    version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(64), default="")


class EvacEvent(Base):
    """A fire event (an alarm from the building's system) or a drill (演练) in a building."""

    __tablename__ = "evac_events"
    __table_args__ = (Index("ix_evac_events_building_status", "building_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("evac_buildings.id"))
    kind: Mapped[str] = mapped_column(String(8))  # alarm | drill
    status: Mapped[str] = mapped_column(String(8), default="open")  # open | closed
    hour: Mapped[int] = mapped_column(default=10)  # the local hour the occupants are estimated for
    started_at: Mapped[datetime]
    started_by: Mapped[str] = mapped_column(String(64), default="")
    closed_at: Mapped[datetime | None]
    revision: Mapped[int] = mapped_column(default=0)  # bumped by every hazard change (pages poll it)


class EvacHazard(Base):
    """One report: a detector (fire / smoke in a space), a door closed, a stair lost; ``at`` is the
    seconds since the event began (the event clock)."""

    __tablename__ = "evac_hazards"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("evac_events.id"), index=True)
    at: Mapped[float]
    kind: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(String(12))  # alarm | command | drill
    detector: Mapped[str] = mapped_column(String(40), default="")
    recorded_at: Mapped[datetime]
    username: Mapped[str] = mapped_column(String(64), default="")


class EvacReplay(Base):
    """A drill replay (演练回放): the plan and nearest-exit routing of the event's threatened
    occupants (of one floor, or all) walked in JuPedSim; ``document`` holds each agent's positions
    per second and the counts safe over time (``replay.record``). Made in the background:
    pending → running → done | failed."""

    __tablename__ = "evac_replays"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("evac_events.id"), index=True)
    floor: Mapped[int | None]
    status: Mapped[str] = mapped_column(String(8), default="pending")
    requested_at: Mapped[datetime]
    requested_by: Mapped[str] = mapped_column(String(64), default="")
    finished_at: Mapped[datetime | None]
    error: Mapped[str] = mapped_column(String(400), default="")
    plan_seconds: Mapped[float | None]
    nearest_seconds: Mapped[float | None]
    persons: Mapped[int] = mapped_column(default=0)
    document: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
