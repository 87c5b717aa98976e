"""Round trip of write-back over whole installed packages: strip, re-apply the original annotations, compare.

    python benchmarks/roundtrip_writeback.py [PACKAGE ...] [--max-bytes N] [--workers N]

Prints, per package and in total: files, files whose syntax tree comes back exactly, annotated slots by outcome
(exact, quotes, moved, lost, not-a-type, refused:<code>, differs), annotations that are at no slot, files that
could not be parsed, and any rewrite that failed its safety proof (there should be none). The categories are
explained in tests/test_writeback_roundtrip.py, whose `roundtrip` this uses. Run from the repository root.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.test_writeback_roundtrip import PACKAGES, SITE, roundtrip, sample_files
from typetool.outcomes import Refused, UnsafeRewrite

DEFAULT = (*PACKAGES, "attr", "jinja2", "libcst", "huggingface_hub", "pygls", "h11", "packaging", "pluggy")


def one(path: Path) -> tuple[str, str, object]:
    rel = path.relative_to(SITE).as_posix()
    try:
        return rel, "ok", roundtrip(path.read_text(encoding="utf-8"), rel)
    except Refused as exc:
        return rel, "refused", str(exc)
    except UnsafeRewrite as exc:
        return rel, "UNSAFE", str(exc)
    except UnicodeDecodeError as exc:
        return rel, "refused", f"not UTF-8: {exc}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("packages", nargs="*", default=list(DEFAULT))
    ap.add_argument("--max-bytes", type=int, default=None, help="only files up to this size")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--examples", type=int, default=3, help="examples to show per outcome")
    args = ap.parse_args()
    start = time.perf_counter()
    grand: Counter[str] = Counter()
    examples: dict[str, list[str]] = {}
    for pkg in args.packages:
        files = sample_files((pkg,), args.max_bytes)
        if args.workers > 1:
            with ProcessPoolExecutor(args.workers) as pool:
                results = list(pool.map(one, files))
        else:
            results = [one(f) for f in files]
        stats: Counter[str] = Counter(files=len(files))
        for rel, status, payload in results:
            if status != "ok":
                stats[f"file:{status}"] += 1
                examples.setdefault(f"file:{status}", []).append(f"{rel}: {payload}")
                continue
            r = payload
            stats["exact files"] += r.exact  # type: ignore[attr-defined]
            stats["non-slot annotations"] += r.non_slot_annotations  # type: ignore[attr-defined]
            for k, v in r.slots.items():  # type: ignore[attr-defined]
                stats[f"slot:{k}"] += v
            for sid, old, new in r.examples:  # type: ignore[attr-defined]
                examples.setdefault("slot:differs", []).append(f"{sid}: {old!r} -> {new!r}")
            for category, sid, detail in r.notes:  # type: ignore[attr-defined]
                examples.setdefault(f"slot:{category}", []).append(f"{sid}: {detail}")
        grand.update(stats)
        print(_line(pkg, stats), flush=True)
    print(_line("TOTAL", grand))
    slots = sum(v for k, v in grand.items() if k.startswith("slot:"))
    print(f"\nannotated slots: {slots}; by outcome:")
    for k, v in sorted(((k, v) for k, v in grand.items() if k.startswith("slot:")), key=lambda kv: -kv[1]):
        print(f"  {k[5:]:28} {v:7}  {100 * v / max(slots, 1):5.1f}%")
    print(f"annotations at no slot (cannot come back): {grand['non-slot annotations']}")
    for k, lines in examples.items():
        print(f"\n{k} ({len(lines)}), e.g.:")
        for line in lines[: args.examples]:
            print(f"  {line[:200]}")
    print(f"\n{time.perf_counter() - start:.0f} s")


def _line(name: str, s: Counter[str]) -> str:
    slots = sum(v for k, v in s.items() if k.startswith("slot:"))
    return (f"{name:18} files {s['files']:5}  exact-tree files {s['exact files']:5}  annotated slots {slots:6}  "
            f"exact {s['slot:exact']:6}  refused-files {s['file:refused']:3}  UNSAFE {s['file:UNSAFE']}")


if __name__ == "__main__":
    main()
