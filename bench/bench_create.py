"""Benchmark of creating an archive: the schema migrated by Alembic against replayed.

Prints one JSON document. Run: ``.venv/bin/python bench/bench_create.py --archives 20``.
Creates ``--archives`` new SQLCipher archives (the test suite's cheap argon2id settings, which
the suite uses for every archive it makes) in each of two ways, alternating in rounds so that
the machine's load falls on both alike: ``migrated``, every archive migrated by Alembic (the
process's record of a fresh schema emptied before each); ``replayed``, every archive after the
first given the statements the first's migration ran (``Store.migrate``, docs/design.md "A new
archive's schema"). Reports CPU and wall seconds per archive and their ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sillok.store as store_module  # noqa: E402
from bench.bench_core import PASSPHRASE, machine  # noqa: E402
from sillok.archive import Archive  # noqa: E402
from sillok.settings import KdfParams, Settings  # noqa: E402

CHEAP = Settings(kdf=KdfParams(time_cost=1, memory_cost_kib=8 * 1024, parallelism=1))


def create(folder: Path, replay: bool) -> tuple[float, float]:
    """Create one archive; its CPU and wall seconds."""
    if not replay:
        store_module._FRESH_SCHEMA.clear()
    cpu, wall = time.process_time(), time.perf_counter()
    Archive.create(folder, PASSPHRASE, settings=CHEAP).close()
    return time.process_time() - cpu, time.perf_counter() - wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--archives", type=int, default=20, help="archives per way")
    args = parser.parse_args()
    load = [os.getloadavg()[0]]
    spent: dict[str, list[tuple[float, float]]] = {"migrated": [], "replayed": []}
    with tempfile.TemporaryDirectory() as tmp:
        Archive.create(Path(tmp) / "warm", PASSPHRASE, settings=CHEAP).close()  # imports
        for n in range(args.archives):
            for way in ("migrated", "replayed") if n % 2 == 0 else ("replayed", "migrated"):
                spent[way].append(create(Path(tmp) / f"{way}-{n}", way == "replayed"))
    load.append(os.getloadavg()[0])
    per = {way: {"cpu_s": sum(c for c, _ in v) / len(v), "wall_s": sum(w for _, w in v) / len(v)}
           for way, v in spent.items()}
    print(json.dumps({
        "machine": machine(), "load_average_start_end": load, "archives_per_way": args.archives,
        "per_archive": per,
        "ratio_replayed_over_migrated": {
            k: per["replayed"][k] / per["migrated"][k] for k in ("cpu_s", "wall_s")},
    }, indent=1))


if __name__ == "__main__":
    main()
