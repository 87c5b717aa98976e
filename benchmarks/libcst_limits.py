"""The figures behind write-back's nesting limits (`typetool.writeback.MAX_DEPTH`, `MAX_BRACKETS`,
`ISOLATED_STACK`, `ISOLATED_RECURSION`).

    python benchmarks/libcst_limits.py [--stack-kb 1024] [--constructs list,call,...] [--scan DIR ...]

For each construct (nested brackets, calls, subscripts, comprehensions, f-strings, unary and binary operators,
attribute and method chains, conditional expressions, lambdas, `elif` chains, implicitly concatenated strings):
- `crash at`: the nesting at which libcst's native parser kills the process (SIGSEGV, stack overflow) when it
  runs on a thread with --stack-kb of stack, found by bisection in child processes, and the stack that costs per
  level of typetool's measure (`typetool.python.parse.too_deep`);
- `frames/level`: the smallest recursion limit under which strip, apply, the proof and a second application
  succeed on 500 levels (200 for brackets), per level of the measure;
- `time at limit`: `typetool strip --check` on the deepest file the limits let through (in-process, on the real
  path: depth check, isolated thread, libcst, proof).
`--scan DIR` also prints how deep real code nests (the deepest files under DIR, by the same measure).
Run from the repository root; a full run takes some minutes.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CONSTRUCTS: dict[str, tuple[str, str, str, bool]] = {  # name -> (prefix, repeated, suffix-of-each, bracket?)
    "list": ("x = ", "[", "]", True),
    "paren": ("x = ", "(", ")", True),
    "call": ("x = ", "f(", ")", True),
    "dict": ("x = ", "{1: ", "}", True),
    "subscript-nested": ("x = ", "a[", "]", True),
    "comprehension": ("x = ", "[a for a in ", "]", True),
    "fstring": ("x = ", "f'{", "}'", True),
    "binop": ("x = a", " + a", "", False),
    "power": ("x = a", " ** a", "", False),
    "boolop": ("x = a", " and a", "", False),
    "unary": ("x = ", "-", "", False),
    "not": ("x = ", "not ", "", False),
    "ternary": ("x = ", "a if a else ", "", False),
    "lambda": ("x = ", "lambda: ", "", False),
    "attribute": ("x = a", ".b", "", False),
    "method": ("x = a", ".b()", "", False),
    "subscript-chain": ("x = a", "[0]", "", False),
    "mixed-chain": ("x = ", "-a.b[0](1) + ", "", False),
    "elif": ("if a:\n    pass\n", "elif a:\n    pass\n", "", False),
    "concat": ("x = (\n", '    "a"\n', "", False),
}
NATIVE_ONLY = frozenset({"fstring"})


def source(name: str, n: int) -> str:
    prefix, rep, close, bracket = CONSTRUCTS[name]
    body = prefix + rep * n + ("a" if bracket or name in ("unary", "not", "ternary", "lambda", "mixed-chain") else "")
    if name == "concat":
        body += ")"
    body += close * n
    return "def good(count):\n    return count + 1\n\n" + body + "\n\ndef bad(y):\n    return y\n"


_CHILD = r"""
import sys, threading
from libcst import native
text = sys.stdin.read()
def run():
    native.parse_module(text, None)
threading.stack_size(int(sys.argv[1]) * 1024)
t = threading.Thread(target=run); t.start(); t.join()
print("ok")
"""


def native_ok(name: str, n: int, stack_kb: int) -> bool:
    proc = subprocess.run([sys.executable, "-c", _CHILD, str(stack_kb)], input=source(name, n), text=True,
                          capture_output=True, timeout=600, check=False)
    return proc.returncode == 0 and "ok" in proc.stdout


def crash_at(name: str, stack_kb: int, hi: int = 4096) -> int | None:
    """The smallest nesting that crashes the native parser (within 5%), or None below `hi`."""
    if native_ok(name, hi, stack_kb):
        return None
    lo = 1
    while hi - lo > max(2, hi // 20):
        mid = (lo + hi) // 2
        if native_ok(name, mid, stack_kb):
            lo = mid
        else:
            hi = mid
    return hi


def measure(name: str, n: int) -> int:
    """typetool's measure of the construct nested `n` deep (`too_deep`'s smallest passing max_depth)."""
    import tree_sitter as ts

    from typetool.python.parse import python_language, too_deep

    root = ts.Parser(python_language()).parse(source(name, n).encode()).root_node
    lo, hi = 0, 1
    while too_deep(root, hi, 1 << 30) is not None:
        lo, hi = hi, hi * 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if too_deep(root, mid, 1 << 30) is None else (mid, hi)
    return hi


def frames_needed(name: str, n: int) -> int:
    """The smallest recursion limit (within 2%) under which strip, apply, the proof and a second application of
    the construct nested `n` deep succeed, run in a thread with a large stack."""
    import threading

    from typetool.python import writeback as wb

    text = source(name, n)
    types = {"x.py::param::bad::y": "int"}

    def works(limit: int) -> bool:
        ok: list[bool] = []

        def run() -> None:
            old = sys.getrecursionlimit()
            sys.setrecursionlimit(limit)
            try:
                wb.strip_annotations(text, "x.py")
                r = wb.apply_types(text, "x.py", types)
                wb.verify_rewrite(r.old, r.new, r.added_imports, "x.py", r.removed_comments)
                wb._check_stable(r, lambda m: wb.apply_types(m, "x.py", types))
                ok.append(True)
            except (RecursionError, wb.Refused):
                ok.append(False)
            finally:
                sys.setrecursionlimit(old)

        threading.stack_size(512 * 1024 * 1024)
        t = threading.Thread(target=run)
        t.start()
        t.join()
        return ok[0]

    lo, hi = 50, 40_000
    while hi - lo > max(10, hi // 50):
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if works(mid) else (mid, hi)
    return hi


def time_at_limit(name: str) -> tuple[int, float, str]:
    """The deepest nesting the limits let through, and `strip --check` on it (seconds, outcome)."""
    import tree_sitter as ts

    from typetool.python import writeback as wb
    from typetool.python.parse import python_language, too_deep
    from typetool.writeback import strip_paths

    parser = ts.Parser(python_language())

    def passes(n: int) -> bool:
        return too_deep(parser.parse(source(name, n).encode()).root_node, wb.MAX_DEPTH, wb.MAX_BRACKETS) is None

    lo, hi = 1, 2
    while passes(hi):
        lo, hi = hi, hi * 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if passes(mid) else (lo, mid)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.py"
        path.write_text(source(name, lo), encoding="utf-8")
        start = time.perf_counter()
        (outcome,) = strip_paths([path], wb.WriteMode.CHECK, wb.WriteOptions()).files
        seconds = time.perf_counter() - start
    return lo, seconds, outcome.status.value


def scan(dirs: list[Path], top: int = 12) -> None:
    import tree_sitter as ts

    from typetool.python.parse import python_language, too_deep

    parser = ts.Parser(python_language())
    found: list[tuple[int, str]] = []
    files = 0
    for d in dirs:
        for path in sorted(d.rglob("*.py")):
            files += 1
            root = parser.parse(path.read_bytes()).root_node
            if too_deep(root, 100, 1 << 30) is None:
                continue
            lo, hi = 100, 200
            while too_deep(root, hi, 1 << 30) is not None:
                lo, hi = hi, hi * 2
            while hi - lo > 1:
                mid = (lo + hi) // 2
                lo, hi = (lo, mid) if too_deep(root, mid, 1 << 30) is None else (mid, hi)
            found.append((hi, str(path)))
    print(f"\n{files:,} files; {len(found)} nest deeper than 100 levels; the deepest:")
    for depth, path in sorted(found, reverse=True)[:top]:
        print(f"  {depth:6,}  {path}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--stack-kb", type=int, default=1024, help="stack of the thread the native parser runs on")
    ap.add_argument("--constructs", default=",".join(CONSTRUCTS))
    ap.add_argument("--scan", type=Path, nargs="*", default=[])
    args = ap.parse_args()
    from typetool import fileio
    from typetool.python import writeback as wb

    print(f"limits: MAX_DEPTH {wb.MAX_DEPTH}, MAX_BRACKETS {wb.MAX_BRACKETS}, thread stack "
          f"{fileio.ISOLATED_STACK // 2**20} MiB, recursion limit {fileio.ISOLATED_RECURSION}")
    print(f"{'construct':18} {'crash at':>9} {'bytes/level':>12} {'frames/level':>13} {'limit n':>8} "
          f"{'strip s':>8}  outcome")
    for name in args.constructs.split(","):
        bracket = CONSTRUCTS[name][3]
        crash = crash_at(name, args.stack_kb)
        per_level = f"{args.stack_kb * 1024 // measure(name, crash):,}" if crash else "-"
        if name in NATIVE_ONLY:
            print(f"{name:18} {crash or '>4096':>9} {per_level:>12}  (nested f-strings with the same quotes: Python "
                  "3.12 syntax, which the Python running typetool may refuse)", flush=True)
            continue
        n = 200 if bracket else 500
        frames = frames_needed(name, n) / measure(name, n)
        limit_n, seconds, status = time_at_limit(name)
        print(f"{name:18} {crash or '>4096':>9} {per_level:>12} {frames:13.1f} {limit_n:8} {seconds:8.1f}  {status}",
              flush=True)
    if args.scan:
        scan(args.scan)


if __name__ == "__main__":
    main()
