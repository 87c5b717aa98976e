"""Benchmark: does the cost of one file grow linearly with its size? Generates realistic Python (and
TypeScript) files of 1, 2, 4 and 8 MB and measures, per size, the wall time and peak RSS of a fresh
process running the front half (parse, facts, project, slots, slices and their rendering: no model, no
output), of a fresh `typetool slices` process (the same, printed) and of a fresh `typetool check` process (with
the model), in a directory whose pyproject.toml raises max-file-size. Prints a table and the ratio of each
figure to the one of the size before (about 2 per doubling is linear; 4 is quadratic).

    python benchmarks/bench_scaling.py                          # 1, 2, 4, 8 MB; front, slices, check; Python
    python benchmarks/bench_scaling.py --sizes 0.25,0.5,1 --commands front,slices --languages py,ts
    python benchmarks/bench_scaling.py --profile slices --sizes 2   # cProfile one run, print the hottest 40

The generated code is many units of a class (attributes, methods calling each other and other units'
functions), a builder and two or three functions that call earlier units' functions and methods, with the
parameter names a real module reuses (`name`, `items`, `node`, `options`...), under one block of imports, with
module-level constants, optional imports and flags between units; then what grows with the module: a class
with a method per unit (an API client), a dispatcher with an `elif` (a `case`) per unit, a registry dict and
(Python) a registration function with a `try`, an `if` and a loop per unit.
Units are deterministic (seeded), so two runs read the same files. Peak RSS comes from os.wait4 on the child
(ru_maxrss), CPU time from its ru_utime + ru_stime (steadier than wall time on a busy machine). `slices`
prints text (to /dev/null), `check` runs with the shipped model and its defaults (params and returns). A run
over --timeout seconds is killed and shown as `>T`. To compare two versions on one machine, run the script
twice with PYTHONPATH set to each checkout (the children are `python -m typetool`).
Not a timed test: the numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

PARAM_NAMES = ("name", "items", "value", "data", "node", "options", "key", "parent", "path", "text", "count",
               "limit", "config", "record", "values", "index", "callback", "timeout", "prefix", "verbose")
ATTRS = ("name", "items", "parent", "count", "cache", "label", "size", "children", "owner", "state")
PY_HEADER = '''"""Generated module (benchmarks/bench_scaling.py)."""

from __future__ import annotations

import json
import os
import re
from collections import OrderedDict, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

DEFAULT_LIMIT = 100
PATTERN = re.compile(r"[a-z_]+")

'''


def py_unit(k: int, rng: random.Random) -> str:
    """One unit: a class with attributes and methods, a builder, and functions calling earlier units."""
    j = rng.randrange(k) if k else 0
    i = rng.randrange(k) if k else 0
    base = f"Record{j}" if k and rng.random() < 0.3 else "object"
    a, b, c = rng.sample(ATTRS, 3)
    p1, p2, p3, p4 = rng.sample(PARAM_NAMES, 4)
    earlier = f"process_{j}({p1}, options={p2})" if k else f"dict({p1})"
    helper = f"helper_{i}(item, depth + 1)" if k else "str(item)"
    return f'''
class Record{k}({base}):
    """A record of unit {k}: {a}, {b} and {c}."""

    limit = {rng.randrange(1, 500)}
    kind = "unit{k}"

    def __init__(self, {a}, {b}=None, {c}=0):
        self.{a} = {a}
        self.{b} = {b} or []
        self.{c} = {c}
        self.cache = {{}}

    def add(self, {p1}, weight=1.0):
        self.{b}.append({p1})
        self.{c} += weight
        if len(self.{b}) > self.limit:
            self.{b}.pop(0)
        return self.{c}

    def find(self, {p2}, default=None):
        if {p2} in self.cache:
            return self.cache[{p2}]
        for item in self.{b}:
            if getattr(item, "{a}", None) == {p2}:
                self.cache[{p2}] = item
                return item
        return default

    def render(self, indent=0, sep="\\n"):
        parts = [" " * indent + str(self.{a})]
        for child in self.{b}:
            if isinstance(child, Record{k}):
                parts.append(child.render(indent + 2, sep))
            else:
                parts.append(" " * (indent + 2) + repr(child))
        return sep.join(parts)

    @property
    def size(self):
        return len(self.{b}) + sum(1 for _ in self.cache)


def build_record{k}({p1}, {p2}, {p3}=None):
    record = Record{k}({p1})
    for entry in {p2}:
        record.add(entry)
    if {p3} is not None:
        {p3}.add(record)
    return record


def process_{k}({p1}, options=None, verbose=False):
    result = {{}}
    total = 0
    for key, entry in {earlier}.items():
        if isinstance(entry, str):
            result[key] = entry.strip().lower()
        elif isinstance(entry, (int, float)):
            total += entry
        else:
            result[key] = json.dumps(entry, sort_keys=True)
    record = build_record{k}("unit{k}", sorted(result), None)
    text = record.render()
    if verbose:
        print(text, total)
    return result


def helper_{k}({p4}, depth=0):
    if depth > DEFAULT_LIMIT:
        raise RecursionError(depth)
    names = [m.group(0) for m in PATTERN.finditer(str({p4}))]
    found = Record{k}(names[0] if names else "", names).find({p4})
    out = []
    for item in names:
        out.append({helper})
    return ", ".join(out) if found is None else found.render(depth)

'''


def ts_unit(k: int, rng: random.Random) -> str:
    j = rng.randrange(k) if k else 0
    a, b, c = rng.sample(ATTRS, 3)
    p1, p2, p3 = rng.sample(PARAM_NAMES, 3)
    earlier = f"process{j}({p1}, {p2})" if k else f"new Map(Object.entries({p1}))"
    ext = f" extends Record{j}" if k and rng.random() < 0.3 else ""
    sup = "super();\n    " if ext else ""
    return f'''
export class Record{k}{ext} {{
  static limit = {rng.randrange(1, 500)};
  {a};
  {b} = [];
  {c} = 0;
  cache = new Map();

  constructor({a}, {b}) {{
    {sup}this.{a} = {a};
    this.{b} = {b} ?? [];
  }}

  add({p1}, weight = 1) {{
    this.{b}.push({p1});
    this.{c} += weight;
    return this.{c};
  }}

  find({p2}, fallback) {{
    if (this.cache.has({p2})) {{
      return this.cache.get({p2});
    }}
    for (const item of this.{b}) {{
      if (item.{a} === {p2}) {{
        this.cache.set({p2}, item);
        return item;
      }}
    }}
    return fallback;
  }}

  render(indent = 0) {{
    const parts = [" ".repeat(indent) + String(this.{a})];
    for (const child of this.{b}) {{
      parts.push(child instanceof Record{k} ? child.render(indent + 2) : JSON.stringify(child));
    }}
    return parts.join("\\n");
  }}
}}

export function buildRecord{k}({p1}, {p2}, {p3}) {{
  const record = new Record{k}({p1}, []);
  for (const entry of {p2}) {{
    record.add(entry);
  }}
  if ({p3} !== undefined) {{
    {p3}.add(record);
  }}
  return record;
}}

export function process{k}({p1}, {p2}, verbose = false) {{
  const result = new Map();
  let total = 0;
  for (const [key, entry] of {earlier}) {{
    if (typeof entry === "string") {{
      result.set(key, entry.trim().toLowerCase());
    }} else if (typeof entry === "number") {{
      total += entry;
    }}
  }}
  const text = buildRecord{k}("unit{k}", [...result.keys()], undefined).render();
  if (verbose) {{
    console.log(text, total);
  }}
  return result;
}}
'''


def py_module_level(k: int, rng: random.Random) -> str:
    """What generated modules have between the definitions: constants, tables, optional imports, flags."""
    fields = ", ".join(f'"{f}"' for f in rng.sample(ATTRS, 3))
    out = f'UNIT{k}_NAME = "unit{k}"\nUNIT{k}_FIELDS = ({fields})\nUNIT{k}_WEIGHTS = {{"a": {k}, "b": {k + 1}.5}}\n'
    if k % 10 == 3:
        out += f"try:\n    import ujson as json{k}\nexcept ImportError:\n    json{k} = None\n"
    if k % 10 == 7:
        out += (f"if os.environ.get('UNIT{k}_DEBUG'):\n    UNIT{k}_LIMIT = DEFAULT_LIMIT * 2\n"
                f"else:\n    UNIT{k}_LIMIT = DEFAULT_LIMIT\n")
    return out


def py_tail(units: int) -> str:
    """The parts of a generated module that grow with it: one class with a method per unit (an API client),
    a dispatcher with an elif per unit, a registry of every unit's class, and a function that registers each
    unit's handler (a try, an if and a loop per unit: one scope with thousands of names and branches)."""
    client = [("\n\nclass Client:\n    def __init__(self, base_url, session=None):\n        self.base_url = base_url\n"
              "        self.session = session\n")]
    for k in range(units):
        client.append(f"\n    def call_unit{k}(self, payload, timeout=None):\n"
                      f"        result = process_{k}(payload, options={{'timeout': timeout}})\n"
                      f"        return build_record{k}(self.base_url, result, None)\n")
    dispatch = ["\n\ndef dispatch(kind, payload, verbose=False):\n"]
    for k in range(units):
        dispatch.append(f"    {'if' if k == 0 else 'elif'} kind == UNIT{k}_NAME:\n"
                        f"        return process_{k}(payload, verbose=verbose)\n")
    dispatch.append("    raise KeyError(kind)\n")
    registry = "\n\nREGISTRY = {\n" + "".join(f'    "unit{k}": Record{k},\n' for k in range(units)) + "}\n"
    register = [("\n\ndef register_all(registry=None, strict=False):\n"
                "    registry = {} if registry is None else registry\n")]
    for k in range(units):
        register.append(f"    try:\n        handler{k} = Record{k}(UNIT{k}_NAME)\n"
                        f"    except (TypeError, ValueError) as exc{k}:\n"
                        f"        if strict:\n            raise RuntimeError(UNIT{k}_NAME) from exc{k}\n"
                        f"        handler{k} = None\n"
                        f"    if handler{k} is not None:\n        registry[UNIT{k}_NAME] = handler{k}\n"
                        f"    for field{k} in UNIT{k}_FIELDS:\n"
                        f"        if field{k} in registry:\n            break\n")
    register.append("    return registry\n")
    return "".join(client) + "".join(dispatch) + registry + "".join(register)


def ts_tail(units: int) -> str:
    client = [("\nexport class Client {\n  constructor(baseUrl, session) {\n    this.baseUrl = baseUrl;\n"
              "    this.session = session;\n  }\n")]
    for k in range(units):
        client.append(f"\n  callUnit{k}(payload, timeout) {{\n"
                      f"    const result = process{k}(payload, {{ timeout }});\n"
                      f"    return buildRecord{k}(this.baseUrl, result.keys(), undefined);\n  }}\n")
    client.append("}\n")
    dispatch = ["\nexport function dispatch(kind, payload) {\n  switch (kind) {\n"]
    for k in range(units):
        dispatch.append(f'    case "unit{k}":\n      return process{k}(payload, {{}});\n')
    dispatch.append("  }\n  throw new Error(kind);\n}\n")
    return "".join(client) + "".join(dispatch)


def generate(language: str, megabytes: float, seed: int = 0) -> str:
    """About `megabytes` MB of one generated module: units (`py_unit`/`ts_unit`, with module-level constants
    between them) and the tail that grows with them (`py_tail`/`ts_tail`, about a tenth of the file)."""
    rng = random.Random(seed)
    target = int(megabytes * 1e6)
    parts = [PY_HEADER if language == "py" else "// Generated module (benchmarks/bench_scaling.py).\n"]
    size, k = len(parts[0]), 0
    while size * 1.25 < target:
        text = py_module_level(k, rng) + py_unit(k, rng) if language == "py" else ts_unit(k, rng)
        parts.append(text)
        size += len(text)
        k += 1
    parts.append(py_tail(k) if language == "py" else ts_tail(k))
    return "".join(parts)


@dataclass(frozen=True, slots=True)
class Measure:
    seconds: float
    cpu: float  # user + system seconds of the child (steadier than wall time on a busy machine)
    rss_mib: float
    timed_out: bool
    rc: int


def measure(cmd: list[str], cwd: Path, timeout: float) -> Measure:
    """Wall time and peak RSS of one fresh process (os.wait4 gives the rusage of that child alone)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    timed_out = False
    deadline = t0 + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.perf_counter() > deadline:
            proc.kill()
            timed_out = True
            pid, status, usage = os.wait4(proc.pid, 0)
            break
        time.sleep(0.05)
    seconds = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.returncode not in (0, 1) and not timed_out:
        print(f"  {' '.join(cmd)}: exit {proc.returncode}\n{err[-2000:]}", file=sys.stderr)
    return Measure(seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, timed_out, proc.returncode)


# the front half without printing: what `typetool slices` computes (and every model input rendered), in one
# process; `typetool slices` spends most of its time printing with rich
FRONT = """import sys
from pathlib import Path
from typetool.pipeline import slice_paths
from typetool.slices import render_slice
run = slice_paths([Path(sys.argv[1])], max_bytes=10**9)
print(len(run.slices), sum(len(render_slice(s)) for s in run.slices))
"""


def command(name: str, file: Path, typetool: list[str]) -> list[str]:
    if name == "front":
        return [typetool[0], "-c", FRONT, str(file)]
    if name == "slices":
        return [*typetool, "slices", str(file), "--max-file-size", "100", "--quiet"]  # text (--format json
        # builds the whole output in memory first: more memory, less time)
    return [*typetool, "check", str(file), "--exit-zero", "--quiet"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1,2,4,8", help="file sizes in MB, comma-separated (default 1,2,4,8)")
    ap.add_argument("--commands", default="front,slices,check",
                    help="front (the front half in one process, no output), slices (`typetool slices`), check "
                         "(`typetool check`, with the model); default all three")
    ap.add_argument("--languages", default="py", help="py, ts or py,ts (default py)")
    ap.add_argument("--timeout", type=float, default=1800.0, help="kill a run after this many seconds")
    ap.add_argument("--keep", type=Path, default=None, help="write the generated files here and keep them")
    ap.add_argument("--profile", choices=("slices", "check"), default=None,  # the CLI commands, in-process
                    help="instead of the table: cProfile one in-process run of this command per size")
    args = ap.parse_args(argv)
    sizes = [float(s) for s in args.sizes.split(",") if s]
    commands = [c for c in args.commands.split(",") if c]
    languages = [lang for lang in args.languages.split(",") if lang]
    typetool = [sys.executable, "-m", "typetool"]
    with tempfile.TemporaryDirectory(prefix="typetool-scaling-") as tmp:
        root = args.keep.resolve() if args.keep else Path(tmp)
        root.mkdir(parents=True, exist_ok=True)
        (root / "pyproject.toml").write_text("[tool.typetool]\nmax-file-size = 100\n")
        if args.profile:
            return profile(args.profile, sizes, languages, root)
        rows: list[tuple[str, str, float, Measure]] = []
        for language in languages:
            for mb in sizes:
                file = root / f"gen_{mb:g}mb.{language}"
                file.write_text(generate(language, mb))
                lines = file.read_text().count("\n")
                for name in commands:
                    m = measure(command(name, file, typetool), root, args.timeout)
                    rows.append((language, name, mb, m))
                    shown = f">{args.timeout:.0f}" if m.timed_out else f"{m.seconds:.1f}"
                    print(f"  {language} {name:6} {mb:g} MB ({lines} lines): {shown} s, {m.cpu:.1f} s CPU, "
                          f"{m.rss_mib:.0f} MiB",
                          file=sys.stderr, flush=True)
        print_table(rows)
    return 0


def print_table(rows: list[tuple[str, str, float, Measure]]) -> None:
    print(f"{'lang':4} {'command':7} {'MB':>5} {'wall s':>9} {'x':>5} {'CPU s':>9} {'x':>5} {'peak RSS MiB':>13} "
          f"{'x':>5}")
    previous: dict[tuple[str, str], Measure] = {}
    for language, name, mb, m in rows:
        before = previous.get((language, name))
        t_ratio = f"{m.seconds / before.seconds:5.2f}" if before and not m.timed_out else "     "
        c_ratio = f"{m.cpu / before.cpu:5.2f}" if before and not m.timed_out else "     "
        r_ratio = f"{m.rss_mib / before.rss_mib:5.2f}" if before and not m.timed_out else "     "
        shown = f">{m.seconds:.0f}" if m.timed_out else f"{m.seconds:.1f}"
        print(f"{language:4} {name:7} {mb:5g} {shown:>9} {t_ratio} {m.cpu:9.1f} {c_ratio} {m.rss_mib:13.0f} {r_ratio}")
        previous[(language, name)] = m


def profile(name: str, sizes: list[float], languages: list[str], root: Path) -> int:
    import cProfile
    import pstats

    from typetool.cli import app

    for language in languages:
        for mb in sizes:
            file = root / f"gen_{mb:g}mb.{language}"
            file.write_text(generate(language, mb))
            argv = command(name, file, [])
            profiler = cProfile.Profile()
            stdout = sys.stdout
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - restored below
            profiler.enable()
            try:
                app(argv, standalone_mode=False)
            except SystemExit:
                pass
            finally:
                profiler.disable()
                sys.stdout.close()
                sys.stdout = stdout
            print(f"== {language} {name} {mb:g} MB")
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
            pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    return 0


if __name__ == "__main__":
    sys.exit(main())
