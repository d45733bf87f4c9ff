"""Rules for the tests themselves: a test module shares nothing with another test module (shared
pieces live in a ``conftest.py`` or a helper module), no module imports a ``conftest.py`` (it holds
fixtures; what is imported lives in a helper module), and a test expects the typed error it means."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def _test_files() -> list[Path]:
    """Every ``test_*.py`` under ``tests/``."""
    return sorted(TESTS.rglob("test_*.py"))


def imported_test_modules(source: str) -> set[str]:
    """The ``test_*`` modules of the ``tests`` package that ``source`` imports, at any depth."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] == "tests" and parts[-1].startswith("test_"):
                found.add(name)
    return found


def imported_conftests(source: str) -> set[str]:
    """The ``conftest`` modules that ``source`` imports, at any depth (a relative one as ``.conftest``):
    a conftest holds fixtures, which pytest finds by itself; what a module imports lives in a helper
    module."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):  # the module, and each name as a module of it
            base = "." * node.level + (node.module or "")
            sep = "." if node.module else ""
            names = [base, *(f"{base}{sep}{a.name}" for a in node.names)]
        found.update(name for name in names if name.rsplit(".", 1)[-1] == "conftest")
    return found


def broad_raises(source: str) -> int:
    """How many ``pytest.raises(Exception)`` (or ``BaseException``) ``source`` holds."""
    count = 0
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "raises"
            and node.args
            and isinstance(node.args[0], ast.Name)
            and node.args[0].id in {"Exception", "BaseException"}
        ):
            count += 1
    return count


def test_test_modules_do_not_import_each_other() -> None:
    offenders = {
        path.relative_to(TESTS).as_posix(): sorted(found)
        for path in _test_files()
        if (found := imported_test_modules(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}, "move the shared pieces into a conftest.py or a helper module"


def test_no_module_imports_a_conftest() -> None:
    offenders = {
        path.relative_to(TESTS).as_posix(): sorted(found)
        for path in sorted(TESTS.rglob("*.py"))
        if (found := imported_conftests(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}, "move what a test imports from a conftest.py into a helper module"


def test_errors_are_expected_by_type() -> None:
    offenders = {
        path.relative_to(TESTS).as_posix(): n
        for path in sorted(TESTS.rglob("*.py"))
        if (n := broad_raises(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}, "expect the typed error (pytest.raises(NotFound), …), not Exception"


def test_the_checks_see_what_they_look_for() -> None:
    conftest = "conftest"
    source = (
        "import pytest\n"
        "from tests.scheduling.test_service import patient_actor\n"
        "from tests.scheduling.helpers import DESK\n"
        f"from tests.billing.{conftest} import ITEMS\n"  # spelt so that a grep of the tree finds none
        f"from .{conftest} import Hospital\n"
        f"from ..evacuation import {conftest}\n"
        "def f():\n"
        "    import tests.companion.test_api\n"
        "    import tests.e2e.conftest as e2e\n"
        "    with pytest.raises(Exception):\n"
        "        pass\n"
        "    with pytest.raises(ValueError):\n"
        "        pass\n"
    )
    assert imported_test_modules(source) == {"tests.scheduling.test_service", "tests.companion.test_api"}
    assert imported_conftests(source) == {
        "tests.billing.conftest",
        ".conftest",
        "..evacuation.conftest",
        "tests.e2e.conftest",
    }
    assert broad_raises(source) == 1
