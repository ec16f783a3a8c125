"""Benchmark of files in Uwazi zips: export and import time, and the memory they hold.

Prints one JSON document. Run:

    .venv/bin/python bench/bench_uwazi_files.py --mib 64 --files 20

An archive with the Yodok testimonies gets one large evidence file (``--mib`` MiB of noise) and
``--files`` small ones; the Uwazi export and the import into an empty archive are timed, with
the most memory Python allocated meanwhile (tracemalloc), and set beside ``attachment get`` of
the large file (the same opening and hashing, to a plain file) and ``attach`` of it (the same
sealing). The figures are informal: one run, on whatever else the machine is doing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _measured(run: Callable[[], Any]) -> tuple[Any, float, int]:
    """(result, seconds, peak bytes Python allocated)."""
    tracemalloc.start()
    started = time.perf_counter()
    result = run()
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return result, seconds, peak


def bench(mib: int, files: int, workdir: Path) -> dict[str, object]:
    """Time and memory of exporting and importing an archive's files through an Uwazi zip."""
    from sillok.archive import Archive
    from sillok.records import uwazi_files
    from tests.conftest import FAST, PASSPHRASE
    from tests.datasets import YODOK, write_csv

    out: dict[str, object] = {"large_file_mib": mib, "small_files": files}
    large = workdir / "video.mp4"
    with open(large, "wb") as target:
        for _ in range(mib):
            target.write(os.urandom(1 << 20))
    with Archive.create(workdir / "from", PASSPHRASE, settings=FAST) as archive:
        archive.ingest.run(write_csv(workdir / "acts.csv", YODOK))
        added, seconds, _peak = _measured(lambda: archive.attachments.attach("act", 1, large))
        out["attach_large_seconds"] = round(seconds, 3)
        for n in range(files):
            small = workdir / f"scan-{n}.jpg"
            small.write_bytes(b"\xff\xd8\xff\xe0" + os.urandom(50_000))
            archive.attachments.attach("source", 1 + n % 2, small)
        _got, seconds, _peak = _measured(
            lambda: archive.attachments.get(added["id"], workdir / "got.mp4")
        )
        out["get_large_seconds"] = round(seconds, 3)
        zipped = workdir / "uwazi.zip"
        done, seconds, peak = _measured(lambda: uwazi_files.export_zip(archive.exports, zipped))
        out |= {
            "export_seconds": round(seconds, 3),
            "export_peak_mib": round(peak / (1 << 20), 2),
            "exported_files": done.files,
            "zip_mib": round(zipped.stat().st_size / (1 << 20), 2),
        }
    with Archive.create(workdir / "to", PASSPHRASE, settings=FAST) as copy:
        report, seconds, peak = _measured(lambda: uwazi_files.import_zip(copy.ingest, zipped))
        out |= {
            "import_seconds": round(seconds, 3),
            "import_peak_mib": round(peak / (1 << 20), 2),
            "imported_files": report.created.get("attachment", 0),
        }
        started = time.perf_counter()
        out["verify_ok"] = copy.verification.run().ok
        out["verify_seconds"] = round(time.perf_counter() - started, 3)
    seconds_of = {k: float(v) for k, v in out.items() if k.endswith("_seconds")}  # type: ignore[arg-type]
    out["export_over_get"] = round(
        seconds_of["export_seconds"] / seconds_of["get_large_seconds"], 2
    )
    out["import_over_attach"] = round(
        seconds_of["import_seconds"] / seconds_of["attach_large_seconds"], 2
    )
    return out


def main() -> None:
    """Run the benchmark and print JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--mib", type=int, default=64)
    parser.add_argument("--files", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = bench(args.mib, args.files, Path(tmp))
    result["python"] = platform.python_version()
    result["load"] = os.getloadavg()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
