"""Alliance indicators (医联体运行指标) per alliance, member and month: referrals up and down, acceptance
time, the share of referral places used, the grassroots share of outpatient visits (基层就诊率), sitting
days and reading turnaround; the alliance's month totals and the Excel workbook. Pure: the service
gathers the facts."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import date
from io import BytesIO

TOTAL = "全医联体"


@dataclass(frozen=True)
class IndicatorRow:
    """One member (or, with ``institution_id`` 0, the whole alliance) in one month."""

    month: str  # "2026-05"
    network_id: int
    network: str
    institution_id: int
    institution: str
    is_lead: bool
    grassroots: bool
    up_referrals: int = 0  # 上转 sent from the member (requested in the month)
    down_referrals: int = 0  # 下转 received by the member
    accepted: int = 0  # of those, accepted (any state past 申请 but 已拒绝)
    refused: int = 0
    answered: int = 0
    answer_minutes: int = 0  # summed time from request to answer
    reserved_places: int = 0  # 转诊预留号 kept at the (lead) institution on the month's days
    reserved_used: int = 0
    reserved_released: int = 0
    visits: int = 0  # outpatient visits (门急诊人次)
    grassroots_visits: int = 0  # of those, at grassroots institutions
    sitting_days: int = 0  # days an expert sat at the member (坐诊天数)
    sitting_patients: int = 0  # patients the experts saw there (门诊量)
    readings: int = 0  # the member's studies reported back by the reading centre
    reading_minutes: int = 0  # summed turnaround (queued → report back)

    @property
    def acceptance_hours(self) -> float | None:
        return round(self.answer_minutes / self.answered / 60, 1) if self.answered else None

    @property
    def reserve_use_rate(self) -> float | None:
        return round(self.reserved_used / self.reserved_places, 4) if self.reserved_places else None

    @property
    def grassroots_share(self) -> float | None:
        return round(self.grassroots_visits / self.visits, 4) if self.visits else None

    @property
    def reading_hours(self) -> float | None:
        return round(self.reading_minutes / self.readings / 60, 1) if self.readings else None


COUNTS = tuple(
    f.name for f in fields(IndicatorRow) if f.type == "int" and f.name not in ("network_id", "institution_id")
)


def months(start: date, end: date) -> list[str]:
    """The months "YYYY-MM" from ``start`` to ``end``."""
    out, y, m = [], start.year, start.month
    while (y, m) <= (end.year, end.month):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def add(row: IndicatorRow, **counts: int) -> IndicatorRow:
    """The row with ``counts`` added."""
    return replace(row, **{k: getattr(row, k) + v for k, v in counts.items()})


def totals(rows: list[IndicatorRow]) -> list[IndicatorRow]:
    """The alliance's month totals (institution 0, ``TOTAL``), by network and month."""
    acc: dict[tuple[int, str], IndicatorRow] = {}
    for r in rows:
        key = (r.network_id, r.month)
        base = acc.get(key) or IndicatorRow(r.month, r.network_id, r.network, 0, TOTAL, False, False)
        acc[key] = add(base, **{k: getattr(r, k) for k in COUNTS})
    return [acc[k] for k in sorted(acc)]


def totals_by_member(rows: list[IndicatorRow]) -> list[IndicatorRow]:
    """Each member over the whole period (month "全期"), in the order first seen."""
    acc: dict[tuple[int, int], IndicatorRow] = {}
    for r in rows:
        key = (r.network_id, r.institution_id)
        base = acc.get(key) or IndicatorRow(
            "全期", r.network_id, r.network, r.institution_id, r.institution, r.is_lead, r.grassroots
        )
        acc[key] = add(base, **{k: getattr(r, k) for k in COUNTS})
    return list(acc.values())


def period_total(rows: list[IndicatorRow], network_id: int, network: str) -> IndicatorRow:
    """The alliance over the whole period."""
    base = IndicatorRow("全期", network_id, network, 0, TOTAL, False, False)
    for r in rows:
        base = add(base, **{k: getattr(r, k) for k in COUNTS})
    return base


HEADERS = (
    "月份",
    "医联体",
    "机构",
    "上转",
    "下转",
    "已接收",
    "已拒绝",
    "平均接收用时（小时）",
    "转诊预留号",
    "预留号使用",
    "预留号使用率",
    "门急诊人次",
    "基层人次",
    "基层就诊率",
    "坐诊天数",
    "坐诊门诊量",
    "阅片报告",
    "平均阅片周转（小时）",
)
PERCENT_COLUMNS = (11, 14)


def cells(r: IndicatorRow) -> list[object]:
    return [
        r.month,
        r.network,
        r.institution,
        r.up_referrals,
        r.down_referrals,
        r.accepted,
        r.refused,
        r.acceptance_hours,
        r.reserved_places,
        r.reserved_used,
        r.reserve_use_rate,
        r.visits,
        r.grassroots_visits,
        r.grassroots_share,
        r.sitting_days,
        r.sitting_patients,
        r.readings,
        r.reading_hours,
    ]


def to_xlsx(title: str, month_totals: list[IndicatorRow], rows: list[IndicatorRow]) -> bytes:
    """The indicators as an Excel workbook: the alliance by month, then each member by month."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "医联体按月"
    for sheet, data in ((ws, month_totals), (wb.create_sheet("成员机构按月"), rows)):
        sheet.append([title])
        sheet.append(list(HEADERS))
        for r in data:
            sheet.append(cells(r))
            for col in PERCENT_COLUMNS:
                sheet.cell(row=sheet.max_row, column=col).number_format = "0.0%"
        sheet.column_dimensions["B"].width = 22
        sheet.column_dimensions["C"].width = 24
    out = BytesIO()
    wb.save(out)
    return out.getvalue()
