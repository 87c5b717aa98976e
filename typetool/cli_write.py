"""The writing commands, `typetool apply` and `typetool strip`: thin front ends over `typetool.writeback`.

Both share the modes of black and ruff (`WriteMode`): write (default), `--diff` (a unified diff on stdout,
nothing written), `--check` (nothing written; exit 1 when something would change); `--diff --check` does
both. Exit codes: 0 done, 1 `--check` found work or a file/prediction was refused (each with a message),
2 usage error (bad option, unreadable predictions file), 123 internal error (a rewrite failed its proof, or a
crash). Settings come from options for now; `[tool.typetool]` in pyproject.toml will supply defaults later.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from typetool.cli_common import MaxFileSizeOpt, err, max_bytes, report, require_existing
from typetool.diagnostics import Severity
from typetool.writeback import (
    FileStatus,
    PredictionsError,
    RunResult,
    SlotStatus,
    WriteMode,
    WriteOptions,
    apply_predictions,
    load_predictions,
    parse_target_version,
    strip_paths,
)

__all__ = ["WriteMode", "apply_command", "strip_command"]

DIFF_HELP = "Print a unified diff of the changes to stdout; write nothing."
CHECK_HELP = "Write nothing; exit 1 if any file would change."
TARGET_HELP = ("Python version the annotations must work on (py37 ... py314): from py310, builtin generics "
               "and `X | None`; before, typing's `List`, `Optional`, `Union`.")
JOBS_HELP = "Worker processes (files are independent; parsing dominates)."
DEFAULT_JOBS = os.cpu_count() or 1
UNSAFE_HELP = ("Also annotate (or strip) class bodies of classes that may turn annotations into fields "
               "(dataclasses, pydantic, attrs, NamedTuple, ...); this can change what the program does.")


def _options(target_version: str, overwrite: bool, unsafe_fixes: bool, limit: int) -> WriteOptions:
    try:
        version = parse_target_version(target_version)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--target-version") from exc
    return WriteOptions(target_version=version, overwrite=overwrite, unsafe_fixes=unsafe_fixes, max_bytes=limit)


def _report(result: RunResult, verb: tuple[str, str], quiet: bool, verbose: bool) -> int:
    """Print diffs, per-file lines, diagnostics and a summary, as black does; return the exit code."""
    for f in result.files:
        if f.diff:
            sys.stdout.write(f.diff)
    report(list(result.diagnostics), quiet)
    for f in result.files:
        report(list(f.diagnostics), quiet)
        if f.status == FileStatus.CHANGED and not quiet:
            n = f.changed_slots
            what = f"{n} annotation{'s' if n != 1 else ''}"
            err.print(f"{verb[0]} {f.path} ({what})" if f.written else f"would {verb[1]} {f.path} ({what})",
                      markup=False)
        if verbose and not quiet:
            for s in f.slots:
                if s.status in (SlotStatus.SKIPPED, SlotStatus.UNCHANGED):
                    err.print(f"{f.path}: {s.slot_id}: {s.status.value}: {s.reason or s.annotation}", markup=False,
                              style="dim")
    if not quiet:
        err.print(_summary(result, verb), markup=False)
    return result.exit_code


def _summary(result: RunResult, verb: tuple[str, str]) -> str:
    changed = len(result.changed)
    unchanged = sum(1 for f in result.files if f.status == FileStatus.UNCHANGED)
    refused = sum(1 for f in result.files if f.status == FileStatus.REFUSED)
    failed = sum(1 for f in result.files if f.status == FileStatus.FAILED)

    def files(n: int) -> str:
        return f"{n} file{'s' if n != 1 else ''}"

    parts = [f"{files(changed)} {verb[0]}" if result.mode.writes else f"{files(changed)} would be {verb[0]}",
             f"{files(unchanged)} left unchanged"]
    if refused:
        parts.append(f"{files(refused)} refused")
    if failed:
        parts.append(f"{files(failed)} failed (internal error)")
    errors = sum(1 for d in result.all_diagnostics if d.severity == Severity.ERROR)
    head = "Oh no!" if errors or failed else "All done!"
    return f"{head} " + ", ".join(parts) + "."


def apply_command(
    predictions: Annotated[Path, typer.Argument(metavar="PREDICTIONS.json",
                                                help="Predictions written by `typetool predict --format json`.")],
    diff: Annotated[bool, typer.Option("--diff", help=DIFF_HELP)] = False,
    check: Annotated[bool, typer.Option("--check", help=CHECK_HELP)] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace existing annotations.")] = False,
    target_version: Annotated[str, typer.Option("--target-version", help=TARGET_HELP)] = "py310",
    unsafe_fixes: Annotated[bool, typer.Option("--unsafe-fixes", help=UNSAFE_HELP)] = False,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help=JOBS_HELP)] = DEFAULT_JOBS,
    root: Annotated[Path | None, typer.Option(
        "--root", help="The directory the predictions' file paths are relative to: where `typetool predict` ran "
        "[default: the current directory].")] = None,
    max_file_size: MaxFileSizeOpt = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only report errors.")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Also list slots left as they were.")] = False,
) -> None:
    """Write predicted types into the files they were predicted for (safely: see `typetool.writeback`). The
    predictions name files relative to the directory `typetool predict` ran in: run `apply` there, or pass
    `--root`. A file whose content changed since the prediction is refused."""
    if root is not None:
        require_existing([root])
    options = _options(target_version, overwrite, unsafe_fixes, max_bytes(max_file_size, [root or Path.cwd()]))
    try:
        preds = load_predictions(predictions)
    except PredictionsError as exc:
        err.print(f"error: {exc}", style="red", markup=False)
        raise typer.Exit(2) from exc
    result = apply_predictions(preds, WriteMode.from_flags(diff, check), options, root=root.absolute() if root
                               else None, jobs=jobs)
    raise typer.Exit(_report(result, ("annotated", "annotate"), quiet, verbose))


def strip_command(
    paths: Annotated[list[Path], typer.Argument(help="Files or directories whose annotations to remove.")],
    diff: Annotated[bool, typer.Option("--diff", help=DIFF_HELP)] = False,
    check: Annotated[bool, typer.Option("--check", help=CHECK_HELP)] = False,
    unsafe_fixes: Annotated[bool, typer.Option("--unsafe-fixes", help=UNSAFE_HELP)] = False,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help=JOBS_HELP)] = DEFAULT_JOBS,
    max_file_size: MaxFileSizeOpt = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only report errors.")] = False,
) -> None:
    """Remove type annotations (to build evaluation sets, or to infer them again)."""
    require_existing(paths)
    options = WriteOptions(unsafe_fixes=unsafe_fixes, max_bytes=max_bytes(max_file_size, paths))
    result = strip_paths(paths, WriteMode.from_flags(diff, check), options, jobs=jobs)
    if not result.files and not any(d.severity == Severity.INFO for d in result.diagnostics):
        report(list(result.diagnostics), quiet)
        err.print("no Python files found under the given paths", style="red")
        raise typer.Exit(2)
    raise typer.Exit(_report(result, ("stripped", "strip"), quiet, False))
