"""Benchmark of SQLCipher's defences: ``cipher_memory_security`` and ``secure_delete`` on
(as shipped) against both off, and optionally against an older tree of Sillok.

Prints one JSON document. Run: .venv/bin/python bench/bench_security.py --rows 100000
For each configuration, in processes of their own (``cipher_memory_security`` is one setting
for a whole process and cannot be turned off once on): the import of the same synthetic acts
file into a new archive (``bench_core.phase_import``), the median time to open the archive
(``Archive.open``, default argon2id) and to open a new keyed connection, a full ``verify``,
and ``keys rotate``. The phases run phase by phase, each configuration in turn, so that the
machine's load drifts across all of them alike; each "on / off" figure is a ratio of two
measurements of the same run.

Configurations: ``on`` (this tree as it is), ``off`` (this tree with the store's private
switches ``sillok.store.dialects._memory_security`` and ``_secure_delete`` set to False: both
PRAGMAs off); with ``--split``, ``memory_off`` (``secure_delete`` alone on, as SQLCipher
keeps it for a keyed database unless told otherwise: the PRAGMAs as they were before issue 11);
with ``--before-tree DIR``, ``before``: the Sillok of another checkout (e.g. a worktree of the
commit before issue 11), run by this same script.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.bench_core import PASSPHRASE, machine, make_file, phase_import  # noqa: E402

PHASES = ("import", "open", "verify", "rotate")


def _use_tree(tree: Path, config: str) -> None:
    """Import Sillok from ``tree``, with the store's defences as ``config`` says."""
    sys.path.insert(0, str(tree))
    import sillok

    if Path(sillok.__file__).resolve().parents[1] != tree.resolve():
        raise SystemExit(f"sillok was imported from {sillok.__file__}, not from {tree}")
    if config in ("off", "memory_off"):
        from sillok.store import dialects

        dialects._memory_security = False
        dialects._secure_delete = config == "memory_off"


def _pragmas(archive: Any) -> dict[str, str]:
    """What SQLCipher says of the two PRAGMAs on a connection of the archive's store."""
    with archive.store.reading() as conn:
        return {
            name: str(conn.exec_driver_sql(f"PRAGMA {name}").scalar())
            for name in ("cipher_memory_security", "secure_delete")
        }


def phase_open(folder: Path, opens: int) -> dict[str, object]:
    """Median time to open the archive, and to open a new keyed connection and read."""
    from sqlalchemy import text

    from sillok.archive import Archive

    Archive.open(folder, PASSPHRASE).close()  # warm the file cache
    opened, connected = [], []
    for _ in range(opens):
        start = time.perf_counter()
        archive = Archive.open(folder, PASSPHRASE)
        opened.append(time.perf_counter() - start)
        for _ in range(5):
            archive.store.engine.dispose()  # the next connection is a new one, keyed anew
            start = time.perf_counter()
            with archive.store.reading() as conn:
                conn.execute(text("SELECT count(*) FROM archive_meta")).scalar()
            connected.append(time.perf_counter() - start)
        pragmas = _pragmas(archive)
        archive.close()
    return {
        "opens": opens,
        "open_median_s": statistics.median(opened),
        "open_s": opened,
        "connection_median_ms": statistics.median(connected) * 1000,
        "pragmas": pragmas,
    }


def phase_verify(folder: Path) -> dict[str, object]:
    """A full verification (the log and every row re-committed)."""
    from sillok.archive import Archive

    with Archive.open(folder, PASSPHRASE) as archive:
        start, cpu = time.perf_counter(), time.process_time()
        report = archive.verification.run()
        seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
        pragmas = _pragmas(archive)
    return {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "ok": report.ok,
        "entries": report.entries,
        "rows": report.rows,
        "pragmas": pragmas,
    }


def phase_rotate(folder: Path) -> dict[str, object]:
    """``keys rotate``: new keys for every copy, field keys re-wrapped, the file re-keyed."""
    from sillok.archive import Archive

    with Archive.open(folder, PASSPHRASE) as archive:
        start, cpu = time.perf_counter(), time.process_time()
        done = archive.users.rotate_keys()
        seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
        pragmas = _pragmas(archive)
    return {"seconds": seconds, "cpu_seconds": cpu_seconds, "done": done, "pragmas": pragmas}


def _acts_for_tree(source: Path, target: Path) -> Path:
    """The acts file in the columns the imported Sillok knows (an older tree knows fewer:
    the columns it lacks must be empty in every row, so both import the same acts)."""
    import csv

    from sillok.records.flatacts import COLUMNS

    with open(source, encoding="utf-8", newline="") as fh:
        header = next(csv.reader(fh))
    if set(header) <= set(COLUMNS):
        return source
    dropped = [c for c in header if c not in COLUMNS]
    with (
        open(source, encoding="utf-8", newline="") as fh,
        open(target, "w", encoding="utf-8", newline="") as out,
    ):
        kept = [c for c in header if c in COLUMNS]
        writer = csv.DictWriter(out, fieldnames=kept, lineterminator="\n")
        writer.writeheader()
        for row in csv.DictReader(fh):
            if any(row[c] for c in dropped):
                raise SystemExit(f"{source}: a column this Sillok lacks is filled: {dropped}")
            writer.writerow({c: row[c] for c in kept})
    return target


def run_phase(args: argparse.Namespace) -> dict[str, object]:
    """One phase of one configuration (in its own process)."""
    _use_tree(args.tree, args.config)
    workdir = args.workdir / args.config
    folder = workdir / "archive"
    if args.phase == "import":
        workdir.mkdir(parents=True, exist_ok=True)
        acts = _acts_for_tree(args.workdir / "acts.csv", workdir / "acts.csv")
        result: dict[str, Any] = phase_import(acts, workdir)
        from sillok.archive import Archive

        with Archive.open(folder, PASSPHRASE) as archive:
            result["pragmas"] = _pragmas(archive)
        return result
    if args.phase == "open":
        return phase_open(folder, args.opens)
    if args.phase == "verify":
        return phase_verify(folder)
    return phase_rotate(folder)


def _commit(tree: Path) -> str:
    done = subprocess.run(
        ["git", "-C", str(tree), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout.strip() or "unknown"


def _ratio(on: float, off: float) -> float:
    return round(on / off, 3) if off else float("nan")


def ratios(results: dict[str, dict[str, Any]], base: str) -> dict[str, float]:
    """Each measure of ``on`` divided by the same measure of ``base`` (times: above 1 is
    slower; the import rate: below 1 is slower)."""
    on, other = results["on"], results[base]
    return {
        "open_median_s": _ratio(on["open"]["open_median_s"], other["open"]["open_median_s"]),
        "connection_median_ms": _ratio(
            on["open"]["connection_median_ms"], other["open"]["connection_median_ms"]
        ),
        "import_acts_per_s": _ratio(on["import"]["rows_per_s"], other["import"]["rows_per_s"]),
        "import_acts_per_cpu_s": _ratio(
            on["import"]["rows_per_cpu_s"], other["import"]["rows_per_cpu_s"]
        ),
        "verify_s": _ratio(on["verify"]["seconds"], other["verify"]["seconds"]),
        "verify_cpu_s": _ratio(on["verify"]["cpu_seconds"], other["verify"]["cpu_seconds"]),
        "rotate_s": _ratio(on["rotate"]["seconds"], other["rotate"]["seconds"]),
        "rotate_cpu_s": _ratio(on["rotate"]["cpu_seconds"], other["rotate"]["cpu_seconds"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--opens", type=int, default=7, help="opens timed for the median")
    parser.add_argument("--before-tree", type=Path, help="another checkout of Sillok to time")
    parser.add_argument(
        "--split", action="store_true", help="also time secure_delete alone (memory_off)"
    )
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    parser.add_argument("--phase", choices=PHASES, help=argparse.SUPPRESS)
    parser.add_argument("--config", help=argparse.SUPPRESS)
    parser.add_argument("--tree", type=Path, default=ROOT, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase is not None:
        print(json.dumps(run_phase(args)))
        return
    trees = {"on": ROOT, "off": ROOT}
    if args.split:
        trees["memory_off"] = ROOT
    if args.before_tree is not None:
        trees["before"] = args.before_tree.resolve()
    with tempfile.TemporaryDirectory(prefix="sillok-bench-security-") as tmp:
        workdir = args.keep or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        make_file(workdir / "acts.csv", args.rows, args.seed)
        out: dict[str, Any] = {
            "rows": args.rows,
            "machine": machine(),
            "trees": {c: {"path": str(t), "commit": _commit(t)} for c, t in trees.items()},
            "generate_seconds": time.perf_counter() - started,
        }
        results: dict[str, dict[str, Any]] = {config: {} for config in trees}
        for phase in PHASES:
            for config, tree in trees.items():
                done = subprocess.run(
                    [
                        sys.executable,
                        __file__,
                        "--phase",
                        phase,
                        "--config",
                        config,
                        "--tree",
                        str(tree),
                        "--workdir",
                        str(workdir),
                        "--opens",
                        str(args.opens),
                    ],
                    check=False,
                    capture_output=True,
                    text=True,
                    env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
                )
                if done.returncode:
                    sys.stderr.write(done.stderr)
                    raise SystemExit(f"the {phase} phase of {config} failed")
                results[config][phase] = json.loads(done.stdout)
        out["results"] = results
        out["on_to_off"] = ratios(results, "off")
        for base in ("memory_off", "before"):
            if base in results:
                out[f"on_to_{base}"] = ratios(results, base)
        out["load_avg_at_end"] = os.getloadavg()
        out["wall_seconds"] = time.perf_counter() - started
        print(json.dumps(out, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
