"""A generated ward building (住院楼) in the document format of docs/evacuation.md, pure.

Each floor is 80 m × 18 m: stair cores S1 (x 0–5) and S2 (x 75–80) at the ends, a 3 m corridor along
the middle split by a smoke barrier (防烟分隔, a smoke door) at x = 40 into compartments A and B; in
each compartment a refuge room (避难间, 5 × 7.5 m = 37.5 m²) beside the stair, ward rooms of
5 × 7.5 m (3 beds) and a nurse station. Exits open from both stair cores on the ground floor.
"""

from __future__ import annotations

from typing import Any

from yilian.evacuation.domain import Building, Occupant, OccupantKind

LENGTH, DEPTH, CORE = 80.0, 18.0, 5.0
CORR_LO, CORR_HI = 7.5, 10.5
MID = LENGTH / 2


def _rect(x0: float, y0: float, x1: float, y1: float) -> list[list[float]]:
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]


def ward_code(floor: int) -> str:
    return f"W{floor:02d}"


def ward_name(floor: int) -> str:
    return f"住院楼{floor}层病区"


def room_code(floor: int, n: int) -> str:
    return f"{floor}{n:02d}"


def ward_building(
    floors: int = 12,
    *,
    code: str = "ZY1",
    name: str = "住院楼",
    beds_per_room: int = 3,
    bays: int = 7,
    stair_width: float = 1.4,
) -> dict[str, Any]:
    """The document of a ward building: one ward (病区) per floor, two smoke compartments per floor,
    two stairs and a refuge room per compartment. ``bays`` rooms per side of a compartment (each 5 m);
    the building grows longer with more bays."""
    bay = 5.0
    half = bays * bay
    length = 2 * CORE + 2 * half
    mid = CORE + half
    doc: dict[str, Any] = {
        "type": "Building",
        "code": code,
        "name": name,
        "floors": [],
        "doors": [],
        "stairs": [],
    }
    doors: list[dict[str, Any]] = doc["doors"]
    ystair = [(CORR_LO + CORR_HI) / 2 - 0.75, (CORR_LO + CORR_HI) / 2 + 0.75]
    for f in range(1, floors + 1):
        comps: list[dict[str, Any]] = []
        room_no = 0
        for side, (x0, x1) in (("A", (CORE, mid)), ("B", (mid, length - CORE))):
            ccode = f"{f}F-{side}"
            corridor = f"{ccode}-C"
            spaces: list[dict[str, Any]] = [
                {
                    "code": corridor,
                    "kind": "corridor",
                    "name": f"{f}层{side}区走廊",
                    "polygon": _rect(x0, CORR_LO, x1, CORR_HI),
                }
            ]
            stair_code = "S1" if side == "A" else "S2"
            sx0, sx1 = (0.0, CORE) if side == "A" else (length - CORE, length)
            spaces.append(
                {
                    "code": f"{f}F-{stair_code}",
                    "kind": "stair",
                    "name": f"{f}层{stair_code}楼梯间",
                    "polygon": _rect(sx0, 0.0, sx1, DEPTH),
                }
            )
            wall = CORE if side == "A" else length - CORE
            doors.append(
                {
                    "code": f"{f}F-D-{stair_code}",
                    "between": [corridor, f"{f}F-{stair_code}"],
                    "width": 1.2,
                    "kind": "fire_door",
                    "at": [[wall, ystair[0]], [wall, ystair[1]]],
                }
            )
            for row, (y0, y1, ywall) in enumerate(((0.0, CORR_LO, CORR_LO), (CORR_HI, DEPTH, CORR_HI))):
                for i in range(bays):
                    bx0 = x0 + i * bay
                    bx1 = bx0 + bay
                    # the bay beside the stair core on the south side is the refuge room; the
                    # middle bay on the north side is the nurse station
                    refuge = row == 0 and ((side == "A" and i == 0) or (side == "B" and i == bays - 1))
                    station = row == 1 and i == bays // 2
                    if refuge:
                        scode, kind, sname = f"{ccode}-R", "refuge", f"{f}层{side}区避难间"
                        extra: dict[str, Any] = {}
                    elif station:
                        scode, kind, sname = f"{ccode}-N", "room", f"{f}层{side}区护士站"
                        extra = {}
                    else:
                        room_no += 1
                        rc = room_code(f, room_no)
                        scode, kind, sname = f"{f}F-{rc}", "ward", f"{rc}病房"
                        extra = {"ward": ward_code(f), "room": rc, "beds": beds_per_room}
                    spaces.append(
                        {
                            "code": scode,
                            "kind": kind,
                            "name": sname,
                            "polygon": _rect(bx0, y0, bx1, y1),
                            **extra,
                        }
                    )
                    doors.append(
                        {
                            "code": f"{scode}-D",
                            "between": [scode, corridor],
                            "width": 1.4 if kind == "refuge" else 1.2,
                            "kind": "door",
                            "at": [[bx0 + 1.5, ywall], [bx0 + 3.0, ywall]],
                        }
                    )
            comps.append({"code": ccode, "name": f"{f}层{side}防烟分区", "spaces": spaces})
        doors.append(
            {
                "code": f"{f}F-SD",
                "between": [f"{f}F-A-C", f"{f}F-B-C"],
                "width": 1.8,
                "kind": "smoke_door",
                "at": [[mid, CORR_LO + 0.6], [mid, CORR_HI - 0.6]],
            }
        )
        if f == 1:
            exits = []
            for stair_code, (ex0, ex1), wall in (
                ("S1", (-3.0, 0.0), 0.0),
                ("S2", (length, length + 3.0), length),
            ):
                ecode = f"EXIT-{stair_code}"
                exits.append(
                    {
                        "code": ecode,
                        "kind": "exit",
                        "name": f"{stair_code}首层安全出口",
                        "polygon": _rect(ex0, CORR_LO, ex1, CORR_HI),
                    }
                )
                doors.append(
                    {
                        "code": f"{ecode}-D",
                        "between": [f"1F-{stair_code}", ecode],
                        "width": 1.5,
                        "kind": "door",
                        "at": [[wall, CORR_LO + 0.5], [wall, CORR_HI - 0.5]],
                    }
                )
            comps[0]["spaces"].append(exits[0])
            comps[1]["spaces"].append(exits[1])
        doc["floors"].append({"level": f, "height": 3.6, "compartments": comps})
    for stair_code in ("S1", "S2"):
        doc["stairs"].append(
            {
                "code": stair_code,
                "name": f"{stair_code}疏散楼梯",
                "width": stair_width,
                "spaces": [f"{f}F-{stair_code}" for f in range(1, floors + 1)],
            }
        )
    return doc


def ward_rooms(doc: dict[str, Any]) -> dict[str, list[tuple[str, int]]]:
    """Ward code → [(room code, beds)] of a building document (for creating the inpatient wards)."""
    out: dict[str, list[tuple[str, int]]] = {}
    for floor in doc["floors"]:
        for comp in floor["compartments"]:
            for s in comp["spaces"]:
                if s.get("ward"):
                    out.setdefault(s["ward"], []).append((s["room"], int(s.get("beds") or 0)))
    return out


SYNTHETIC_MOBILITIES = ("ambulatory", "bedridden", "ambulatory", "wheelchair", "ambulatory", "life_support")


def synthetic_occupants(
    building: Building, *, skip_bed: int | None = None, staff_per_station: int = 4
) -> list[Occupant]:
    """Occupants for tests and benchmarks: every bed (but bed ``skip_bed`` of each room) with a
    patient of mobilities in a fixed cycle, a visitor per room, ``staff_per_station`` staff at each
    nurse station (kind ``room``)."""
    out: list[Occupant] = []
    k = 0
    for s in building.spaces.values():
        if s.kind == "ward":
            for i in range(s.beds):
                if i == skip_bed:
                    continue
                mobility = SYNTHETIC_MOBILITIES[k % len(SYNTHETIC_MOBILITIES)]
                out.append(Occupant(f"{s.code}-{i}", OccupantKind.PATIENT.value, s.code, mobility, s.ward))
                k += 1
            out.append(Occupant(f"{s.code}-v", OccupantKind.VISITOR.value, s.code))
        if s.kind == "room":
            for i in range(staff_per_station):
                out.append(
                    Occupant(f"{s.code}-n{i}", OccupantKind.STAFF.value, s.code, ward=f"W{s.floor:02d}")
                )
    return out
