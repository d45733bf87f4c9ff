"""House rules that a reader would otherwise check by hand: pages are made of named parts (no page
function over 80 lines), and an area's queries live in its repository."""

from __future__ import annotations

import ast
from pathlib import Path

YILIAN = Path(__file__).resolve().parents[2] / "yilian"
MAX_PAGE_FUNCTION_LINES = 80


def page_modules() -> list[Path]:
    """``yilian/**/pages*.py``, ``yilian/**/*_pages.py`` and every module of a ``pages`` package."""
    return sorted(p for p in YILIAN.rglob("*.py") if "pages" in p.name or p.parent.name == "pages")


def long_functions(source: str, module: str) -> dict[str, int]:
    """Functions and methods of ``source`` longer than the limit (nested ones counted on their own too)."""
    out: dict[str, int] = {}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if length > MAX_PAGE_FUNCTION_LINES:
                out[f"{module}::{node.name}"] = length
    return out


def test_page_functions_are_made_of_parts() -> None:
    found: dict[str, int] = {}
    for path in page_modules():
        found |= long_functions(path.read_text(encoding="utf-8"), path.relative_to(YILIAN).as_posix())
    assert found == {}, f"split these page functions into named parts (≤ {MAX_PAGE_FUNCTION_LINES} lines)"


def test_the_length_check_sees_page_modules_and_long_functions() -> None:
    names = {p.relative_to(YILIAN).as_posix() for p in page_modules()}
    assert {"drg/pages.py", "insurance/policy_pages.py", "scheduling/pages/admin.py"} <= names
    body = "\n".join(f"        x{i} = {i}" for i in range(MAX_PAGE_FUNCTION_LINES))
    source = f"def short():\n    return 1\n\n\ndef outer():\n    def inner():\n{body}\n    return inner\n"
    assert long_functions(source, "m.py") == {
        "m.py::outer": MAX_PAGE_FUNCTION_LINES + 3,
        "m.py::inner": MAX_PAGE_FUNCTION_LINES + 1,
    }


def sqlalchemy_selects(source: str) -> int:
    """How many ``select(...)`` of SQLAlchemy a module calls (``ui.select`` and the like do not count)."""
    tree = ast.parse(source)
    names = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "sqlalchemy"
        for alias in node.names
        if alias.name == "select"
    }
    return sum(
        1
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and (
            (isinstance(node.func, ast.Name) and node.func.id in names)
            or (
                isinstance(node.func, ast.Attribute)
                and node.func.attr == "select"
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id in {"sa", "sqlalchemy"}
            )
        )
    )


def test_queries_live_in_repositories() -> None:
    querying = {
        p.relative_to(YILIAN).as_posix()
        for p in YILIAN.rglob("*.py")
        if "repository" not in p.name
        and p.relative_to(YILIAN).parts[0] != "kit"
        and sqlalchemy_selects(p.read_text(encoding="utf-8"))
    }
    assert sorted(querying) == [], "move these queries into the area's repository"


def test_the_query_check_tells_sqlalchemy_from_the_ui() -> None:
    assert sqlalchemy_selects("from sqlalchemy import select\nselect(A)\nui.select([])\n") == 1
    assert sqlalchemy_selects("import sqlalchemy as sa\nsa.select(A)\n") == 1
    assert sqlalchemy_selects("from nicegui import ui\nui.select({})\n") == 0
