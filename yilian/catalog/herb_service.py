"""Use cases of the herbal slice catalogue (中药饮片): load the shipped demo catalogue (each herb also a
priced catalogue item per gram, plus the decoction and 膏方 processing fees), look herbs up, review a
set of herb lines against the rules of ``herb_domain``."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from importlib import resources

from sqlalchemy.orm import Session

from yilian.catalog import herb_repository as repo
from yilian.catalog import service as catalog
from yilian.catalog.errors import UnknownHerb
from yilian.catalog.herb_domain import Finding, Herb, RxHerb, herbs_from_rows, review
from yilian.catalog.herb_models import HerbRow

DECOCTION_FEE = "481000001000000"  # 代煎费, per dose (剂)
PASTE_FEE = "481000002000000"  # 膏方加工费, per 料
FEES = (
    (DECOCTION_FEE, "treatment", "中药代煎费", "剂", "3.00", "乙"),
    (PASTE_FEE, "treatment", "膏方加工费", "料", "300.00", "丙"),
)


def demo_rows() -> list[dict[str, object]]:
    text = (resources.files("yilian.catalog") / "data" / "demo_herbs.json").read_text(encoding="utf-8")
    rows: list[dict[str, object]] = json.loads(text)
    return rows


def import_herbs(session: Session, rows: Iterable[Mapping[str, object]]) -> int:
    """Upsert herbs (by code) and their priced catalogue items; returns how many."""
    herbs = herbs_from_rows(rows)
    existing = repo.herbs_with_codes(session, [h.code for h in herbs])
    for herb in herbs:
        values = {
            "name": herb.name,
            "price_fen": herb.price_fen,
            "usual_min_g": herb.usual_min_g,
            "usual_max_g": herb.usual_max_g,
            "max_g": herb.max_g,
            "toxic": herb.toxic,
            "pregnancy": herb.pregnancy.value,
            "handling": herb.handling.value,
            "is_active": True,
        }
        row = existing.get(herb.code)
        if row is None:
            session.add(HerbRow(code=herb.code, **values))
        else:
            for key, value in values.items():
                setattr(row, key, value)
    lines = ["code,kind,name,spec,unit,price_yuan,insurance_class"]
    lines += [f"{h.code},drug,{h.name},饮片,g,{h.price_fen / 100:.2f},乙" for h in herbs]
    lines += [
        ",".join((code, kind, name, "", unit, price, cls)) for code, kind, name, unit, price, cls in FEES
    ]
    report = catalog.import_items(session, "\n".join(lines) + "\n")
    if report.rejected:
        raise UnknownHerb("；".join(f"{x.code}: {x.reason}" for x in report.rejected))
    session.flush()
    return len(herbs)


def load_demo(session: Session) -> int:
    return import_herbs(session, demo_rows())


def _herb(row: HerbRow) -> Herb:
    return herbs_from_rows([{c: getattr(row, c) for c in Herb.__dataclass_fields__ if c != "unit"}])[0]


def list_herbs(session: Session) -> list[Herb]:
    return [_herb(r) for r in repo.active_herbs(session)]


def herbs_by_code(session: Session, codes: Sequence[str]) -> dict[str, Herb]:
    """The herbs of ``codes``; an unknown or inactive code raises ``UnknownHerb``."""
    wanted = list(dict.fromkeys(codes))
    found = {r.code: _herb(r) for r in repo.active_herbs_with_codes(session, wanted)}
    missing = [c for c in wanted if c not in found]
    if missing:
        raise UnknownHerb(f"饮片目录中没有：{'、'.join(missing)}")
    return found


def review_lines(session: Session, lines: Sequence[tuple[str, int]], *, pregnant: bool) -> list[Finding]:
    """The review findings of herb lines given as (code, grams per dose)."""
    herbs = herbs_by_code(session, [code for code, _ in lines])
    return review([RxHerb(herbs[code], grams) for code, grams in lines], pregnant=pregnant)
