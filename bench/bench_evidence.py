"""Benchmark of evidence keys: what re-wrapping every file's data key adds to a key rotation.

Prints one JSON document. Run:

    .venv/bin/python bench/bench_evidence.py --files 1000

An archive with the Yodok testimonies gets ``--files`` small evidence files (each its own data
key), then ``keys rotate`` is timed with them; a second archive without evidence gives the
rotation's cost without the re-wrap. Each re-wrapped key is a logged update of
``evidence_keys`` (unwrap, open the sealed SHA-256, wrap, HMAC, log entry). The figures are
informal: one run, on whatever else the machine is doing.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def bench_rotation(files: int, workdir: Path) -> dict[str, object]:
    """Seconds to attach ``files`` files, and to rotate with and without them."""
    from sillok.archive import Archive
    from tests.conftest import FAST, PASSPHRASE
    from tests.datasets import YODOK, write_csv

    out: dict[str, object] = {"files": files}
    for label, count in (("without_files", 0), ("with_files", files)):
        folder = workdir / label
        with Archive.create(folder, PASSPHRASE, settings=FAST) as archive:
            archive.ingest.run(write_csv(workdir / f"{label}.csv", YODOK))
            started = time.perf_counter()
            for n in range(count):
                path = workdir / f"{label}-{n}.bin"
                path.write_bytes(os.urandom(4096))
                archive.attachments.attach("source", 1, path)
                path.unlink()
            if count:
                out["attach_seconds_per_file"] = round((time.perf_counter() - started) / count, 4)
            started = time.perf_counter()
            done = archive.users.rotate_keys()
            out[f"rotate_seconds_{label}"] = round(time.perf_counter() - started, 3)
            if count:
                out["rewrapped"] = done["evidence_keys"]
    rewrap = float(out["rotate_seconds_with_files"]) - float(out["rotate_seconds_without_files"])  # type: ignore[arg-type]
    out["rewrap_ms_per_file"] = round(1000 * rewrap / max(files, 1), 3)
    return out


def main() -> None:
    """Run the benchmark and print JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = bench_rotation(args.files, Path(tmp))
    result["python"] = platform.python_version()
    result["load"] = os.getloadavg()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
