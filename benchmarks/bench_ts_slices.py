"""Benchmark: slicing the pinned TypeScript packages end to end (files -> sources -> parse -> facts -> project
-> slots -> rendered slices), one `TsProject` per package, in one process on one core. Prints per package and
in total: files, lines, slots, lines/s and slots/s (per wall-clock second and per CPU second of this process;
the second is steadier on a busy machine), and peak memory.

    python benchmarks/bench_ts_slices.py                        # every package under .cache/npm/src
    python benchmarks/bench_ts_slices.py --path some/project    # any directory (one project)
    python benchmarks/bench_ts_slices.py --only effect zod      # packages whose key starts with these names
    python benchmarks/bench_ts_slices.py --profile 30           # also print the 30 hottest functions (cProfile)

The packages come from `python -m typetool.ts.npm`. Not a timed test: the numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import resource
import sys
import time
from pathlib import Path

from typetool.workspace import analysis_context
from typetool.slices import render_slice
from typetool.ts.npm import default_cache
from typetool.ts.project import TsProject
from typetool.ts.slices import TsSlicer
from typetool.ts.slots import extract_ts_slots


def run(path: Path, blind: bool) -> tuple[int, int, int, int, float, float, float]:
    """Returns (files, lines, slots, rendered characters, load seconds, total seconds, CPU seconds)."""
    c0 = time.process_time()
    t0 = time.perf_counter()
    with analysis_context():
        project = TsProject.load([path], root=path)
        t1 = time.perf_counter()
        slicer = TsSlicer(project, blind=blind)
        slots = chars = 0
        for module in project.modules.values():
            for site in extract_ts_slots(module):
                chars += len(render_slice(slicer.slice(site)))
                slots += 1
    t2 = time.perf_counter()
    return len(project.modules), project.line_count(), slots, chars, t1 - t0, t2 - t0, time.process_time() - c0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--path", type=Path, default=None, help="one project directory (default: every npm package)")
    ap.add_argument("--cache", type=Path, default=default_cache(), help="npm cache (default: %(default)s)")
    ap.add_argument("--only", nargs="*", default=None, help="package keys (prefixes) to run")
    ap.add_argument("--blind", action="store_true", help="slice as for the corpus (no annotation read)")
    ap.add_argument("--profile", type=int, default=0, metavar="N", help="profile and print the N hottest functions")
    args = ap.parse_args(argv)
    if args.path is not None:
        targets = [args.path.resolve()]
    else:
        src = args.cache / "src"
        targets = sorted(p for p in src.iterdir() if p.is_dir()) if src.is_dir() else []
        if args.only:
            targets = [p for p in targets if any(p.name.startswith(o) for o in args.only)]
        if not targets:
            print(f"no packages under {src}: run `python -m typetool.ts.npm`", file=sys.stderr)
            return 2
    gc.collect()
    profiler = cProfile.Profile() if args.profile else None
    if profiler is not None:
        profiler.enable()
    totals: list[float] = [0, 0, 0, 0, 0.0, 0.0, 0.0]
    print(f"{'package':<34} {'files':>6} {'lines':>8} {'slots':>7} {'load s':>7} {'total s':>8} {'lines/s':>9} "
          f"{'slots/s':>8}")
    for path in targets:
        result = run(path, args.blind)
        files, lines, slots, _chars, t_load, total, cpu = result
        for i, v in enumerate(result):
            totals[i] += v
        print(f"{path.name:<34} {files:>6} {lines:>8} {slots:>7} {t_load:>7.2f} {total:>8.2f} "
              f"{lines / max(cpu, 1e-9):>9,.0f} {slots / max(cpu, 1e-9):>8,.0f}")
    if profiler is not None:
        profiler.disable()
    n_files, n_lines, n_slots, n_chars, load_s, total_s, cpu_s = totals
    print(f"files         {n_files:.0f}")
    print(f"lines         {n_lines:.0f}")
    print(f"slots         {n_slots:.0f}")
    print(f"rendered      {n_chars:.0f} characters")
    print(f"load          {load_s:.2f} s  (read, parse, facts, cross-file resolution)")
    print(f"total         {total_s:.2f} s wall, {cpu_s:.2f} s CPU")
    print(f"lines/s       {n_lines / total_s:,.0f} wall, {n_lines / cpu_s:,.0f} CPU")
    print(f"slots/s       {n_slots / total_s:,.0f} wall, {n_slots / cpu_s:,.0f} CPU")
    print(f"peak RSS      {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    if profiler is not None:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(args.profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
