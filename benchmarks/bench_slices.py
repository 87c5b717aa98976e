"""Benchmark: slicing a large real package end to end (files -> sources -> parse -> project -> slots -> rendered
slices), in one process on one core. Prints files, lines, slots, lines/s, slots/s and peak memory.

    python benchmarks/bench_slices.py                       # the installed mypy source
    python benchmarks/bench_slices.py --path some/package   # any directory or file
    python benchmarks/bench_slices.py --profile 30          # also print the 30 hottest functions (cProfile)

Not a timed test: the numbers depend on the machine. The aim is at least 20,000 lines per second. Rates are
given per wall-clock second and per CPU second of this process (the second is steadier on a busy machine).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import importlib.util
import pstats
import resource
import sys
import time
import tracemalloc
from pathlib import Path

from typetool.pipeline import slice_project
from typetool.python.project import PythonProject
from typetool.slices import render_slice


def default_target() -> Path:
    for name in ("mypy", "transformers"):
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.submodule_search_locations:
            return Path(next(iter(spec.submodule_search_locations)))
    raise SystemExit("neither mypy nor transformers is installed: pass --path")


def run(path: Path, max_mb: float) -> tuple[int, int, int, int, float, float, float, float]:
    """Returns (files, lines, slots, rendered characters, load seconds, slice seconds, total seconds, total CPU
    seconds of this process)."""
    c0 = time.process_time()
    t0 = time.perf_counter()
    project = PythonProject.load([path], root=path.parent, max_bytes=int(max_mb * 1e6))
    t1 = time.perf_counter()
    slices = slice_project(project)
    chars = sum(len(render_slice(s)) for s in slices)
    t2 = time.perf_counter()
    cpu = time.process_time() - c0
    return len(project.modules), project.line_count, len(slices), chars, t1 - t0, t2 - t1, t2 - t0, cpu


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--path", type=Path, default=None, help="package directory or file (default: installed mypy)")
    ap.add_argument("--max-file-size", type=float, default=2.0, help="skip files above this many MB (as the CLI)")
    ap.add_argument("--tracemalloc", action="store_true",
                    help="measure peak Python heap with tracemalloc (slows the run down ~2x); default: peak RSS")
    ap.add_argument("--profile", type=int, default=0, metavar="N", help="profile and print the N hottest functions")
    args = ap.parse_args(argv)
    path = (args.path or default_target()).resolve()
    if not path.exists():
        print(f"{path}: no such file or directory", file=sys.stderr)
        return 2
    gc.collect()
    if args.tracemalloc:
        tracemalloc.start()
    profiler = cProfile.Profile() if args.profile else None
    if profiler is not None:
        profiler.enable()
    files, lines, slots, chars, t_load, t_slice, total, cpu = run(path, args.max_file_size)
    if profiler is not None:
        profiler.disable()
    print(f"target        {path}")
    print(f"files         {files}")
    print(f"lines         {lines}")
    print(f"slots         {slots}")
    print(f"rendered      {chars} characters")
    print(f"load          {t_load:.2f} s  (read, parse, facts, cross-file resolution)")
    print(f"slice+render  {t_slice:.2f} s")
    print(f"total         {total:.2f} s wall, {cpu:.2f} s CPU")
    print(f"lines/s       {lines / total:,.0f} wall, {lines / cpu:,.0f} CPU")
    print(f"slots/s       {slots / total:,.0f} wall, {slots / cpu:,.0f} CPU")
    if args.tracemalloc:
        _, peak = tracemalloc.get_traced_memory()
        print(f"peak heap     {peak / 2**20:.0f} MiB (tracemalloc)")
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"peak RSS      {rss_kib / 1024:.0f} MiB")
    if profiler is not None:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(args.profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
