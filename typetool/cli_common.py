"""What the command modules share: exit codes, the consoles, common options and their checks, diagnostics
output, the progress display and loading the predictor. Every `cli_*` module imports this one, never each other;
`typetool.cli` registers the commands.

Exit codes, as black and ruff: 0 clean, 1 `--check` found work (or findings), 2 usage error, 123 internal error.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Sequence
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from typetool.diagnostics import Diagnostic, Severity

if TYPE_CHECKING:
    from typetool.predictions import TypePredictor

EXIT_OK = 0
EXIT_FOUND = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 123

err = Console(stderr=True, highlight=False, soft_wrap=True)  # one diagnostic per line, never wrapped
out = Console(highlight=False, soft_wrap=True)




class OutputFormat(str, Enum):
    text = "text"
    json = "json"


def report(diagnostics: list[Diagnostic], quiet: bool = False) -> None:
    for d in diagnostics:
        if quiet and d.severity != Severity.ERROR:
            continue
        style = "red" if d.severity == Severity.ERROR else "yellow" if d.severity == Severity.WARNING else "dim"
        err.print(d.format(), style=style, markup=False)


KINDS_HELP = "Comma-separated slot kinds: params,returns,variables,attributes."


def parse_kinds(value: str) -> frozenset[Any]:
    from typetool.slots import SlotKind

    mapping = {"params": SlotKind.PARAM, "param": SlotKind.PARAM, "returns": SlotKind.RETURN,
               "return": SlotKind.RETURN, "variables": SlotKind.VARIABLE, "variable": SlotKind.VARIABLE,
               "attributes": SlotKind.ATTRIBUTE, "attribute": SlotKind.ATTRIBUTE}
    kinds = set()
    for part in value.split(","):
        part = part.strip()
        if not part:
            continue
        if part not in mapping:
            raise typer.BadParameter(f"unknown slot kind {part!r}; expected params, returns, variables, attributes",
                                     param_hint="--sites")
        kinds.add(mapping[part])
    if not kinds:
        raise typer.BadParameter(f"{value!r} names no slot kind; expected a comma-separated list of params, "
                                 "returns, variables, attributes", param_hint="--sites")
    return frozenset(kinds)


MAX_FILE_SIZE_HELP = "Skip files larger than this many MB [default 2, or max-file-size in \\[tool.typetool]]."
MaxFileSizeOpt = Annotated[float | None, typer.Option("--max-file-size", min=0.001, help=MAX_FILE_SIZE_HELP)]


def max_bytes(option: float | None, paths: Sequence[Path] = ()) -> int:
    """The file-size limit in bytes: the option, else `max-file-size` in [tool.typetool], else 2 MB."""
    if option is not None:
        return int(option * 1e6)
    from typetool.settings import SettingsError, load_settings

    try:
        return int(load_settings(paths[0] if paths else None).max_file_size * 1e6)
    except SettingsError as exc:
        err.print(f"typetool: {exc}", style="red", markup=False)
        raise typer.Exit(EXIT_USAGE) from None


def require_existing(paths: Sequence[Path]) -> None:
    """Exit 2 (usage) when a path the user named does not exist or is a symlink loop, before any work: a
    command would otherwise report it and go on with nothing (an empty table, exit 0). A dangling symlink
    passes; discovery reports it."""
    for p in paths:
        try:
            os.stat(p)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                err.print(f"typetool: {p}: symlink loop", style="red", markup=False)
                raise typer.Exit(EXIT_USAGE) from None
            if not p.is_symlink():
                err.print(f"typetool: {p}: no such file or directory", style="red", markup=False)
                raise typer.Exit(EXIT_USAGE) from None


def diag_json(d: Diagnostic) -> dict[str, object]:
    return {"path": d.path, "line": d.line, "column": d.column, "severity": d.severity.value, "code": d.code,
            "message": d.message}


ModelOpt = Annotated[Path | None, typer.Option("--model", help="Model directory (default: the shipped model).")]
DeviceOpt = Annotated[str, typer.Option("--device", help="auto, cpu or cuda.")]
PRECISION_HELP = ("The encoder's arithmetic: fp32 (as calibrated), or bf16 (about 1.3x the predictions/s on CPUs "
                  "with native bfloat16; a few predictions differ and the calibration holds only approximately).")
PrecisionOpt = Annotated[str, typer.Option("--precision", help=PRECISION_HELP)]


def progress_bar(total: int, label: str) -> Progress:
    """A progress display on stderr (on a terminal, for runs of `total` >= 200 slots): the task's description,
    a bar, done/total and the time left. A task's description can change as a run goes through its stages."""
    del label  # (each task names itself)
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                    console=err, transient=True, disable=total < 200 or not err.is_terminal)


GuaranteeOpt = Annotated[str | None, typer.Option(
    "--guarantee", help="What epsilon bounds: `written` (at most epsilon of the written annotations miss the "
    "true type) or `sites` (the marginal guarantee: sets cover the true type at all but epsilon of all sites). "
    "Default: guarantee in \\[tool.typetool], else written. See docs/guarantees.md.")]
EngineOpt = Annotated[bool | None, typer.Option(
    "--engine/--no-engine", help="Run the checker engine (pyrefly, for Python) whose inferred types the engine "
    "stage weighs against the model's; --no-engine: model-only predictions. Default: engine in "
    "\\[tool.typetool], else on.", show_default=False)]
GateOpt = Annotated[bool | None, typer.Option(
    "--gate/--no-gate", help="Check the planned annotations with the checker engine and leave out each one with "
    "which it reports a new error (needs the engine). Default: gate in \\[tool.typetool], else on.",
    show_default=False)]
NoCacheOpt = Annotated[bool, typer.Option(
    "--no-cache", help="Neither read nor write the prediction cache (.typetool_cache/ beside pyproject.toml, or in "
    "the directory named): run the model on every slot.")]


def open_cache(predictor: TypePredictor, paths: Sequence[Path], no_cache: bool) -> None:
    """Give `predictor` the run's prediction cache (`predcache`), unless `no_cache` or TYPETOOL_NO_CACHE is set;
    a cache that fails says so once on stderr and the run goes on without it."""
    from typetool.predcache import PredictionCache, cache_root

    if no_cache or os.environ.get("TYPETOOL_NO_CACHE"):
        return
    predictor.use_cache(PredictionCache(cache_root(paths), warn=lambda m: err.print(m, style="yellow",
                                                                                    markup=False)))


def load_predictor(model: Path | None, device: str, epsilon: float, delta: float, precision: str = "fp32",
                   guarantee: str = "written", engine: bool = True) -> TypePredictor:
    from typetool.predictions import ModelNotFound, TypePredictor
    from typetool.settings import PRECISIONS, SettingsError, check_device

    if device not in ("auto", "cpu", "cuda"):
        err.print(f"--device must be auto, cpu or cuda, not {device!r}", style="red")
        raise typer.Exit(EXIT_USAGE)
    if precision not in PRECISIONS:
        err.print(f"--precision must be {' or '.join(PRECISIONS)}, not {precision!r}", style="red", markup=False)
        raise typer.Exit(EXIT_USAGE)
    try:
        check_device(device)
    except SettingsError as exc:
        err.print(f"typetool: {exc}", style="red", markup=False)
        raise typer.Exit(EXIT_USAGE) from None
    try:
        predictor = TypePredictor(model, device=device, epsilon=epsilon, delta=delta, precision=precision,
                                  guarantee=guarantee)
        predictor.use_engine = engine
        return predictor
    except ModelNotFound as exc:
        err.print(f"typetool: {exc}", style="red", markup=False)
        raise typer.Exit(EXIT_USAGE) from None


