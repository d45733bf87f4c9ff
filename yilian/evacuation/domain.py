"""The building model of fire evacuation (消防应急疏散), pure: parsing and validating the building
document (docs/evacuation.md), the movement graph, hazards and occupants.

Units: metres, seconds, persons. A building is floors → smoke compartments (防烟分区) → spaces; doors
join two spaces on one floor through a shared wall; a stair (楼梯间) is one stair space per floor it
serves, joined floor to floor. Exits (安全出口) are spaces whose reaching means safety.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from typing import Any

from yilian.evacuation.errors import BuildingInvalid


class EventKind(StrEnum):
    ALARM = "alarm"  # 火警
    DRILL = "drill"  # 演练


class EventStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class ReplayStatus(StrEnum):
    """A replay is made in the background: pending → running → done | failed."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class HazardKind(StrEnum):
    FIRE = "fire"
    SMOKE = "smoke"
    CLEAR = "clear"
    DOOR_CLOSED = "door_closed"
    DOOR_OPEN = "door_open"
    STAIR_LOST = "stair_lost"
    STAIR_RESTORED = "stair_restored"


class OccupantKind(StrEnum):
    PATIENT = "patient"
    STAFF = "staff"
    VISITOR = "visitor"


SPACE_KINDS = {
    "ward": "病房",
    "room": "房间",
    "corridor": "走廊",
    "stair": "楼梯间",
    "refuge": "避难间",
    "exit": "安全出口",
    "lobby": "前室/大厅",
}
DOOR_KINDS = ("door", "fire_door", "smoke_door", "opening")
MOBILITIES = {
    "ambulatory": "可自行行走",
    "wheelchair": "轮椅",
    "bedridden": "卧床",
    "life_support": "生命支持",
}
# walking speed by class (m/s, horizontal); stairs at STAIR_SPEED_FACTOR of it (SFPE handbook ranges)
SPEEDS = {
    "ambulatory": 1.2,
    "visitor": 1.2,
    "staff": 1.3,
    "wheelchair": 0.8,
    "bedridden": 0.5,
    "life_support": 0.35,
}
STAIR_SPEED_FACTOR = 0.5
# staff needed per patient moved, and the time to prepare the move (s), by mobility
STAFF_PER_PATIENT = {"ambulatory": 0, "wheelchair": 1, "bedridden": 2, "life_support": 3}
PREPARE_SECONDS = {"ambulatory": 0, "wheelchair": 20, "bedridden": 45, "life_support": 120}
DOOR_FLOW = 1.3  # persons per metre of clear width per second (SFPE specific flow, doors)
STAIR_FLOW = 1.0  # persons per metre of stair width per second
STAIR_RUN_METRES = 12.0  # the walking length of one storey of stairs (two flights and a landing)
REFUGE_MIN_AREA = 25.0  # m², 《建筑设计防火规范》 避难间 of a high-rise ward building
TOLERANCE = 0.05  # m

Point = tuple[float, float]


@dataclass(frozen=True)
class Space:
    code: str
    kind: str
    name: str
    floor: int
    compartment: str
    polygon: tuple[Point, ...]
    ward: str = ""  # the inpatient ward's code (ward rooms)
    room: str = ""  # the inpatient room's code
    beds: int = 0

    @cached_property
    def area(self) -> float:
        return polygon_area(self.polygon)

    @cached_property
    def centre(self) -> Point:
        return polygon_centre(self.polygon)


@dataclass(frozen=True)
class Door:
    code: str
    a: str
    b: str
    width: float
    segment: tuple[Point, Point]
    kind: str = "door"

    @property
    def midpoint(self) -> Point:
        (x1, y1), (x2, y2) = self.segment
        return ((x1 + x2) / 2, (y1 + y2) / 2)


@dataclass(frozen=True)
class Stair:
    code: str
    name: str
    spaces: tuple[str, ...]  # one stair space per floor, lowest first
    width: float

    @property
    def flow(self) -> float:
        """Persons per second the stair carries."""
        return self.width * STAIR_FLOW


@dataclass(frozen=True)
class Compartment:
    code: str
    name: str
    floor: int


@dataclass(frozen=True)
class Building:
    code: str
    name: str
    floors: tuple[int, ...]
    compartments: Mapping[str, Compartment]
    spaces: Mapping[str, Space]
    doors: tuple[Door, ...]
    stairs: tuple[Stair, ...]

    def spaces_of(self, compartment: str) -> list[Space]:
        return [s for s in self.spaces.values() if s.compartment == compartment]

    @property
    def exits(self) -> list[str]:
        return [s.code for s in self.spaces.values() if s.kind == "exit"]

    def stair_of(self, space: str) -> Stair | None:
        for stair in self.stairs:
            if space in stair.spaces:
                return stair
        return None


# ---------------------------------------------------------------- geometry


def polygon_area(poly: tuple[Point, ...]) -> float:
    s = 0.0
    for (x1, y1), (x2, y2) in zip(poly, poly[1:], strict=False):
        s += x1 * y2 - x2 * y1
    return abs(s) / 2


def polygon_centre(poly: tuple[Point, ...]) -> Point:
    pts = poly[:-1] if len(poly) > 1 and poly[0] == poly[-1] else poly
    return (sum(p[0] for p in pts) / len(pts), sum(p[1] for p in pts) / len(pts))


def _distance_to_segment(p: Point, a: Point, b: Point) -> float:
    (px, py), (ax, ay), (bx, by) = p, a, b
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    if length2 == 0:
        return math.hypot(px - ax, py - ay)
    t = max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / length2))
    return math.hypot(px - (ax + t * dx), py - (ay + t * dy))


def on_boundary(segment: tuple[Point, Point], poly: tuple[Point, ...]) -> bool:
    """Whether both ends of ``segment`` lie on one edge of the polygon (the door is in that wall)."""
    for a, b in zip(poly, poly[1:], strict=False):
        if all(_distance_to_segment(p, a, b) <= TOLERANCE for p in segment):
            return True
    return False


def distance(a: Point, b: Point) -> float:
    return math.hypot(a[0] - b[0], a[1] - b[1])


# ---------------------------------------------------------------- the document


def _point(value: Any) -> Point:
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise ValueError
    return (float(value[0]), float(value[1]))


def parse_building(doc: Mapping[str, Any]) -> Building:
    """Read and validate a building document; raise ``BuildingInvalid`` with every problem found."""
    problems: list[str] = []
    if doc.get("type") != "Building":
        problems.append('文档类型必须为 "Building"')
    code = str(doc.get("code") or "").strip()
    if not code:
        problems.append("建筑编码不能为空")
    compartments: dict[str, Compartment] = {}
    spaces: dict[str, Space] = {}
    floors: list[int] = []
    for floor_doc in doc.get("floors") or []:
        try:
            level = int(floor_doc["level"])
        except (KeyError, TypeError, ValueError):
            problems.append("楼层缺少层号 level")
            continue
        floors.append(level)
        for comp_doc in floor_doc.get("compartments") or []:
            ccode = str(comp_doc.get("code") or "").strip()
            if not ccode or ccode in compartments:
                problems.append(f"{level} 层的防烟分区编码为空或重复：{ccode!r}")
                continue
            compartments[ccode] = Compartment(ccode, str(comp_doc.get("name") or ccode), level)
            for sd in comp_doc.get("spaces") or []:
                scode = str(sd.get("code") or "").strip()
                kind = str(sd.get("kind") or "")
                if not scode or scode in spaces:
                    problems.append(f"防烟分区 {ccode} 的空间编码为空或重复：{scode!r}")
                    continue
                if kind not in SPACE_KINDS:
                    problems.append(f"空间 {scode} 的类型 {kind!r} 未知")
                    continue
                try:
                    poly = tuple(_point(p) for p in sd.get("polygon") or [])
                except (TypeError, ValueError):
                    problems.append(f"空间 {scode} 的多边形坐标不合法")
                    continue
                if len(poly) < 4 or poly[0] != poly[-1]:
                    problems.append(f"空间 {scode} 的多边形未闭合（首末点须相同且至少三个顶点）")
                    continue
                if polygon_area(poly) <= 0.01:
                    problems.append(f"空间 {scode} 的多边形面积为零")
                    continue
                space = Space(
                    code=scode,
                    kind=kind,
                    name=str(sd.get("name") or scode),
                    floor=level,
                    compartment=ccode,
                    polygon=poly,
                    ward=str(sd.get("ward") or ""),
                    room=str(sd.get("room") or ""),
                    beds=int(sd.get("beds") or 0),
                )
                if kind == "refuge" and space.area < REFUGE_MIN_AREA:
                    problems.append(f"避难间 {scode} 面积 {space.area:.1f} m² 小于 {REFUGE_MIN_AREA:.0f} m²")
                spaces[scode] = space
    doors: list[Door] = []
    seen_doors: set[str] = set()
    for dd in doc.get("doors") or []:
        dcode = str(dd.get("code") or "").strip()
        if not dcode or dcode in seen_doors:
            problems.append(f"门的编码为空或重复：{dcode!r}")
            continue
        seen_doors.add(dcode)
        between = dd.get("between") or []
        if len(between) != 2:
            problems.append(f"门 {dcode} 必须连接两个空间")
            continue
        a, b = str(between[0]), str(between[1])
        missing = [x for x in (a, b) if x not in spaces]
        if missing:
            problems.append(f"门 {dcode} 通向不存在的空间：{'、'.join(missing)}")
            continue
        try:
            seg = (_point(dd["at"][0]), _point(dd["at"][1]))
            width = float(dd.get("width") or 0)
        except (KeyError, IndexError, TypeError, ValueError):
            problems.append(f"门 {dcode} 的位置 at 或宽度不合法")
            continue
        if width <= 0:
            problems.append(f"门 {dcode} 的宽度必须大于 0")
            continue
        if spaces[a].floor != spaces[b].floor:
            problems.append(f"门 {dcode} 连接的两个空间不在同一层")
            continue
        if not (on_boundary(seg, spaces[a].polygon) and on_boundary(seg, spaces[b].polygon)):
            problems.append(f"门 {dcode} 不在 {a} 与 {b} 的共用墙上")
            continue
        kind = str(dd.get("kind") or "door")
        if kind not in DOOR_KINDS:
            problems.append(f"门 {dcode} 的类型 {kind!r} 未知")
            continue
        doors.append(Door(dcode, a, b, width, seg, kind))
    stairs: list[Stair] = []
    for st in doc.get("stairs") or []:
        scode = str(st.get("code") or "").strip()
        members = [str(x) for x in st.get("spaces") or []]
        bad = [m for m in members if m not in spaces or spaces[m].kind != "stair"]
        if not scode or len(members) < 2 or bad:
            problems.append(
                f"楼梯 {scode or '?'} 须由至少两层的楼梯间空间组成（问题：{'、'.join(bad) or '层数不足'}）"
            )
            continue
        levels = [spaces[m].floor for m in members]
        if levels != sorted(levels) or len(set(levels)) != len(levels):
            problems.append(f"楼梯 {scode} 的楼梯间须按楼层由低到高排列且每层一个")
            continue
        width = float(st.get("width") or 0)
        if width <= 0:
            problems.append(f"楼梯 {scode} 的宽度必须大于 0")
            continue
        stairs.append(Stair(scode, str(st.get("name") or scode), tuple(members), width))
    if not any(s.kind == "exit" for s in spaces.values()):
        problems.append("建筑没有安全出口")
    building = Building(
        code=code,
        name=str(doc.get("name") or code),
        floors=tuple(sorted(floors)),
        compartments=compartments,
        spaces=spaces,
        doors=tuple(doors),
        stairs=tuple(stairs),
    )
    if not problems:
        unreachable = unreachable_spaces(building)
        for scode in unreachable[:20]:
            problems.append(f"空间 {scode} 无法到达任何安全出口")
        if len(unreachable) > 20:
            problems.append(f"另有 {len(unreachable) - 20} 个空间无法到达安全出口")
    if problems:
        raise BuildingInvalid(problems)
    return building


def unreachable_spaces(building: Building) -> list[str]:
    graph = Graph.of(building)
    reached: set[str] = set(building.exits)
    queue = deque(reached)
    back: dict[str, list[str]] = {}
    for e in graph.edges:
        back.setdefault(e.v, []).append(e.u)
    while queue:
        v = queue.popleft()
        for u in back.get(v, []):
            if u not in reached:
                reached.add(u)
                queue.append(u)
    return sorted(set(building.spaces) - reached)


# ---------------------------------------------------------------- the movement graph


@dataclass(frozen=True)
class Edge:
    u: str
    v: str
    length: float  # metres walked from u's centre to v's centre
    capacity: float  # persons per second
    door: str = ""  # the door's code, or "" for a stair flight
    stair: str = ""  # the stair's code for a stair flight

    @property
    def key(self) -> str:
        return self.door or f"{self.stair}:{self.u}>{self.v}"


@dataclass
class Graph:
    nodes: list[str]
    edges: list[Edge]
    out: dict[str, list[Edge]] = field(default_factory=dict)

    @classmethod
    def of(cls, building: Building, hazards: HazardState | None = None) -> Graph:
        """The directed movement graph: doors both ways, stair flights down and up; without the
        closed doors and lost stairs of ``hazards`` (a stair with smoke or fire in it is lost), and
        with no way into a burning space (its occupants may still leave it)."""
        hz = hazards or HazardState()
        lost = set(hz.lost_stairs)
        for stair in building.stairs:  # smoke or fire in a stair space loses the stair
            if any(s in hz.smoke or s in hz.fire for s in stair.spaces):
                lost.add(stair.code)
        gone: set[str] = set()
        for stair in building.stairs:
            if stair.code in lost:
                gone.update(stair.spaces)
        burning = set(hz.fire)  # left by whoever is in it, never entered
        edges: list[Edge] = []
        for d in building.doors:
            if d.code in hz.closed_doors or d.a in gone or d.b in gone:
                continue
            a, b = building.spaces[d.a], building.spaces[d.b]
            length = distance(a.centre, d.midpoint) + distance(d.midpoint, b.centre)
            cap = d.width * DOOR_FLOW
            if d.b not in burning:
                edges.append(Edge(d.a, d.b, length, cap, door=d.code))
            if d.a not in burning:
                edges.append(Edge(d.b, d.a, length, cap, door=d.code))
        for st in building.stairs:
            if st.code in lost:
                continue
            for lo, hi in zip(st.spaces, st.spaces[1:], strict=False):
                run = STAIR_RUN_METRES * (building.spaces[hi].floor - building.spaces[lo].floor)
                edges.append(Edge(hi, lo, run, st.flow, stair=st.code))
                edges.append(Edge(lo, hi, run, st.flow, stair=st.code))
        nodes = [c for c in building.spaces if c not in gone]
        g = cls(nodes, edges)
        for e in edges:
            g.out.setdefault(e.u, []).append(e)
        return g


# ---------------------------------------------------------------- hazards and occupants


@dataclass(frozen=True)
class HazardState:
    """What the fire alarm system and the command centre know at one moment."""

    fire: frozenset[str] = frozenset()  # spaces on fire (impassable)
    smoke: frozenset[str] = frozenset()  # spaces with smoke (left, never entered)
    closed_doors: frozenset[str] = frozenset()
    lost_stairs: frozenset[str] = frozenset()

    def threatened(self, building: Building) -> set[str]:
        """Compartments threatened: those with fire or smoke in any of their spaces."""
        return {building.spaces[s].compartment for s in self.fire | self.smoke if s in building.spaces}


HAZARD_KINDS: dict[str, str] = {
    HazardKind.FIRE: "火情",
    HazardKind.SMOKE: "烟感报警",
    HazardKind.CLEAR: "解除",
    HazardKind.DOOR_CLOSED: "门关闭",
    HazardKind.DOOR_OPEN: "门开启",
    HazardKind.STAIR_LOST: "楼梯不可用",
    HazardKind.STAIR_RESTORED: "楼梯恢复",
}


@dataclass(frozen=True)
class HazardEvent:
    at: float  # seconds since the event (drill) began
    kind: str
    target: str  # a space, door or stair code


def hazard_state(events: Iterable[HazardEvent], until: float | None = None) -> HazardState:
    """Fold the detector and command events (in time order) into the state at ``until``."""
    fire: set[str] = set()
    smoke: set[str] = set()
    closed: set[str] = set()
    lost: set[str] = set()
    for e in sorted(events, key=lambda e: e.at):
        if until is not None and e.at > until:
            break
        if e.kind == HazardKind.FIRE:
            fire.add(e.target)
        elif e.kind == HazardKind.SMOKE:
            smoke.add(e.target)
        elif e.kind == HazardKind.CLEAR:
            fire.discard(e.target)
            smoke.discard(e.target)
        elif e.kind == HazardKind.DOOR_CLOSED:
            closed.add(e.target)
        elif e.kind == HazardKind.DOOR_OPEN:
            closed.discard(e.target)
        elif e.kind == HazardKind.STAIR_LOST:
            lost.add(e.target)
        elif e.kind == HazardKind.STAIR_RESTORED:
            lost.discard(e.target)
    return HazardState(frozenset(fire), frozenset(smoke), frozenset(closed), frozenset(lost))


def check_hazard(building: Building, kind: str, target: str) -> str | None:
    """The Chinese reason a hazard event cannot apply to this building, or None."""
    if kind not in HAZARD_KINDS:
        return f"事件类型 {kind!r} 未知"
    if kind in (HazardKind.FIRE, HazardKind.SMOKE, HazardKind.CLEAR) and target not in building.spaces:
        return f"空间 {target} 不存在"
    if kind in (HazardKind.DOOR_CLOSED, HazardKind.DOOR_OPEN) and target not in {
        d.code for d in building.doors
    }:
        return f"门 {target} 不存在"
    if kind in (HazardKind.STAIR_LOST, HazardKind.STAIR_RESTORED) and target not in {
        s.code for s in building.stairs
    }:
        return f"楼梯 {target} 不存在"
    return None


@dataclass(frozen=True)
class Occupant:
    id: str
    kind: str  # an OccupantKind value
    space: str
    mobility: str = "ambulatory"
    ward: str = ""
    label: str = ""

    @property
    def speed_class(self) -> str:
        return self.mobility if self.kind == OccupantKind.PATIENT else self.kind

    @property
    def speed(self) -> float:
        return SPEEDS[self.speed_class]


# visitors per occupied bed by hour of day (0-23): visiting hours 15-20 peak (an estimate the
# command centre can change); nights nearly none
VISITORS_PER_BED = (
    0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.1, 0.2, 0.3, 0.3, 0.4, 0.4,
    0.5, 0.5, 0.6, 0.9, 1.0, 1.0, 1.0, 0.9, 0.6, 0.3, 0.1, 0.05,
)  # fmt: skip
# staff on duty per ward by shift (day 8-16, evening 16-24, night 0-8)
STAFF_PER_WARD = {"day": 8, "evening": 5, "night": 4}


def shift_of(hour: int) -> str:
    return "day" if 8 <= hour < 16 else "evening" if hour >= 16 else "night"


def visitors_estimate(occupied_beds: int, hour: int) -> int:
    return round(occupied_beds * VISITORS_PER_BED[hour % 24])
