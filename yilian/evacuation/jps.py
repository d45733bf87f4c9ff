"""A check of plans in JuPedSim (a pedestrian dynamics simulator, collision-free speed model).

JuPedSim walks agents in one plane, so the building is laid out flat: floor f is drawn at
y + (f − 1)·(depth + gap), and each stair flight between two floors becomes a strip of the stair's
width across the gap, ``STAIR_RUN_METRES / STAIR_SPEED_FACTOR`` long (so walking it at the level speed
takes the time the flight takes). Walls are the spaces' outlines shrunk by 0.1 m; doors are strips of
their width through the wall. Each walker (``planner.Walker``) follows its path's door and stair
waypoints to its end (an exit, or the refuge compartment for a bed), entering at its ready time;
beds are larger, slower agents. Needs the optional ``jupedsim`` package (a test dependency).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from yilian.evacuation.domain import STAIR_RUN_METRES, STAIR_SPEED_FACTOR, Building
from yilian.evacuation.planner import Walker

WALL = 0.1


@dataclass
class Layout:
    building: Building
    offset: dict[int, float]  # floor → y offset
    bridges: dict[tuple[str, str], tuple[tuple[float, float], tuple[float, float]]]  # (upper, lower) ends
    geometry: Any


def layout(building: Building) -> Layout:
    import shapely
    from shapely.geometry import Polygon, box

    ys = [p[1] for s in building.spaces.values() for p in s.polygon]
    depth = max(ys) - min(ys)
    gap = STAIR_RUN_METRES / STAIR_SPEED_FACTOR
    offset = {f: (i * (depth + gap)) for i, f in enumerate(sorted(building.floors))}
    parts = []
    for s in building.spaces.values():
        dy = offset[s.floor]
        parts.append(Polygon([(x, y + dy) for x, y in s.polygon]).buffer(-WALL, join_style="mitre"))
    for d in building.doors:
        (x1, y1), (x2, y2) = d.segment
        dy = offset[building.spaces[d.a].floor]
        if abs(x1 - x2) < 1e-6:  # a vertical wall
            y_lo, y_hi = sorted((y1, y2))
            parts.append(box(x1 - 2 * WALL, y_lo + dy, x1 + 2 * WALL, y_hi + dy))
        else:
            x_lo, x_hi = sorted((x1, x2))
            parts.append(box(x_lo, y1 + dy - 2 * WALL, x_hi, y1 + dy + 2 * WALL))
    bridges: dict[tuple[str, str], tuple[tuple[float, float], tuple[float, float]]] = {}
    for st in building.stairs:
        for lo_code, hi_code in zip(st.spaces, st.spaces[1:], strict=False):
            lo, hi = building.spaces[lo_code], building.spaces[hi_code]
            cx = lo.centre[0]
            lo_top = max(p[1] for p in lo.polygon) + offset[lo.floor]
            hi_bottom = min(p[1] for p in hi.polygon) + offset[hi.floor]
            parts.append(box(cx - st.width / 2, lo_top - 2 * WALL, cx + st.width / 2, hi_bottom + 2 * WALL))
            bridges[(hi_code, lo_code)] = ((cx, hi_bottom + 0.5), (cx, lo_top - 0.5))
            bridges[(lo_code, hi_code)] = ((cx, lo_top - 0.5), (cx, hi_bottom + 0.5))
    geometry = shapely.union_all(parts)
    return Layout(building, offset, bridges, geometry)


def _waypoints(lay: Layout, path: tuple[str, ...]) -> list[tuple[float, float]]:
    b = lay.building
    doors = {frozenset((d.a, d.b)): d for d in b.doors}
    points: list[tuple[float, float]] = []
    for u, v in zip(path, path[1:], strict=False):
        if (u, v) in lay.bridges:
            points.extend(lay.bridges[(u, v)])
            continue
        d = doors[frozenset((u, v))]
        mx, my = d.midpoint
        points.append((mx, my + lay.offset[b.spaces[u].floor]))
    return points


@dataclass
class SimResult:
    times: dict[str, float]  # walker → arrival (s)
    unfinished: int
    seconds: float  # the last arrival (or the time limit if some did not arrive)
    # walker → (s, x, y) in the flat layout, every ``every`` seconds while it is in the simulation
    tracks: dict[str, list[tuple[float, float, float]]] = field(default_factory=dict)
    layout: Layout | None = None


def run(
    building: Building,
    walkers: list[Walker],
    *,
    dt: float = 0.05,
    limit: float = 3600.0,
    every: float | None = None,
) -> SimResult:
    """Simulate the walkers in JuPedSim; returns each one's arrival time at the end of its path
    (and, with ``every``, each one's position every ``every`` seconds: the drill replay)."""
    import jupedsim as jps
    from shapely.geometry import Point

    lay = layout(building)
    sim = jps.Simulation(model=jps.CollisionFreeSpeedModel(), geometry=lay.geometry, dt=dt)
    b = building
    pending = sorted(walkers, key=lambda w: w.ready)
    journeys: list[tuple[Walker, int, int, tuple[float, float]]] = []
    for w in pending:
        end = b.spaces[w.path[-1]]
        ex, ey = end.centre
        ey += lay.offset[end.floor]
        exit_poly = Point(ex, ey).buffer(1.2 if end.kind != "exit" else 1.0).intersection(lay.geometry)
        exit_stage = sim.add_exit_stage(exit_poly)
        stages = [sim.add_waypoint_stage(p, 0.6) for p in _waypoints(lay, w.path)]
        journey = jps.JourneyDescription([*stages, exit_stage])
        chain = [*stages, exit_stage]
        for a, c in zip(chain, chain[1:], strict=False):
            journey.set_transition_for_stage(a, jps.Transition.create_fixed_transition(c))
        start = b.spaces[w.path[0]]
        sx, sy = start.centre
        journeys.append((w, sim.add_journey(journey), chain[0], (sx, sy + lay.offset[start.floor])))
    agents: dict[int, str] = {}
    times: dict[str, float] = {}
    waiting = list(journeys)
    spots: dict[str, int] = {}
    tracks: dict[str, list[tuple[float, float, float]]] = {}
    next_sample = 0.0
    while (waiting or sim.agent_count() > 0) and sim.elapsed_time() < limit:
        now = sim.elapsed_time()
        if every is not None and now + 1e-9 >= next_sample:
            for a in sim.agents():
                if a.id in agents:
                    x, y = a.position
                    tracks.setdefault(agents[a.id], []).append((round(next_sample, 3), x, y))
            next_sample += every
        still = []
        for item in waiting:
            w, jid, first, (sx, sy) = item
            if w.ready > now:
                still.append(item)
                continue
            k = spots.get(w.path[0], 0)
            spots[w.path[0]] = k + 1
            pos = (sx + ((k % 5) - 2) * 0.7, sy + ((k // 5 % 5) - 2) * 0.7)
            if not lay.geometry.contains(Point(pos)):
                pos = (sx, sy)
            params = jps.CollisionFreeSpeedModelAgentParameters(
                journey_id=jid,
                stage_id=first,
                position=pos,
                desired_speed=w.speed,
                radius=0.45 if w.units > 1 else 0.2,
            )
            try:
                agents[sim.add_agent(params)] = w.id
            except Exception:  # the spot is taken: try again next step
                still.append(item)
        waiting = still
        present = {a.id for a in sim.agents()}
        for aid in [a for a in agents if a not in present]:
            times[agents.pop(aid)] = now
        sim.iterate()
    now = sim.elapsed_time()
    present = {a.id for a in sim.agents()}
    for aid in [a for a in agents if a not in present]:
        times[agents.pop(aid)] = now
    unfinished = len(agents) + len(waiting)
    seconds = now if unfinished else max(times.values(), default=0.0)
    return SimResult(times, unfinished, seconds, tracks, lay)
