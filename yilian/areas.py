"""The business areas in dependency order, lowest first (docs/architecture.md), and their discovery.

``app`` and ``cli`` find each area's optional modules (``models``, ``api``, ``pages``, ``cli``)
through this list, so an area is wired in by creating those modules.
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

AREAS = (
    "registry",
    "catalog",
    "scheduling",
    "results",
    "insurance",
    "outpatient",
    "billing",
    "inpatient",
    "drg",
    "alliance",
    "pharmacy",
    "companion",
    "evacuation",
    "workbench",
    "analytics",
)


def area_modules(kind: str) -> list[ModuleType]:
    """Import and return ``yilian.<area>.<kind>`` for every area that has it, in area order."""
    found = []
    for area in AREAS:
        name = f"yilian.{area}.{kind}"
        if importlib.util.find_spec(f"yilian.{area}") is None:
            continue
        if importlib.util.find_spec(name) is None:
            continue
        found.append(importlib.import_module(name))
    return found


def load_models() -> None:
    """Import every table definition so that the metadata is complete."""
    importlib.import_module("yilian.kit.events")
    importlib.import_module("yilian.kit.access_log")
    importlib.import_module("yilian.kit.auth.models")
    importlib.import_module("yilian.kit.jobs")
    area_modules("models")
