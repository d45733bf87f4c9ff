"""Shared page parts: a data table, a metric card, a confirmation dialog, a money cell, a bar chart,
a live box that a timer keeps up to date.

Pages are made of named parts (see docs/architecture.md); these are the parts more than one area
draws the same way, so that a table or a figure looks and behaves alike on every page.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Generic, TypeVar

from nicegui import ui

from yilian.kit.money import yuan

Column = tuple[str, str]  # (field name, Chinese label)
POSITIVE = "#2a9d8f"  # a profit, a gain: green
NEGATIVE = "#e76f51"  # a loss: red
T = TypeVar("T")


def money_cell(fen: int) -> str:
    """The text of a money cell: fen shown as yuan (``¥1,234.50``), never raw fen."""
    return yuan(fen)


def columns_of(
    columns: Iterable[Column], *, sortable: bool = False, align: str | None = None
) -> list[dict[str, Any]]:
    """Quasar column definitions of ``(field, label)`` pairs."""
    out: list[dict[str, Any]] = []
    for name, label in columns:
        column: dict[str, Any] = {"name": name, "label": label, "field": name}
        if align:
            column["align"] = align
        if sortable:
            column["sortable"] = True
        out.append(column)
    return out


def data_table(
    columns: Sequence[Column] | Sequence[dict[str, Any]],
    rows: Sequence[Mapping[str, Any]],
    *,
    row_key: str,
    testid: str | None = None,
    sortable: bool = False,
    pagination: int | None = None,
    props: str = "dense",
    full_width: bool = True,
) -> ui.table:
    """A dense table of ``rows`` under ``columns`` (``(field, label)`` pairs or Quasar column dicts)."""
    pairs = [c for c in columns if isinstance(c, tuple)]
    cols = columns_of(pairs, sortable=sortable) if pairs else [c for c in columns if isinstance(c, dict)]
    table = ui.table(columns=cols, rows=[dict(r) for r in rows], row_key=row_key, pagination=pagination)
    if full_width:
        table.classes("w-full")
    table.props(props + (f' data-testid="{testid}"' if testid else ""))
    return table


def metric_card(label: str, value: str, *, testid: str | None = None, width: str = "w-40") -> ui.card:
    """A small card with a grey label above a large value (a KPI of a dashboard)."""
    with ui.card().classes(width) as card:
        ui.label(label).classes("text-grey-7 text-sm")
        shown = ui.label(value).classes("text-h6")
        if testid:
            shown.props(f'data-testid="{testid}"')
    return card


def metric_row(metrics: Iterable[tuple[str, str]], *, testid_prefix: str = "kpi-") -> None:
    """A row of metric cards, each value tagged ``<testid_prefix><label>`` for tests."""
    with ui.row().classes("gap-4"):
        for label, value in metrics:
            metric_card(label, value, testid=f"{testid_prefix}{label}")


def bar_chart(
    title: str,
    names: Sequence[str],
    series: Sequence[dict[str, Any]],
    *,
    height: str = "h-72",
    grid: Mapping[str, int] | None = None,
    legend: bool = False,
    testid: str | None = None,
) -> ui.echart:
    """An ECharts category chart (no animation, rotated labels) with ``series`` over ``names``."""
    options: dict[str, Any] = {
        "animation": False,
        "title": {"text": title, "textStyle": {"fontSize": 14}},
        "tooltip": {"trigger": "axis"},
    }
    if legend:
        options["legend"] = {"right": 10, "top": 0}
    options |= {
        "grid": dict(grid or {"top": 40, "bottom": 80}),
        "xAxis": {"type": "category", "data": list(names), "axisLabel": {"rotate": 30}},
        "yAxis": {"type": "value"},
        "series": list(series),
    }
    chart = ui.echart(options).classes(f"w-full {height}")
    if testid:
        chart.props(f'data-testid="{testid}"')
    return chart


def profit_bars(values_fen: Iterable[int]) -> dict[str, Any]:
    """A bar series of profits in yuan, green for a gain and red for a loss."""
    return {
        "type": "bar",
        "data": [
            {"value": v / 100, "itemStyle": {"color": POSITIVE if v >= 0 else NEGATIVE}} for v in values_fen
        ],
    }


def confirm_dialog(
    title: str,
    message: str,
    on_confirm: Callable[[], None],
    *,
    confirm_label: str = "确定",
    color: str = "primary",
    testid: str | None = None,
) -> ui.dialog:
    """A dialog asking to confirm an action; ``on_confirm`` runs on the confirm button, which closes it."""
    with ui.dialog() as dialog, ui.card():
        ui.label(title).classes("text-h6")
        ui.label(message)
        with ui.row().classes("w-full justify-end"):
            ui.button("取消", on_click=dialog.close).props("flat")

            def confirmed() -> None:
                dialog.close()
                on_confirm()

            button = ui.button(confirm_label, color=color, on_click=confirmed)
            if testid:
                button.props(f'data-testid="{testid}"')
    return dialog


class LiveBox(Generic[T]):
    """A column drawn from fresh data after every action, and checked again every ``every`` seconds.

    The timer redraws only when the data changed: a redraw replaces every button and input in the
    box, so an unconditional one would swallow a click that lands while it runs and wipe a reason
    half typed (a pharmacist's 退回理由, a QC note). ``load`` reads in its own unit of work; ``key``
    turns its result into the fingerprint compared between ticks (by default its ``repr``, which
    for dataclasses and pydantic models lists every field).
    """

    def __init__(
        self,
        load: Callable[[], T],
        render: Callable[[T], None],
        *,
        every: float,
        classes: str = "w-full gap-3",
        key: Callable[[T], object] = repr,
    ) -> None:
        self.load = load
        self.render = render
        self.key = key
        self.box = ui.column().classes(classes)
        self._shown: str | None = None
        ui.timer(every, self.refresh)

    def draw(self) -> None:
        """Draw now, whatever was shown (after an action of this page)."""
        self._show(self.load())

    def refresh(self) -> None:
        """The timer's tick: draw only if what the box shows is out of date."""
        data = self.load()
        if repr(self.key(data)) != self._shown:
            self._show(data)

    def _show(self, data: T) -> None:
        self._shown = repr(self.key(data))
        self.box.clear()
        with self.box:
            self.render(data)
