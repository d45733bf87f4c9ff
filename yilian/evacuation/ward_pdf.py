"""The printed evacuation plan of a ward for its wall (病区疏散预案, A4 landscape): the floor drawn to
scale with stairs, refuge rooms and smoke doors, and for each room what to do when the fire is in
its own compartment (walkers: which stair; beds: where staff take them) — from the planner run
with smoke in that compartment. fpdf2 with the Noto CJK font the outpatient record uses."""

from __future__ import annotations

from fpdf import FPDF, FontFace

from yilian.evacuation.domain import Building, HazardState, Occupant, OccupantKind
from yilian.evacuation.planner import plan
from yilian.outpatient.record_pdf import cjk_font

KIND_RGB = {
    "corridor": (250, 250, 250),
    "stair": (209, 196, 233),
    "refuge": (178, 223, 219),
    "exit": (200, 230, 201),
    "ward": (255, 255, 255),
    "room": (236, 239, 241),
}


def ward_instructions(building: Building, ward: str) -> list[tuple[str, str, str]]:
    """(room, walkers, beds) instructions for each room of the ward."""
    rooms = [s for s in building.spaces.values() if s.ward == ward]
    floor = rooms[0].floor
    rows: list[tuple[str, str, str]] = []
    for comp in sorted({s.compartment for s in rooms}):
        corridors = [s.code for s in building.spaces_of(comp) if s.kind == "corridor"]
        people = []
        for s in rooms:
            if s.compartment == comp:
                people.append(Occupant(f"{s.code}-w", OccupantKind.PATIENT.value, s.code, "ambulatory", ward))
                people.append(Occupant(f"{s.code}-b", OccupantKind.PATIENT.value, s.code, "bedridden", ward))
        stations = [s for s in building.spaces.values() if s.floor == floor and s.kind == "room"]
        for i, st in enumerate(stations):
            people.append(Occupant(f"staff{i}a", OccupantKind.STAFF.value, st.code, ward=ward))
            people.append(Occupant(f"staff{i}b", OccupantKind.STAFF.value, st.code, ward=ward))
        p = plan(building, people, HazardState(smoke=frozenset(corridors)))
        for s in sorted((s for s in rooms if s.compartment == comp), key=lambda s: s.room):
            order = p.spaces[s.code]
            stairs = []
            for r in order.routes:
                for code in r.path:
                    stair = building.stair_of(code)
                    if stair and stair.name not in stairs:
                        stairs.append(stair.name)
            walk = f"经{'、'.join(stairs)}下行至首层安全出口" if stairs else "听从现场指挥"
            dest = {t.destination for t in order.moves}
            beds = "、".join(building.spaces[d].name for d in sorted(dest)) or "就地避险，等待救援"
            rows.append((s.name, walk, f"由医护人员转移至{beds}"))
    return rows


def ward_plan_pdf(building: Building, ward: str, ward_name: str) -> bytes:
    rooms = [s for s in building.spaces.values() if s.ward == ward]
    floor = rooms[0].floor
    spaces = [s for s in building.spaces.values() if s.floor == floor]
    path, index = cjk_font()
    pdf = FPDF(orientation="L", format="A4")
    pdf.add_font("cjk", fname=path, collection_font_number=index)
    pdf.set_auto_page_break(True, margin=10)
    pdf.add_page()
    pdf.set_font("cjk", size=16)
    pdf.cell(
        0, 10, f"{ward_name} 火灾应急疏散预案（{building.name} {floor} 层）", new_x="LMARGIN", new_y="NEXT"
    )
    pdf.set_font("cjk", size=9)
    pdf.cell(
        0,
        6,
        "原则：本防烟分区起火时，行动不便患者由医护人员经防烟门水平转移至相邻防烟分区或避难间；"
        "能行走者与陪护、探视人员经安全楼梯下行；其他分区原地防守，听从指挥。",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    xs = [p[0] for s in spaces for p in s.polygon]
    ys = [p[1] for s in spaces for p in s.polygon]
    scale = min(270 / (max(xs) - min(xs)), 60 / (max(ys) - min(ys)))
    ox, oy = 15.0, 30.0
    top = max(ys)
    for s in spaces:
        px = [ox + (p[0] - min(xs)) * scale for p in s.polygon]
        py = [oy + (top - p[1]) * scale for p in s.polygon]
        pdf.set_fill_color(*KIND_RGB.get(s.kind, (255, 255, 255)))
        pdf.polygon(list(zip(px, py, strict=False)), style="DF")
        stair = building.stair_of(s.code)
        label = s.room or (f"楼梯{stair.code}" if stair else s.name.replace(f"{floor}层", ""))
        pdf.set_font("cjk", size=6)
        cx, cy = sum(px[:-1]) / (len(px) - 1), sum(py[:-1]) / (len(py) - 1)
        pdf.text(cx - pdf.get_string_width(label) / 2, cy + 1, label)
    for d in building.doors:
        if building.spaces[d.a].floor != floor:
            continue
        (ax, ay), (bx, by) = d.segment
        pdf.set_draw_color(106, 27, 154) if d.kind == "smoke_door" else pdf.set_draw_color(255, 255, 255)
        pdf.set_line_width(0.8)
        pdf.line(
            ox + (ax - min(xs)) * scale,
            oy + (top - ay) * scale,
            ox + (bx - min(xs)) * scale,
            oy + (top - by) * scale,
        )
    pdf.set_draw_color(0, 0, 0)
    pdf.set_line_width(0.2)
    pdf.set_y(oy + (max(ys) - min(ys)) * scale + 6)
    pdf.set_font("cjk", size=9)
    with pdf.table(
        col_widths=(30, 110, 127), text_align="LEFT", headings_style=FontFace(emphasis="")
    ) as table:
        table.row(("病房", "能行走的患者与陪护、探视人员", "卧床、轮椅、生命支持患者"))
        for row in ward_instructions(building, ward):
            table.row(row)
    return bytes(pdf.output())
