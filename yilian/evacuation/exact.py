"""The exact quickest evacuation on small graphs, the reference CCRP is measured against: the least
horizon T such that a maximum flow in the time-expanded network (Ford & Fulkerson's construction;
quickest transshipment to a super sink) carries every person by step T. Same discretisation as
``planner.ccrp`` (travel steps, persons per step, a door's capacity shared by both directions,
waiting allowed everywhere). Uses networkx's max-flow; meant for graphs of tens of nodes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from yilian.evacuation.domain import SPEEDS, Graph
from yilian.evacuation.planner import edge_steps


def can_evacuate_by(
    graph: Graph,
    supplies: Mapping[str, int],
    sinks: Iterable[str],
    horizon: int,
    *,
    speed: float = SPEEDS["ambulatory"],
    step: float = 2.0,
) -> bool:
    import networkx as nx

    total = sum(supplies.values())
    sink_set = set(sinks)
    g = nx.DiGraph()
    for node in graph.nodes:
        for t in range(horizon):
            g.add_edge((node, t), (node, t + 1))  # waiting: no capacity attribute = infinite
        if node in sink_set:
            for t in range(horizon + 1):
                g.add_edge((node, t), "SINK")
    for s, c in supplies.items():
        if c > 0:
            g.add_edge("SOURCE", (s, 0), capacity=c)
    for e in graph.edges:
        travel, cap = edge_steps(e, speed, step)
        for t in range(horizon - travel + 1):
            gate = ("gate", e.key, t)
            g.add_edge(gate, ("gate-out", e.key, t), capacity=cap)
            g.add_edge((e.u, t), gate)
            g.add_edge(("gate-out", e.key, t), ("to", e.key, e.v, t))
            g.add_edge(("to", e.key, e.v, t), (e.v, t + travel))
    if "SOURCE" not in g or "SINK" not in g:
        return total == 0
    value = nx.maximum_flow_value(g, "SOURCE", "SINK")
    return bool(value >= total)


def quickest_steps(
    graph: Graph,
    supplies: Mapping[str, int],
    sinks: Iterable[str],
    *,
    speed: float = SPEEDS["ambulatory"],
    step: float = 2.0,
    upper: int = 2000,
) -> int:
    """The least number of steps by which everyone can have reached a sink (binary search)."""
    sinks = list(sinks)
    lo, hi = 0, upper
    if not can_evacuate_by(graph, supplies, sinks, hi, speed=speed, step=step):
        raise ValueError("horizon too short")
    while lo < hi:
        mid = (lo + hi) // 2
        if can_evacuate_by(graph, supplies, sinks, mid, speed=speed, step=step):
            hi = mid
        else:
            lo = mid + 1
    return lo
