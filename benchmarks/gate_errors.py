"""What the gate does on real packages: errors the checkers report before and after `annotate`, and how
precise what is written is, with and without the gate.

For each package (a directory of its unpacked sources, annotated by its authors): a stripped copy (`typetool
strip`) is the "before"; `typetool annotate` runs on one copy with `--no-gate` and on another with the gate;
pyrefly (`check --preset default`) and mypy (`--ignore-missing-imports`) count their errors on each; the
annotations written are compared with the authors' (exact match after normalization). Prints one row per
package and variant.

Run: python benchmarks/gate_errors.py .cache/packages/src/tomlkit-0.15.3 ...
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _errors_pyrefly(root: Path) -> int:
    from typetool.python.engine import check_errors

    files = {str(p.relative_to(root.parent)): p.read_text(encoding="utf-8") for p in root.rglob("*.py")}
    return len(check_errors(files))


def _errors_mypy(root: Path) -> int:
    proc = subprocess.run([sys.executable, "-m", "mypy", "--ignore-missing-imports", "--no-incremental",
                           "--cache-dir", "/dev/null", "--no-error-summary", "."], cwd=root, capture_output=True,
                          text=True, check=False)
    return sum(1 for line in proc.stdout.splitlines() if ": error:" in line)


def _annotations(root: Path) -> dict[str, str]:
    from typetool.python.project import PythonProject
    from typetool.python.slots import iter_sites
    from typetool.typeexpr import normalize_label

    project = PythonProject.load([root], root=root)
    return {s.slot.id: normalize_label(s.slot.annotation) for s in iter_sites(project)
            if s.slot.annotation and s.slot.kind.value in ("param", "return")}


def main(argv: list[str]) -> int:
    print(f"{'package':28} {'variant':9} {'pyrefly':>8} {'mypy':>6} {'written':>8} {'exact':>6} {'seconds':>8}")
    for src in map(Path, argv):
        truth = _annotations(src)
        with tempfile.TemporaryDirectory() as tmp:
            base = Path(tmp) / "stripped" / src.name
            shutil.copytree(src, base)
            subprocess.run([sys.executable, "-m", "typetool", "strip", str(base), "--quiet"], check=True,
                           capture_output=True)
            print(f"{src.name:28} {'stripped':9} {_errors_pyrefly(base):8d} {_errors_mypy(base):6d}", flush=True)
            for variant, flags in (("no-gate", ["--no-gate"]), ("gate", [])):
                copy = Path(tmp) / variant / src.name
                shutil.copytree(base, copy)
                start = time.perf_counter()
                subprocess.run([sys.executable, "-m", "typetool", "annotate", str(copy), "--quiet", *flags],
                               check=False, capture_output=True, cwd=copy.parent)
                seconds = time.perf_counter() - start
                got = _annotations(copy)
                exact = sum(1 for sid, t in got.items() if truth.get(sid) == t)
                print(f"{src.name:28} {variant:9} {_errors_pyrefly(copy):8d} {_errors_mypy(copy):6d} "
                      f"{len(got):8d} {exact / max(len(got), 1):6.1%} {seconds:8.1f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
