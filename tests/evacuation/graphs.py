"""Small graphs for the planner tests."""

from __future__ import annotations

import random

from yilian.evacuation.domain import Edge, Graph


def graph(edges: list[tuple[str, str, float, float]], *, both: bool = True) -> Graph:
    """(u, v, length m, capacity persons/s) as doors (both ways sharing capacity when ``both``)."""
    es: list[Edge] = []
    nodes: list[str] = []
    for i, (u, v, length, cap) in enumerate(edges):
        for n in (u, v):
            if n not in nodes:
                nodes.append(n)
        es.append(Edge(u, v, length, cap, door=f"d{i}"))
        if both:
            es.append(Edge(v, u, length, cap, door=f"d{i}"))
    g = Graph(nodes, es)
    for e in es:
        g.out.setdefault(e.u, []).append(e)
    return g


def random_case(seed: int) -> tuple[Graph, dict[str, int], list[str]]:
    """A random connected floor of 6-9 rooms, 1-2 exits and 10-40 persons."""
    rng = random.Random(seed)
    n = rng.randint(6, 9)
    names = [f"r{i}" for i in range(n)]
    edges = []
    for i in range(1, n):
        j = rng.randrange(i)
        edges.append((names[i], names[j], rng.uniform(3, 20), rng.choice([0.5, 0.8, 1.2, 1.6])))
    for _ in range(rng.randint(1, 4)):
        a, b = rng.sample(names, 2)
        edges.append((a, b, rng.uniform(3, 20), rng.choice([0.5, 0.8, 1.2, 1.6])))
    exits = ["x0"] + (["x1"] if rng.random() < 0.5 else [])
    for x in exits:
        edges.append((rng.choice(names), x, rng.uniform(2, 10), rng.choice([0.8, 1.2, 1.6])))
    supplies = {r: rng.randint(0, 8) for r in rng.sample(names, rng.randint(2, 5))}
    return graph(edges), supplies, exits
