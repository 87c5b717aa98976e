"""Speed of write-back: `strip` and `apply` on a copy of a large real package, end to end, files written.

    python benchmarks/bench_writeback.py [--package libcst] [--limit N] [--jobs N] [--no-verify]

Copies the installed package to a temporary directory, then times, in one process:
  strip  `strip_paths(copy, WRITE, unsafe_fixes)`: read, parse (libcst), rewrite, prove, write every file;
  apply  `apply_predictions` of the original annotations (the copy's hashes, one record per annotated slot) onto
         the stripped copy: the same steps, plus name resolution and imports.
and prints files/s and MB/s (MB of input source) for each, by wall-clock time and by CPU time (this process and
its workers: steadier on a shared machine), with the share of the time spent in libcst's parser.
`--no-verify` skips the safety proof, to show what it costs (never available in the CLI).
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import os
import shutil
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

import libcst as cst

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pytest  # only to find site-packages

from typetool.python.writeback import locate_slots
from typetool.writeback import (
    FileStatus,
    PredictionRecord,
    Predictions,
    WriteMode,
    WriteOptions,
    apply_predictions,
    strip_paths,
)

SITE = Path(pytest.__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--package", default="libcst")
    ap.add_argument("--limit", type=int, default=None, help="only the first N files")
    ap.add_argument("--no-verify", action="store_true")
    ap.add_argument("--jobs", type=int, default=1, help="worker processes (as `typetool apply/strip --jobs`)")
    args = ap.parse_args()
    src = SITE / args.package
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        copy = root / args.package
        shutil.copytree(src, copy, ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.pyc"))
        files = sorted(copy.rglob("*.py"))[: args.limit]
        if args.limit is not None:
            keep = set(files)
            for f in copy.rglob("*.py"):
                if f not in keep:
                    f.unlink()
        originals = {f: f.read_text(encoding="utf-8") for f in files}
        size = sum(len(t.encode()) for t in originals.values())
        print(f"{args.package}: {len(files)} files, {size / 1e6:.2f} MB, python {sys.version.split()[0]}, "
              f"libcst {version('libcst')}, {args.jobs} job(s), {os.cpu_count()} CPUs"
              f"{', no verification' if args.no_verify else ''}")

        c = _cpu()
        for text in originals.values():
            cst.parse_module(text)
        parse_cpu = _cpu() - c
        print(f"  libcst parse alone: {parse_cpu:6.1f} CPU s  {len(files) / parse_cpu:6.1f} files/CPU-s  "
              f"{size / 1e6 / parse_cpu:5.2f} MB/CPU-s")
        t = time.perf_counter()
        for text in originals.values():
            ast.parse(text)
        print(f"  ast parse alone:    {time.perf_counter() - t:6.1f} s")

        options = WriteOptions(unsafe_fixes=True, target_version=(3, 12), verify=not args.no_verify)
        cwd = os.getcwd()
        os.chdir(root)
        try:
            t, c = time.perf_counter(), _cpu()
            stripped = strip_paths([Path(args.package)], WriteMode.WRITE, options, jobs=args.jobs)
            _report("strip", stripped.files, len(files), size, time.perf_counter() - t, _cpu() - c, parse_cpu)

            preds: list[PredictionRecord] = []
            hashes: dict[str, str] = {}
            for f, text in originals.items():
                rel = f.relative_to(root).as_posix()
                hashes[rel] = hashlib.sha256(f.read_bytes()).hexdigest()
                for sid, slot in locate_slots(text, rel).items():
                    if slot.annotation is not None and not slot.type_comment:
                        typ = ast.unparse(ast.parse(f"({slot.annotation})", mode="eval").body)
                        preds.append(PredictionRecord(sid, rel, typ))
            predictions = Predictions(hashes, tuple(preds))
            t, c = time.perf_counter(), _cpu()
            applied = apply_predictions(predictions, WriteMode.WRITE, options, root, jobs=args.jobs)
            _report("apply", applied.files, len(files), size, time.perf_counter() - t, _cpu() - c, parse_cpu)
            print(f"  apply wrote {sum(f.changed_slots for f in applied.files)} of {len(preds)} annotations")
        finally:
            os.chdir(cwd)


def _cpu() -> float:
    """CPU seconds of this process and of its finished worker processes."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def _report(name: str, outcomes: object, n: int, size: int, wall: float, cpu: float, parse_cpu: float) -> None:
    files = list(outcomes)  # type: ignore[call-overload]
    status = {s: sum(1 for f in files if f.status == s) for s in FileStatus}
    print(f"  {name:5} wall {wall:6.1f} s: {n / wall:6.1f} files/s {size / 1e6 / wall:5.2f} MB/s | "
          f"CPU {cpu:6.1f} s: {n / cpu:6.1f} files/CPU-s {size / 1e6 / cpu:5.2f} MB/CPU-s "
          f"(libcst parsing ~{100 * parse_cpu / cpu:.0f}% of CPU; changed {status[FileStatus.CHANGED]}, "
          f"unchanged {status[FileStatus.UNCHANGED]}, refused {status[FileStatus.REFUSED]}, "
          f"failed {status[FileStatus.FAILED]})")


if __name__ == "__main__":
    main()
