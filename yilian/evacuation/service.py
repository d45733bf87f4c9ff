"""Use cases of fire evacuation command. Services only flush; the request, CLI command or job commits.

A building is imported from its document (validated by ``domain.parse_building``) and tied to the
inpatient area's wards by ward code; an event (a fire alarm or a drill) collects hazard reports
on its clock; the plan is recomputed from the live bed census and the hazards at every change (and
cached per event revision, so a page polling the plan costs nothing between changes).
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from yilian.evacuation import repository as repo
from yilian.evacuation.domain import (
    HAZARD_KINDS,
    MOBILITIES,
    STAFF_PER_WARD,
    Building,
    EventKind,
    EventStatus,
    HazardEvent,
    HazardKind,
    HazardState,
    Occupant,
    OccupantKind,
    ReplayStatus,
    check_hazard,
    hazard_state,
    parse_building,
    shift_of,
    visitors_estimate,
)
from yilian.evacuation.errors import (
    BuildingNotFound,
    EvacuationForbidden,
    EventClosed,
    EventNotFound,
    InvalidHazard,
    ReplayNotFound,
)
from yilian.evacuation.models import EvacBuilding, EvacEvent, EvacHazard, EvacReplay
from yilian.evacuation.planner import ACTION_LABELS, Plan, plan
from yilian.inpatient import service as inpatient
from yilian.kit import events
from yilian.kit.auth.domain import Actor, Permission, require_permission_at
from yilian.kit.clock import local_now, utcnow
from yilian.kit.errors import found

PLAN_STEP = 2.0  # seconds per CCRP step


def _require(actor: Actor, permission: Permission, institution_id: int | None, what: str) -> None:
    require_permission_at(
        actor,
        permission,
        institution_id,
        denied=EvacuationForbidden(f"当前角色（{actor.role.label}）不能{what}"),
        elsewhere=EvacuationForbidden("只能指挥本机构的建筑"),
    )


# ---------------------------------------------------------------- buildings


def import_building(
    session: Session,
    actor: Actor,
    institution_id: int,
    document: Mapping[str, Any],
    *,
    campus_id: int | None = None,
) -> EvacBuilding:
    """Import (or replace, by code) a building; refused whole with every problem in Chinese."""
    _require(actor, Permission.EVACUATION_MANAGE, institution_id, "导入建筑模型")
    building = parse_building(document)
    ward_ids = {row.ward_code: row.ward_id for row in inpatient.bed_census(session, institution_id)}
    ties = {s.ward: ward_ids.get(s.ward) for s in building.spaces.values() if s.ward}
    row = repo.building_by_code(session, institution_id, building.code)
    if row is None:
        row = EvacBuilding(institution_id=institution_id, code=building.code, version=0)
        session.add(row)
    row.campus_id = campus_id
    row.name = building.name
    row.document = dict(document)
    row.wards = ties
    row.version = (row.version or 0) + 1
    row.updated_at = utcnow()
    row.updated_by = actor.username
    session.flush()
    return row


def get_building(session: Session, building_id: int) -> EvacBuilding:
    return found(session.get(EvacBuilding, building_id), BuildingNotFound(f"建筑 {building_id} 不存在"))


_MODELS: dict[tuple[int, int], Building] = {}


def model_of(row: EvacBuilding) -> Building:
    """The parsed model of a stored building (cached per version)."""
    key = (row.id, row.version)
    if key not in _MODELS:
        _MODELS[key] = parse_building(row.document)
    return _MODELS[key]


def buildings(session: Session, actor: Actor, institution_id: int) -> list[EvacBuilding]:
    _require(actor, Permission.EVACUATION_READ, institution_id, "查看建筑")
    return repo.buildings_of(session, institution_id)


def read_building(session: Session, actor: Actor, building_id: int) -> EvacBuilding:
    row = get_building(session, building_id)
    _require(actor, Permission.EVACUATION_READ, row.institution_id, "查看建筑")
    return row


# ---------------------------------------------------------------- occupants


def occupants(session: Session, row: EvacBuilding, hour: int) -> list[Occupant]:
    """Who is in the building: patients from the live bed census (with the mobility the nurse set),
    staff on duty per ward by shift (at the ward's nurse stations, else its corridors), visitors by
    the hour's estimate per occupied bed."""
    b = model_of(row)
    census = inpatient.bed_census(session, row.institution_id)
    rooms: dict[tuple[str, str], str] = {(s.ward, s.room): s.code for s in b.spaces.values() if s.ward}
    out: list[Occupant] = []
    occupied: dict[str, int] = defaultdict(int)
    wards_here: set[str] = set()
    for c in census:
        space = rooms.get((c.ward_code, c.room_code))
        if space is None:
            continue
        wards_here.add(c.ward_code)
        if c.admission_id is None:
            continue
        occupied[space] += 1
        out.append(
            Occupant(
                id=f"adm{c.admission_id}",
                kind=OccupantKind.PATIENT.value,
                space=space,
                mobility=c.mobility or "ambulatory",
                ward=c.ward_code,
                label=f"{c.room_code}室{c.bed_code}床",
            )
        )
    for space, n in sorted(occupied.items()):
        for i in range(visitors_estimate(n, hour)):
            out.append(Occupant(f"vis-{space}-{i + 1}", OccupantKind.VISITOR.value, space, label="探视者"))
    per_ward = STAFF_PER_WARD[shift_of(hour)]
    for ward in sorted(wards_here):
        floors = {s.floor for s in b.spaces.values() if s.ward == ward}
        posts = [s.code for s in b.spaces.values() if s.floor in floors and s.kind == "room"]
        posts = posts or [s.code for s in b.spaces.values() if s.floor in floors and s.kind == "corridor"]
        for i in range(per_ward):
            out.append(
                Occupant(
                    f"{ward}-staff{i + 1}",
                    OccupantKind.STAFF.value,
                    posts[i % len(posts)],
                    ward=ward,
                    label=f"{ward} 医护{i + 1}",
                )
            )
    return out


def set_mobility(session: Session, actor: Actor, admission_id: int, mobility: str) -> str:
    """The nurse sets a patient's mobility (stored on the admission by the inpatient area)."""
    if mobility not in MOBILITIES:
        raise InvalidHazard(f"活动能力 {mobility!r} 未知")
    return inpatient.set_mobility(session, actor, admission_id, mobility).mobility


# ---------------------------------------------------------------- events and hazards


def get_event(session: Session, event_id: int) -> EvacEvent:
    return found(session.get(EvacEvent, event_id), EventNotFound(f"疏散事件 {event_id} 不存在"))


def start_event(
    session: Session,
    actor: Actor,
    building_id: int,
    *,
    kind: str = EventKind.DRILL.value,
    hour: int | None = None,
) -> EvacEvent:
    """Open a fire event (alarm) or a drill (演练) on a building; its clock starts now."""
    row = get_building(session, building_id)
    _require(actor, Permission.EVACUATION_COMMAND, row.institution_id, "启动疏散事件或演练")
    if kind not in (EventKind.ALARM, EventKind.DRILL):
        raise InvalidHazard(f"事件类型 {kind!r} 未知")
    event = EvacEvent(
        building_id=row.id,
        kind=kind,
        status=EventStatus.OPEN.value,
        hour=local_now().hour if hour is None else hour % 24,
        started_at=utcnow(),
        started_by=actor.username,
        revision=0,
    )
    session.add(event)
    session.flush()
    events.emit(
        session, "evacuation.event_started", {"event_id": event.id, "building_id": row.id, "kind": kind}
    )
    return event


def clock_of(event: EvacEvent) -> float:
    """Seconds since the event began (frozen at its close)."""
    end = event.closed_at or utcnow()
    return max(0.0, (end - event.started_at).total_seconds())


def report_hazard(
    session: Session,
    actor: Actor,
    event_id: int,
    kind: str,
    target: str,
    *,
    at: float | None = None,
    source: str = "command",
    detector: str = "",
) -> EvacHazard:
    """Record a detector report or a command (door closed, stair lost) at ``at`` seconds on the
    event's clock (now by default; a drill script may report ahead of the clock)."""
    event = get_event(session, event_id)
    row = get_building(session, event.building_id)
    _require(actor, Permission.EVACUATION_COMMAND, row.institution_id, "报告火情或调整疏散通道")
    if event.status != EventStatus.OPEN:
        raise EventClosed(f"疏散事件 {event_id} 已结束")
    why = check_hazard(model_of(row), kind, target)
    if why:
        raise InvalidHazard(why)
    if source not in ("alarm", "command", "drill"):
        raise InvalidHazard(f"来源 {source!r} 未知")
    when = clock_of(event) if at is None else float(at)
    if when < 0 or math.isnan(when):
        raise InvalidHazard("时间不能为负")
    hazard = EvacHazard(
        event_id=event.id,
        at=when,
        kind=kind,
        target=target,
        source=source,
        detector=detector,
        recorded_at=utcnow(),
        username=actor.username,
    )
    session.add(hazard)
    event.revision += 1
    session.flush()
    events.emit(
        session,
        "evacuation.hazard",
        {"event_id": event.id, "kind": kind, "target": target, "at": when, "revision": event.revision},
    )
    return hazard


def close_event(session: Session, actor: Actor, event_id: int) -> EvacEvent:
    event = get_event(session, event_id)
    row = get_building(session, event.building_id)
    _require(actor, Permission.EVACUATION_COMMAND, row.institution_id, "结束疏散事件")
    if event.status == EventStatus.OPEN:
        event.status = EventStatus.CLOSED.value
        event.closed_at = utcnow()
        event.revision += 1
        session.flush()
    return event


def hazards_of(session: Session, event_id: int) -> list[HazardEvent]:
    return [HazardEvent(h.at, h.kind, h.target) for h in repo.hazards_of(session, event_id)]


def start_drill(
    session: Session, actor: Actor, building_id: int, origin: str, *, hour: int | None = None
) -> EvacEvent:
    """The drill simulator: a fire in ``origin`` at 0 s, smoke in its compartment's corridors at 30 s
    and in the corridors of the compartment above at 180 s (reported ahead on the drill's clock)."""
    event = start_event(session, actor, building_id, kind=EventKind.DRILL.value, hour=hour)
    b = model_of(get_building(session, building_id))
    if origin not in b.spaces:
        raise InvalidHazard(f"空间 {origin} 不存在")
    space = b.spaces[origin]
    report_hazard(session, actor, event.id, HazardKind.FIRE.value, origin, at=0.0, source="drill")
    for s in b.spaces_of(space.compartment):
        if s.kind == "corridor":
            report_hazard(session, actor, event.id, HazardKind.SMOKE.value, s.code, at=30.0, source="drill")
    above = [
        c
        for c in b.compartments.values()
        if c.floor == space.floor + 1 and c.code.endswith(space.compartment[-1])
    ]
    for comp in above:
        for s in b.spaces_of(comp.code):
            if s.kind == "corridor":
                report_hazard(
                    session, actor, event.id, HazardKind.SMOKE.value, s.code, at=180.0, source="drill"
                )
    return event


# ---------------------------------------------------------------- the plan


@dataclass
class PlanView:
    event_id: int
    building_id: int
    building: Building
    revision: int
    clock: float
    hazards: HazardState
    plan: Plan
    occupants: list[Occupant]
    plan_ms: float

    def summary(self) -> dict[str, Any]:
        return plan_document(self)


_PLANS: dict[tuple[int, int, int], PlanView] = {}


def closes_at(building: Building, future: list[HazardEvent], clock: float, step: float) -> dict[str, int]:
    """Time-dependent capacities: stairs the script or the alarm system says will be lost later
    close their flights at that step of the plan (counted from now)."""
    out: dict[str, int] = {}
    for e in future:
        stair = None
        if e.kind == HazardKind.STAIR_LOST:
            stair = next((s for s in building.stairs if s.code == e.target), None)
        elif e.kind in (HazardKind.SMOKE, HazardKind.FIRE):
            stair = building.stair_of(e.target)
        if stair is None:
            continue
        when = max(0, int((e.at - clock) / step))
        for lo, hi in zip(stair.spaces, stair.spaces[1:], strict=False):
            for key in (f"{stair.code}:{hi}>{lo}", f"{stair.code}:{lo}>{hi}"):
                out[key] = min(out.get(key, when), when)
    return out


def current_plan(session: Session, actor: Actor, event_id: int) -> PlanView:
    """The plan for the event's hazards at its clock (recomputed at every hazard change; the clock
    moving on only brings scripted hazards into force, which also bumps the cache key)."""
    event = get_event(session, event_id)
    row = get_building(session, event.building_id)
    _require(actor, Permission.EVACUATION_READ, row.institution_id, "查看疏散方案")
    clock = clock_of(event)
    reported = hazards_of(session, event.id)
    in_force = sum(1 for h in reported if h.at <= clock)
    key = (event.id, event.revision, in_force)
    cached = _PLANS.get(key)
    if cached is not None:
        cached.clock = clock
        return cached
    b = model_of(row)
    people = occupants(session, row, event.hour)
    state = hazard_state(reported, until=clock)
    future = [h for h in reported if h.at > clock]
    t0 = time.perf_counter()
    result = plan(b, people, state, step=PLAN_STEP, closes_at=closes_at(b, future, clock, PLAN_STEP))
    view = PlanView(
        event.id, row.id, b, event.revision, clock, state, result, people, (time.perf_counter() - t0) * 1000
    )
    if len(_PLANS) > 64:
        _PLANS.clear()
    _PLANS[key] = view
    return view


def plan_document(view: PlanView) -> dict[str, Any]:
    """The plan as JSON: per space (where to go, by which route, when), per staff member (which
    patients, in what order), per exit and stair (the expected flow)."""
    p = view.plan
    labels = {o.id: o.label for o in view.occupants}
    spaces = []
    for code, order in sorted(p.spaces.items()):
        spaces.append(
            {
                "space": code,
                "action": order.action,
                "action_label": ACTION_LABELS[order.action],
                "occupants": order.occupants,
                "counts": order.counts,
                "destination": order.destination,
                "routes": [
                    {
                        "count": r.count,
                        "path": list(r.path),
                        "depart": r.departs[0] * p.ccrp.step if r.departs else 0.0,
                        "arrival": r.arrival * p.ccrp.step,
                    }
                    for r in order.routes
                ],
            }
        )
    staff = [
        {
            "staff": sid,
            "label": labels.get(sid, sid),
            "tasks": [
                {
                    "order": i + 1,
                    "patient": t.patient,
                    "patient_label": labels.get(t.patient, t.patient),
                    "mobility": t.mobility,
                    "mobility_label": MOBILITIES[t.mobility],
                    "origin": t.origin,
                    "destination": t.destination,
                    "destination_name": view.building.spaces[t.destination].name,
                    "origin_name": view.building.spaces[t.origin].name,
                    "path": list(t.path),
                    "start": t.start,
                    "end": t.end,
                    "team": [labels.get(m, m) for m in t.team],
                }
                for i, t in enumerate(tasks)
            ],
        }
        for sid, tasks in sorted(p.staff.items())
    ]
    flows = [
        {
            "code": f.code,
            "kind": f.kind,
            "persons": f.persons,
            "first": None if f.first == float("inf") else f.first,
            "last": f.last,
        }
        for f in sorted(p.flows.values(), key=lambda f: (f.kind, f.code))
    ]
    compartments: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for code, order in p.spaces.items():
        for action, n in order.counts.items():
            compartments[view.building.spaces[code].compartment][action] += n
    return {
        "event_id": view.event_id,
        "building_id": view.building_id,
        "revision": view.revision,
        "clock": round(view.clock, 1),
        "plan_ms": round(view.plan_ms, 1),
        "threatened": p.threatened,
        "hazards": {
            "fire": sorted(view.hazards.fire),
            "smoke": sorted(view.hazards.smoke),
            "closed_doors": sorted(view.hazards.closed_doors),
            "lost_stairs": sorted(view.hazards.lost_stairs),
        },
        "counts": p.counts(),
        "evacuation_seconds": p.evacuation_seconds,
        "horizontal_seconds": p.horizontal_seconds,
        "sheltered": p.sheltered,
        "unrouted": p.ccrp.unrouted,
        "spaces": spaces,
        "staff": staff,
        "flows": flows,
        "compartments": {k: dict(v) for k, v in sorted(compartments.items())},
    }


HAZARD_LABELS = HAZARD_KINDS


def ward_plan_pdf(session: Session, actor: Actor, building_id: int, ward: str) -> bytes:
    """The printable plan of one ward of the building (PDF)."""
    from yilian.evacuation.ward_pdf import ward_plan_pdf as render

    row = read_building(session, actor, building_id)
    b = model_of(row)
    if not any(s.ward == ward for s in b.spaces.values()):
        raise BuildingNotFound(f"建筑 {row.code} 中没有病区 {ward}")
    names = {w.code: w.name for w in inpatient.wards_named(session, row.institution_id)}
    return render(b, ward, names.get(ward, ward))


def open_event(session: Session, building_id: int) -> EvacEvent | None:
    """The building's open event, if any (the latest)."""
    return next((e for e in repo.events_of(session, building_id) if e.status == EventStatus.OPEN), None)


# ---------------------------------------------------------------- drill replays

REPLAY_LIMIT = 1800.0  # s of simulated time at most
REPLAY_STATUS: dict[str, str] = {
    ReplayStatus.PENDING: "排队中",
    ReplayStatus.RUNNING: "模拟中",
    ReplayStatus.DONE: "已完成",
    ReplayStatus.FAILED: "失败",
}


def request_replay(session: Session, actor: Actor, event_id: int, *, floor: int | None = None) -> EvacReplay:
    """Ask for a drill replay of the event (its threatened occupants, of ``floor`` only if given);
    made in the background (``tasks.make_replay``)."""
    event = get_event(session, event_id)
    row = get_building(session, event.building_id)
    _require(actor, Permission.EVACUATION_COMMAND, row.institution_id, "生成演练回放")
    if floor is not None and floor not in model_of(row).floors:
        raise InvalidHazard(f"楼层 {floor} 不存在")
    replay = EvacReplay(
        event_id=event.id,
        floor=floor,
        status=ReplayStatus.PENDING.value,
        requested_at=utcnow(),
        requested_by=actor.username,
        error="",
        persons=0,
        document={},
    )
    session.add(replay)
    session.flush()
    return replay


def claim_replay(session: Session, replay_id: int) -> bool:
    """pending → running (one process wins); the caller commits before the long simulation."""
    return repo.claim_replay(session, replay_id)


@dataclass
class ReplayInput:
    building: Building
    occupants: list[Occupant]
    hazards: HazardState
    floor: int | None


def _replay(session: Session, replay_id: int) -> EvacReplay:
    return found(session.get(EvacReplay, replay_id), ReplayNotFound(f"演练回放 {replay_id} 不存在"))


def replay_input(session: Session, replay_id: int) -> ReplayInput:
    """What a replay walks: the building, its occupants at the event's hour, and every hazard the
    event reported (its worst state)."""
    row = _replay(session, replay_id)
    event = get_event(session, row.event_id)
    building = get_building(session, event.building_id)
    state = hazard_state(hazards_of(session, event.id))
    return ReplayInput(model_of(building), occupants(session, building, event.hour), state, row.floor)


def simulate_replay(data: ReplayInput) -> dict[str, Any]:
    """The replay document (``replay.record``; JuPedSim, outside any transaction)."""
    from yilian.evacuation import replay as replays

    return replays.record(data.building, data.occupants, data.hazards, floor=data.floor, limit=REPLAY_LIMIT)


def store_replay(session: Session, replay_id: int, doc: dict[str, Any] | None, error: str = "") -> None:
    row = _replay(session, replay_id)
    row.finished_at = utcnow()
    if doc is None:
        row.status, row.error = ReplayStatus.FAILED.value, error[:400]
    else:
        row.document = doc
        row.plan_seconds = doc["runs"]["plan"]["seconds"]
        row.nearest_seconds = doc["runs"]["nearest"]["seconds"]
        row.persons = doc["runs"]["plan"]["persons"]
        row.status = ReplayStatus.DONE.value
    session.flush()


def pending_replays(session: Session) -> list[int]:
    return repo.pending_replays(session)


def replays(session: Session, actor: Actor, building_id: int) -> list[EvacReplay]:
    """The building's replays, latest first."""
    row = read_building(session, actor, building_id)
    return repo.replays_of(session, [e.id for e in repo.events_of(session, row.id)])


def event_replays(session: Session, actor: Actor, event_id: int) -> list[EvacReplay]:
    event = get_event(session, event_id)
    read_building(session, actor, event.building_id)
    return repo.replays_of(session, [event.id])


def read_replay(session: Session, actor: Actor, replay_id: int) -> tuple[EvacReplay, EvacEvent]:
    replay = _replay(session, replay_id)
    event = get_event(session, replay.event_id)
    read_building(session, actor, event.building_id)
    return replay, event


def building_events(session: Session, actor: Actor, building_id: int) -> list[EvacEvent]:
    """The building's events, latest first."""
    row = read_building(session, actor, building_id)
    return repo.events_of(session, row.id)


def fire_floor(session: Session, event_id: int) -> int | None:
    """The floor of the event's first fire report (a replay's default floor)."""
    event = get_event(session, event_id)
    b = model_of(get_building(session, event.building_id))
    first = next(
        (h for h in repo.hazards_of(session, event_id) if h.kind == HazardKind.FIRE and h.target in b.spaces),
        None,
    )
    return b.spaces[first.target].floor if first else None
