"""Evacuation planning at scale: a generated ward building of ≥ 2,000 graph nodes and ≥ 5,000
occupants, a fire on a middle floor with smoke in the compartments above and below.

Measures the hospital plan's planning time (CCRP + staff scheduling; target < 1 s) and the
simulated time until every threatened occupant is safe under the plan, as a ratio to nearest-exit
routing's (target ≤ 0.8), both walked by the queueing simulator (``planner.simulate``) in the same
run; ``--jupedsim`` also walks both in JuPedSim (slow at this size). The CCRP part is compared with
the exact quickest evacuation (time-expanded max-flow) on a small building in the same run.

Two scenarios: a fire on the middle floor (smoke in the compartments above and below), and the
whole building in smoke (every corridor: every compartment threatened, ~4,600 walkers down two
stairs). The fire scenario is planned both with ``ccrp`` (CCRP++-style reuse) and with
``ccrp_classic`` (one full search per route, the baseline) in the same run, with the ratio to
nearest exit of each; the classic planner on the whole building takes about a minute, so it runs
only with ``--classic-whole``. Last line: one JSON object.

    python benchmarks/evacuation.py            # 24 floors × 84 spaces, ~7,500 occupants
    python benchmarks/evacuation.py --quick    # 12 floors, bays 12 (a smaller building)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from yilian.evacuation.domain import STAFF_PER_WARD, Graph, HazardState, Occupant, parse_building  # noqa: E402
from yilian.evacuation.exact import quickest_steps  # noqa: E402
from yilian.evacuation.generator import synthetic_occupants, ward_building  # noqa: E402
from yilian.evacuation.planner import (  # noqa: E402
    Plan,
    ccrp,
    nearest_exit_walkers,
    plan,
    plan_walkers,
    simulate,
)


def occupants(b) -> list[Occupant]:
    """Every bed occupied, a visitor per room, the day shift split between each floor's stations."""
    return synthetic_occupants(b, staff_per_station=STAFF_PER_WARD["day"] // 2)


def exact_check() -> dict[str, float]:
    """CCRP against the exact optimum for the walkers of a small (3-floor, 3-bay) building."""
    b = parse_building(ward_building(3, bays=3))
    g = Graph.of(b)
    supplies = {s.code: s.beds + 1 for s in b.spaces.values() if s.kind == "ward" and s.floor >= 2}
    got = ccrp(g, supplies, b.exits)
    best = quickest_steps(g, supplies, b.exits, upper=got.evacuation_steps)
    return {
        "ccrp_steps": got.evacuation_steps,
        "exact_steps": best,
        "ratio_to_exact": round(got.evacuation_steps / best, 3),
    }


def timed_plan(
    b, occ: list[Occupant], hz: HazardState, repeat: int, *, classic: bool = False
) -> tuple[Plan, float]:
    """The plan and its median planning time over ``repeat`` runs."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        p = plan(b, occ, hz, classic=classic)
        times.append(time.perf_counter() - t0)
    return p, sorted(times)[len(times) // 2]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--floors", type=int, default=24)
    ap.add_argument("--bays", type=int, default=20)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--jupedsim", action="store_true")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument(
        "--classic-whole", action="store_true", help="also plan the whole building with classic CCRP (slow)"
    )
    args = ap.parse_args()
    if args.quick:
        args.floors, args.bays = 12, 12
    b = parse_building(ward_building(args.floors, bays=args.bays))
    nodes = len(Graph.of(b).nodes)
    occ = occupants(b)
    mid = args.floors // 2
    fire_room = next(s.code for s in b.spaces.values() if s.floor == mid and s.kind == "ward")
    hz = HazardState(
        fire=frozenset({fire_room}),
        smoke=frozenset({f"{mid - 1}F-A-C", f"{mid}F-A-C", f"{mid + 1}F-A-C"}),
    )
    p, plan_seconds = timed_plan(b, occ, hz, args.repeat)
    classic, classic_seconds = timed_plan(b, occ, hz, args.repeat, classic=True)
    planned = plan_walkers(p, occ)
    naive = nearest_exit_walkers(b, occ, hz)
    sim_plan = max(simulate(b, planned, hz).values())
    sim_naive = max(simulate(b, naive, hz).values())
    sim_classic = max(simulate(b, plan_walkers(classic, occ), hz).values())
    everywhere = HazardState(smoke=frozenset(s.code for s in b.spaces.values() if s.kind == "corridor"))
    whole, whole_seconds = timed_plan(b, occ, everywhere, 3)
    whole_plan = max(simulate(b, plan_walkers(whole, occ), everywhere).values())
    whole_naive = max(simulate(b, nearest_exit_walkers(b, occ, everywhere), everywhere).values())
    out = {
        "floors": args.floors,
        "graph_nodes": nodes,
        "occupants": len(occ),
        "threatened_compartments": p.threatened,
        "threatened_occupants": len(planned),
        "walkers_by_ccrp": sum(r.count for r in p.ccrp.routes),
        "moved_by_staff": sum(len(o.moves) for o in p.spaces.values()),
        "plan_seconds": round(plan_seconds, 4),
        "plan_safe_seconds": round(p.safe_seconds, 1),
        "simulated_plan_seconds": round(sim_plan, 1),
        "simulated_nearest_exit_seconds": round(sim_naive, 1),
        "ratio_to_nearest_exit": round(sim_plan / sim_naive, 3),
        "classic_plan_seconds": round(classic_seconds, 4),
        "classic_ratio_to_nearest_exit": round(sim_classic / sim_naive, 3),
        "whole_building_walkers_by_ccrp": sum(r.count for r in whole.ccrp.routes),
        "whole_building_routes": len(whole.ccrp.routes),
        "whole_building_plan_seconds": round(whole_seconds, 4),
        "whole_building_ccrp_seconds": whole.evacuation_seconds,
        "whole_building_ratio_to_nearest_exit": round(whole_plan / whole_naive, 3),
        **exact_check(),
    }
    print(
        f"{nodes} nodes, {len(occ)} occupants, {len(planned)} threatened; plan {plan_seconds * 1000:.0f} ms "
        f"(classic {classic_seconds * 1000:.0f} ms); queueing simulation: plan {sim_plan:.0f} s, "
        f"classic {sim_classic:.0f} s, nearest exit {sim_naive:.0f} s; whole building: plan "
        f"{whole_seconds * 1000:.0f} ms, simulated {whole_plan:.0f} s vs nearest exit {whole_naive:.0f} s",
        file=sys.stderr,
    )
    if args.classic_whole:
        _, seconds = timed_plan(b, occ, everywhere, 1, classic=True)
        out["classic_whole_building_plan_seconds"] = round(seconds, 2)
    if args.jupedsim:
        from yilian.evacuation import jps

        r1, r2 = jps.run(b, planned, limit=2 * sim_naive), jps.run(b, naive, limit=2 * sim_naive)
        out["jupedsim_plan_seconds"] = round(r1.seconds, 1)
        out["jupedsim_nearest_exit_seconds"] = round(r2.seconds, 1)
        out["jupedsim_ratio"] = round(r1.seconds / r2.seconds, 3)
    print(json.dumps(out, ensure_ascii=False))


if __name__ == "__main__":
    main()
