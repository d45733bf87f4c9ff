"""The import-linter contracts that keep each area to its own tables cover every area's tables and
queries: each ``*models*.py`` and ``*repository*.py`` of an area is protected by its area's contract."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
YILIAN = ROOT / "yilian"
NOT_AREAS = ("kit", "web", "demo", "cli", "app")


def own_tables_contracts() -> dict[str, dict[str, Any]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    return {c["id"].removeprefix("own-tables-"): c for c in contracts if c["id"].startswith("own-tables-")}


def tables_and_queries() -> dict[str, set[str]]:
    """Each area's models and repository modules, by area."""
    out: dict[str, set[str]] = {}
    for path in YILIAN.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[1] in NOT_AREAS or not ("models" in path.name or "repository" in path.name):
            continue
        out.setdefault(parts[1], set()).add(".".join(parts))
    return out


def test_every_area_protects_its_models_and_repositories() -> None:
    contracts = own_tables_contracts()
    found = tables_and_queries()
    assert sorted(contracts) == sorted(found)
    for area, modules in found.items():
        contract = contracts[area]
        assert contract["type"] == "protected"
        assert set(contract["protected_modules"]) == modules, area
        allowed = {f"yilian.{area}", *(f"yilian.{x}" for x in NOT_AREAS)}
        assert set(contract["allowed_importers"]) == allowed, area


def declares_tables(source: str) -> bool:
    """Whether a module defines a mapped class (a subclass of ``Base``), i.e. holds tables."""
    return any(
        isinstance(node, ast.ClassDef) and any(isinstance(b, ast.Name) and b.id == "Base" for b in node.bases)
        for node in ast.walk(ast.parse(source))
    )


def test_modules_that_declare_tables_are_named_models() -> None:
    """The contracts find an area's tables by module name, so a module holding tables must say so."""
    misnamed = sorted(
        path.relative_to(YILIAN).as_posix()
        for path in YILIAN.rglob("*.py")
        if path.relative_to(YILIAN).parts[0] not in NOT_AREAS
        and "models" not in path.name
        and declares_tables(path.read_text(encoding="utf-8"))
    )
    assert misnamed == []


def test_the_table_check_sees_mapped_classes() -> None:
    assert declares_tables("class Ward(Base):\n    __tablename__ = 'wards'\n")
    assert not declares_tables("class WardView(BaseModel):\n    name: str\n")
