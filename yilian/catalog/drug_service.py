"""Use cases of drug knowledge (药品知识库): the facts of drugs for prescribing, review and dispensing,
the interaction pairs among ingredients, and the import of a knowledge file."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from yilian.catalog import drug_repository as drugs_repo
from yilian.catalog import repository as items_repo
from yilian.catalog.drug_domain import Controlled, DrugFacts, InteractionPair
from yilian.catalog.drug_models import DrugInteraction, DrugKnowledge
from yilian.catalog.errors import DrugKnowledgeMissing, InvalidCatalogRow
from yilian.catalog.models import CatalogItem
from yilian.kit.errors import found


def _facts(row: DrugKnowledge, item: CatalogItem) -> DrugFacts:
    return DrugFacts(
        item_code=row.item_code,
        name=item.name,
        form=row.form,
        strength=Decimal(row.strength),
        strength_unit=row.strength_unit,
        form_unit=row.form_unit,
        package_size=Decimal(row.package_size),
        package_unit=item.unit,
        ingredients=tuple(row.ingredients or ()),
        drug_class=row.drug_class,
        allergy_groups=tuple(row.allergy_groups or ()),
        max_single=row.max_single,
        max_daily=row.max_daily,
        absolute_max_single=row.absolute_max_single,
        max_daily_per_kg=row.max_daily_per_kg,
        min_age_years=row.min_age_years,
        frequencies=tuple(row.frequencies or ()),
        default_route=row.default_route,
        pregnancy=row.pregnancy,
        lactation=row.lactation,
        controlled=Controlled(row.controlled),
        controlled_release=row.controlled_release,
        usage_note=row.usage_note,
        default_dose=row.default_dose,
        default_frequency=row.default_frequency,
    )


def drug_facts(session: Session, codes: Sequence[str]) -> dict[str, DrugFacts]:
    """The facts of the drugs among ``codes`` that the knowledge base knows."""
    wanted = list(dict.fromkeys(codes))
    if not wanted:
        return {}
    rows = drugs_repo.knowledge_of(session, wanted)
    items = items_repo.items_by_code(session, [r.item_code for r in rows])
    return {r.item_code: _facts(r, items[r.item_code]) for r in rows if r.item_code in items}


def get_drug_facts(session: Session, code: str) -> DrugFacts:
    """The facts of one drug, or DrugKnowledgeMissing (a drug without knowledge cannot be prescribed)."""
    return found(
        drug_facts(session, [code]).get(code),
        DrugKnowledgeMissing(f"药品知识库中没有该药品（剂量、规格未维护）: {code}"),
    )


def interactions_among(session: Session, names: Iterable[str]) -> list[InteractionPair]:
    """The interaction pairs whose both sides are among ``names`` (ingredients and classes)."""
    wanted = sorted({n for n in names if n})
    if len(wanted) < 2:
        return []
    rows = drugs_repo.pairs_among(session, wanted)
    return [InteractionPair(r.a, r.b, r.severity, r.note) for r in rows]


def facts_names(facts: Iterable[DrugFacts]) -> set[str]:
    """Every ingredient and class of some drugs (what an interaction look-up needs)."""
    return {n for f in facts for n in (*f.ingredients, f.drug_class)}


def _decimal(value: Any) -> Decimal | None:
    return None if value in (None, "") else Decimal(str(value))


_KNOWLEDGE_FIELDS = {c.name for c in DrugKnowledge.__table__.columns}
_DECIMALS = {
    "strength",
    "package_size",
    "max_single",
    "max_daily",
    "absolute_max_single",
    "max_daily_per_kg",
    "default_dose",
}


def import_knowledge(session: Session, data: dict[str, Any]) -> tuple[int, int]:
    """Upsert drug facts (by item code; the item must be in the catalogue) and interaction pairs;
    returns how many drugs and pairs were stored."""
    drugs = data.get("drugs", [])
    items = items_repo.items_by_code(session, [d["item_code"] for d in drugs])
    missing = [d["item_code"] for d in drugs if d["item_code"] not in items]
    if missing:
        raise InvalidCatalogRow(f"药品不在收费目录中: {', '.join(missing)}")
    existing = {r.item_code: r for r in drugs_repo.knowledge_of(session, list(items))}
    for d in drugs:
        values = {k: v for k, v in d.items() if k in _KNOWLEDGE_FIELDS}
        for key in _DECIMALS & set(values):
            values[key] = _decimal(values[key])
        Controlled(values.get("controlled", ""))
        row = existing.get(d["item_code"])
        if row is None:
            session.add(DrugKnowledge(**values))
        else:
            for key, value in values.items():
                setattr(row, key, value)
    pairs = data.get("interactions", [])
    for p in pairs:
        a, b = sorted((p["a"], p["b"]))
        found = drugs_repo.pair(session, a, b)
        if found is None:
            session.add(DrugInteraction(a=a, b=b, severity=p["severity"], note=p["note"]))
        else:
            found.severity, found.note = p["severity"], p["note"]
    session.flush()
    return len(drugs), len(pairs)
