"""Demo DRG data: the CHS-DRG 1.1 scheme shipped with yilian (or ``$YILIAN_DRG_SCHEME_DIR``), a
synthetic policy file (not published weights) and a month of synthetic discharge records for the demo
hospitals."""

from __future__ import annotations

import math
import os
import random
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from yilian.drg import importer, service
from yilian.drg.domain import Grouper, GroupStatus, make_record
from yilian.kit.auth.domain import Actor
from yilian.registry import service as registry

SCHEME = importer.PACKAGED_VERSION
#: department name keyword → MDCs its patients mostly fall in
KEYWORDS = (
    ("心", "F"),
    ("神经", "B"),
    ("消化", "G"),
    ("呼吸", "E"),
    ("骨", "I"),
    ("泌尿", "LM"),
    ("肾", "L"),
    ("妇", "N"),
    ("产", "O"),
    ("儿", "EG"),
    ("新生", "P"),
    ("乳腺", "J"),
    ("胸外", "E"),
    ("肿瘤", "RE"),
    ("放射治疗", "R"),
    ("眼", "C"),
    ("耳鼻", "D"),
    ("内分泌", "K"),
    ("普外", "GH"),
    ("外科", "GHI"),
    ("内科", "EFGK"),
    ("皮肤", "J"),
    ("血液", "QR"),
    ("感染", "S"),
    ("精神", "T"),
    ("急诊", "VEF"),
)
SKIP = ("检验", "影像", "药", "收费", "挂号", "病理", "超声", "全科", "预防", "公卫", "康复")


def scheme_dir() -> Any:
    """``$YILIAN_DRG_SCHEME_DIR`` if set, else the tables shipped in the package."""
    env = os.environ.get("YILIAN_DRG_SCHEME_DIR")
    if env:
        return Path(env)
    return importer.packaged_dir()


def _templates(g: Grouper, mdc_dx: dict[str, list[str]]) -> dict[str, list[tuple[str, tuple[str, ...]]]]:
    """Per MDC letter, (principal diagnosis, procedures) pairs drawn from the ADRG conditions that do
    group to the ADRG they were drawn from (no demo case is a coding accident: 0000 or QY)."""
    adrgs = g.scheme.adrgs
    rnd = random.Random(11)
    out: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
    for a in adrgs:
        letter = a.mdc[-1]
        if letter in "AYZP" or not a.conditions:
            continue
        c = a.conditions[0]
        pool = mdc_dx.get(a.mdc) or []
        if c.principal_dx:
            dxs = sorted(c.principal_dx)
        elif pool:
            dxs = pool
        else:
            continue
        if c.all_procedures:
            procs: tuple[str, ...] = tuple(rnd.choice(sorted(t)) for t in c.all_procedures)
        elif c.principal_procedure:
            procs = (rnd.choice(sorted(c.principal_procedure)),)
        else:
            procs = ()
        if c.any_or_procedure or c.no_procedure or c.any_dx:
            continue
        sex = 2 if letter in "NO" else 1
        for _ in range(3):
            pdx = rnd.choice(dxs)
            res = g.group(make_record(principal_dx=pdx, procedures=procs, sex=sex, age_years=30))
            if res.status == GroupStatus.GROUPED and res.adrg == a.code:
                out.setdefault(letter, []).append((pdx, procs))
    return out


def seed(session: Session, *, seed_value: int, scale: float) -> str:
    directory = scheme_dir()
    try:
        texts = importer.read_texts(directory)
    except FileNotFoundError:
        return f"drg: CHS-DRG tables not found at {directory}; scheme import skipped"
    if service.get_scheme_or_none(session, SCHEME) is None:
        service.import_scheme(session, SCHEME, texts, name=importer.PACKAGED_NAME)
    service.import_policy(session, SCHEME, service.synthetic_policy_csv(session, SCHEME, seed=seed_value))
    g = service.grouper(session, SCHEME)
    mdc_dx = {m.code: sorted(m.principal_dx) for m in g.scheme.mdcs}
    templates = _templates(g, mdc_dx)
    cc_codes = sorted(g.scheme.cc)[:4000:7]
    mcc_codes = sorted(g.scheme.mcc)[::11]
    insts, _ = registry.list_institutions(session, limit=100)
    rnd = random.Random(seed_value)
    rows: list[dict[str, str]] = []
    n_total = max(60, int(3000 * scale))
    depts: list[tuple[str, str, str]] = []  # (institution short name, department, MDC letters)
    for inst in insts:
        if inst.level < 2:
            continue
        found, _ = registry.list_departments(session, institution_id=inst.id)
        for d in found:
            if any(s in d.name for s in SKIP):
                continue
            letters = next((v for k, v in KEYWORDS if k in d.name), "")
            if letters:
                depts.append((inst.short_name or inst.name, d.name, letters))
    if not depts:
        return "drg: scheme imported; no hospital departments for discharge records"
    start = date(2026, 4, 1)
    bias = {name: rnd.uniform(0.8, 1.3) for _, name, _ in depts}
    for i in range(n_total):
        inst_name, dept, letters = depts[i % len(depts)]
        letter = rnd.choice(letters)
        pdx, procs = rnd.choice(templates.get(letter) or templates["E"])
        other = []
        if rnd.random() < 0.35:
            other.append(rnd.choice(cc_codes))
        if rnd.random() < 0.12:
            other.append(rnd.choice(mcc_codes))
        los = max(1, int(rnd.lognormvariate(math.log(7 * bias[dept]), 0.45)))
        adm = start + timedelta(days=rnd.randint(0, 29))
        base_cost = 14000 * (2.5 if procs else 1.0) * bias[dept]
        cost = max(300.0, rnd.lognormvariate(math.log(base_cost), 0.5))
        sex = "2" if letter in "NO" else ("1" if letter == "M" else rnd.choice("12"))
        rows.append(
            {
                "record_no": f"B{seed_value % 100:02d}{i:06d}",
                "department": f"{inst_name}/{dept}",
                "doctor": f"{dept[:2]}医师{rnd.randint(1, 4)}",
                "sex": sex,
                "age_years": str(rnd.randint(18, 88) if letter not in "O" else rnd.randint(20, 40)),
                "admission_date": adm.isoformat(),
                "discharge_date": (adm + timedelta(days=los)).isoformat(),
                "disposition": "1",
                "diagnoses": "|".join([pdx, *other]),
                "procedures": "|".join(procs),
                "total_cost": f"{cost:.2f}",
            }
        )
    batch = service.upload_batch(
        session, Actor.system("demo"), SCHEME, rows, name="2026年4月出院病案（演示）"
    )
    return (
        f"drg: scheme {SCHEME} with synthetic weights; {batch.rows} discharges "
        f"({batch.grouped} grouped, {batch.ambiguous} QY, {batch.ungroupable} 0000)"
    )
