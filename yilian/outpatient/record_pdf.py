"""The patient's printed outpatient record (门诊病历, A5 portrait): the record's fields, diagnoses,
allergies and prescriptions with how to take them, rendered with fpdf2 and a Noto CJK font
(Debian ``fonts-noto-cjk``) or the font named by ``YILIAN_CJK_FONT``."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from fpdf import FPDF

from yilian.kit.errors import YilianError
from yilian.outpatient.domain import OrderStatus
from yilian.outpatient.record_schemas import RECORD_LABELS, PrescriptionRead

# (path, index in a font collection); Noto Sans CJK's collection holds JP, KR, SC, TC, HK in this order
FONT_CANDIDATES: tuple[tuple[str, int], ...] = (
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", 2),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf", 0),
)


class FontMissing(YilianError):
    status = 503
    code = "cjk_font_missing"
    title = "服务器缺少中文字体，无法生成 PDF"


def cjk_font() -> tuple[str, int]:
    """The CJK font to print with: ``YILIAN_CJK_FONT`` (path[:index]) or the first installed candidate."""
    wanted = os.environ.get("YILIAN_CJK_FONT", "")
    if wanted:
        path, _, number = wanted.partition(":")
        return path, int(number or 0)
    for path, index in FONT_CANDIDATES:
        if Path(path).exists():
            return path, index
    raise FontMissing("请安装 fonts-noto-cjk，或以 YILIAN_CJK_FONT 指定字体文件")


@dataclass(frozen=True)
class PrintedRecord:
    """What the printed record shows."""

    institution: str
    department: str
    patient: str
    sex: str
    age: int
    visit_date: str
    fields: dict[str, str]
    diagnoses: list[str]
    allergies: list[str]
    prescriptions: list[PrescriptionRead]
    doctor: str
    signed: str
    version: int


def render(r: PrintedRecord) -> bytes:
    """The A5 PDF of a record."""
    pdf = FPDF(orientation="portrait", unit="mm", format=(148, 210))  # A5
    path, index = cjk_font()
    pdf.add_font("cjk", "", path, collection_font_number=index)
    pdf.set_margins(12, 12, 12)
    pdf.set_auto_page_break(True, margin=12)
    pdf.add_page()
    width = pdf.epw
    pdf.set_font("cjk", size=14)
    pdf.cell(width, 8, r.institution, align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=12)
    pdf.cell(width, 7, "门 诊 病 历", align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=9)
    pdf.cell(
        width,
        6,
        f"姓名：{r.patient}   性别：{r.sex}   年龄：{r.age}岁   科室：{r.department}   日期：{r.visit_date}",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + width, pdf.get_y())
    pdf.ln(2)
    allergy = "、".join(r.allergies) if r.allergies else "无"
    _para(pdf, "过敏史", allergy)
    for key, label in RECORD_LABELS.items():
        if key == "advice":
            continue
        _para(pdf, label, r.fields.get(key, "") or "—")
    _para(pdf, "诊断", "；".join(f"{i}. {d}" for i, d in enumerate(r.diagnoses, 1)) or "—")
    _para(pdf, RECORD_LABELS["advice"], r.fields.get("advice", "") or "—")
    for p in r.prescriptions:
        lines = [x for x in p.lines if x.order_status != OrderStatus.CANCELLED]
        if not lines:
            continue
        _para(pdf, p.kind_label, "")
        for x in lines:
            pdf.multi_cell(
                width,
                5,
                f"  {x.name} ×{x.quantity}{x.unit}：{x.instructions}",
                align="L",
                new_x="LMARGIN",
                new_y="NEXT",
            )
    pdf.ln(4)
    pdf.cell(width, 6, f"医师：{r.doctor}    签名时间：{r.signed}    版本：{r.version}", align="R")
    return bytes(pdf.output())


def _para(pdf: FPDF, label: str, text: str) -> None:
    pdf.set_font("cjk", size=10)
    pdf.multi_cell(pdf.epw, 5.5, f"{label}：{text}", align="L", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("cjk", size=9)
