"""Pages of fire evacuation command: the command centre (保卫科 / 消防控制室) and the staff's task
list on a phone."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import RedirectResponse
from nicegui import ui

from yilian.evacuation import service, tasks
from yilian.evacuation.domain import MOBILITIES, Building, HazardKind, ReplayStatus
from yilian.evacuation.drawing import agent_marks, floor_svg, safe_chart, with_marks
from yilian.evacuation.planner import ACTION_LABELS
from yilian.evacuation.replay import positions
from yilian.kit.auth.domain import Actor, Permission
from yilian.kit.db import unit_of_work
from yilian.kit.errors import YilianError
from yilian.web import nav
from yilian.web.shell import allowed, frame, guard, show_error

nav.register(
    nav.NavItem(
        label="疏散指挥",
        path="/evacuation",
        icon="local_fire_department",
        group="安全保卫",
        permission=Permission.EVACUATION_COMMAND,
        order=80,
        description="火警与演练：楼层平面、危险区域、疏散路线与人数，封锁楼梯后即时重算",
    )
)
nav.register(
    nav.NavItem(
        label="疏散任务",
        path="/evacuation/tasks",
        icon="assignment_ind",
        group="安全保卫",
        permission=Permission.EVACUATION_READ,
        order=81,
        description="医护人员手机上的疏散任务：转移哪些患者、顺序与去向",
    )
)


def _clock(seconds: float) -> str:
    m, s = divmod(int(seconds), 60)
    return f"{m:02d}:{s:02d}"


def _building_for(actor: Actor) -> tuple[int, str, list[int], list[str], list[str]] | None:
    with unit_of_work() as session:
        rows = service.buildings(session, actor, actor.institution_id or 0) if actor.institution_id else []
        if not rows:
            return None
        b = service.model_of(rows[0])
        rooms = sorted(s.code for s in b.spaces.values() if s.kind == "ward")
        return rows[0].id, rows[0].name, list(b.floors), [st.code for st in b.stairs], rooms


@ui.page("/evacuation")
def command_page(request: Request) -> RedirectResponse | None:
    """The command centre: start a drill, watch the plan on the floor plans, block a stair."""
    actor = guard(request, Permission.EVACUATION_COMMAND)
    if isinstance(actor, RedirectResponse):
        return actor
    if not allowed(actor, Permission.EVACUATION_COMMAND):
        return None
    found = _building_for(actor)
    with frame(actor, "疏散指挥中心"):
        if found is None:
            ui.label("本机构尚未导入建筑模型（yilian evacuation demo / import）。").classes("text-grey-7")
            return None
        building_id, building_name, floors, stairs, rooms = found
        centre = _CommandCentre(actor, building_id, building_name, floors, stairs, rooms)
        replay_panel(actor, building_id, centre.state)
    return None


COMPARTMENT_COLUMNS: list[dict[str, Any]] = [
    {"name": "c", "label": "防烟分区", "field": "c", "align": "left"},
    {"name": "stay", "label": "原地防守", "field": "stay"},
    {"name": "evacuate", "label": "疏散", "field": "evacuate"},
    {"name": "move", "label": "水平转移", "field": "move"},
    {"name": "shelter", "label": "待救", "field": "shelter"},
]
FLOW_COLUMNS: list[dict[str, Any]] = [
    {"name": "code", "label": "出口/楼梯", "field": "code", "align": "left"},
    {"name": "persons", "label": "人数", "field": "persons"},
    {"name": "last", "label": "最后通过", "field": "last"},
]
LEGEND = "图例：红＝起火，斜纹＝烟气，橙色箭头＝步行疏散路线，蓝色虚线＝医护水平转移，深灰＝封锁的楼梯"


class _CommandCentre:
    """One building's command centre: the drill controls, the stairs, the floor plan and the plan's
    tables, redrawn every second (and at once after an action)."""

    def __init__(
        self,
        actor: Actor,
        building_id: int,
        building_name: str,
        floors: list[int],
        stairs: list[str],
        rooms: list[str],
    ) -> None:
        self.actor = actor
        self.building_id = building_id
        self.state: dict[str, Any] = {"event": None, "floor": None, "revision": None, "plan": None}
        with unit_of_work() as session:
            open_ev = service.open_event(session, building_id)
            self.state["event"] = open_ev.id if open_ev else None
        with ui.row().classes("items-center gap-4 w-full"):
            ui.label(building_name).classes("text-h6")
            self.clock = ui.label("未启动").classes("text-h6 text-negative").props('data-testid="clock"')
            self.status = ui.label("").classes("text-grey-8").props('data-testid="plan-status"')
        self._drill_controls(rooms)
        self._stair_controls(stairs, floors)
        self._plan_view()
        ui.label(LEGEND).classes("text-caption text-grey-7")
        self.floor_select.on_value_change(lambda _: self.draw(force=True))
        self.draw(force=True)
        ui.timer(1.0, self.draw)

    # -- controls ----------------------------------------------------------------------------------

    def _drill_controls(self, rooms: list[str]) -> None:
        with ui.row().classes("items-end gap-3"):
            self.origin = ui.select(
                rooms, value="6F-605" if "6F-605" in rooms else rooms[0], label="起火房间"
            ).classes("w-40")
            self.hour = ui.number("钟点", value=10, min=0, max=23).classes("w-20")
            ui.button("开始演练", icon="play_arrow", on_click=self.start).props('data-testid="start-drill"')
            ui.button("结束事件", icon="stop", on_click=self.close).props("outline")

    def _stair_controls(self, stairs: list[str], floors: list[int]) -> None:
        with ui.row().classes("items-center gap-2"):
            ui.label("楼梯：")
            for code in stairs:
                ui.button(f"封锁/恢复 {code}", on_click=lambda code=code: self.toggle(code)).props(
                    f'outline data-testid="toggle-{code}"'
                )
            self.floor_select = ui.select(floors, value=floors[len(floors) // 2], label="楼层").classes(
                "w-24"
            )

    def _plan_view(self) -> None:
        with ui.row().classes("w-full gap-4 no-wrap items-start"):
            self.svg = ui.html("").classes("w-2/3").props('data-testid="floor-plan"')
            with ui.column().classes("w-1/3 gap-2"):
                ui.label("各防烟分区人数").classes("text-subtitle1")
                self.comp_table = (
                    ui.table(columns=COMPARTMENT_COLUMNS, rows=[], row_key="c")
                    .props("dense flat")
                    .classes("w-full")
                )
                ui.label("出口与楼梯流量").classes("text-subtitle1")
                self.flow_table = (
                    ui.table(columns=FLOW_COLUMNS, rows=[], row_key="code")
                    .props('dense flat data-testid="flows"')
                    .classes("w-full")
                )

    # -- handlers ----------------------------------------------------------------------------------

    def start(self) -> None:
        try:
            with unit_of_work() as session:
                ev = service.start_drill(
                    session, self.actor, self.building_id, str(self.origin.value), hour=int(self.hour.value)
                )
                self.state["event"] = ev.id
            self.state["floor"] = int(str(self.origin.value).split("F")[0])
            self.draw(force=True)
        except YilianError as exc:
            show_error(exc)

    def close(self) -> None:
        if self.state["event"]:
            with unit_of_work() as session:
                service.close_event(session, self.actor, self.state["event"])
            self.state["event"] = None
            self.draw(force=True)

    def toggle(self, code: str) -> None:
        if not self.state["event"]:
            return
        lost = code in (self.state["plan"] or {}).get("hazards", {}).get("lost_stairs", [])
        try:
            with unit_of_work() as session:
                service.report_hazard(
                    session,
                    self.actor,
                    self.state["event"],
                    HazardKind.STAIR_RESTORED.value if lost else HazardKind.STAIR_LOST.value,
                    code,
                )
            self.draw(force=True)
        except YilianError as exc:
            show_error(exc)

    # -- drawing -----------------------------------------------------------------------------------

    def draw(self, force: bool = False) -> None:
        state = self.state
        if self.floor_select.value is not None and state["floor"] is not None:
            self.floor_select.value = state["floor"]
            state["floor"] = None
        floor = int(self.floor_select.value)
        doc: dict[str, Any] | None = None
        with unit_of_work() as session:
            row = service.get_building(session, self.building_id)
            b = service.model_of(row)
            if state["event"]:
                try:
                    doc = service.current_plan(session, self.actor, state["event"]).summary()
                except YilianError as exc:
                    show_error(exc)
                    return
        if doc is None:
            self.clock.text = "未启动"
            self.status.text = "无进行中的火警或演练"
            self.svg.content = floor_svg(b, floor, None)
            self.comp_table.rows, self.flow_table.rows = [], []
            return
        self.clock.text = f"事件时钟 {_clock(doc['clock'])}"
        key = (doc["revision"], floor, doc["hazards"]["fire"].__len__(), len(doc["hazards"]["smoke"]))
        if not force and key == state["revision"]:
            return
        state["revision"] = key
        state["plan"] = doc
        self._show_plan(doc, b, floor)

    def _show_plan(self, doc: dict[str, Any], b: Building, floor: int) -> None:
        c = doc["counts"]
        lost = "、".join(doc["hazards"]["lost_stairs"]) or "无"
        self.status.text = (
            f"方案第 {doc['revision']} 版（计算 {doc['plan_ms']:.0f} ms）："
            f"受威胁 {'、'.join(doc['threatened']) or '无'}；"
            f"疏散 {c.get('evacuate', 0)} 人，水平转移 {c.get('move', 0)} 人，"
            f"原地防守 {c.get('stay', 0)} 人；封锁楼梯 {lost}；"
            f"步行疏散完成 {doc['evacuation_seconds']:.0f} 秒，"
            f"水平转移完成 {doc['horizontal_seconds']:.0f} 秒"
        )
        self.svg.content = floor_svg(b, floor, doc)
        self.comp_table.rows = [
            {"c": k, **{a: v.get(a, 0) for a in ACTION_LABELS}}
            for k, v in doc["compartments"].items()
            if any(v.get(a) for a in ("evacuate", "move", "shelter")) or k.startswith(f"{floor}F")
        ]
        self.flow_table.rows = [
            {"code": f["code"], "persons": f["persons"], "last": _clock(f["last"])} for f in doc["flows"]
        ]


@ui.page("/evacuation/tasks")
def tasks_page(request: Request, staff: str = "") -> RedirectResponse | None:
    """A staff member's tasks on a phone: which patients to move, in what order, to where."""
    actor = guard(request, Permission.EVACUATION_READ)
    if isinstance(actor, RedirectResponse):
        return actor
    if not allowed(actor, Permission.EVACUATION_READ):
        return None
    found = _building_for(actor)
    with frame(actor, "我的疏散任务"):
        if found is None:
            ui.label("本机构尚未导入建筑模型。").classes("text-grey-7")
            return None
        building_id = found[0]
        with unit_of_work() as session:
            ev = service.open_event(session, building_id)
            doc = service.current_plan(session, actor, ev.id).summary() if ev else None
        if doc is None:
            ui.label("当前没有火警或演练。").classes("text-positive")
            return None
        names = {s["staff"]: s["label"] for s in doc["staff"]}
        pick = ui.select(names, value=staff or next(iter(names), None), label="我是").classes("w-full")
        box = ui.column().classes("w-full gap-2")

        def show() -> None:
            box.clear()
            mine = next((s for s in doc["staff"] if s["staff"] == pick.value), None)
            with box:
                if mine is None:
                    ui.label("原地防守：照看本区患者，等待指挥。")
                    return
                for t in mine["tasks"]:
                    with ui.card().classes("w-full").props('data-testid="task"'):
                        ui.label(
                            f"{t['order']}. {t['patient_label']}（{MOBILITIES[t['mobility']]}）"
                        ).classes("text-subtitle1")
                        ui.label(f"从 {t['origin_name']} 转移到 {t['destination_name']}")
                        team = "、".join(t["team"])
                        ui.label(f"{_clock(t['start'])} 开始，约 {_clock(t['end'])} 到达；同组：{team}")

        pick.on_value_change(lambda _: show())
        show()
    return None


# ---------------------------------------------------------------- drill replays

SPEEDS = {1: "1×", 5: "5×", 10: "10×", 30: "30×", 60: "60×"}


def _replay_items(actor: Actor, building_id: int) -> list[tuple[Any, ...]]:
    """The building's latest replays, as the list shows them."""
    with unit_of_work() as session:
        rows = service.replays(session, actor, building_id)[:5]
        return [
            (r.id, r.event_id, r.floor, r.status, r.plan_seconds, r.nearest_seconds, r.persons) for r in rows
        ]


def _replay_list(items: list[tuple[Any, ...]]) -> None:
    """The command centre's list of the building's latest replays."""
    if not items:
        ui.label("尚无演练回放。演练后点「生成回放」，在 JuPedSim 中模拟方案与就近出口。").classes(
            "text-caption text-grey-7"
        )
        return
    for rid, eid, floor, status, plan_s, near_s, persons in items:
        where = f"{floor} 层" if floor is not None else "全部楼层"
        with ui.row().classes("items-center gap-2").props(f'data-testid="replay-{rid}"'):
            ui.label(f"事件 {eid} · {where} · {service.REPLAY_STATUS.get(status, status)}")
            if status == ReplayStatus.DONE:
                ui.label(f"{persons} 人：方案 {_clock(plan_s or 0)}，就近出口 {_clock(near_s or 0)}").classes(
                    "text-grey-8"
                )
                ui.link("查看回放", f"/evacuation/replays/{rid}").props(f'data-testid="open-replay-{rid}"')


def replay_panel(actor: Actor, building_id: int, state: dict[str, Any]) -> None:
    """「生成回放」 for the current (or latest) event, on the floor of the fire, and the list."""

    shown: dict[str, list[tuple[Any, ...]]] = {"items": _replay_items(actor, building_id)}

    @ui.refreshable
    def listing() -> None:
        _replay_list(shown["items"])

    def watch() -> None:
        """Redraw only when a replay was added or moved on: a redraw under the pointer swallows a click
        on 「查看回放」."""
        items = _replay_items(actor, building_id)
        if items != shown["items"]:
            shown["items"] = items
            listing.refresh()

    def make() -> None:
        try:
            with unit_of_work() as session:
                event_id = state["event"] or next(
                    (e.id for e in service.building_events(session, actor, building_id)), None
                )
                if event_id is None:
                    ui.notify("还没有演练或火警事件", type="warning")
                    return
                floor = service.fire_floor(session, event_id)
                replay = service.request_replay(session, actor, event_id, floor=floor)
                replay_id = replay.id
            tasks.start(replay_id)
            ui.notify("已开始生成回放（JuPedSim 模拟）", type="positive")
            watch()
        except YilianError as exc:
            show_error(exc)

    with ui.column().classes("gap-1 w-full"):
        with ui.row().classes("items-center gap-3"):
            ui.label("演练回放").classes("text-subtitle1")
            ui.button("生成回放", icon="movie", on_click=make).props('outline data-testid="make-replay"')
        listing()
    ui.timer(3.0, watch)


@ui.page("/evacuation/replays/{replay_id}")
def replay_page(request: Request, replay_id: int) -> RedirectResponse | None:
    """The drill replay: the agents of the plan and of nearest-exit routing walking in JuPedSim,
    on the floor plans, with the persons safe over time for both."""
    actor = guard(request, Permission.EVACUATION_READ)
    if isinstance(actor, RedirectResponse):
        return actor
    if not allowed(actor, Permission.EVACUATION_READ):
        return None
    with frame(actor, "演练回放"):
        try:
            with unit_of_work() as session:
                row, event = service.read_replay(session, actor, replay_id)
                b = service.model_of(service.get_building(session, event.building_id))
                status, error, doc = row.status, row.error, dict(row.document)
        except YilianError as exc:
            ui.label(f"{exc.title}：{exc.detail}").classes("text-negative")
            return None
        ui.link("← 返回疏散指挥中心", "/evacuation")
        if status != ReplayStatus.DONE:
            text = f"回放{service.REPLAY_STATUS.get(status, status)}" + (f"：{error}" if error else "")
            ui.label(text).classes("text-h6").props('data-testid="replay-status"')
            if status in (ReplayStatus.PENDING, ReplayStatus.RUNNING):
                ui.timer(2.0, lambda: ui.navigate.reload(), once=True)
            return None
        _replay_view(b, doc)
    return None


def _replay_controls(doc: dict[str, Any], state: dict[str, Any], render: Any) -> tuple[Any, Any]:
    floors = doc["floors"] or [doc.get("floor") or 1]
    with ui.row().classes("items-end gap-3 w-full"):
        run = ui.toggle({k: v["label"] for k, v in doc["runs"].items()}, value="plan").props(
            'data-testid="replay-run"'
        )
        floor = ui.select(floors, value=state["floor"], label="楼层").classes("w-24")
        floor.props('data-testid="replay-floor"')

        def toggle_play() -> None:
            if state["t"] >= doc["duration"]:
                state["t"] = 0.0
            state["playing"] = not state["playing"]
            play.text = "暂停" if state["playing"] else "播放"

        play = ui.button("暂停", icon="play_arrow", on_click=toggle_play).props('data-testid="replay-play"')
        speed = ui.select(SPEEDS, value=state["speed"], label="速度").classes("w-24")
        clock = ui.label("").classes("text-h6").props('data-testid="replay-clock"')
    slider = ui.slider(min=0, max=doc["duration"], step=1, value=0).props('label data-testid="replay-slider"')

    def changed(_: Any = None) -> None:
        state["run"], state["floor"], state["speed"] = run.value, floor.value, speed.value
        if abs(float(slider.value or 0) - state["t"]) >= 1:
            state["t"] = float(slider.value or 0)
        render()

    for control in (run, floor, speed, slider):
        control.on_value_change(changed)
    return slider, clock


def _replay_view(b: Any, doc: dict[str, Any]) -> None:
    runs = doc["runs"]
    start_floor = doc.get("floor") or (doc["floors"][0] if doc["floors"] else 1)
    state: dict[str, Any] = {"t": 0.0, "playing": True, "speed": 10, "run": "plan", "floor": start_floor}
    summary = "；".join(
        f"{r['label']}：{r['persons']} 人，{_clock(r['seconds'])} 全部安全"
        + (f"（{r['unfinished']} 人超时未到）" if r["unfinished"] else "")
        for r in runs.values()
    )
    ui.label(f"受威胁 {'、'.join(doc['threatened'])}；{summary}").classes("text-subtitle1")
    bases: dict[int, str] = {}
    parts: dict[str, Any] = {}

    def render() -> None:
        floor, t = int(state["floor"]), state["t"]
        if floor not in bases:
            bases[floor] = floor_svg(b, floor, None)
        marks = agent_marks(b, floor, positions(runs[state["run"]], t, floor, doc["every"]))
        parts["svg"].content = with_marks(bases[floor], marks)
        parts["chart"].content = safe_chart(runs, doc["duration"], t)
        safe = {k: r["safe"][min(int(t), len(r["safe"]) - 1)] for k, r in runs.items()}
        parts["clock"].text = f"{_clock(t)}　" + "　".join(
            f"{runs[k]['label']} 已安全 {n}/{runs[k]['persons']}" for k, n in safe.items()
        )
        if abs(float(parts["slider"].value or 0) - t) >= 1:
            parts["slider"].value = int(t)

    parts["slider"], parts["clock"] = _replay_controls(doc, state, render)
    parts["svg"] = ui.html("").classes("w-full").props('data-testid="replay-plan"')
    ui.label("累计安全人数（绿＝智能方案，红＝就近出口；虚线＝当前时刻）").classes("text-subtitle1")
    parts["chart"] = (
        ui.html("").classes("w-full").style("max-width:760px").props('data-testid="replay-chart"')
    )
    ui.label("图例：橙点＝步行者，蓝点＝病床（医护转移）").classes("text-caption text-grey-7")

    def tick() -> None:
        if not state["playing"]:
            return
        state["t"] = min(float(doc["duration"]), state["t"] + state["speed"] * 0.25)
        if state["t"] >= doc["duration"]:
            state["playing"] = False
        render()

    render()
    ui.timer(0.25, tick)
