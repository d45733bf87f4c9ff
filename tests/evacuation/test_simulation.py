"""The simulation check (marked ``simulation``; runs in CI): the demo ward building, a fire on floor 6,
the plan and nearest-exit routing walked in JuPedSim in one run, beside the queueing simulator."""

from __future__ import annotations

import pytest

from yilian.evacuation.domain import STAFF_PER_WARD, HazardState, Occupant, parse_building
from yilian.evacuation.generator import synthetic_occupants, ward_building
from yilian.evacuation.planner import nearest_exit_walkers, plan, plan_walkers, simulate

jps = pytest.importorskip("yilian.evacuation.jps")
pytest.importorskip("jupedsim")


def demo_occupants(building) -> list[Occupant]:
    """Two of three beds occupied, a visitor per occupied room, the day shift (8 per ward) split
    between the ward's two nurse stations."""
    return synthetic_occupants(building, skip_bed=2, staff_per_station=STAFF_PER_WARD["day"] // 2)


@pytest.mark.simulation
def test_plan_beats_nearest_exit_in_jupedsim_with_a_fire_on_floor_6() -> None:
    b = parse_building(ward_building(12))
    occ = demo_occupants(b)
    hz = HazardState(fire=frozenset({"6F-605"}), smoke=frozenset({"6F-A-C"}))
    p = plan(b, occ, hz)
    planned, naive = plan_walkers(p, occ), nearest_exit_walkers(b, occ, hz)
    assert len(planned) == len(naive) > 30  # the same threatened occupants
    limit = 3000.0
    sim_plan = jps.run(b, planned, limit=limit)
    sim_naive = jps.run(b, naive, limit=limit)
    queue_plan = max(simulate(b, planned, hz).values())
    queue_naive = max(simulate(b, naive, hz).values())
    print(
        f"\nJuPedSim: plan {sim_plan.seconds:.0f} s, nearest exit {sim_naive.seconds:.0f} s"
        f"{' (time limit, ' + str(sim_naive.unfinished) + ' not out)' if sim_naive.unfinished else ''};"
        f" queueing: plan {queue_plan:.0f} s, nearest exit {queue_naive:.0f} s"
    )
    assert sim_plan.unfinished == 0
    assert sim_plan.seconds < sim_naive.seconds
    # the simulator agrees with the plan's own timing within 20%
    assert abs(sim_plan.seconds - p.safe_seconds) <= 0.2 * p.safe_seconds
