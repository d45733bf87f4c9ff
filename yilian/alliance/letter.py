"""The printed referral letter (转诊单, A4 portrait): the two institutions, the patient, the diagnosis,
the reason, the summary, a down-referral's care plan and follow-up dates, the patient's results
attached from the results registry, the appointment and the referral's history. fpdf2 with the Noto
CJK font the outpatient record uses."""

from __future__ import annotations

from dataclasses import dataclass, field

from fpdf import FPDF, FontFace

from yilian.outpatient.record_pdf import cjk_font


@dataclass(frozen=True)
class AttachedResult:
    """One result attached to the letter (from the results registry)."""

    day: str
    institution: str
    item: str
    value: str  # "7.8 mmol/L ↑" or an imaging report's conclusion
    status: str


@dataclass(frozen=True)
class Letter:
    """What the printed referral letter shows."""

    number: int
    title: str  # 双向转诊（上转）单
    network: str
    kind: str
    state: str
    from_institution: str
    from_doctor: str
    to_institution: str
    to_department: str
    patient: str
    sex: str
    age: int
    id_number: str  # masked
    phone: str
    diagnosis: str
    reason: str
    summary: str
    care_plan: str
    follow_up: str
    appointment: str
    requested: str
    results: list[AttachedResult] = field(default_factory=list)
    history: list[tuple[str, str, str, str]] = field(default_factory=list)  # (time, state, by, note)


def render(letter: Letter) -> bytes:
    """The A4 PDF of a referral letter."""
    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    path, index = cjk_font()
    pdf.add_font("cjk", "", path, collection_font_number=index)
    pdf.set_margins(16, 14, 16)
    pdf.set_auto_page_break(True, margin=14)
    pdf.add_page()
    width = pdf.epw
    pdf.set_font("cjk", size=15)
    pdf.cell(width, 9, letter.network, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=13)
    pdf.cell(width, 8, letter.title, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=9)
    pdf.cell(
        width,
        6,
        f"转诊单号：{letter.number}    类别：{letter.kind}    状态：{letter.state}    "
        f"申请时间：{letter.requested}",
        align="C",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + width, pdf.get_y())
    pdf.ln(2)
    _para(pdf, "转出机构", f"{letter.from_institution}    转诊医生：{letter.from_doctor or '—'}")
    _para(pdf, "接收机构", f"{letter.to_institution}    接收科室：{letter.to_department or '—'}")
    _para(
        pdf,
        "患者",
        f"{letter.patient}    性别：{letter.sex}    年龄：{letter.age}岁    "
        f"身份证号：{letter.id_number}    电话：{letter.phone or '—'}",
    )
    pdf.ln(1)
    _para(pdf, "初步诊断", letter.diagnosis)
    _para(pdf, "转诊原因", letter.reason)
    _para(pdf, "病情摘要", letter.summary or "—")
    if letter.care_plan:
        _para(pdf, "康复/随访方案", letter.care_plan)
        _para(pdf, "随访日期", letter.follow_up or "—")
    if letter.appointment:
        _para(pdf, "预约就诊", letter.appointment)
    _results(pdf, letter.results)
    _history(pdf, letter.history)
    pdf.ln(4)
    pdf.set_font("cjk", size=9)
    pdf.cell(
        width, 6, f"转诊医生（签名）：{letter.from_doctor or '________'}      日期：{letter.requested[:10]}"
    )
    return bytes(pdf.output())


def _para(pdf: FPDF, label: str, text: str) -> None:
    pdf.set_font("cjk", size=10)
    pdf.multi_cell(pdf.epw, 6, f"{label}：{text}", align="L", new_x="LMARGIN", new_y="NEXT")


def _heading(pdf: FPDF, text: str) -> None:
    pdf.ln(2)
    pdf.set_font("cjk", size=11)
    pdf.cell(pdf.epw, 7, text, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=8.5)


def _results(pdf: FPDF, rows: list[AttachedResult]) -> None:
    _heading(pdf, f"附：检查检验结果（来自区域检查检验结果库，{len(rows)} 项）")
    if not rows:
        pdf.cell(pdf.epw, 6, "无近期检查检验结果", new_x="LMARGIN", new_y="NEXT")
        return
    head = FontFace(fill_color=(236, 239, 241))
    with pdf.table(col_widths=(20, 38, 40, 64, 16), headings_style=head, line_height=5) as table:
        table.row(["日期", "机构", "项目", "结果", "状态"])
        for r in rows:
            table.row([r.day, r.institution, r.item, r.value, r.status])


def _history(pdf: FPDF, rows: list[tuple[str, str, str, str]]) -> None:
    if not rows:
        return
    _heading(pdf, "转诊经过")
    head = FontFace(fill_color=(236, 239, 241))
    with pdf.table(col_widths=(30, 18, 30, 100), headings_style=head, line_height=5) as table:
        table.row(["时间", "状态", "经办人", "说明"])
        for row in rows:
            table.row(list(row))
