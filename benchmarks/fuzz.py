"""Fuzz every command that reads files for a given number of minutes (the nightly-sized run of tests/test_fuzz.py).

    python benchmarks/fuzz.py [--minutes 10] [--seed N] [--model DIR] [--ts-model DIR] [--timeout 120]
                              [--out DIR] [--work DIR]

The cases and oracles are those of tests/test_fuzz.py (hostile Python and TypeScript files beside normal ones,
through `strip`, `annotate`, `predict`, `check`, `slices` and `apply`), at larger sizes: nesting up to 20,000
levels, operator chains up to 50,000 terms, longer token soup. Each case runs in a child process forked for it
(the CLI in-process, typer's CliRunner), so that a crash of the interpreter (a signal) is counted instead of
ending the run; a case that runs past --timeout seconds is killed and counted. `annotate`, `predict` and `check`
use tiny models (one per language, trained once into --work, about a minute each) unless --model/--ts-model
name others; a case for them keeps the files of one language, so that one model serves it.

Prints, per command: inputs tried, the exit codes seen, crashes (signal deaths, exit code 123, exceptions that
escaped), timeouts, files written, files whose meaning changed, and other oracle failures (no summary, normal
files not served); each failing case is saved under --out (its files, the command line and what failed). Exit
status 1 when anything failed. Run from the repository root.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.test_fuzz import COMMANDS, Case, Outcome, cases, check_outcome, command_line, invoke

TS_SUFFIXES = (".ts", ".tsx", ".mts")


def train_models(work: Path) -> tuple[Path, Path]:
    """Tiny Python and TypeScript models (as the test fixtures train them), without calibration.json (every
    prediction is then written: the most writes), trained once into `work` in a separate process (the fuzzing
    process forks, and must not have started torch's threads)."""
    py, ts = work / "py-model", work / "ts-model"
    if not (py / "card.json").exists() or not (ts / "card.json").exists():
        print(f"training tiny models into {work} (once)...", flush=True)
        subprocess.run([sys.executable, __file__, "--train-into", str(work)], check=True, cwd=ROOT)
    return py, ts


def _train_into(work: Path) -> None:
    from tests.conftest import TS_CORPUS, train_tiny_model
    from typetool.corpus import CorpusPackage
    from typetool.python.corpus import records_for_package
    from typetool.ts.corpus import records_for_ts_package
    from typetool.ts.npm import NpmPackage

    work.mkdir(parents=True, exist_ok=True)
    records = list(records_for_package(CorpusPackage("train", "typetool==0"), ROOT / "typetool").records)
    made = train_tiny_model(Path(tempfile.mkdtemp(dir=work)), records, ["typetool"])
    ts_records: list[dict[str, object]] = []
    for project in sorted(p for p in TS_CORPUS.iterdir() if p.is_dir()):
        ts_records += records_for_ts_package(NpmPackage("train", project.name, "0.0.0"), project).records
    ts_made = train_tiny_model(Path(tempfile.mkdtemp(dir=work)), [r for r in ts_records if r["reachable"]],
                               [p.name for p in TS_CORPUS.iterdir() if p.is_dir()])
    for src, dest in ((made, work / "py-model"), (ts_made, work / "ts-model")):
        (src / "calibration.json").unlink(missing_ok=True)
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(src, dest)


def one_language(case: Case, rng: random.Random) -> Case:
    """For the commands that predict: the case's files of one language (one tiny model serves them)."""
    if case.command not in ("annotate", "predict", "check"):
        return case
    keep_ts = rng.random() < 0.4
    files = {rel: data for rel, data in case.files.items() if rel.endswith(TS_SUFFIXES) == keep_ts}
    if not any("good" in rel for rel in files):
        files["proj/good.ts" if keep_ts else "proj/good.py"] = case.files["proj/good.ts" if keep_ts else "proj/good.py"]
    return Case(case.command, files, case.args, case.predictions)


def _child(case: Case, model: Path, ts_model: Path, conn: mp.connection.Connection) -> None:
    with tempfile.TemporaryDirectory(prefix="typetool-fuzz-") as tmp:
        root = Path(tmp)
        argv = command_line(case, root, model, ts_model)
        code, stdout, stderr, error = invoke(argv, root)
        outcome = check_outcome(case, root, code, stdout, stderr, error)
        conn.send((outcome, stderr[-3000:]))
    conn.close()


def run_isolated(case: Case, model: Path, ts_model: Path, timeout: float) -> tuple[Outcome, str]:
    """One case in a forked child: its outcome, or a crash/timeout outcome when the child died or hung."""
    ctx = mp.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(case, model, ts_model, child))
    proc.start()
    child.close()
    got: tuple[Outcome, str] | None = None
    if parent.poll(timeout):
        try:
            got = parent.recv()
        except EOFError:
            got = None
    proc.join(5 if got is not None else 0.1)
    if proc.is_alive():
        proc.kill()
        proc.join()
        if got is None:
            return Outcome(case.command, 124, [f"timed out after {timeout:.0f} s"]), ""
    if got is None:
        code = proc.exitcode if proc.exitcode is not None else -1
        what = f"killed by signal {-code}" if code < 0 else f"exited with {code} without a result"
        return Outcome(case.command, code, [f"crash: {what}"]), ""
    return got


def save(out: Path, n: int, case: Case, outcome: Outcome, stderr: str) -> Path:
    where = out / f"case-{n:05d}-{case.command}"
    shutil.rmtree(where, ignore_errors=True)
    root = where / "files"
    root.mkdir(parents=True)
    argv = command_line(case, root, None, None)
    (where / "README.txt").write_text(
        f"cd files && typetool {' '.join(argv)}\n\nexit code {outcome.returncode}\n\n" + "\n".join(outcome.problems)
        + "\n\n--- stderr (end) ---\n" + stderr, encoding="utf-8")
    return where


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--seed", type=int, default=None, help="default: random (printed)")
    ap.add_argument("--model", type=Path, default=None, help="Python model (default: a tiny one, see --work)")
    ap.add_argument("--ts-model", type=Path, default=None, help="TypeScript model (default: a tiny one)")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds one case may take")
    ap.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "typetool-fuzz-failures")
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "typetool-fuzz-models")
    ap.add_argument("--train-into", type=Path, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.train_into is not None:
        _train_into(args.train_into)
        return
    model, ts_model = args.model, args.ts_model
    if model is None or ts_model is None:
        trained = train_models(args.work)
        model, ts_model = model or trained[0], ts_model or trained[1]
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    print(f"fuzzing for {args.minutes:g} minutes, seed {seed}, models {model} and {ts_model}", flush=True)

    from hypothesis import HealthCheck, Phase, Verbosity, given, settings
    from hypothesis import seed as hypothesis_seed
    from hypothesis import strategies as st

    # imported once here, with the model's libraries: every forked child inherits them (none of them starts a
    # thread on import)
    import typetool.cli
    import typetool.model.saving
    import typetool.predictions  # noqa: F401

    rng = random.Random(seed)
    deadline = time.monotonic() + args.minutes * 60
    tried: Counter[str] = Counter()
    codes: dict[str, Counter[int]] = defaultdict(Counter)
    crashes: Counter[str] = Counter()
    timeouts: Counter[str] = Counter()
    written: Counter[str] = Counter()
    changed: Counter[str] = Counter()
    other: Counter[str] = Counter()
    seconds: Counter[str] = Counter()
    saved: list[Path] = []

    class TimeUp(Exception):
        pass

    @hypothesis_seed(seed)
    @settings(max_examples=10**9, deadline=None, database=None, phases=[Phase.generate], verbosity=Verbosity.quiet,
              suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def fuzz(data: st.DataObject) -> None:
        drawn = data.draw(cases(COMMANDS, nightly=True))
        if time.monotonic() > deadline:  # (after the draw: hypothesis replays the last case, drawing the same)
            raise TimeUp
        case = one_language(drawn, rng)
        start = time.monotonic()
        outcome, stderr = run_isolated(case, model, ts_model, args.timeout)
        command = case.command
        tried[command] += 1
        seconds[command] += time.monotonic() - start
        codes[command][outcome.returncode] += 1
        written[command] += outcome.written
        changed[command] += outcome.meaning_changed
        if outcome.returncode == 124:
            timeouts[command] += 1
        elif any(p.startswith(("crash", "exception")) for p in outcome.problems):
            crashes[command] += 1
        elif outcome.problems and not outcome.meaning_changed:
            other[command] += 1
        if outcome.problems:
            saved.append(save(args.out, sum(tried.values()), case, outcome, stderr))
            print(f"  FAILED: {case.describe()[:300]}\n    " + "\n    ".join(p[:300] for p in outcome.problems)
                  + f"\n    saved in {saved[-1]}", flush=True)
        if sum(tried.values()) % 25 == 0:
            left = max(0.0, deadline - time.monotonic()) / 60
            print(f"  {sum(tried.values())} cases, {len(saved)} failed, {left:.1f} minutes left", flush=True)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fuzz()
        except TimeUp:
            pass
        except Exception as exc:  # noqa: BLE001 - hypothesis's own complaints end the run, not the report
            print(f"the fuzzing loop stopped early: {type(exc).__name__}: {exc}", flush=True)

    rows = [("command", "tried", "s/case", "exit codes", "crashes", "timeouts", "written", "meaning changed",
             "other failures")]
    for command in COMMANDS:
        n = tried[command]
        exit_codes = ", ".join(f"{c}: {k}" for c, k in sorted(codes[command].items()))
        rows.append((command, str(n), f"{seconds[command] / n:.1f}" if n else "-", exit_codes or "-",
                     str(crashes[command]), str(timeouts[command]), str(written[command]), str(changed[command]),
                     str(other[command])))
    rows.append(("total", str(sum(tried.values())), "", "", str(sum(crashes.values())),
                 str(sum(timeouts.values())), str(sum(written.values())), str(sum(changed.values())),
                 str(sum(other.values()))))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    print()
    for r in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(r, widths)))
    print(json.dumps({"seed": seed, "minutes": args.minutes, "tried": dict(tried), "crashes": dict(crashes),
                      "timeouts": dict(timeouts), "written": dict(written), "meaning_changed": dict(changed),
                      "other_failures": dict(other),
                      "exit_codes": {c: {str(k): v for k, v in codes[c].items()} for c in codes},
                      "failures_saved": [str(p) for p in saved]}))
    sys.exit(1 if saved else 0)


if __name__ == "__main__":
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    main()
