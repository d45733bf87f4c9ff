"""Floor plans drawn as SVG (pure): spaces coloured by what the plan tells their people, fire and
smoke, the walkers' routes to the stairs and the staff's horizontal moves."""

from __future__ import annotations

from html import escape
from typing import Any

from yilian.evacuation.domain import Building, Point

SCALE = 10.0  # px per metre
MARGIN = 40.0
FILL = {"stay": "#e8f5e9", "evacuate": "#fff3e0", "move": "#e3f2fd", "shelter": "#fce4ec"}
KIND_FILL = {"corridor": "#fafafa", "stair": "#ede7f6", "refuge": "#e0f2f1", "exit": "#c8e6c9"}


def _xy(p: Point, x0: float, y_max: float) -> tuple[float, float]:
    return (MARGIN + (p[0] - x0) * SCALE, MARGIN + (y_max - p[1]) * SCALE)


def floor_svg(building: Building, floor: int, plan: dict[str, Any] | None = None) -> str:
    """The SVG of one floor; ``plan`` is ``service.plan_document`` (or None for the bare plan)."""
    spaces = [s for s in building.spaces.values() if s.floor == floor]
    xs = [p[0] for s in spaces for p in s.polygon]
    ys = [p[1] for s in spaces for p in s.polygon]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    width = (x1 - x0) * SCALE + 2 * MARGIN
    height = (y1 - y0) * SCALE + 2 * MARGIN
    orders = {o["space"]: o for o in (plan or {}).get("spaces", [])}
    hz = (plan or {}).get("hazards", {})
    fire, smoke = set(hz.get("fire", [])), set(hz.get("smoke", []))
    lost = set(hz.get("lost_stairs", []))
    closed = set(hz.get("closed_doors", []))
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="100%" data-floor="{floor}" style="background:white;font-family:sans-serif">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="8" refY="5" markerWidth="5" markerHeight="5" '
        'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#e65100"/></marker>'
        '<marker id="arrowb" viewBox="0 0 10 10" refX="8" refY="5" markerWidth="5" markerHeight="5" '
        'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#1565c0"/></marker>'
        '<pattern id="smoke" width="8" height="8" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)">'
        '<rect width="4" height="8" fill="#9e9e9e" fill-opacity="0.5"/></pattern></defs>',
    ]
    for s in spaces:
        order = orders.get(s.code)
        fill = KIND_FILL.get(s.kind, "#ffffff")
        if order and s.kind in ("ward", "room"):
            fill = FILL[order["action"]]
        stair = building.stair_of(s.code)
        if stair and stair.code in lost:
            fill = "#424242"
        if s.code in fire:
            fill = "#e53935"
        outline = " ".join(f"{x:.1f},{y:.1f}" for x, y in (_xy(p, x0, y1) for p in s.polygon))
        out.append(
            f'<polygon points="{outline}" fill="{fill}" stroke="#37474f" stroke-width="1.5" '
            f'data-space="{escape(s.code)}"><title>{escape(s.name)}</title></polygon>'
        )
        if s.code in smoke:
            out.append(f'<polygon points="{outline}" fill="url(#smoke)" stroke="none"/>')
        cx, cy = _xy(s.centre, x0, y1)
        label = s.room or (stair.code if stair else s.name[-3:])
        colour = "white" if s.code in fire or (stair and stair.code in lost) else "#263238"
        out.append(
            f'<text x="{cx:.1f}" y="{cy - 4:.1f}" font-size="11" text-anchor="middle" fill="{colour}">'
            f"{escape(label)}</text>"
        )
        if order and order.get("occupants"):
            out.append(
                f'<text x="{cx:.1f}" y="{cy + 10:.1f}" font-size="10" text-anchor="middle" fill="{colour}">'
                f"{order['occupants']}人</text>"
            )
    for d in building.doors:
        if building.spaces[d.a].floor != floor:
            continue
        (ax, ay), (bx, by) = (_xy(p, x0, y1) for p in d.segment)
        colour = "#b71c1c" if d.code in closed else ("#6a1b9a" if d.kind == "smoke_door" else "#ffffff")
        out.append(
            f'<line x1="{ax:.1f}" y1="{ay:.1f}" x2="{bx:.1f}" y2="{by:.1f}" '
            f'stroke="{colour}" stroke-width="4"/>'
        )
    doors = {frozenset((d.a, d.b)): d for d in building.doors}

    def polyline(path: list[str]) -> list[tuple[float, float]]:
        here = [c for c in path if c in building.spaces and building.spaces[c].floor == floor]
        pts = [_xy(building.spaces[here[0]].centre, x0, y1)] if here else []
        for u, v in zip(path, path[1:], strict=False):
            d = doors.get(frozenset((u, v)))
            if d is not None and building.spaces[u].floor == floor:
                pts.append(_xy(d.midpoint, x0, y1))
                pts.append(_xy(building.spaces[v].centre, x0, y1))
        return pts

    for code, order in orders.items():
        if code not in building.spaces or building.spaces[code].floor != floor:
            continue
        for r in order.get("routes", [])[:1]:
            pts = polyline(r["path"])
            if len(pts) > 1:
                out.append(
                    '<polyline points="{}" fill="none" stroke="#e65100" stroke-width="2" '
                    'marker-end="url(#arrow)" class="route"/>'.format(
                        " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
                    )
                )
    for staff in (plan or {}).get("staff", []):
        for t in staff["tasks"]:
            pts = polyline(t["path"])
            if len(pts) > 1 and building.spaces[t["origin"]].floor == floor:
                out.append(
                    '<polyline points="{}" fill="none" stroke="#1565c0" stroke-width="1.5" '
                    'stroke-dasharray="5 3" '
                    'marker-end="url(#arrowb)" class="move"/>'.format(
                        " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
                    )
                )
    out.append("</svg>")
    return "".join(out)


def floor_frame(building: Building, floor: int) -> tuple[float, float]:
    """The floor's (least x, greatest y) in metres: where ``floor_svg`` puts its origin."""
    spaces = [s for s in building.spaces.values() if s.floor == floor]
    return min(p[0] for s in spaces for p in s.polygon), max(p[1] for s in spaces for p in s.polygon)


def agent_marks(building: Building, floor: int, agents: list[tuple[float, float, bool]]) -> str:
    """Circles for the replay's agents on a floor (x, y in metres, a bed larger and blue)."""
    x0, y1 = floor_frame(building, floor)
    out = []
    for x, y, bed in agents:
        cx, cy = _xy((x, y), x0, y1)
        r, colour = (7.0, "#1565c0") if bed else (5.0, "#ef6c00")
        out.append(
            f'<circle class="agent" cx="{cx:.1f}" cy="{cy:.1f}" r="{r}" fill="{colour}" '
            'stroke="white" stroke-width="0.8"/>'
        )
    return "".join(out)


def with_marks(svg: str, marks: str) -> str:
    """An SVG with ``marks`` drawn over it."""
    return svg[: -len("</svg>")] + marks + "</svg>"


def safe_chart(
    runs: dict[str, Any], duration: int, second: float, width: int = 560, height: int = 170
) -> str:
    """Persons safe over time for each run (a line each), with the replay's clock as a cursor."""
    colours = {"plan": "#2e7d32", "nearest": "#c62828"}
    left, bottom, top, right = 44.0, 26.0, 12.0, 12.0
    w, h = width - left - right, height - top - bottom
    total = max((r["persons"] for r in runs.values()), default=1) or 1
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
        'style="background:white;font-family:sans-serif">',
        f'<line x1="{left}" y1="{top + h}" x2="{left + w}" y2="{top + h}" stroke="#90a4ae"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + h}" stroke="#90a4ae"/>',
        f'<text x="{left - 6}" y="{top + 8}" font-size="10" text-anchor="end">{total}</text>',
        f'<text x="{left - 6}" y="{top + h}" font-size="10" text-anchor="end">0</text>',
        f'<text x="{left + w}" y="{height - 8}" font-size="10" text-anchor="end">{duration} 秒</text>',
    ]
    span = max(duration, 1)
    for i, (name, run) in enumerate(runs.items()):
        safe = run["safe"]
        stride = max(1, len(safe) // 300)
        pts = " ".join(
            f"{left + w * t / span:.1f},{top + h * (1 - n / total):.1f}"
            for t, n in list(enumerate(safe))[::stride] + [(len(safe) - 1, safe[-1])]
        )
        colour = colours.get(name, "#455a64")
        out.append(
            f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="2" class="safe-{name}"/>'
        )
        out.append(
            f'<text x="{left + 8}" y="{top + 14 + 13 * i}" font-size="11" fill="{colour}">'
            f"{escape(run['label'])}</text>"
        )
    cx = left + w * min(second, span) / span
    out.append(
        f'<line x1="{cx:.1f}" y1="{top}" x2="{cx:.1f}" y2="{top + h}" '
        'stroke="#37474f" stroke-dasharray="3 2"/>'
    )
    out.append("</svg>")
    return "".join(out)
