"""Evacuation planning, pure: capacity-constrained route planning (CCRP, Lu, George & Shekhar 2005)
on the building graph with time-dependent capacities, extended for hospitals (defend in place), the
nearest-exit plan it is compared with, and a queueing simulator that times both.

Time is counted in steps of ``step`` seconds. An edge (door or stair flight) of capacity ``c``
persons/s admits ``max(1, floor(c·step))`` persons per step and takes ``ceil(length/speed/step)``
steps to walk; an edge closes at the step given in ``closes_at`` (a stair the smoke will reach).
Node (room) capacities are not constrained: hospital spaces hold far more than pass the doors.

``ccrp`` is CCRP with CCRP++-style reuse (a backward search that stops at the nearest source still
in time, and recent paths walked again before any search); ``ccrp_classic`` is the one full search
per route of the 2005 paper, kept as the baseline the benchmark measures it against.
"""

from __future__ import annotations

import heapq
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from yilian.evacuation.domain import (
    PREPARE_SECONDS,
    SPEEDS,
    STAFF_PER_PATIENT,
    STAIR_SPEED_FACTOR,
    Building,
    Edge,
    Graph,
    HazardState,
    Occupant,
    OccupantKind,
)

INF = float("inf")


# ---------------------------------------------------------------- CCRP


@dataclass(frozen=True)
class Route:
    source: str
    count: int
    path: tuple[str, ...]  # spaces from the source to the exit
    departs: tuple[int, ...]  # the step each edge of the path is entered
    arrival: int  # the step the group reaches the exit


@dataclass
class CcrpResult:
    routes: list[Route]
    step: float
    unrouted: dict[str, int] = field(default_factory=dict)  # persons with no path to an exit

    @property
    def evacuation_steps(self) -> int:
        return max((r.arrival for r in self.routes), default=0)

    @property
    def evacuation_seconds(self) -> float:
        return self.evacuation_steps * self.step


def edge_steps(edge: Edge, speed: float, step: float) -> tuple[int, int]:
    """(travel steps, persons per step) of an edge for walkers of ``speed``."""
    v = speed * (STAIR_SPEED_FACTOR if edge.stair else 1.0)
    return max(1, math.ceil(edge.length / v / step)), max(1, int(edge.capacity * step))


def _dead_ends(graph: Graph, keep: set[str]) -> set[str]:
    """Spaces that only lead back where they were entered from (rooms with one door, and trees of
    them), neither a source nor a sink: an earliest-arrival path never enters them, so the search
    skips them (most of a hospital's rooms)."""
    nbrs: dict[str, set[str]] = {v: set() for v in graph.nodes}
    for e in graph.edges:
        if e.u in nbrs and e.v in nbrs:
            nbrs[e.u].add(e.v)
            nbrs[e.v].add(e.u)
    dead: set[str] = set()
    stack = [v for v, ns in nbrs.items() if len(ns) <= 1 and v not in keep]
    while stack:
        v = stack.pop()
        if v in dead:
            continue
        dead.add(v)
        for w in nbrs[v]:
            nbrs[w].discard(v)
            if len(nbrs[w]) <= 1 and w not in keep and w not in dead:
                stack.append(w)
    return dead


class _TimeExpanded:
    """The time-expanded network of CCRP, kept implicitly: per edge its travel steps, persons per
    step, closing step and the persons reserved per step (a door's steps shared by both directions),
    with skip lists over the full steps (union-find "next/previous step with room") so that finding
    room after or before a queue costs amortised O(1) however long the queue."""

    def __init__(
        self,
        graph: Graph,
        supplies: Mapping[str, int],
        sinks: Iterable[str],
        *,
        speed: float,
        step: float,
        closes_at: Mapping[str, int],
        avoid: Iterable[str],
        horizon: int,
    ) -> None:
        self.nodes = graph.nodes
        self.index = index = {n: i for i, n in enumerate(graph.nodes)}
        n = len(graph.nodes)
        self.sink_set = {index[s] for s in sinks if s in index}
        avoid_set = {index[s] for s in avoid if s in index} - self.sink_set
        dead = _dead_ends(graph, set(supplies) | set(sinks))
        self.adj: list[list[int]] = [[] for _ in range(n)]
        self.radj: list[list[int]] = [[] for _ in range(n)]
        self.tail: list[int] = []
        self.head: list[int] = []
        self.travel: list[int] = []
        self.cap: list[int] = []
        self.close: list[int] = []
        self.used: list[dict[int, int]] = []
        shared: dict[str, dict[int, int]] = defaultdict(dict)
        for e in graph.edges:
            if e.u not in index or e.v not in index:
                continue
            u, v = index[e.u], index[e.v]
            if v in avoid_set or e.v in dead:
                continue
            travel, cap = edge_steps(e, speed, step)
            k = len(self.head)
            self.tail.append(u)
            self.head.append(v)
            self.travel.append(travel)
            self.cap.append(cap)
            self.close.append(closes_at.get(e.key, horizon))
            self.used.append(shared[e.key])
            self.adj[u].append(k)
            self.radj[v].append(k)
        self.after: list[dict[int, int]] = [{} for _ in self.head]
        self.before: list[dict[int, int]] = [{} for _ in self.head]

    def _find(self, k: int, d: int, jump: dict[int, int], way: int) -> int:
        used, cap = self.used[k], self.cap[k]
        trail = []
        while d >= 0:
            j = jump.get(d)
            if j is not None:
                trail.append(d)
                d = j
            elif used.get(d, 0) >= cap:
                trail.append(d)
                d += way
            else:
                break
        for x in trail:
            jump[x] = d
        return d

    def free_from(self, k: int, d: int) -> int:
        """The first step ≥ ``d`` with room on edge ``k`` (may be past its closing)."""
        return self._find(k, d, self.after[k], 1)

    def free_until(self, k: int, d: int) -> int:
        """The last step ≤ ``d`` (and before the edge closes) with room on edge ``k``, or -1."""
        return self._find(k, min(d, self.close[k] - 1), self.before[k], -1)

    def residual(self, k: int, d: int) -> int:
        return self.cap[k] - self.used[k].get(d, 0)

    def reserve(self, k: int, d: int, persons: int) -> None:
        self.used[k][d] = self.used[k].get(d, 0) + persons

    def earliest(self, supply: Iterable[int]) -> dict[int, int]:
        """The earliest step each space can be reached from the sources (waiting allowed), given
        the room left: a time-dependent Dijkstra (FIFO, so label-setting)."""
        label: dict[int, int] = dict.fromkeys(supply, 0)
        heap = [(0, i) for i in label]
        heapq.heapify(heap)
        adj, head, travel, close, free_from = self.adj, self.head, self.travel, self.close, self.free_from
        while heap:
            t, u = heapq.heappop(heap)
            if t != label[u]:
                continue
            for k in adj[u]:
                d = free_from(k, t)
                if d >= close[k]:
                    continue
                a = d + travel[k]
                v = head[k]
                if a < label.get(v, INF):
                    label[v] = a
                    heapq.heappush(heap, (a, v))
        return label

    def latest(
        self, by: int, supply: Mapping[int, int], earliest: Mapping[int, int]
    ) -> tuple[list[tuple[int, int]] | None, int]:
        """A path reaching a sink by step ``by`` from a source with persons left: a backward
        time-dependent search from the sinks over the latest departure from each space that still
        arrives in time (the room left on each edge at each step). It goes first where the sources
        are nearest (least ``earliest``), down the forward search's tree, so a source is found in
        about a path's length of steps; any path it finds is in time (a space's latest departure
        only grows), and it gives up only when nothing more can be improved. ``earliest`` (steps no
        one reaches a space before; a bound from any earlier state stays a bound, as room only
        shrinks) prunes the spaces no one can reach in time, which keeps a failing search (no
        source arrives by ``by``) small.
        Returns (the path's (edge, departure step) from the source, or None; spaces popped)."""
        late: dict[int, int] = {}
        nxt: dict[int, tuple[int, int]] = {}
        heap: list[tuple[float, int, int]] = []
        for s in self.sink_set:
            if earliest.get(s, INF) <= by:
                late[s] = by
                heap.append((earliest[s], -by, s))
        heapq.heapify(heap)
        radj, tail, travel, free_until = self.radj, self.tail, self.travel, self.free_until
        used, cap, before, close = self.used, self.cap, self.before, self.close
        popped = 0
        while heap:
            _, neg, v = heapq.heappop(heap)
            if -neg != late[v]:
                continue
            popped += 1
            if v in supply:
                hops = []
                while v in nxt:
                    k, d = nxt[v]
                    hops.append((k, d))
                    v = self.head[k]
                return hops, popped
            lv = -neg
            for k in radj[v]:
                u = tail[k]
                d = lv - travel[k]
                if d >= close[k] or d in before[k] or used[k].get(d, 0) >= cap[k]:
                    d = free_until(k, d)
                e = earliest.get(u, INF)
                if d < e or d <= late.get(u, -1):
                    continue
                late[u] = d
                nxt[u] = (k, d)
                heapq.heappush(heap, (e, -d, u))
        return None, popped

    def walk_back(
        self, path: tuple[int, ...], by: int, earliest: Mapping[int, int]
    ) -> list[tuple[int, int]] | None:
        """The edges of ``path`` walked again at the latest steps with room that still arrive by
        ``by``, or None if no one can be in time at its start."""
        hops: list[tuple[int, int]] = []
        t = by
        for k in reversed(path):
            d = self.free_until(k, t - self.travel[k])
            if d < earliest.get(self.tail[k], INF):
                return None
            hops.append((k, d))
            t = d
        hops.reverse()
        return hops


REUSE_PATHS = 4  # recent paths walked again before a new search
REFRESH_AFTER = 64  # spaces a backward search may pop before the bounds are recomputed


def ccrp(
    graph: Graph,
    supplies: Mapping[str, int],
    sinks: Iterable[str],
    *,
    speed: float = SPEEDS["ambulatory"],
    step: float = 2.0,
    closes_at: Mapping[str, int] | None = None,
    avoid: Iterable[str] = (),
    horizon: int = 100_000,
) -> CcrpResult:
    """Route every person of ``supplies`` (space → persons) to a sink by CCRP: repeatedly take the
    path of earliest arrival from any source given the room left at each step (waiting at a space
    allowed), and reserve on it as many persons as its tightest time-expanded edge, or the source,
    allows. ``closes_at``: edge key → first step the edge is closed. ``avoid``: spaces never
    entered.

    CCRP++-style (Yin et al.), it does not search the whole building per route: the earliest
    arrival at any sink never decreases as room is reserved, so it keeps the current one, ``by``,
    and asks a backward search for a source that still arrives by ``by`` (cheap: it stops at the
    nearest such source); only when none does is ``by`` raised by a step. The earliest steps the
    spaces are reached (a forward search) bound the backward search and are recomputed when it has
    gone slack. Every route is still an earliest-arrival path, so the result is CCRP's up to ties."""
    net = _TimeExpanded(
        graph,
        supplies,
        sinks,
        speed=speed,
        step=step,
        closes_at=closes_at or {},
        avoid=avoid,
        horizon=horizon,
    )
    nodes, index = graph.nodes, net.index
    supply = {index[code]: c for code, c in supplies.items() if c > 0 and code in index}
    result = CcrpResult([], step)
    for code, c in supplies.items():
        if c > 0 and code not in index:
            result.unrouted[code] = result.unrouted.get(code, 0) + c
    for i in [i for i in supply if i in net.sink_set]:
        result.routes.append(Route(nodes[i], supply.pop(i), (nodes[i],), (), 0))
    earliest: dict[int, int] = {}
    by = -1
    stale = True
    failed = 0
    recent: list[tuple[int, ...]] = []

    def reuse(by: int) -> list[tuple[int, int]] | None:
        """CCRP++: walk a recent path again from its source, or from another source with persons
        left that enters the path's second space, before a new search."""
        for ks in recent:
            src = net.tail[ks[0]]
            if src not in supply:
                into = net.radj[net.head[ks[0]]]
                k0 = next((k for k in into if net.tail[k] in supply), -1)
                if k0 < 0:
                    continue
                ks = (k0, *ks[1:])
            again = net.walk_back(ks, by, earliest)
            if again is not None:
                return again
        return None

    def take(hops: list[tuple[int, int]]) -> None:
        src = net.tail[hops[0][0]]
        flow = min(supply[src], *(net.residual(k, d) for k, d in hops))
        for k, d in hops:
            net.reserve(k, d, flow)
        path = (nodes[src], *(nodes[net.head[k]] for k, _ in hops))
        arrival = hops[-1][1] + net.travel[hops[-1][0]]
        result.routes.append(Route(nodes[src], flow, path, tuple(d for _, d in hops), arrival))
        supply[src] -= flow
        if supply[src] == 0:
            del supply[src]

    while supply:
        if stale:
            earliest = net.earliest(supply)
            arrivals = [earliest[s] for s in net.sink_set if s in earliest]
            if not arrivals:
                for i, c in supply.items():
                    result.unrouted[nodes[i]] = result.unrouted.get(nodes[i], 0) + c
                break
            by = max(by, min(arrivals))
            stale, failed = False, 0
        hops = reuse(by)
        failed = 0 if hops is not None else failed
        if hops is None:
            hops, popped = net.latest(by, supply, earliest)
            failed = failed + 1 if hops is None else 0
            # the bounds have gone slack when a failing search strays far; after a refresh the
            # earliest arrival is exact, so failing on and on means the sources left reach no sink
            stale = hops is None and (popped > REFRESH_AFTER or failed > REFRESH_AFTER)
            if hops is None:
                by += 1
                continue
            ks = tuple(k for k, _ in hops)
            recent = [ks, *(r for r in recent if r != ks)][:REUSE_PATHS]
        take(hops)
    return result
    return result


def ccrp_classic(
    graph: Graph,
    supplies: Mapping[str, int],
    sinks: Iterable[str],
    *,
    speed: float = SPEEDS["ambulatory"],
    step: float = 2.0,
    closes_at: Mapping[str, int] | None = None,
    avoid: Iterable[str] = (),
    horizon: int = 100_000,
) -> CcrpResult:
    """CCRP as first published, one full search per route (kept as the baseline the benchmark
    measures ``ccrp`` against; the same greedy, up to ties). Route every person of ``supplies``
    (space → persons) to a sink: repeatedly find, from all sources at once, the path of earliest
    arrival given the capacity left at each step (waiting at a space allowed), and reserve on it as
    many as its tightest edge, or the source, allows. ``closes_at``: edge key → first step the edge
    is closed. ``avoid``: spaces never entered."""
    index = {n: i for i, n in enumerate(graph.nodes)}
    n = len(graph.nodes)
    sink_set = {index[s] for s in sinks if s in index}
    avoid_set = {index[s] for s in avoid if s in index} - sink_set
    closes = closes_at or {}
    # adjacency: (v, travel, cap, edge id, close step)
    adj: list[list[tuple[int, int, int, int, int]]] = [[] for _ in range(n)]
    edges = [e for e in graph.edges if e.u in index and e.v in index]
    dead = _dead_ends(graph, set(supplies) | set(sinks))
    for k, e in enumerate(edges):
        u, v = index[e.u], index[e.v]
        if v in avoid_set or e.v in dead:
            continue
        travel, cap = edge_steps(e, speed, step)
        adj[u].append((v, travel, cap, k, closes.get(e.key, horizon)))
    # used[k][t]: persons entering edge k at step t; doors are shared both ways (one key)
    shared: dict[str, dict[int, int]] = defaultdict(dict)
    used = [shared[e.key] for e in edges]
    supply = {index[code]: c for code, c in supplies.items() if c > 0 and code in index}
    result = CcrpResult([], step)
    for code, c in supplies.items():
        if c > 0 and code not in index:
            result.unrouted[code] = result.unrouted.get(code, 0) + c
    for i in [i for i in supply if i in sink_set]:
        result.routes.append(Route(graph.nodes[i], supply.pop(i), (graph.nodes[i],), (), 0))
    # A*: the free-flow steps to the nearest sink bound what is left of any path from below (waiting
    # only adds), so the search goes straight for the exits instead of flooding the building
    rest = [INF] * n
    radj: list[list[tuple[int, int]]] = [[] for _ in range(n)]
    for u in range(n):
        for v, travel, _cap, _k, _close in adj[u]:
            radj[v].append((u, travel))
    rheap: list[tuple[float, int]] = [(0, s) for s in sink_set]
    for s in sink_set:
        rest[s] = 0
    while rheap:
        d, v = heapq.heappop(rheap)
        if d > rest[v]:
            continue
        for u, travel in radj[v]:
            if d + travel < rest[u]:
                rest[u] = d + travel
                heapq.heappush(rheap, (d + travel, u))
    while supply:
        arrival = [INF] * n
        parent: list[tuple[int, int, int] | None] = [None] * n  # (u, edge id, depart step)
        heap: list[tuple[float, int]] = []
        for i in supply:
            arrival[i] = 0
            heap.append((rest[i], i))
        heapq.heapify(heap)
        found = -1
        while heap:
            key, u = heapq.heappop(heap)
            t = arrival[u]
            if key > t + rest[u]:
                continue
            if u in sink_set:
                found = u
                break
            ti = int(t)
            for v, travel, cap, k, close in adj[u]:
                d = ti
                uk = used[k]
                while d < close and uk.get(d, 0) >= cap:
                    d += 1
                if d >= close:
                    continue
                a = d + travel
                if a < arrival[v]:
                    arrival[v] = a
                    parent[v] = (u, k, d)
                    heapq.heappush(heap, (a + rest[v], v))
        if found < 0:
            for i, c in supply.items():
                result.unrouted[graph.nodes[i]] = result.unrouted.get(graph.nodes[i], 0) + c
            break
        hops: list[tuple[int, int, int]] = []
        v = found
        while parent[v] is not None:
            p = parent[v]
            assert p is not None
            hops.append((p[0], p[1], p[2]))
            v = p[0]
        hops.reverse()
        src = v
        flow = supply[src]
        for u, k, d in hops:
            cap = next(c for (_, _, c, kk, _) in adj[u] if kk == k)
            flow = min(flow, cap - used[k].get(d, 0))
        for _u, k, d in hops:
            used[k][d] = used[k].get(d, 0) + flow
        path = (graph.nodes[src], *(graph.nodes[index[edges[k].v]] for _, k, _ in hops))
        result.routes.append(
            Route(graph.nodes[src], flow, path, tuple(d for _, _, d in hops), int(arrival[found]))
        )
        supply[src] -= flow
        if supply[src] == 0:
            del supply[src]
    return result


# ---------------------------------------------------------------- shortest paths


def dijkstra(
    graph: Graph,
    sources: Iterable[str],
    *,
    stairs: bool = True,
    avoid: Iterable[str] = (),
) -> tuple[dict[str, float], dict[str, str]]:
    """Walking distances (m) from the nearest source, and each space's predecessor."""
    blocked = set(avoid)
    dist: dict[str, float] = {}
    prev: dict[str, str] = {}
    heap = [(0.0, s) for s in sources]
    for _, s in heap:
        dist[s] = 0.0
    heapq.heapify(heap)
    while heap:
        d, u = heapq.heappop(heap)
        if d > dist.get(u, INF):
            continue
        for e in graph.out.get(u, []):
            if (e.stair and not stairs) or e.v in blocked:
                continue
            nd = d + e.length
            if nd < dist.get(e.v, INF):
                dist[e.v] = nd
                prev[e.v] = u
                heapq.heappush(heap, (nd, e.v))
    return dist, prev


def path_from(prev: Mapping[str, str], start: str, sources: set[str]) -> list[str]:
    """The path from ``start`` back to a source of a reverse search (``prev`` points towards it)."""
    path = [start]
    while path[-1] not in sources:
        path.append(prev[path[-1]])
    return path


def reverse_graph(graph: Graph) -> Graph:
    rev = [Edge(e.v, e.u, e.length, e.capacity, e.door, e.stair) for e in graph.edges]
    g = Graph(list(graph.nodes), rev)
    for e in rev:
        g.out.setdefault(e.u, []).append(e)
    return g


# ---------------------------------------------------------------- the hospital plan


@dataclass(frozen=True)
class StaffTask:
    staff: str
    patient: str
    mobility: str
    origin: str
    destination: str
    path: tuple[str, ...]
    start: float  # s, when the team is at the patient
    end: float  # s, when the patient is in the destination
    team: tuple[str, ...]


@dataclass
class SpaceOrder:
    space: str
    action: str  # the most urgent of its people's: shelter > move > evacuate > stay
    occupants: int = 0
    counts: dict[str, int] = field(default_factory=dict)  # persons by action
    destination: str = ""
    routes: list[Route] = field(default_factory=list)
    moves: list[StaffTask] = field(default_factory=list)


@dataclass
class Flow:
    code: str  # an exit space or a stair
    kind: str  # exit | stair
    persons: int = 0
    first: float = INF
    last: float = 0.0


@dataclass
class Plan:
    threatened: list[str]
    spaces: dict[str, SpaceOrder]
    staff: dict[str, list[StaffTask]]
    flows: dict[str, Flow]
    ccrp: CcrpResult
    evacuation_seconds: float  # walkers at exits
    horizontal_seconds: float  # last patient across the smoke barrier
    sheltered: list[str]  # patients who cannot be moved horizontally (await the fire brigade)

    @property
    def safe_seconds(self) -> float:
        return max(self.evacuation_seconds, self.horizontal_seconds)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = defaultdict(int)
        for order in self.spaces.values():
            for action, n in order.counts.items():
                out[action] += n
        return dict(out)


ACTION_RANK = {"stay": 0, "evacuate": 1, "move": 2, "shelter": 3}
ACTION_LABELS = {"stay": "原地防守", "evacuate": "疏散至出口", "move": "水平转移", "shelter": "就地避险待救"}


def horizontal_targets(building: Building, graph: Graph, threatened: set[str]) -> set[str]:
    """Where non-walking patients are taken: refuge rooms and corridors of compartments not threatened."""
    return {
        s.code
        for s in building.spaces.values()
        if s.compartment not in threatened
        and s.kind in ("refuge", "corridor", "lobby")
        and s.code in graph.out
    }


def _is_walker(o: Occupant) -> bool:
    return o.kind == OccupantKind.VISITOR or (o.kind == OccupantKind.PATIENT and o.mobility == "ambulatory")


def plan(
    building: Building,
    occupants: list[Occupant],
    hazards: HazardState,
    *,
    step: float = 2.0,
    closes_at: Mapping[str, int] | None = None,
    classic: bool = False,
) -> Plan:
    """The hospital plan: defend in place; in threatened compartments walkers go to exits by CCRP
    over the stairs still safe, and staff move the others across the smoke barrier (the adjoining
    compartment's corridor or a refuge room), nearest the fire first."""
    graph = Graph.of(building, hazards)
    threatened = hazards.threatened(building)
    avoid: set[str] = set()  # smoke is crossed to leave it; fire is never entered (the graph)
    spaces: dict[str, SpaceOrder] = {}
    supplies: dict[str, int] = defaultdict(int)
    movers: list[Occupant] = []
    staff_by_floor: dict[int, list[Occupant]] = defaultdict(list)
    for o in occupants:
        if o.space not in building.spaces:
            continue
        comp = building.spaces[o.space].compartment
        order = spaces.setdefault(o.space, SpaceOrder(o.space, "stay"))
        order.occupants += 1
        if o.kind == OccupantKind.STAFF:
            staff_by_floor[building.spaces[o.space].floor].append(o)
        action = "stay"
        if comp in threatened and _is_walker(o):
            supplies[o.space] += 1
            action = "evacuate"
        elif comp in threatened and o.kind == OccupantKind.PATIENT:
            movers.append(o)
            action = "move"
        order.counts[action] = order.counts.get(action, 0) + 1
        if ACTION_RANK[action] > ACTION_RANK[order.action]:
            order.action = action
    route = ccrp_classic if classic else ccrp  # classic: the one-search-per-route baseline
    result = route(graph, supplies, building.exits, step=step, closes_at=closes_at, avoid=avoid)
    by_source: dict[str, list[Route]] = defaultdict(list)
    for r in result.routes:
        by_source[r.source].append(r)
    for src, routes in by_source.items():
        spaces[src].routes = routes
        spaces[src].destination = routes[0].path[-1]
    tasks, sheltered = schedule_moves(building, graph, movers, staff_by_floor, threatened, avoid, hazards)
    staff_tasks: dict[str, list[StaffTask]] = defaultdict(list)
    for task in tasks:
        for member in task.team:
            staff_tasks[member].append(task)
        order = spaces[task.origin]
        order.moves.append(task)
        order.destination = task.destination
    mover_space = {o.id: o.space for o in movers}
    for pid in sheltered:
        origin = spaces[mover_space[pid]]
        origin.action = "shelter"
        origin.counts["move"] -= 1
        origin.counts["shelter"] = origin.counts.get("shelter", 0) + 1
    flows = flows_of(building, result)
    return Plan(
        threatened=sorted(threatened),
        spaces=spaces,
        staff=dict(staff_tasks),
        flows=flows,
        ccrp=result,
        evacuation_seconds=result.evacuation_seconds,
        horizontal_seconds=max((t.end for t in tasks), default=0.0),
        sheltered=sheltered,
    )


def flows_of(building: Building, result: CcrpResult) -> dict[str, Flow]:
    flows: dict[str, Flow] = {}
    stair_at: dict[str, str] = {}
    for st in building.stairs:
        for code in st.spaces:
            stair_at[code] = st.code
    for r in result.routes:
        t_end = r.arrival * result.step
        exit_flow = flows.setdefault(r.path[-1], Flow(r.path[-1], "exit"))
        exit_flow.persons += r.count
        exit_flow.first = min(exit_flow.first, t_end)
        exit_flow.last = max(exit_flow.last, t_end)
        seen: set[str] = set()
        for i, (a, b) in enumerate(zip(r.path, r.path[1:], strict=False)):
            sa = stair_at.get(a)
            if sa and sa == stair_at.get(b) and sa not in seen:
                seen.add(sa)
                f = flows.setdefault(sa, Flow(sa, "stair"))
                f.persons += r.count
                f.first = min(f.first, r.departs[i] * result.step)
                f.last = max(f.last, r.departs[i] * result.step)
    return flows


def schedule_moves(
    building: Building,
    graph: Graph,
    movers: list[Occupant],
    staff_by_floor: Mapping[int, list[Occupant]],
    threatened: set[str],
    avoid: set[str],
    hazards: HazardState,
) -> tuple[list[StaffTask], list[str]]:
    """List-schedule the horizontal moves: patients nearest the fire first (then those needing the
    most hands); each takes the ``STAFF_PER_PATIENT`` staff of its floor who are free first (ward
    staff before others), walking there from where their last task ended."""
    targets = horizontal_targets(building, graph, threatened)
    rev = reverse_graph(graph)
    fire_dist, _ = dijkstra(graph, [s for s in hazards.fire | hazards.smoke if s in graph.out], stairs=False)
    tasks: list[StaffTask] = []
    sheltered: list[str] = []
    # reverse search from the targets: distance and next hop towards the nearest target
    to_target, towards = dijkstra(rev, targets, stairs=False, avoid=avoid)
    free: dict[str, tuple[float, str]] = {}
    for floor_staff in staff_by_floor.values():
        for s in floor_staff:
            free[s.id] = (0.0, s.space)
    dist_cache: dict[str, dict[str, float]] = {}
    # staff go into the burning room to rescue (RACE: rescue first); only closed doors and lost
    # stairs stop them
    rescue = Graph.of(
        building, HazardState(closed_doors=hazards.closed_doors, lost_stairs=hazards.lost_stairs)
    )

    def walk(a: str, b: str) -> float:
        if a not in dist_cache:
            dist_cache[a] = dijkstra(rescue, [a], stairs=False)[0]
        return dist_cache[a].get(b, INF)

    ordered = sorted(
        movers,
        key=lambda o: (fire_dist.get(o.space, INF), -STAFF_PER_PATIENT[o.mobility], o.id),
    )
    for p in ordered:
        if p.space not in to_target:
            sheltered.append(p.id)
            continue
        floor = building.spaces[p.space].floor
        pool = [s for s in staff_by_floor.get(floor, []) if walk(free[s.id][1], p.space) < INF]
        if not pool:
            sheltered.append(p.id)
            continue
        need = max(1, STAFF_PER_PATIENT[p.mobility])

        def ready(s: Occupant, patient: Occupant = p) -> tuple[float, int]:
            t, at = free[s.id]
            return (t + walk(at, patient.space) / SPEEDS["staff"], 0 if s.ward == patient.ward else 1)

        team = sorted(pool, key=ready)[:need]
        start = max(ready(s)[0] for s in team)
        slow = need / len(team)  # a short-handed team moves slower
        path = path_from(towards, p.space, targets)
        length = to_target[p.space]
        end = start + (PREPARE_SECONDS[p.mobility] + length / SPEEDS[p.mobility]) * slow
        task = StaffTask(
            staff=team[0].id,
            patient=p.id,
            mobility=p.mobility,
            origin=p.space,
            destination=path[-1],
            path=tuple(path),
            start=round(start, 1),
            end=round(end, 1),
            team=tuple(s.id for s in team),
        )
        tasks.append(task)
        for s in team:
            free[s.id] = (end, path[-1])
    return tasks, sheltered


# ---------------------------------------------------------------- nearest exit and the simulator


@dataclass(frozen=True)
class Walker:
    """One person (or a bed with its team) following a fixed path from a start time."""

    id: str
    path: tuple[str, ...]
    speed: float
    ready: float = 0.0
    units: float = 1.0  # door/stair capacity taken: a bed takes 2


def plan_walkers(plan_: Plan, occupants: list[Occupant]) -> list[Walker]:
    """The plan's people as walkers: walkers follow their CCRP routes, beds their staff tasks."""
    walkers: list[Walker] = []
    for order in plan_.spaces.values():
        for r in order.routes:
            for i in range(r.count):
                walkers.append(Walker(f"{r.source}#{len(walkers)}-{i}", r.path, SPEEDS["ambulatory"]))
        for t in order.moves:
            units = 2.0 if t.mobility in ("bedridden", "life_support") else 1.0
            walkers.append(
                Walker(t.patient, t.path, SPEEDS[t.mobility], t.start + PREPARE_SECONDS[t.mobility], units)
            )
    return walkers


def nearest_exit_walkers(building: Building, occupants: list[Occupant], hazards: HazardState) -> list[Walker]:
    """The naive plan: everyone of a threatened compartment takes the shortest way to the nearest
    exit, ignoring congestion; staff carry the non-walking down, a team per patient (the same team
    sizes and preparation as the hospital plan), returning for the next."""
    graph = Graph.of(building, hazards)
    threatened = hazards.threatened(building)
    rev = reverse_graph(graph)
    dist, towards = dijkstra(rev, building.exits)
    exits = set(building.exits)
    walkers: list[Walker] = []
    teams: dict[int, list[float]] = defaultdict(list)  # floor → staff free times
    for o in occupants:
        if o.kind == OccupantKind.STAFF and o.space in building.spaces:
            teams[building.spaces[o.space].floor].append(0.0)
    for o in sorted(occupants, key=lambda o: o.id):
        if o.space not in building.spaces or building.spaces[o.space].compartment not in threatened:
            continue
        if o.kind == OccupantKind.STAFF or o.space not in dist:
            continue
        path = tuple(path_from(towards, o.space, exits))
        if _is_walker(o):
            walkers.append(Walker(o.id, path, SPEEDS["ambulatory"]))
            continue
        floor_team = teams[building.spaces[o.space].floor]
        need = max(1, STAFF_PER_PATIENT[o.mobility])
        if not floor_team:
            continue
        floor_team.sort()
        team_n = min(need, len(floor_team))
        start = floor_team[team_n - 1]
        ready = start + PREPARE_SECONDS[o.mobility]
        units = 2.0 if o.mobility in ("bedridden", "life_support") else 1.0
        walkers.append(Walker(o.id, path, SPEEDS[o.mobility], ready, units))
        trip = dist[o.space] / (SPEEDS[o.mobility] * STAIR_SPEED_FACTOR) * need / team_n
        back = dist[o.space] / SPEEDS["staff"]
        for i in range(team_n):
            floor_team[i] = ready + trip + back
    return walkers


def simulate(
    building: Building, walkers: list[Walker], hazards: HazardState | None = None
) -> dict[str, float]:
    """A queueing simulation: each door and stair flight serves persons first come first served at
    its flow rate (a bed takes ``units`` places); walking between is free-flow at the walker's
    speed (stairs slower). Returns each walker's time of arrival at the end of its path."""
    graph = Graph.of(building, hazards)
    edge_of = {(e.u, e.v): e for e in graph.edges}
    next_free: dict[str, float] = defaultdict(float)
    done: dict[str, float] = {}
    heap: list[tuple[float, int, int]] = []  # (time at the current node, walker, hop)
    for i, w in enumerate(walkers):
        heapq.heappush(heap, (w.ready, i, 0))
    while heap:
        t, i, hop = heapq.heappop(heap)
        w = walkers[i]
        if hop >= len(w.path) - 1:
            done[w.id] = t
            continue
        e = edge_of.get((w.path[hop], w.path[hop + 1]))
        if e is None:  # the way is gone (a closed door, a lost stair): stuck
            done[w.id] = INF
            continue
        enter = max(t, next_free[e.key])
        next_free[e.key] = enter + w.units / e.capacity
        v = w.speed * (STAIR_SPEED_FACTOR if e.stair else 1.0)
        heapq.heappush(heap, (enter + e.length / v, i, hop + 1))
    return done
