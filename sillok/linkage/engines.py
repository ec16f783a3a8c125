"""The SQL engines Splink runs on: DuckDB (default, one machine) and Spark (optional extra).

Both sit behind Splink's own ``DatabaseAPI``; the rest of Sillok asks this module for one by
name and never imports pyspark itself, so a machine without Spark loses nothing but Spark.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

ENGINES: tuple[str, ...] = ("duckdb", "spark")


class EngineUnavailable(RuntimeError):
    """An engine's optional dependency is not installed."""


@dataclass(frozen=True)
class EngineOptions:
    """How to start an engine.

    Attributes:
        threads: worker threads (DuckDB) or local cores (Spark); ``None`` uses all.
        memory_limit: DuckDB memory cap such as ``"6GB"``; ``None`` keeps DuckDB's default.
        temp_directory: where DuckDB spills when the cap is reached.
        spark_master: Spark master URL (``spark://host:7077``, ``yarn``, ``k8s://...``);
            ``local[threads]`` by default.
        spark_driver_memory: the driver's heap (in local mode the driver does all the work).
        spark_shuffle_partitions: shuffle partitions; small data wants few, a cluster more
            (``spark.sql.shuffle.partitions`` in ``spark_conf`` overrides it).
        spark_conf: further Spark settings as (key, value) pairs, applied last, so they
            override Sillok's defaults; ``spark.jars`` is added to Splink's similarity jar.
    """

    threads: int | None = None
    memory_limit: str | None = None
    temp_directory: str | None = None
    spark_master: str | None = None
    spark_driver_memory: str = "2g"
    spark_shuffle_partitions: int = 2
    spark_conf: tuple[tuple[str, str], ...] = ()


# The master URL forms Spark documents: local[N|*[,F]], standalone, YARN, Kubernetes, Mesos.
_MASTER = re.compile(r"local(\[(\*|[1-9][0-9]*)(,[0-9]+)?\])?|(spark|mesos)://\S+|yarn|k8s://\S+")
# Spark's size strings (JavaUtils.byteStringAs): a whole number and an optional unit.
_SIZE = re.compile(r"[1-9][0-9]*([kmgtp]b?|b)?", re.IGNORECASE)
# Settings with an option of their own, so that one run has one source for each.
_OWN_OPTIONS = {"spark.master": "--spark-master", "spark.driver.memory": "--spark-driver-memory"}


def spark_options(
    master: str | None = None,
    conf: Sequence[str] = (),
    driver_memory: str | None = None,
    threads: int | None = None,
) -> EngineOptions:
    """Engine options from a command line's Spark settings, each checked before Spark starts.

    Args:
        master: a Spark master URL, or ``None`` for local mode.
        conf: ``KEY=VALUE`` strings; every key must start with ``spark.`` (Spark ignores
            any other key, silently for the user).
        driver_memory: the driver's heap, as Spark writes sizes (``2g``, ``512m``).
        threads: local cores when ``master`` is ``None``.

    Raises:
        ValueError: naming the bad value and the form expected.
    """
    if master is not None and not _MASTER.fullmatch(master):
        raise ValueError(
            f"--spark-master: {master!r} is not a Spark master URL; expected local[N], "
            "spark://host:port, yarn or k8s://https://host:port"
        )
    if driver_memory is not None and not _SIZE.fullmatch(driver_memory):
        raise ValueError(
            f"--spark-driver-memory: {driver_memory!r} is not a size; expected e.g. 4g or 512m"
        )
    pairs = []
    for item in conf:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValueError(f"--spark-conf: {item!r} is not KEY=VALUE")
        if not key.startswith("spark."):
            raise ValueError(
                f"--spark-conf: {key!r} is not a Spark setting (keys start with 'spark.')"
            )
        if key in _OWN_OPTIONS:
            raise ValueError(f"--spark-conf: set {key} with {_OWN_OPTIONS[key]}")
        pairs.append((key, value.strip()))
    return EngineOptions(
        threads=threads,
        spark_master=master,
        spark_driver_memory=driver_memory or EngineOptions.spark_driver_memory,
        spark_conf=tuple(pairs),
    )


def check_engine(name: str) -> str:
    """Return ``name`` if it is a known engine.

    Raises:
        ValueError: naming the unknown engine and the known ones.
    """
    if name not in ENGINES:
        raise ValueError(f"unknown engine {name!r}; expected one of {', '.join(ENGINES)}")
    return name


def duckdb_api(options: EngineOptions | None = None) -> Any:
    """A Splink DuckDB API on a fresh in-memory connection."""
    options = options or EngineOptions()
    try:
        import duckdb
        from splink import DuckDBAPI
    except ImportError as err:  # pragma: no cover - linkage extra missing
        raise EngineUnavailable(
            "record linkage needs Splink and DuckDB: pip install 'sillok[linkage]'"
        ) from err
    con = duckdb.connect(":memory:")
    if options.threads:
        con.execute(f"SET threads = {int(options.threads)}")
    if options.memory_limit:
        con.execute("SET memory_limit = ?", [options.memory_limit])
    if options.temp_directory:
        con.execute("SET temp_directory = ?", [options.temp_directory])
    con.execute("SET preserve_insertion_order = false")
    return DuckDBAPI(connection=con)


_spark_session: Any = None


def spark_session(options: EngineOptions | None = None) -> Any:
    """The process's SparkSession, started on first use with Splink's similarity jar.

    The options count only when the session starts: a later call returns the running
    session whatever it is given (a JVM's master and heap cannot change).

    Raises:
        EngineUnavailable: if pyspark is not installed.
    """
    global _spark_session
    if _spark_session is not None:
        return _spark_session
    options = options or EngineOptions()
    try:
        from pyspark.sql import SparkSession
        from splink.internals.spark.jar_location import similarity_jar_location
    except ImportError as err:
        raise EngineUnavailable(
            "the Spark engine needs pyspark: pip install 'sillok[spark]'"
        ) from err
    cores = options.threads or os.cpu_count() or 1
    master = options.spark_master or f"local[{cores}]"
    conf = {
        "spark.jars": similarity_jar_location(),
        "spark.driver.memory": options.spark_driver_memory,
        "spark.sql.shuffle.partitions": str(options.spark_shuffle_partitions),
        "spark.default.parallelism": str(options.spark_shuffle_partitions),
        "spark.ui.enabled": "false",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.adaptive.enabled": "true",
    }
    for key, value in options.spark_conf:
        # Splink's comparisons call the similarity jar's functions: keep it on the list.
        conf[key] = f"{conf['spark.jars']},{value}" if key == "spark.jars" and value else value
    builder = SparkSession.builder.master(master).appName("sillok-linkage")
    for key, value in conf.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    # Splink materialises intermediate tables; checkpoints need somewhere to go.
    checkpoint_dir = os.path.join(
        session.conf.get("spark.local.dir", "/tmp") or "/tmp", "sillok-spark-checkpoints"
    )
    session.sparkContext.setCheckpointDir(checkpoint_dir)
    _spark_session = session
    return session


def stop_spark() -> None:
    """Stop the process's SparkSession if one was started."""
    global _spark_session
    if _spark_session is not None:
        _spark_session.stop()
        _spark_session = None


def spark_api(options: EngineOptions | None = None) -> Any:
    """A Splink Spark API on the process's SparkSession."""
    session = spark_session(options)
    from splink import SparkAPI

    partitions = int(session.conf.get("spark.sql.shuffle.partitions"))
    return SparkAPI(
        spark_session=session,
        break_lineage_method="persist",
        num_partitions_on_repartition=partitions,
    )


def database_api(name: str, options: EngineOptions | None = None) -> Any:
    """A Splink database API for the named engine (``duckdb`` or ``spark``)."""
    if check_engine(name) == "spark":
        return spark_api(options)
    return duckdb_api(options)
