"""One SparkSession (local[2]) for every Spark test. Without Java or PySpark the tests are skipped
LOUDLY (a warning and a skip reason) on a workstation and fail in CI (CI=true), where .ci/run
installs openjdk-17-jre-headless."""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from typing import Any

import pytest

from yilian.kit.spark import java_available


def _missing() -> str | None:
    if not java_available():
        return "no Java (install openjdk-17-jre-headless)"
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "PySpark is not installed (pip install 'yilian[spark]')"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/spark/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.spark)


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    reason = _missing()
    if reason:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"Spark equivalence tests cannot run in CI: {reason}")
        warnings.warn(f"SKIPPING the Spark equivalence tests: {reason}", stacklevel=1)
        pytest.skip(f"SPARK TESTS SKIPPED: {reason}")
    from yilian.kit.spark import session

    s = session("local[2]", "yilian-tests", shuffle_partitions=2)
    yield s
    s.stop()
