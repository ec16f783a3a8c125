"""Fuzz the readers of files a user hands Sillok (issue 12, finding 10), outside CI.

Each reader must turn any input into rows (or a verified bundle) or its named error
(:class:`InvalidInput`, :class:`BundleError`); anything else is a crash. Prints one JSON
document: per reader, the engine, inputs tried, seconds, crashes (kind and where, deduplicated),
and inputs slower than ``--slow`` seconds. Crashing and slow inputs are written to ``--out``.

    PYTHONPATH=. .venv/bin/python bench/fuzz_readers.py csv --seconds 600

Readers: ``csv``, ``jsonl``, ``xlsx`` (libFuzzer mutates one XML part of a good workbook, named
by the input's first byte, and the harness zips the book), ``bundle`` (the text of a proof
bundle, read and verified as ``sillok proof verify`` does). The engine is atheris
(coverage-guided libFuzzer) when it imports, else Hypothesis with no deadline and as many
examples as the time allows. One reader per process: libFuzzer owns the process.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import importlib.util
import json
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

try:  # the optional engine: atheris builds on libFuzzer (pip install atheris)
    import atheris
except ImportError:
    atheris = None

READERS = ("csv", "jsonl", "xlsx", "bundle", "backup")


def _load_make() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "hostile_make", ROOT / "tests" / "data" / "hostile" / "make.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Campaign:
    """Counts, crashes and slow inputs of one reader's run; stops itself at the deadline."""

    def __init__(self, reader: str, engine: str, seconds: float, slow: float, out: Path) -> None:
        self.reader, self.engine, self.seconds, self.slow, self.out = (
            reader, engine, seconds, slow, out
        )
        self.started = time.monotonic()
        self.inputs = 0
        self.crashes: dict[str, dict[str, Any]] = {}
        self.slow_inputs: list[dict[str, Any]] = []

    def run_one(self, check: Callable[[bytes], None], data: bytes) -> None:
        """Run one input; record a crash or a slow input; report and exit at the deadline."""
        self.inputs += 1
        began = time.monotonic()
        try:
            check(data)
        except Exception as exc:  # the point of the harness: any other exception is a crash
            frame = traceback.extract_tb(exc.__traceback__)[-1]
            key = f"{type(exc).__name__} at {Path(frame.filename).name}:{frame.lineno}"
            if key not in self.crashes:
                saved = self._save("crash", data)
                self.crashes[key] = {"message": str(exc)[:300], "input": saved, "count": 0}
            self.crashes[key]["count"] += 1
        took = time.monotonic() - began
        if took > self.slow and len(self.slow_inputs) < 20:
            self.slow_inputs.append({"seconds": round(took, 2), "input": self._save("slow", data)})
        if time.monotonic() - self.started > self.seconds:
            self.report()
            os._exit(0)  # libFuzzer never returns from Fuzz(): leave from here

    def _save(self, what: str, data: bytes) -> str:
        self.out.mkdir(parents=True, exist_ok=True)
        path = self.out / f"{self.reader}-{what}-{hashlib.sha256(data).hexdigest()[:16]}"
        path.write_bytes(data)
        return str(path)

    def report(self) -> None:
        """Print the run as one JSON document."""
        print(
            json.dumps(
                {
                    "reader": self.reader,
                    "engine": self.engine,
                    "inputs": self.inputs,
                    "seconds": round(time.monotonic() - self.started, 1),
                    "crashes": len(self.crashes),
                    "crash_kinds": self.crashes,
                    "slow_inputs": self.slow_inputs,
                },
                indent=2,
            ),
            flush=True,
        )


# --- the readers --------------------------------------------------------------------------


def _flat_check(
    suffix: str, scratch: Path, wrap: Callable[[bytes], bytes]
) -> Callable[[bytes], None]:
    # sillok is imported here, after main() has imported it under atheris's instrumentation
    from sillok.errors import InvalidInput
    from sillok.records.flatacts import parse_row, read_rows

    path = scratch / f"fuzz.{suffix}"

    def check(data: bytes) -> None:
        path.write_bytes(wrap(data))
        try:
            for number, raw in read_rows(path):
                parse_row(number, raw)
        except InvalidInput as exc:
            if path.name not in str(exc):
                raise AssertionError(f"an error that does not name the file: {exc}") from None

    return check


def _xlsx_wrap(make: ModuleType) -> Callable[[bytes], bytes]:
    parts = [make.SHEET, *make.PARTS]

    def wrap(data: bytes) -> bytes:
        if not data:
            return b""
        part = parts[data[0] % len(parts)]
        book: bytes = make.xlsx(make.good_sheet(), {part: data[1:]})
        return book

    return wrap


def _bundle_check() -> Callable[[bytes], None]:
    from sillok.custody.proofs import BundleCheck, BundleError, load_bundle, verify_bundle

    def check(data: bytes) -> None:
        try:
            result = verify_bundle(load_bundle(data, "fuzz.json"))
        except BundleError as exc:
            if not str(exc):
                raise AssertionError("a BundleError without a message") from None
            return
        if isinstance(result, BundleCheck) and not (
            type(result.record_id) is int and type(result.version) is int
        ):
            raise AssertionError(f"accepted a record id {result.record_id!r}")

    return check


def _good_backup(scratch: Path) -> Path:
    """A backup of a small archive (cheap argon2id: only the manifest is fuzzed)."""
    from sillok.archive import Archive
    from sillok.settings import KdfParams, Settings

    fast = Settings(kdf=KdfParams(time_cost=1, memory_cost_kib=8 * 1024, parallelism=1))
    rows = _load_make().GOOD_ROWS
    csv = scratch / "acts.csv"
    csv.write_text("\n".join(",".join(r) for r in rows) + "\n", encoding="utf-8")
    passphrase = "fuzz the backup manifest, 7 herons"
    with Archive.create(scratch / "archive", passphrase, settings=fast) as archive:
        archive.ingest.run(csv)
        archive.backups.backup(scratch / "backup")
    return scratch / "backup"


def _backup_check(scratch: Path) -> Callable[[bytes], None]:
    from sillok.custody.backup import MANIFEST, BackupError, check_manifest

    folder = _good_backup(scratch)
    path = folder / MANIFEST

    def check(data: bytes) -> None:
        path.write_bytes(data)
        try:
            check_manifest(folder)
        except BackupError as exc:
            if str(folder) not in str(exc):
                raise AssertionError(f"an error that does not name the backup: {exc}") from None

    return check


def _backup_seeds(scratch: Path) -> list[bytes]:
    good = json.loads((scratch / "backup" / "manifest.json").read_text(encoding="utf-8"))
    seeds = [json.dumps(good, indent=2).encode()]
    for member, value in [("checkpoint", 7), ("files", ["archive.db"]), ("tree_size", 2**64),
                          ("root", "zz"), ("row_counts", None)]:
        bad = copy.deepcopy(good)
        bad[member] = value
        seeds.append(json.dumps(bad).encode())
    return seeds


def _seeds(reader: str, make: ModuleType, scratch: Path) -> list[bytes]:
    hostile = ROOT / "tests" / "data" / "hostile"
    if reader == "csv":
        rows = make.GOOD_ROWS
        good = "\n".join(",".join(r) for r in rows).encode() + b"\n"
        return [good, *(p.read_bytes() for p in hostile.glob("*.csv"))]
    if reader == "jsonl":
        lines = [dict(zip(make.GOOD_ROWS[0], r, strict=True)) for r in make.GOOD_ROWS[1:]]
        good = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in lines).encode()
        return [good, *(p.read_bytes()[:20_000] for p in hostile.glob("*.jsonl"))]
    if reader == "xlsx":
        parts = [make.good_sheet(), *make.PARTS.values()]
        return [bytes([i]) + part for i, part in enumerate(parts)] + [
            bytes([0]) + make.undefined_entity(), bytes([0]) + make.row_gap_bomb()
        ]
    if reader == "backup":
        return _backup_seeds(scratch)
    good = make.good_bundle(scratch / "bundle")
    seeds = [json.dumps(good).encode()]
    for _name, bad in make.bundles(copy.deepcopy(good)):
        seeds.append(json.dumps(bad).encode())
    return seeds


def main(argv: list[str]) -> None:
    """Fuzz one reader for ``--seconds`` and print the JSON report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("reader", choices=READERS)
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--slow", type=float, default=2.0, help="report inputs slower than this")
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "sillok-fuzz")
    parser.add_argument("--engine", choices=("atheris", "hypothesis"), default=None)
    args = parser.parse_args(argv)
    engine = args.engine or ("atheris" if atheris is not None else "hypothesis")
    shm = "/dev/shm" if Path("/dev/shm").is_dir() else None  # scratch files in memory
    scratch = Path(tempfile.mkdtemp(prefix="fuzz-", dir=shm))
    make = _load_make()
    if engine == "atheris":
        instrumented = ["sillok.records", "sillok.custody.proofs", "sillok.custody.backup",
                        "sillok.ledger", "openpyxl", "defusedxml"]
        with atheris.instrument_imports(include=instrumented):
            import defusedxml  # noqa: F401
            import openpyxl  # noqa: F401

            import sillok.custody.backup  # noqa: F401
            import sillok.custody.proofs  # noqa: F401
            import sillok.records.flatacts  # noqa: F401
    if args.reader == "bundle":
        check = _bundle_check()
    elif args.reader == "backup":
        check = _backup_check(scratch)
    else:
        wrap = _xlsx_wrap(make) if args.reader == "xlsx" else (lambda data: data)
        check = _flat_check(args.reader, scratch, wrap)
    seeds = _seeds(args.reader, make, scratch)
    campaign = Campaign(args.reader, engine, args.seconds, args.slow, args.out)
    if engine == "atheris":
        corpus = scratch / "corpus"
        corpus.mkdir()
        for i, seed in enumerate(seeds):
            (corpus / f"seed-{i}").write_bytes(seed)
        atheris.Setup(
            [sys.argv[0], str(corpus), "-max_len=65536", "-timeout=60", "-rss_limit_mb=3072"],
            lambda data: campaign.run_one(check, data),
        )
        atheris.Fuzz()
    _hypothesis(campaign, check, seeds)


def _hypothesis(campaign: Campaign, check: Callable[[bytes], None], seeds: list[bytes]) -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    @st.composite
    def mutated(draw: st.DrawFn) -> bytes:
        data = bytearray(draw(st.sampled_from(seeds)))
        for _ in range(draw(st.integers(0, 8))):
            at = draw(st.integers(0, len(data)))
            how = draw(st.sampled_from(["cut", "flip", "insert"]))
            if how == "cut":
                del data[at : at + draw(st.integers(1, 64))]
            elif how == "flip" and at < len(data):
                data[at] ^= draw(st.integers(1, 255))
            else:
                data[at:at] = draw(st.binary(max_size=16))
        return bytes(data)

    @settings(
        max_examples=10**9, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(data=mutated() | st.binary(max_size=2048))
    def run(data: bytes) -> None:
        campaign.run_one(check, data)

    run()
    campaign.report()


if __name__ == "__main__":
    main(sys.argv[1:])
