"""The SQL engines Splink runs on: DuckDB (default, one machine) and Spark (optional extra).

Both sit behind Splink's own ``DatabaseAPI``; the rest of Sillok asks this module for one by
name and never imports pyspark itself, so a machine without Spark loses nothing but Spark.
"""

from __future__ import annotations

import os
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
        spark_master: Spark master URL; local mode by default.
        spark_driver_memory: driver heap for local Spark.
        spark_shuffle_partitions: shuffle partitions; small data wants few.
    """

    threads: int | None = None
    memory_limit: str | None = None
    temp_directory: str | None = None
    spark_master: str | None = None
    spark_driver_memory: str = "2g"
    spark_shuffle_partitions: int = 2


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
    """The process's local SparkSession, started on first use with Splink's similarity jar.

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
    builder = (
        SparkSession.builder.master(master)
        .appName("sillok-linkage")
        .config("spark.jars", similarity_jar_location())
        .config("spark.driver.memory", options.spark_driver_memory)
        .config("spark.sql.shuffle.partitions", str(options.spark_shuffle_partitions))
        .config("spark.default.parallelism", str(options.spark_shuffle_partitions))
        .config("spark.ui.enabled", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.adaptive.enabled", "true")
    )
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
    """A Splink Spark API on the local SparkSession."""
    session = spark_session(options)
    from splink import SparkAPI

    partitions = (options or EngineOptions()).spark_shuffle_partitions
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
