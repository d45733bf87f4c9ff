"""Indicators of the shared TCM pharmacy (共享中药房指标): prescriptions per day and clinic, review returns
by rule, on-time delivery and turnaround, rework and scrap rates, machine utilisation — per prescribing
institution and month, with an Excel export.

Definitions (docs/tcm-pharmacy.md): a prescription counts in the month it was written; *on time* = signed
(已签收) no later than its promised time (24 h after approval by default); *turnaround* = approval →
signed, mean hours of the signed ones; *rework rate* = decocted prescriptions reworked at least once
over decocted ones; *scrap rate* = scrapped over written; *utilisation* = a machine's decocting time
(上机 → 煎药完成 or QC rework) over its shift hours in the range (``SHIFT_HOURS`` a day)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from io import BytesIO

from sqlalchemy.orm import Session

from yilian.kit.auth.domain import Actor, Permission, require_staff_permission
from yilian.kit.clock import BUSINESS_TZ, local_datetime
from yilian.kit.errors import InvalidInput
from yilian.outpatient import herbal_service as herbal
from yilian.outpatient.herbal_domain import HerbalState
from yilian.pharmacy import decoction_repository as repo
from yilian.pharmacy.decoction_models import DecoctionStep
from yilian.pharmacy.service import reviewed_institutions
from yilian.registry import service as registry

S = HerbalState
SHIFT_HOURS = 8  # a decoction machine's working hours a day (one day shift)
MAX_DAYS = 366
TOTAL = "合计"
OTHER_RULE = "其他原因"


@dataclass
class IndicatorRow:
    institution: str  # the prescribing clinic, or 合计
    month: str  # YYYY-MM, or 合计
    prescriptions: int = 0
    returned: int = 0  # returned to the doctor at least once
    decocted: int = 0
    reworked: int = 0
    scrapped: int = 0
    delivered: int = 0  # signed
    on_time: int = 0
    turnaround_hours: list[float] = field(default_factory=list)

    @property
    def return_rate(self) -> float | None:
        return self.returned / self.prescriptions if self.prescriptions else None

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.delivered if self.delivered else None

    @property
    def rework_rate(self) -> float | None:
        return self.reworked / self.decocted if self.decocted else None

    @property
    def scrap_rate(self) -> float | None:
        return self.scrapped / self.prescriptions if self.prescriptions else None

    @property
    def mean_turnaround_hours(self) -> float | None:
        return sum(self.turnaround_hours) / len(self.turnaround_hours) if self.turnaround_hours else None


@dataclass(frozen=True)
class MachineUse:
    code: str
    name: str
    busy_hours: float
    shift_hours: float

    @property
    def utilisation(self) -> float:
        return self.busy_hours / self.shift_hours if self.shift_hours else 0.0


@dataclass(frozen=True)
class Indicators:
    start: date
    end: date
    rows: list[IndicatorRow]  # per clinic and month, then a 合计 row per month, then the grand total
    daily: list[tuple[date, str, int]]  # day, clinic, prescriptions written
    returns_by_rule: list[tuple[str, int]]  # rule, returns citing it (most first)
    machines: list[MachineUse]


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _local_day(at: datetime) -> date:
    return _aware(at).astimezone(BUSINESS_TZ).date()


def _busy_hours(steps: Iterable[DecoctionStep], start: datetime, end: datetime) -> dict[str, float]:
    """Decocting time per machine code, clipped to [start, end): from each 上机 (to 煎药中) to the next
    step that leaves 煎药中 for the same prescription."""
    busy: dict[str, float] = defaultdict(float)
    open_at: dict[int, tuple[str, datetime]] = {}
    for st in sorted(steps, key=lambda x: (_aware(x.at), x.id)):
        at = _aware(st.at)
        if st.to_state == S.DECOCTING.value and st.from_state != S.DECOCTING.value:
            open_at[st.prescription_id] = (st.machine_code, at)
        elif st.from_state == S.DECOCTING.value and st.to_state != S.DECOCTING.value:
            began = open_at.pop(st.prescription_id, None)
            if began is not None and began[0]:
                lo, hi = max(began[1], start), min(at, end)
                if hi > lo:
                    busy[began[0]] += (hi - lo).total_seconds() / 3600
    return busy


def indicators(session: Session, actor: Actor, start: date, end: date) -> Indicators:
    """The pharmacy's indicators for the prescriptions written from ``start`` to ``end`` (inclusive)."""
    institution_id = require_staff_permission(actor, Permission.PRESCRIPTION_REVIEW)
    if end < start:
        raise InvalidInput("结束日期不能早于开始日期")
    if (end - start).days >= MAX_DAYS:
        raise InvalidInput(f"统计区间最长 {MAX_DAYS} 天")
    lo, hi = local_datetime(start, time(0)), local_datetime(end + timedelta(days=1), time(0))
    clinics = reviewed_institutions(session, institution_id)
    rxs = herbal.find_written_between(session, clinics, lo, hi)
    ids = [p.id for p in rxs]
    steps = repo.steps_of_prescriptions(session, ids)
    runs = repo.runs_of(session, ids)
    by_rx: dict[int, list[DecoctionStep]] = defaultdict(list)
    for st in steps:
        by_rx[st.prescription_id].append(st)
    names = {i: registry.get_institution(session, i).name for i in {p.institution_id for p in rxs}}
    rows: dict[tuple[str, str], IndicatorRow] = {}
    daily: Counter[tuple[date, str]] = Counter()
    rules: Counter[str] = Counter()
    for p in rxs:
        day = _local_day(p.created_at)
        clinic = names[p.institution_id]
        daily[(day, clinic)] += 1
        mine = by_rx[p.id]
        returns = [st for st in mine if st.to_state == S.RETURNED.value]
        for st in returns:
            for rule in st.detail.get("rules") or [OTHER_RULE]:
                rules[str(rule)] += 1
        signed = next((st for st in mine if st.to_state == S.SIGNED.value), None)
        run = runs.get(p.id)
        decocted = any(st.to_state == S.DECOCTING.value for st in mine)
        for key in ((clinic, f"{day:%Y-%m}"), (TOTAL, f"{day:%Y-%m}"), (TOTAL, TOTAL)):
            row = rows.setdefault(key, IndicatorRow(*key))
            row.prescriptions += 1
            row.returned += bool(returns)
            row.scrapped += p.status == S.SCRAPPED.value
            row.decocted += decocted
            row.reworked += decocted and run is not None and run.reworks > 0
            if signed is not None:
                row.delivered += 1
                row.on_time += p.promised_at is not None and _aware(signed.at) <= _aware(p.promised_at)
                if p.approved_at is not None:
                    row.turnaround_hours.append(
                        (_aware(signed.at) - _aware(p.approved_at)).total_seconds() / 3600
                    )
    ordered = sorted(
        rows.values(), key=lambda r: (r.month == TOTAL, r.month, r.institution == TOTAL, r.institution)
    )
    days = (end - start).days + 1
    fleet = repo.fleet(session, institution_id)
    # the steps from a day earlier too: a run begun the evening before
    on_machines = repo.steps_on_machines(session, [m.code for m in fleet], lo - timedelta(days=1), hi)
    busy = _busy_hours(on_machines, lo, hi)
    machines = [
        MachineUse(m.code, m.name, round(busy.get(m.code, 0.0), 2), float(days * SHIFT_HOURS)) for m in fleet
    ]
    return Indicators(
        start,
        end,
        ordered,
        sorted((d, c, n) for (d, c), n in daily.items()),
        sorted(rules.items(), key=lambda kv: (-kv[1], kv[0])),
        machines,
    )


KEYS = (
    "institution",
    "month",
    "prescriptions",
    "returned",
    "return_rate",
    "delivered",
    "on_time",
    "on_time_rate",
    "turnaround_hours",
    "decocted",
    "reworked",
    "rework_rate",
    "scrapped",
    "scrap_rate",
)
HEADERS = (
    "开方机构",
    "月份",
    "处方数",
    "审方退回",
    "退回率",
    "已签收",
    "准时送达",
    "准时率",
    "平均周转（小时）",
    "代煎数",
    "返工数",
    "返工率",
    "报废数",
    "报废率",
)


def row_cells(r: IndicatorRow) -> list[object]:
    def pct(v: float | None) -> object:
        return round(v, 4) if v is not None else ""

    turnaround = r.mean_turnaround_hours
    return [
        r.institution,
        r.month,
        r.prescriptions,
        r.returned,
        pct(r.return_rate),
        r.delivered,
        r.on_time,
        pct(r.on_time_rate),
        round(turnaround, 1) if turnaround is not None else "",
        r.decocted,
        r.reworked,
        pct(r.rework_rate),
        r.scrapped,
        pct(r.scrap_rate),
    ]


def to_xlsx(ind: Indicators) -> bytes:
    """The indicators as an Excel workbook: by clinic and month, per day, returns by rule, machines."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "按机构和月份"
    ws.append([f"共享中药房指标 {ind.start.isoformat()} 至 {ind.end.isoformat()}"])
    ws.append(list(HEADERS))
    for r in ind.rows:
        ws.append(row_cells(r))
        for col in (5, 8, 12, 14):
            ws.cell(row=ws.max_row, column=col).number_format = "0.0%"
    days = wb.create_sheet("每日处方量")
    days.append(["日期", "开方机构", "处方数"])
    for d, clinic, n in ind.daily:
        days.append([d.isoformat(), clinic, n])
    rules = wb.create_sheet("审方退回原因")
    rules.append(["规则", "退回次数"])
    for rule, n in ind.returns_by_rule:
        rules.append([rule, n])
    machines = wb.create_sheet("煎药机利用率")
    machines.append(["编号", "名称", "煎药时长（小时）", f"班次时长（每日 {SHIFT_HOURS} 小时）", "利用率"])
    for m in ind.machines:
        machines.append([m.code, m.name, m.busy_hours, m.shift_hours, round(m.utilisation, 4)])
        machines.cell(row=machines.max_row, column=5).number_format = "0.0%"
    out = BytesIO()
    wb.save(out)
    return out.getvalue()
