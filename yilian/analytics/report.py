"""The monthly report (月度运行报表) in the seeds' manner: headline figures, a table per topic with the
same month last year and the change (同比), and charts (the last twelve months of visits; institutions
ranked by visits) — as PDF (fpdf2 with the Noto CJK font the outpatient record uses) and Excel."""

from __future__ import annotations

from dataclasses import dataclass
from io import BytesIO

from fpdf import FPDF, FontFace
from sqlalchemy.orm import Session

from yilian.analytics import domain, service
from yilian.analytics import repository as repo
from yilian.analytics.domain import HEADLINE, TOPICS, Month
from yilian.analytics.models import Report
from yilian.kit.auth.domain import Actor
from yilian.kit.clock import utcnow
from yilian.outpatient.record_pdf import cjk_font
from yilian.registry import service as registry

FORMATS = ("pdf", "xlsx")


@dataclass(frozen=True)
class MonthlyReport:
    month: Month
    scope: str  # the city or the institution's name
    figures: list[service.Figure]
    trend: list[tuple[Month, float | int | None, float | int | None]]
    ranking: list[service.Row]  # institutions (city) or departments (an institution) by visits

    @property
    def title(self) -> str:
        return f"{self.scope} {self.month.label} 医疗服务运行月报"


def build(session: Session, actor: Actor, month: Month, institution_id: int | None) -> MonthlyReport:
    scope = "全市医联体" if institution_id is None else registry.get_institution(session, institution_id).name
    return MonthlyReport(
        month=month,
        scope=scope,
        figures=service.figures(session, actor, month, month, institution_id=institution_id),
        trend=service.trend(session, actor, "visits", month.shift(-11), month, institution_id=institution_id),
        ranking=service.breakdown(session, actor, "visits", month, month, institution_id=institution_id),
    )


def _change(f: service.Figure) -> str:
    c = f.change
    return "—" if c is None else f"{c:+.1f}%"


# ---------------------------------------------------------------- PDF


def _bars(
    pdf: FPDF, title: str, labels: list[str], values: list[float], x: float, y: float, w: float
) -> None:
    """A bar chart drawn with rectangles (no plotting library in the PDF)."""
    h = 50.0
    pdf.set_font("cjk", size=10)
    pdf.set_xy(x, y)
    pdf.cell(w, 6, title)
    top = max(values, default=0) or 1
    n = max(len(values), 1)
    step = w / n
    base = y + 8 + h
    pdf.set_draw_color(180, 180, 180)
    pdf.line(x, base, x + w, base)
    pdf.set_font("cjk", size=6)
    for i, (label, v) in enumerate(zip(labels, values, strict=True)):
        bh = h * v / top
        pdf.set_fill_color(25, 118, 210)
        pdf.rect(x + i * step + step * 0.15, base - bh, step * 0.7, bh, style="F")
        pdf.set_xy(x + i * step, base + 1)
        pdf.cell(step, 3, label[:6], align="C")
        pdf.set_xy(x + i * step, base - bh - 4)
        pdf.cell(step, 3, f"{v:,.0f}", align="C")


def pdf_bytes(r: MonthlyReport) -> bytes:
    path, index = cjk_font()
    pdf = FPDF(format="A4")
    pdf.add_font("cjk", fname=path, collection_font_number=index)
    pdf.set_auto_page_break(True, margin=12)
    pdf.add_page()
    pdf.set_font("cjk", size=16)
    pdf.cell(0, 10, r.title, new_x="LMARGIN", new_y="NEXT", align="C")
    pdf.set_font("cjk", size=9)
    pdf.cell(
        0,
        6,
        f"统计口径：{r.month.label}，同比为上年同月；生成于 {utcnow():%Y-%m-%d}",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    by_code = {f.indicator.code: f for f in r.figures}
    pdf.ln(2)
    pdf.set_font("cjk", size=11)
    pdf.cell(0, 7, "一、主要指标", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=9)
    heads = [by_code[c] for c in HEADLINE if c in by_code]
    top_y = pdf.get_y()
    for i, f in enumerate(heads):
        x = 10 + (i % 3) * 63
        y = top_y + (i // 3) * 16
        pdf.set_xy(x, y)
        pdf.set_fill_color(240, 244, 250)
        pdf.rect(x, y, 60, 14, style="F")
        pdf.set_xy(x + 2, y + 1)
        pdf.cell(56, 5, f.indicator.name)
        pdf.set_xy(x + 2, y + 7)
        pdf.cell(56, 6, f"{f.text}（同比 {_change(f)}）")
    pdf.set_xy(10, top_y + ((len(heads) + 2) // 3) * 16 + 2)
    for n, topic in enumerate(TOPICS, start=2):
        rows = [f for f in r.figures if f.indicator.topic == topic]
        if not rows:
            continue
        pdf.set_font("cjk", size=11)
        pdf.cell(0, 7, f"{'一二三四五六七八'[n - 1]}、{topic}", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("cjk", size=8)
        with pdf.table(
            col_widths=(60, 45, 45, 25),
            text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT"),
            headings_style=FontFace(emphasis="", fill_color=(230, 236, 245)),
        ) as table:
            table.row(["指标", "本月", "上年同月", "同比"])
            for f in rows:
                table.row([f.indicator.name, f.text, f.before_text, _change(f)])
        pdf.ln(2)
    pdf.add_page()
    pdf.set_font("cjk", size=11)
    pdf.cell(0, 7, "图表", new_x="LMARGIN", new_y="NEXT")
    _bars(
        pdf,
        "近十二个月门急诊人次",
        [f"{m.month}月" for m, _v, _b in r.trend],
        [float(v or 0) for _m, v, _b in r.trend],
        10,
        pdf.get_y() + 2,
        190,
    )
    top = r.ranking[:12]
    _bars(
        pdf,
        "门急诊人次排名（机构）" if "全市" in r.scope else "门急诊人次排名（科室）",
        [row.label for row in top],
        [float(row.value or 0) for row in top],
        10,
        pdf.get_y() + 75,
        190,
    )
    return bytes(pdf.output())


# ---------------------------------------------------------------- Excel


def xlsx_bytes(r: MonthlyReport) -> bytes:
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, Reference
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "主要指标"
    ws.append([r.title])
    ws["A1"].font = Font(bold=True, size=14)
    ws.append(["专题", "指标", "本月", "上年同月", "同比（%）", "单位"])
    for f in r.figures:
        ws.append(
            [f.indicator.topic, f.indicator.name, _cell(f, f.value), _cell(f, f.before), f.change, _unit(f)]
        )
    for col, width in zip("ABCDEF", (12, 28, 16, 16, 12, 8), strict=True):
        ws.column_dimensions[col].width = width
    trend = wb.create_sheet("月度趋势")
    trend.append(["月份", "门急诊人次", "上年同月"])
    for m, v, b in r.trend:
        trend.append([str(m), v or 0, b or 0])
    chart = BarChart()
    chart.title = "近十二个月门急诊人次"
    chart.add_data(
        Reference(trend, min_col=2, max_col=3, min_row=1, max_row=len(r.trend) + 1), titles_from_data=True
    )
    chart.set_categories(Reference(trend, min_col=1, min_row=2, max_row=len(r.trend) + 1))
    trend.add_chart(chart, "E2")
    rank = wb.create_sheet("排名")
    rank.append(["单位", "门急诊人次"])
    for row in r.ranking:
        rank.append([row.label, row.value])
    out = BytesIO()
    wb.save(out)
    return out.getvalue()


def _cell(f: service.Figure, v: float | int | None) -> float | int | str | None:
    if v is None:
        return None if f.indicator.available else "暂未接入"
    if f.indicator.unit is domain.Unit.FEN:
        return round(v / 100, 2)
    return v


def _unit(f: service.Figure) -> str:
    return f.indicator.unit.value


# ---------------------------------------------------------------- generate and keep


def render(
    session: Session, actor: Actor, month: Month, institution_id: int | None, fmt: str
) -> tuple[str, bytes]:
    """The report's file name and bytes."""
    if fmt not in FORMATS:
        from yilian.analytics.errors import InvalidPeriod

        raise InvalidPeriod("格式应为 pdf 或 xlsx")
    r = build(session, actor, month, institution_id)
    data = pdf_bytes(r) if fmt == "pdf" else xlsx_bytes(r)
    code = "city" if institution_id is None else registry.get_institution(session, institution_id).code
    return f"analytics-{month}-{code}.{fmt}", data


def store(session: Session, actor: Actor, month: Month, institution_id: int | None, fmt: str) -> Report:
    """Generate and keep (replace) the month's report (the job of the 1st)."""
    name, data = render(session, actor, month, institution_id, fmt)
    row = repo.find_report(session, month.first, institution_id or 0, fmt)
    if row is None:
        row = Report(month=month.first, institution_id=institution_id or 0, format=fmt)
        session.add(row)
    row.filename, row.content, row.created_at = name, data, utcnow()
    session.flush()
    return row
