"""A SparkSession for yilian's batch engines (PySpark is the optional extra ``yilian[spark]``).

Nothing is downloaded at run time: no ``spark.jars.packages``; the JVM is the local ``java``
(17+). ``master`` is ``local[N]`` here, ``spark://host:7077`` or ``yarn`` on a cluster, where
``spark-submit`` usually passes it and :func:`session` only attaches to the running context.
"""

from __future__ import annotations

import os
import shutil
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def java_available() -> bool:
    return shutil.which("java") is not None or bool(os.environ.get("JAVA_HOME"))


def session(
    master: str | None = "local[2]", app_name: str = "yilian", shuffle_partitions: int | None = None
) -> SparkSession:
    """Get or create the SparkSession; small local defaults (few shuffle partitions, no UI)."""
    from pyspark.sql import SparkSession

    # the Python workers run the interpreter of the driver (same venv, same yilian)
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = SparkSession.builder.appName(app_name)
    if master:
        builder = builder.master(master)
    local = (master or "").startswith("local")
    parts = shuffle_partitions or (4 if local else 200)
    builder = (
        builder.config("spark.sql.shuffle.partitions", str(parts))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
    )
    if local:
        builder = (
            builder.config("spark.ui.enabled", "false")
            .config("spark.driver.memory", os.environ.get("YILIAN_SPARK_DRIVER_MEMORY", "1g"))
            .config("spark.sql.adaptive.enabled", "true")
        )
    return builder.getOrCreate()
