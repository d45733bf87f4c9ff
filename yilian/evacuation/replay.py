"""The drill replay (演练回放), pure apart from the simulator: the plan and nearest-exit routing of a
drill's threatened occupants walked in JuPedSim (``jps.run``), each agent's position kept every
second and put back on its floor's plan, and the number safe (at an exit, or across the smoke
barrier for a bed) second by second for both.

JuPedSim walks the floors laid out flat (``jps.layout``: floor f at y + offset[f]); a position is
put back on the floor whose band holds it, and one on a stair flight between two floors on the
nearer floor, at its edge by the stair.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from yilian.evacuation.domain import Building, HazardState, Occupant
from yilian.evacuation.planner import Walker, nearest_exit_walkers, plan, plan_walkers

RUNS = {"plan": "智能方案", "nearest": "就近出口"}


def on_floor(building: Building, offset: dict[int, float], x: float, y: float) -> tuple[int, float, float]:
    """A flat-layout position as (floor, x, y) on that floor's plan."""
    ys = [p[1] for s in building.spaces.values() for p in s.polygon]
    lo, hi = min(ys), max(ys)
    best: tuple[float, int] | None = None
    for f, dy in offset.items():
        local = y - dy
        gap = 0.0 if lo <= local <= hi else min(abs(local - lo), abs(local - hi))
        if best is None or gap < best[0]:
            best = (gap, f)
    assert best is not None
    f = best[1]
    return f, x, min(max(y - offset[f], lo), hi)


def safe_counts(times: dict[str, float], total: int, duration: int) -> list[int]:
    """Persons safe at each whole second 0..duration."""
    counts = [0] * (duration + 1)
    for t in times.values():
        if t != float("inf") and t <= duration:
            counts[max(0, int(-(-t // 1)))] += 1
    out, acc = [], 0
    for c in counts:
        acc += c
        out.append(min(acc, total))
    return out


def walk(
    building: Building, walkers: Sequence[Walker], *, limit: float, every: float = 1.0
) -> dict[str, Any]:
    """One run in JuPedSim as replay data: agents with their positions per ``every`` seconds."""
    from yilian.evacuation import jps

    result = jps.run(building, list(walkers), limit=limit, every=every)
    assert result.layout is not None
    offset = result.layout.offset
    agents = []
    for w in walkers:
        track = result.tracks.get(w.id, [])
        if not track:
            continue
        points = []
        for _, x, y in track:
            f, px, py = on_floor(building, offset, x, y)
            points.append([f, round(px, 1), round(py, 1)])
        agents.append({"id": w.id, "bed": w.units > 1, "t0": int(round(track[0][0] / every)), "p": points})
    return {
        "seconds": round(result.seconds, 1),
        "unfinished": result.unfinished,
        "agents": agents,
        "times": result.times,
    }


def record(
    building: Building,
    occupants: list[Occupant],
    hazards: HazardState,
    *,
    floor: int | None = None,
    limit: float = 1800.0,
    every: float = 1.0,
) -> dict[str, Any]:
    """The replay of a drill: the plan and nearest-exit routing of the threatened occupants (of
    ``floor`` only, if given), each walked in JuPedSim (nearest exit for at most twice the plan's
    time: who is not out by then is counted unfinished); the document stored with the replay."""
    p = plan(building, occupants, hazards)

    def here(ws: list[Walker]) -> list[Walker]:
        return [w for w in ws if floor is None or building.spaces[w.path[0]].floor == floor]

    walkers = {
        "plan": here(plan_walkers(p, occupants)),
        "nearest": here(nearest_exit_walkers(building, occupants, hazards)),
    }
    runs = {"plan": walk(building, walkers["plan"], limit=limit, every=every)}
    # nearest exit is walked until all are out or twice the plan's time (it is the slower one)
    cut = min(limit, max(300.0, 2 * runs["plan"]["seconds"]))
    runs["nearest"] = walk(building, walkers["nearest"], limit=cut, every=every)
    duration = int(max((r["seconds"] for r in runs.values()), default=0.0)) + 1
    floors = sorted({pt[0] for r in runs.values() for a in r["agents"] for pt in a["p"]})
    out_runs = {}
    for name, r in runs.items():
        total = len(walkers[name])
        out_runs[name] = {
            "label": RUNS[name],
            "persons": total,
            "seconds": r["seconds"],
            "unfinished": r["unfinished"],
            "safe": safe_counts(r["times"], total, duration),
            "agents": r["agents"],
        }
    return {
        "every": every,
        "duration": duration,
        "floor": floor,
        "floors": floors,
        "threatened": p.threatened,
        "runs": out_runs,
    }


def positions(
    run: dict[str, Any], second: float, floor: int, every: float = 1.0
) -> list[tuple[float, float, bool]]:
    """The agents of ``run`` on ``floor`` at ``second`` (x, y, is a bed), between samples
    interpolated linearly."""
    out = []
    for a in run["agents"]:
        i = second / every - a["t0"]
        if i < 0 or i > len(a["p"]) - 1:
            continue
        k = min(int(i), len(a["p"]) - 1)
        f, x, y = a["p"][k]
        if k + 1 < len(a["p"]) and a["p"][k + 1][0] == f:
            frac = i - k
            x += (a["p"][k + 1][1] - x) * frac
            y += (a["p"][k + 1][2] - y) * frac
        if f == floor:
            out.append((x, y, bool(a["bed"])))
    return out
