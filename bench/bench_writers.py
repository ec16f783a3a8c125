"""Many writers at once on one PostgreSQL archive: throughput, read latency, and whether
anything acknowledged was lost, duplicated or logged out of order.

Prints one JSON document. Run (defaults 8 writers, 32 readers, 600 s):
``.venv/bin/python bench/bench_writers.py --writers 8 --readers 32 --seconds 120``.

A new database is made through ``--pg-url`` (and dropped afterwards) and an archive created on
it with ``--seed-acts`` synthetic acts (seed 1) and, for each writer, ``--links`` pending person
links of its own. Then, for ``--seconds``, in processes of their own (spawned, each opening the
archive with the passphrase as a user's session would):

* each writer loops over three writes, one transaction each, through the library: an import of
  a small file (``archive.ingest.run`` of 3 acts under a new source), a testimony entry
  (``archive.ingest.run_rows`` of 2 acts under a new source, as the web's testimony form
  writes), and a link decision (``archive.links.decide`` on one of its own links, accept and
  undo in turn). A write that fails because the server aborted it to break a deadlock or a
  serialization conflict is retried (at most 5 times; each retry is counted and its message
  kept); any other failure is counted as an error. Every acknowledged write is noted;
* the readers (threads, 16 per process) loop over a search (``archive.searcher.search`` of one
  of eight queries) and a record read (``archive.records.show`` of a random act), timing each.

At the end, in this process: every acknowledged import and testimony is present exactly once
(its source, with as many acts as rows were written) and the archive holds no source or act
that was not acknowledged; every link's status is its writer's last decision; each writer's
writes appear in the log in the order it made them (every log entry of a write after every
entry of the write before it); ``verify`` (full) passes.
"""

from __future__ import annotations

import argparse
import csv
import json
import multiprocessing
import os
import random
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bench_core import _databases, _drop, machine, make_file  # noqa: E402

PASSPHRASE = "benchmark passphrase"
QUERIES = ("요덕", "Yodok", "영철", "김영철", "Kim Yong-chol", "요덕 torture", "평양", "torture")
RETRIES = 5
THREADS_PER_READER_PROCESS = 16


def _settings() -> Any:
    from sillok.settings import KdfParams, Settings

    # cheap argon2id: every process opens the archive, and the opens are not what is measured
    return Settings(kdf=KdfParams(time_cost=1, memory_cost_kib=8 * 1024, parallelism=1))


def _rows(
    writer: int, number: int, count: int, template: list[dict[str, str]]
) -> list[dict[str, str]]:
    """``count`` act rows under one new source of this writer (refs unique to the write)."""
    rows = []
    for i in range(count):
        row = dict(template[(number * 7 + i) % len(template)])
        row["source_ref"] = f"W{writer}-S{number}"
        row["event_ref"] = f"W{writer}-E{number}"
        row["victim_ref"] = f"W{writer}-P{number}-{i}"
        row["protected"] = ""
        row["sharing"] = "public"
        rows.append(row)
    return rows


def _retryable(exc: BaseException) -> bool:
    """Whether the server aborted the transaction to break a deadlock or a serialization
    conflict (SQLSTATE 40P01, 40001): the write can be made again."""
    seen: BaseException | None = exc
    while seen is not None:
        orig = getattr(seen, "orig", None)
        code = getattr(seen, "sqlstate", None) or getattr(orig, "sqlstate", None)
        if code in ("40P01", "40001"):
            return True
        text = str(seen)
        if "deadlock detected" in text or "could not serialize access" in text:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def writer_main(url: str, folder: str, writer: int, seconds: float, template_path: str,
                links: list[int], out_path: str, ready: Any) -> None:
    """One writer's loop (a process); its acknowledged writes go to ``out_path`` as JSON."""
    from sillok.archive import Archive

    archive = Archive.open(Path(folder), PASSPHRASE)
    with open(template_path, encoding="utf-8", newline="") as fh:
        template = list(csv.DictReader(fh))
    work = Path(out_path).parent / f"writer-{writer}"
    work.mkdir(exist_ok=True)
    acked: list[dict[str, Any]] = []
    retries: list[str] = []
    errors: list[str] = []
    status = {link: "pending" for link in links}
    number = 0
    ready.wait()  # every process has opened the archive: the clock starts
    deadline = time.time() + seconds
    while time.time() < deadline:
        kind = ("import", "testimony", "decision")[number % 3]
        number += 1
        op: dict[str, Any]
        if kind == "import":
            rows = _rows(writer, number, 3, template)
            path = work / f"w{number}.csv"
            with open(path, "w", encoding="utf-8", newline="") as fh:
                out = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
                out.writeheader()
                out.writerows(rows)
            op = {"kind": kind, "source": rows[0]["source_ref"], "acts": len(rows)}

            def write_file(path: Path = path) -> None:
                archive.ingest.run(path)

            write: Any = write_file
        elif kind == "testimony":
            rows = _rows(writer, number, 2, template)
            op = {"kind": kind, "source": rows[0]["source_ref"], "acts": len(rows)}

            def write_rows(rows: list[dict[str, str]] = rows) -> None:
                name = f"testimony {rows[0]['source_ref']}"
                archive.ingest.run_rows(enumerate(rows, start=1), name)

            write = write_rows
        else:
            link = links[number % len(links)]
            verdict = "accept" if status[link] == "pending" else "undo"
            op = {"kind": kind, "link": link}

            def write_decision(
                link: int = link, verdict: str = verdict, op: dict[str, Any] = op
            ) -> None:
                op["status"] = archive.links.decide(link, verdict)

            write = write_decision
        started = time.perf_counter()
        for attempt in range(RETRIES + 1):
            try:
                write()
            except Exception as exc:  # noqa: BLE001 - classified and counted below
                if _retryable(exc) and attempt < RETRIES:
                    retries.append(f"{kind}: {str(exc).splitlines()[0][:200]}")
                    continue
                errors.append(f"{kind}: {type(exc).__name__}: {str(exc).splitlines()[0][:300]}")
                break
            op["ms"] = (time.perf_counter() - started) * 1000
            if kind == "decision":
                status[op["link"]] = op["status"]
            acked.append(op)
            break
    archive.close()
    Path(out_path).write_text(
        json.dumps({"writer": writer, "acked": acked, "retries": retries, "errors": errors}),
        encoding="utf-8",
    )


def reader_main(folder: str, threads: int, seconds: float, acts: list[int], out_path: str,
                ready: Any) -> None:
    """``threads`` readers in one process over one opened archive (as one web server)."""
    from sillok.archive import Archive

    archive = Archive.open(Path(folder), PASSPHRASE)
    times: dict[str, list[float]] = {"search": [], "record": []}
    errors: list[str] = []
    lock = threading.Lock()

    def loop(seed: int) -> None:
        rng = random.Random(seed)
        mine: dict[str, list[float]] = {"search": [], "record": []}
        while time.time() < deadline:
            kind = "search" if rng.random() < 0.5 else "record"
            started = time.perf_counter()
            try:
                if kind == "search":
                    archive.searcher.search(rng.choice(QUERIES))
                else:
                    archive.records.show("act", rng.choice(acts))
            except Exception as exc:  # noqa: BLE001 - counted
                with lock:
                    errors.append(f"{kind}: {type(exc).__name__}: {exc}"[:300])
                continue
            mine[kind].append((time.perf_counter() - started) * 1000)
        with lock:
            for k, v in mine.items():
                times[k] += v

    ready.wait()
    deadline = time.time() + seconds
    pool = [threading.Thread(target=loop, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    archive.close()
    Path(out_path).write_text(json.dumps({"times": times, "errors": errors}), encoding="utf-8")


def _percentile(values: list[float], share: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return round(values[min(len(values) - 1, int(share * len(values)))], 1)


def setup(url: str, folder: Path, seed_acts: int, writers: int, links: int,
          work: Path) -> tuple[list[list[int]], list[int]]:
    """The archive with its first acts, and each writer's pending links (ids)."""
    from sillok.archive import Archive
    from sillok.store import rows as store_rows

    make_file(work / "seed.csv", seed_acts, 1)
    archive = Archive.create(folder, PASSPHRASE, database=url, settings=_settings())
    archive.ingest.run(work / "seed.csv")
    with archive.store.reading() as conn:
        persons = [int(r[0]) for r in conn.exec_driver_sql("SELECT id FROM persons ORDER BY id")]
        acts = [int(r[0]) for r in conn.exec_driver_sql("SELECT id FROM acts ORDER BY id")]
    values = {}
    for i in range(writers * links):
        left, right = persons[2 * i], persons[2 * i + 1]
        values[f"link:person:{left}:{right}"] = {
            "record_kind": "person", "left_id": left, "right_id": right,
            "probability_ppm": 900_000, "evidence": "[]", "status": "pending",
        }
    with archive.store.transaction() as conn:
        made = store_rows.upsert_by_ref(conn, archive.store.dialect, "link", values, "bench")
    ids = [made.ids[ref] for ref in values]
    archive.close()
    return [ids[w * links:(w + 1) * links] for w in range(writers)], acts


def check(folder: Path, results: list[dict[str, Any]], seed_sources: int,
          seed_acts: int) -> dict[str, Any]:
    """Lost, duplicated, unacknowledged, out of order; then a full verify."""
    from sillok.archive import Archive

    archive = Archive.open(folder, PASSPHRASE)
    found: dict[str, Any] = {"lost": [], "miscounted": [], "wrong_status": [], "out_of_order": []}
    with archive.store.reading() as conn:
        sources: dict[int, int] = dict(conn.exec_driver_sql("SELECT id, 0 FROM sources").all())
        acts_per_source: dict[int, int] = dict(conn.exec_driver_sql(
            "SELECT source_id, count(*) FROM act_sources GROUP BY source_id").all())
        total_sources = len(sources)
        total_acts = conn.exec_driver_sql("SELECT count(*) FROM acts").scalar_one()
        status: dict[int, str] = dict(conn.exec_driver_sql("SELECT id, status FROM links").all())
        entries = conn.exec_driver_sql(
            "SELECT seq, tbl, row_id FROM ledger_entries "
            "WHERE tbl IN ('sources', 'act_sources', 'acts', 'links') ORDER BY seq").all()
        act_source: dict[int, int] = dict(
            conn.exec_driver_sql("SELECT act_id, source_id FROM act_sources").all()
        )
    # the log entries of each write: those about its source and its acts; of a decision, the
    # n-th update of its link
    seqs_of_source: dict[int, list[int]] = {}
    link_updates: dict[int, list[int]] = {}
    for seq, tbl, row_id in entries:
        if tbl == "sources":
            seqs_of_source.setdefault(int(row_id), []).append(int(seq))
        elif tbl == "acts" and int(row_id) in act_source:
            seqs_of_source.setdefault(int(act_source[int(row_id)]), []).append(int(seq))
        elif tbl == "links":
            link_updates.setdefault(int(row_id), []).append(int(seq))
    acked_acts = acked_sources = 0
    for result in results:
        order: list[tuple[str, list[int]]] = []
        decisions_seen: dict[int, int] = {}
        last_status: dict[int, str] = {}
        for op in result["acked"]:
            if op["kind"] == "decision":
                link = op["link"]
                decisions_seen[link] = decisions_seen.get(link, 0) + 1
                last_status[link] = op["status"]
                updates = link_updates.get(link, [])
                # entry 0 is the link's insert; decision n is update n
                n = decisions_seen[link]
                order.append((f"decision {link}#{n}", updates[n:n + 1]))
                continue
            acked_sources += 1
            acked_acts += op["acts"]
            try:
                source_id = archive.records.id_of("source", op["source"])
            except Exception:  # noqa: BLE001 - a lost write
                found["lost"].append(op["source"])
                continue
            if acts_per_source.get(source_id) != op["acts"]:
                found["miscounted"].append([op["source"], acts_per_source.get(source_id)])
            order.append((op["source"], seqs_of_source.get(source_id, [])))
        for link, expected in last_status.items():
            if status.get(link) != expected:
                found["wrong_status"].append([link, status.get(link), expected])
        previous_name, previous_max = None, -1
        for name, seqs in order:
            if not seqs:
                found["out_of_order"].append([name, "no log entry"])
                continue
            if min(seqs) <= previous_max:
                found["out_of_order"].append([previous_name, name])
            previous_name, previous_max = name, max(seqs)
    found["unacknowledged_sources"] = total_sources - seed_sources - acked_sources
    found["unacknowledged_acts"] = total_acts - seed_acts - acked_acts
    start = time.perf_counter()
    report = archive.verification.run()
    found["verify"] = {"ok": report.ok, "seconds": round(time.perf_counter() - start, 1),
                       "entries": report.entries, "problems": report.problems[:5]}
    archive.close()
    found["ok"] = (
        not found["lost"] and not found["miscounted"] and not found["wrong_status"]
        and not found["out_of_order"] and found["unacknowledged_sources"] == 0
        and found["unacknowledged_acts"] == 0 and report.ok
    )
    for key in ("lost", "miscounted", "wrong_status", "out_of_order"):
        found[f"{key}_count"] = len(found[key])
        found[key] = found[key][:10]
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--readers", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--seed-acts", type=int, default=2000)
    parser.add_argument("--links", type=int, default=20, help="pending links per writer")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    (url,) = _databases(args.pg_url, 1)
    out: dict[str, Any] = {"machine": machine(), "writers": args.writers,
                           "readers": args.readers, "seconds": args.seconds}
    try:
        with tempfile.TemporaryDirectory(prefix="sillok-bench-writers-") as tmp:
            work = Path(tmp)
            folder = work / "archive"
            links, acts = setup(url, folder, args.seed_acts, args.writers, args.links, work)
            with archive_counts(folder) as counts:
                seed_sources, seed_acts = counts
            make_file(work / "template.csv", 200, 7)
            ctx = multiprocessing.get_context("spawn")
            per = THREADS_PER_READER_PROCESS
            reader_procs = (args.readers + per - 1) // per
            # the clock starts when every process has opened the archive
            ready = ctx.Barrier(args.writers + reader_procs)
            procs = []
            for w in range(args.writers):
                procs.append(ctx.Process(target=writer_main, args=(
                    url, str(folder), w, args.seconds, str(work / "template.csv"), links[w],
                    str(work / f"writer-{w}.json"), ready)))
            for r in range(reader_procs):
                threads = min(per, args.readers - r * per)
                procs.append(ctx.Process(target=reader_main, args=(
                    str(folder), threads, args.seconds, acts, str(work / f"reader-{r}.json"),
                    ready)))
            for p in procs:
                p.start()
            for p in procs:
                p.join()
            out["load_avg_at_end_of_run"] = os.getloadavg()
            results = [
                json.loads((work / f"writer-{w}.json").read_text()) for w in range(args.writers)
            ]
            reads = [
                json.loads((work / f"reader-{r}.json").read_text()) for r in range(reader_procs)
            ]
            writes = sum(len(r["acked"]) for r in results)
            latency: dict[str, list[float]] = {k: [] for k in ("import", "testimony", "decision")}
            for r in results:
                for op in r["acked"]:
                    latency[op["kind"]].append(op["ms"])
            out["writes"] = writes
            out["writes_per_s"] = round(writes / args.seconds, 2)
            out["writes_by_kind"] = {k: len(v) for k, v in latency.items()}
            out["write_ms_p50_p95"] = {
                k: [_percentile(v, 0.5), _percentile(v, 0.95)] for k, v in latency.items()}
            out["retries"] = sum(len(r["retries"]) for r in results)
            out["retry_messages"] = sorted({m for r in results for m in r["retries"]})[:5]
            out["write_errors"] = sum(len(r["errors"]) for r in results)
            out["write_error_messages"] = sorted({m for r in results for m in r["errors"]})[:10]
            for kind in ("search", "record"):
                values = [v for r in reads for v in r["times"][kind]]
                out[f"{kind}_reads"] = len(values)
                out[f"{kind}_ms_p50"] = _percentile(values, 0.5)
                out[f"{kind}_ms_p95"] = _percentile(values, 0.95)
            out["read_errors"] = sum(len(r["errors"]) for r in reads)
            out["read_error_messages"] = sorted({m for r in reads for m in r["errors"]})[:5]
            out["check"] = check(folder, results, seed_sources, seed_acts)
    except Exception:
        out["failed"] = traceback.format_exc()
    finally:
        _drop(args.pg_url, [url])
    out["load_avg_at_end"] = os.getloadavg()
    print(json.dumps(out, indent=2, ensure_ascii=False))


class archive_counts:  # noqa: N801 - used as a context manager
    """(sources, acts) of the archive at ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def __enter__(self) -> tuple[int, int]:
        from sillok.archive import Archive

        self.archive = Archive.open(self.folder, PASSPHRASE)
        with self.archive.store.reading() as conn:
            sources = conn.exec_driver_sql("SELECT count(*) FROM sources").scalar_one()
            acts = conn.exec_driver_sql("SELECT count(*) FROM acts").scalar_one()
        return int(sources), int(acts)

    def __exit__(self, *exc: object) -> None:
        self.archive.close()


if __name__ == "__main__":
    main()
