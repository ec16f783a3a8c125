"""Benchmark of the core: import rate and memory, against a bare pipeline; search latency.

Prints one JSON document. Run: .venv/bin/python bench/bench_core.py --rows 1000000
(``--store postgresql`` to import into PostgreSQL: two databases are made through
``--pg-url`` and dropped afterwards; ``--no-search`` to time the import only). The bare
pipeline (:func:`phase_bare`) writes the rows the import wrote with plain executemany; the
import's speed is reported as a share of it.
Each phase runs in its own process so that peak memory is its own. To time searches again on
an archive already imported (``DIR/archive``, e.g. one kept with ``--keep DIR``):
``bench/bench_core.py --phase search --workdir DIR --repeats 20``. What ``synchronous = FULL``
costs against NORMAL: ``bench/bench_core.py --compare-synchronous --rows 20000 --rounds 2``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PASSPHRASE = "benchmark passphrase"


def rss_mb() -> float:
    """Current resident memory of this process in MB."""
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def peak_mb() -> float:
    """Peak resident memory of this process in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


def server_cpu(database: str | None) -> float:
    """CPU seconds used so far by the PostgreSQL backends connected to ``database`` (the
    server runs on this machine; its work is not the benchmark process's CPU time). 0 for
    SQLCipher, whose work is done in this process."""
    if database is None:
        return 0.0
    import psycopg

    with psycopg.connect(database, autocommit=True) as conn:
        pids = [
            r[0]
            for r in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()"
            )
        ]
    ticks = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def make_file(path: Path, rows: int, seed: int) -> None:
    """The synthetic flat acts file."""
    from sillok.records.flatacts import COLUMNS
    from sillok.synthetic.acts import generate_rows

    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(generate_rows(rows, seed))


#: what an import writes, in an order its foreign keys accept; the log is written after them
WRITTEN = (
    "places",
    "organizations",
    "persons",
    "sources",
    "events",
    "acts",
    "act_sources",
    "act_perpetrators",
    "person_names",
    "seal_keys",
    "audit_events",
)


def phase_bare(path: Path, workdir: Path, database: str | None) -> dict[str, object]:
    """The bare pipeline: what the import wrote, written again with plain executemany.

    Untimed: the rows the import wrote are read back from its archive (``DIR/archive``) and
    its search documents from ``DIR/documents.pickle`` (the import phase kept them), and a new
    empty archive is made on the same store (the same tables, indexes and search index).
    Timed: the file is read with the csv module, every row is inserted with one executemany
    per table in one transaction, each gets a log entry (content and RFC 9162 leaf hashed
    with hashlib, the leaves added to the log's compact range), the documents go into the
    search index, the index is compacted as the import compacts it, and the transaction
    commits. No validation, no resolution, no Python object per row beyond the tuples.
    """
    import hashlib
    import json
    import pickle

    from sillok.archive import Archive
    from sillok.ledger.entries import SHAPES
    from sillok.ledger.merkle import CompactRange

    source = Archive.open(workdir / "archive", PASSPHRASE)
    copied: dict[str, tuple[list[str], list[tuple[object, ...]]]] = {}
    with source.vault.store.reading() as conn:
        for table in WRITTEN:
            result = conn.exec_driver_sql(f"SELECT * FROM {table} ORDER BY 1")
            copied[table] = (list(result.keys()), [tuple(r) for r in result])
        import_entries = conn.exec_driver_sql("SELECT count(*) FROM ledger_entries").scalar()
    source.close()
    docs: list[tuple[int, str]] = []
    with open(workdir / "documents.pickle", "rb") as fh:
        while True:
            try:
                docs += pickle.load(fh)
            except EOFError:
                break
    # a record changed by a later batch was indexed again: the index holds its last document
    docs = sorted(dict(docs).items())

    bare = Archive.create(workdir / "bare-archive", PASSPHRASE, database=database)
    postgres = bare.vault.store.dialect.name == "postgresql"
    mark = "%s" if postgres else "?"
    with bare.vault.store.reading() as conn:
        for table in WRITTEN:  # leave out what a new archive has already (its directories)
            cols, rows = copied[table]
            have = {r[0] for r in conn.exec_driver_sql(f"SELECT {cols[0]} FROM {table}")}
            copied[table] = (cols, [r for r in rows if r[0] not in have])
        size, frontier_bytes = conn.exec_driver_sql(
            "SELECT size, frontier FROM ledger_state"
        ).one()
    raw = bare.vault.store.engine.raw_connection()
    written = sum(len(rows) for _cols, rows in copied.values())

    server = server_cpu(database)
    start, cpu = time.perf_counter(), time.process_time()
    with open(path, encoding="utf-8", newline="") as fh:
        file_rows = sum(1 for _ in csv.reader(fh)) - 1
    cur = raw.cursor()
    if not postgres:
        cur.execute("BEGIN IMMEDIATE")
    sha256 = hashlib.sha256
    frontier = CompactRange.from_bytes(bytes(frontier_bytes))
    entries: list[tuple[object, ...]] = []
    seq = size
    for table in WRITTEN:
        cols, rows = copied[table]
        if not rows:
            continue
        cur.executemany(
            f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join([mark] * len(cols))})",
            rows,
        )
        if table not in SHAPES:
            continue
        version = cols.index("version") if "version" in cols else None
        pair = len(SHAPES[table].key) == 2
        name = table.encode()
        for row in rows:
            content = sha256(json.dumps(row, default=str, ensure_ascii=False).encode()).digest()
            leaf = sha256(b"\x00" + name + content).digest()
            entries.append(
                (
                    seq,
                    table,
                    row[0],
                    row[1] if pair else None,
                    row[version] if version is not None else None,
                    "insert",
                    content,
                    leaf,
                )
            )
            seq += 1
    frontier.extend(e[7] for e in entries)  # type: ignore[misc]
    cur.executemany(
        "INSERT INTO ledger_entries (seq, tbl, row_id, row_sub, row_version, op, content, "
        f"leaf_hash) VALUES ({', '.join([mark] * 8)})",
        entries,
    )
    cur.execute(
        f"UPDATE ledger_state SET size = {mark}, frontier = {mark}",
        (frontier.size, frontier.to_bytes()),
    )
    if postgres:
        cur.executemany(
            "INSERT INTO search_docs(doc, tokens) VALUES (%s, to_tsvector('simple', %s))", docs
        )
        cur.execute("ANALYZE search_docs")
    else:
        cur.executemany("INSERT INTO search_fts(rowid, tokens) VALUES (?, ?)", docs)
        cur.execute("INSERT INTO search_fts(search_fts) VALUES ('optimize')")
    if postgres:
        raw.commit()
    else:
        cur.execute("COMMIT")
    seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu
    server_seconds = server_cpu(database) - server
    raw.close()
    bare.close()
    return {
        "rows": file_rows,
        "rows_written": written,
        "log_entries": len(entries),
        "import_log_entries": import_entries,
        "documents": len(docs),
        "seconds": seconds,
        "rows_per_s": file_rows / seconds,
        "cpu_seconds": cpu_seconds,
        "server_cpu_seconds": server_seconds,
        "rows_per_cpu_s": file_rows / (cpu_seconds + server_seconds),
        "peak_rss_mb": peak_mb(),
    }


def phase_import(
    path: Path, workdir: Path, database: str | None = None, synchronous: str | None = None
) -> dict[str, object]:
    """Sillok's import of the whole file into a new archive.

    The search documents the import writes are kept in ``DIR/documents.pickle`` for the bare
    pipeline (a pickle.dump per batch: about 0.13 CPU seconds for 245,000 documents of 40
    tokens, under 0.5% of a 100,000-act import). ``synchronous`` (NORMAL or FULL) replaces
    the SQLCipher connections' setting, for ``--compare-synchronous`` only.
    """
    import pickle

    from sillok.archive import Archive

    if synchronous is not None:
        from sillok.store import dialects

        dialects._synchronous = synchronous
    archive = Archive.create(workdir / "archive", PASSPHRASE, database=database)
    dialect = archive.vault.store.dialect
    documents = open(workdir / "documents.pickle", "wb")  # noqa: SIM115
    index_documents = dialect.index_documents

    def keep(conn: object, docs: list[tuple[int, str]]) -> None:
        pickle.dump(list(docs), documents, protocol=pickle.HIGHEST_PROTOCOL)
        index_documents(conn, docs)  # type: ignore[arg-type]

    dialect.index_documents = keep  # type: ignore[method-assign,assignment]
    with open(path, encoding="utf-8") as fh:
        total = sum(1 for _ in fh) - 1
    marks: dict[str, float] = {}
    # wall and CPU seconds (this process and the server's) at each quarter of the rows: a
    # linear import spends about the same on each quarter
    clock: dict[str, list[float]] = {}

    def progress(rows: int) -> None:
        for share in (0.25, 0.5, 0.75, 1.0):
            if rows >= share * total and f"{share:.2f}" not in marks:
                marks[f"{share:.2f}"] = round(rss_mb(), 1)
                clock[f"{share:.2f}"] = [
                    round(time.perf_counter() - start, 1),
                    round(time.process_time() - cpu + server_cpu(database) - server, 1),
                ]

    server = server_cpu(database)
    start, cpu = time.perf_counter(), time.process_time()
    report = archive.ingest.run(path, progress=progress)
    seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu
    server_seconds = server_cpu(database) - server
    archive.close()
    documents.close()
    size = sum(f.stat().st_size for f in (workdir / "archive").iterdir())
    return {
        "store": dialect.name,
        "synchronous": synchronous or "FULL",
        "rows": report.rows,
        "seconds": seconds,
        "rows_per_s": report.rows / seconds,
        # on a shared machine CPU time varies less than wall time: both are reported; the
        # CPU rate counts the PostgreSQL server's CPU time too
        "cpu_seconds": cpu_seconds,
        "server_cpu_seconds": server_seconds,
        "rows_per_cpu_s": report.rows / (cpu_seconds + server_seconds),
        "rss_mb_at_share_of_rows": marks,
        "seconds_and_cpu_seconds_at_share_of_rows": clock,
        "peak_rss_mb": peak_mb(),
        "archive_mb": size / 1e6 if dialect.name == "sqlcipher" else None,
        "created": report.created,
    }


def phase_commits(
    path: Path, workdir: Path, count: int, synchronous: str | None = None
) -> dict[str, object]:
    """``count`` small imports of one act each, each its own transaction (as testimony entry
    and link decisions commit: one record at a time), into a new SQLCipher archive; wall and
    CPU seconds per commit. ``synchronous`` as in :func:`phase_import`."""
    from sillok.archive import Archive

    if synchronous is not None:
        from sillok.store import dialects

        dialects._synchronous = synchronous
    archive = Archive.create(workdir / f"commits-{synchronous}", PASSPHRASE)
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        rows = [next(reader) for _ in range(count)]
    files = []
    for i, row in enumerate(rows):
        one = workdir / f"one-{i}.csv"
        with open(one, "w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(header)
            writer.writerow(row)
        files.append(one)
    start, cpu = time.perf_counter(), time.process_time()
    for one in files:
        archive.ingest.run(one)
    seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu
    archive.close()
    for one in files:
        one.unlink()
    return {
        "synchronous": synchronous or "FULL",
        "commits": count,
        "seconds": seconds,
        "ms_per_commit": 1000 * seconds / count,
        "cpu_ms_per_commit": 1000 * cpu_seconds / count,
    }


def compare_synchronous(args: argparse.Namespace) -> dict[str, object]:
    """The import (and ``--commits`` one-act imports) with ``synchronous`` NORMAL and FULL,
    back to back in processes of their own, in the order NORMAL, FULL, FULL, NORMAL... over
    ``--rounds`` (so a drift of the machine's load weighs on both alike)."""
    out: dict[str, object] = {"rows": args.rows, "machine": machine()}
    runs: dict[str, list[dict[str, object]]] = {"NORMAL": [], "FULL": []}
    order = [("NORMAL", "FULL"), ("FULL", "NORMAL")]
    with tempfile.TemporaryDirectory(prefix="sillok-bench-sync-") as tmp:
        workdir = Path(tmp)
        make_file(workdir / "acts.csv", args.rows, args.seed)
        for round_ in range(args.rounds):
            for setting in order[round_ % 2]:
                result: dict[str, object] = {"load_avg_at_start": os.getloadavg()}
                for phase in ("import", "commits"):
                    shutil.rmtree(workdir / "archive", ignore_errors=True)
                    shutil.rmtree(workdir / f"commits-{setting}", ignore_errors=True)
                    command = [
                        sys.executable, __file__, "--phase", phase, "--workdir", str(workdir),
                        "--synchronous", setting, "--commits", str(args.commits),
                    ]
                    done = subprocess.run(command, capture_output=True, text=True)
                    if done.returncode != 0:
                        raise SystemExit(f"the {phase} phase failed:\n{done.stderr}")
                    result[phase] = json.loads(done.stdout)
                result["load_avg_at_end"] = os.getloadavg()
                runs[setting].append(result)
    out["runs"] = runs

    def mean(setting: str, phase: str, key: str) -> float:
        values = [float(r[phase][key]) for r in runs[setting]]  # type: ignore[index]
        return sum(values) / len(values)

    out["summary"] = {
        setting: {
            "import_seconds": round(mean(setting, "import", "seconds"), 2),
            "import_cpu_seconds": round(mean(setting, "import", "cpu_seconds"), 2),
            "ms_per_commit": round(mean(setting, "commits", "ms_per_commit"), 2),
            "cpu_ms_per_commit": round(mean(setting, "commits", "cpu_ms_per_commit"), 2),
        }
        for setting in runs
    }
    summary: dict[str, dict[str, float]] = out["summary"]  # type: ignore[assignment]
    out["full_to_normal"] = {
        key: round(summary["FULL"][key] / summary["NORMAL"][key], 3)
        for key in summary["FULL"]
    }
    out["load_avg_at_end"] = os.getloadavg()
    return out


def phase_search(workdir: Path, repeats: int) -> dict[str, object]:
    """p50/p95 latency of place names, given names, full names, surnames alone and a filtered
    query (warm, after one run; the first page, the settings' ``search_limit`` hits)."""
    from sillok.archive import Archive

    archive = Archive.open(workdir / "archive", PASSPHRASE)
    queries = {
        "hangul": "요덕",
        "latin": "Yodok",
        "two_syllable": "영철",
        "hangul_name": "김영철",
        "latin_name": "Kim Yong-chol",
        "filtered": "요덕 torture",
        "surname_latin": "Kim",
        "surname_hangul": "김",
        "surname_lee": "Lee",
        "given_latin": "Yong-chol",
        "surname_given_prefix": "Kim Yong",
    }
    results: dict[str, object] = {"load_avg_at_start": os.getloadavg()}
    for label, query in queries.items():
        archive.searcher.search(query)
        times = []
        cpu = time.process_time()
        for _ in range(repeats):
            start = time.perf_counter()
            hits = archive.searcher.search(query)
            times.append((time.perf_counter() - start) * 1000)
        # this process's CPU time per search (steadier than wall time on a loaded machine;
        # on PostgreSQL the server's share is not in it)
        cpu_ms = (time.process_time() - cpu) * 1000 / repeats
        times.sort()
        results[label] = {
            "query": query,
            "hits": len(hits),
            "p50_ms": round(statistics.median(times), 2),
            "p95_ms": round(times[int(0.95 * (len(times) - 1))], 2),
            "cpu_ms": round(cpu_ms, 2),
        }
    results["load_avg_at_end"] = os.getloadavg()
    archive.close()
    return results


def machine() -> dict[str, object]:
    """What the numbers were measured on."""
    return {
        "python": platform.python_version(),
        "cpu": platform.processor() or platform.machine(),
        "cpu_model": _cpu_model(),
        "cores": os.cpu_count(),
        "ram_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "load_avg_at_start": os.getloadavg(),
    }


def _cpu_model() -> str:
    """The processor's name as the kernel gives it (what ``lscpu`` shows as Model name)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def _databases(admin_url: str, count: int) -> list[str]:
    """``count`` new PostgreSQL databases (their URLs), made through ``admin_url``."""
    import uuid

    import psycopg

    base = admin_url.rsplit("/", 1)[0]
    names = [f"sillok_bench_{uuid.uuid4().hex[:10]}" for _ in range(count)]
    with psycopg.connect(admin_url, autocommit=True) as admin:
        for name in names:
            admin.execute(f'CREATE DATABASE "{name}"')
    return [f"{base}/{name}" for name in names]


def _drop(admin_url: str, urls: list[str]) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as admin:
        for url in urls:
            admin.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--phase", default="all")
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--keep", type=Path, help="import into this folder and keep it")
    parser.add_argument(
        "--store",
        choices=("sqlcipher", "postgresql"),
        default="sqlcipher",
        help="where the import and the bare pipeline write",
    )
    parser.add_argument(
        "--pg-url",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="a PostgreSQL database to create (and drop) the benchmark's databases from",
    )
    parser.add_argument("--no-search", action="store_true", help="time the import only")
    parser.add_argument("--database", help="(phases) the import's PostgreSQL database")
    parser.add_argument("--bare-database", help="(phases) the bare pipeline's database")
    parser.add_argument(
        "--compare-synchronous",
        action="store_true",
        help="time the SQLCipher import and one-act commits with synchronous NORMAL and FULL",
    )
    parser.add_argument("--rounds", type=int, default=1, help="(--compare-synchronous) pairs")
    parser.add_argument(
        "--commits", type=int, default=200, help="(--compare-synchronous) one-act imports"
    )
    parser.add_argument("--synchronous", choices=("NORMAL", "FULL"), help="(phases)")
    args = parser.parse_args()
    if args.compare_synchronous:
        print(json.dumps(compare_synchronous(args), indent=2))
        return
    if args.phase != "all":
        workdir = args.workdir
        path = workdir / "acts.csv"
        result = {
            "bare": lambda: phase_bare(path, workdir, args.bare_database),
            "import": lambda: phase_import(path, workdir, args.database, args.synchronous),
            "commits": lambda: phase_commits(path, workdir, args.commits, args.synchronous),
            "search": lambda: phase_search(workdir, args.repeats),
        }[args.phase]()
        print(json.dumps(result))
        return
    urls = _databases(args.pg_url, 2) if args.store == "postgresql" else []
    try:
        with tempfile.TemporaryDirectory(prefix="sillok-bench-") as tmp:
            workdir = args.keep or Path(tmp)
            workdir.mkdir(parents=True, exist_ok=True)
            start = time.perf_counter()
            make_file(workdir / "acts.csv", args.rows, args.seed)
            out: dict[str, object] = {
                "rows": args.rows,
                "store": args.store,
                "machine": machine(),
                "generate_seconds": time.perf_counter() - start,
            }
            phases = ("import", "bare") if args.no_search else ("import", "bare", "search")
            for phase in phases:
                command = [
                    sys.executable,
                    __file__,
                    "--phase",
                    phase,
                    "--workdir",
                    str(workdir),
                    "--repeats",
                    str(args.repeats),
                ]
                if urls:
                    command += ["--database", urls[0], "--bare-database", urls[1]]
                done = subprocess.run(command, capture_output=True, text=True)
                if done.returncode != 0:
                    raise SystemExit(f"the {phase} phase failed:\n{done.stderr}")
                out[phase] = json.loads(done.stdout)
    finally:
        if urls:
            _drop(args.pg_url, urls)
    bare = out["bare"]["rows_per_s"]  # type: ignore[index]
    sillok = out["import"]["rows_per_s"]  # type: ignore[index]
    # the import's speed as a share of the bare pipeline's (1.0: as fast as bare writes)
    out["import_to_bare_ratio"] = round(sillok / bare, 3)
    cpu_ratio = out["import"]["rows_per_cpu_s"] / out["bare"]["rows_per_cpu_s"]  # type: ignore[index]
    out["import_to_bare_cpu_ratio"] = round(cpu_ratio, 3)
    out["load_avg_at_end"] = os.getloadavg()
    print(json.dumps(out, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
