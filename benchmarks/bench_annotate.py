"""Benchmark: `typetool annotate` end to end beside autotyping, on stripped copies of a large real package.

Makes two copies of the package source, strips the annotations of both with `typetool strip` (the safe
write-back stage), then times, in the same run, `typetool annotate COPY1` (model included: load, slice,
batched prediction, prediction sets, proven write-back) and
`python -m autotyping --aggressive --guess-common-names COPY2`, and prints both and the ratio. Then annotates a
third stripped copy that starts with the first run's prediction cache (`.typetool_cache/`, as a second run on
unchanged code finds it) and prints that time beside the first (cold) one. With `--no-engine-too`, also times
`typetool annotate --no-engine` (the model alone: no checker engine, no gate) on a fourth copy, cold.

    python benchmarks/bench_annotate.py [--package PATH] [--model DIR] [--sites params,returns] [--no-engine-too]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def count(path: Path) -> tuple[int, int]:
    files = list(path.rglob("*.py"))
    return len(files), sum(f.read_bytes().count(b"\n") for f in files)


def timed(cmd: list[str], cwd: Path) -> tuple[float, subprocess.CompletedProcess[str]]:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    return time.perf_counter() - t0, proc


def main() -> None:
    default = Path(".cache/packages/src/libcst-1.9.0/libcst")
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--package", type=Path, default=default, help="package source directory")
    ap.add_argument("--model", type=Path, default=None)
    ap.add_argument("--sites", default="params,returns")
    ap.add_argument("--no-engine-too", action="store_true", help="also time annotate --no-engine")
    a = ap.parse_args()
    if not a.package.is_dir():
        sys.exit(f"{a.package}: not a directory (run `typetool corpus build` for the default)")
    with tempfile.TemporaryDirectory() as tmp:
        ours, theirs = Path(tmp) / "ours" / a.package.name, Path(tmp) / "theirs" / a.package.name
        warm = Path(tmp) / "warm" / a.package.name
        alone = Path(tmp) / "alone" / a.package.name
        for dest in (ours, theirs, warm, *([alone] if a.no_engine_too else [])):
            shutil.copytree(a.package, dest, ignore=shutil.ignore_patterns("__pycache__"))
            proc = subprocess.run([sys.executable, "-m", "typetool", "strip", str(dest), "-q"], capture_output=True,
                                  text=True)
            if proc.returncode not in (0, 1):
                sys.exit(f"strip failed: {proc.stderr[-2000:]}")
        files, lines = count(ours)
        cmd = [sys.executable, "-m", "typetool", "annotate", str(ours), "--sites", a.sites]
        if a.model is not None:
            cmd += ["--model", str(a.model)]
        t_ours, p_ours = timed(cmd, Path.cwd())
        t_auto, p_auto = timed([sys.executable, "-m", "autotyping", "--aggressive", "--guess-common-names",
                                str(theirs)], Path.cwd())
        if p_ours.returncode not in (0, 1):
            sys.exit(f"typetool annotate failed ({p_ours.returncode}): {p_ours.stderr[-3000:]}")
        cache = ours / ".typetool_cache"
        t_warm = None
        if cache.is_dir():
            shutil.copytree(cache, warm / ".typetool_cache")
            t_warm, p_warm = timed([*cmd[:4], str(warm), *cmd[5:]], Path.cwd())
            if p_warm.returncode not in (0, 1):
                sys.exit(f"typetool annotate (warm) failed ({p_warm.returncode}): {p_warm.stderr[-3000:]}")
        t_alone = None
        if a.no_engine_too:
            t_alone, p_alone = timed([*cmd[:4], str(alone), *cmd[5:], "--no-engine"], Path.cwd())
            if p_alone.returncode not in (0, 1):
                sys.exit(f"typetool annotate --no-engine failed ({p_alone.returncode}): {p_alone.stderr[-3000:]}")
        if p_auto.returncode != 0:
            print(f"autotyping exited {p_auto.returncode}: {p_auto.stderr[-1000:]}")
        print(f"package: {a.package} ({files} files, {lines} lines, annotations stripped)")
        print(f"typetool annotate: {t_ours:8.2f} s  ({lines / t_ours:,.0f} lines/s)")
        print(f"autotyping:        {t_auto:8.2f} s  ({lines / t_auto:,.0f} lines/s)")
        print(f"ratio autotyping / typetool: {t_auto / t_ours:.2f} (above 1: typetool is faster)")
        if t_warm is not None:
            print(f"typetool annotate again, unchanged code, warm cache: {t_warm:8.2f} s "
                  f"({100 * t_warm / t_ours:.0f}% of the cold run)")
        else:
            print("no prediction cache was written (TYPETOOL_NO_CACHE set?)")
        if t_alone is not None:
            print(f"typetool annotate --no-engine (model alone, no gate), cold: {t_alone:8.2f} s "
                  f"(the engine and the gate cost {t_ours - t_alone:+.2f} s)")
        print(p_ours.stderr[-1500:])


if __name__ == "__main__":
    main()
