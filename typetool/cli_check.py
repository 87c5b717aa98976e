"""`typetool check`: the CI check and the `typetool-check` pre-commit hook. A thin front end over
`typetool.check`.

Reports slots where typetool confidently predicts a type but the code has no annotation, and with `--verify`
existing annotations outside the prediction set at a strict epsilon, in Python and TypeScript files (each
language's slots go to that language's model: `--model`, else the shipped one; TypeScript types are printed as
TypeScript). Writes nothing. Exit codes: 0 clean,
1 findings (or a file that could not be read), 2 usage error (bad option or setting, no model, path not found, not a git repository, unknown
ref), 123 internal error.
"""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from typetool.cli_common import (
    EXIT_FOUND,
    EXIT_OK,
    EXIT_USAGE,
    KINDS_HELP,
    PRECISION_HELP,
    EngineOpt,
    GuaranteeOpt,
    MaxFileSizeOpt,
    NoCacheOpt,
    err,
    load_predictor,
    open_cache,
    parse_kinds,
    progress_bar,
    report,
    require_existing,
)

if TYPE_CHECKING:
    from typetool.predictions import TypePredictor


class CheckFormat(str, Enum):
    text = "text"
    json = "json"
    sarif = "sarif"
    github = "github"


def _usage(message: str) -> typer.Exit:
    err.print(f"typetool: {message}", style="red", markup=False)
    return typer.Exit(EXIT_USAGE)


def check_command(
    paths: Annotated[list[Path] | None, typer.Argument(
        help="Files or directories to check (default: the current directory).")] = None,
    format: Annotated[CheckFormat, typer.Option(
        "--format", "-f", help="text (path:line:col: rule: message), json, sarif (SARIF 2.1.0, for code "
        "scanning) or github (workflow command annotations).")] = CheckFormat.text,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Write the report to this file instead of standard output.")] = None,
    min_confidence: Annotated[float | None, typer.Option(
        "--min-confidence", min=0.0, max=1.0, help="Report a missing annotation only when the calibrated "
        "confidence of the predicted type is at least this (default: min-confidence in pyproject.toml, else "
        "0.5).")] = None,
    verify: Annotated[bool, typer.Option(
        "--verify", help="Also report existing annotations outside the prediction set at --verify-epsilon "
        "(likely wrong annotations).")] = False,
    verify_epsilon: Annotated[float, typer.Option(
        "--verify-epsilon", min=0.001, max=0.5, help="The strict epsilon for --verify.")] = 0.05,
    changed_only: Annotated[bool, typer.Option(
        "--changed-only", help="Only report slots on lines changed since --base (for pull requests).")] = False,
    base: Annotated[str | None, typer.Option(
        "--base", help="Git ref to compare with for --changed-only (implies it); the diff is taken from its "
        "merge base with HEAD (default: the merge base with origin/HEAD, else HEAD).")] = None,
    epsilon: Annotated[float | None, typer.Option(
        help="Allowed miscoverage of each prediction set (default: pyproject.toml, else 0.1).")] = None,
    delta: Annotated[float | None, typer.Option(
        help="Failure probability of the guarantee (default: pyproject.toml, else 0.1).")] = None,
    sites: Annotated[str | None, typer.Option("--sites", help=KINDS_HELP + " (default: pyproject.toml, else params,returns)")] = None,
    model: Annotated[Path | None, typer.Option("--model", help="Model directory (default: the shipped model).")]
    = None,
    device: Annotated[str | None, typer.Option("--device", help="auto, cpu or cuda.")] = None,
    precision: Annotated[str | None, typer.Option("--precision", help=PRECISION_HELP + " Default: precision "
                                                  "in pyproject.toml, else fp32.")] = None,
    batch_size: Annotated[int | None, typer.Option("--batch-size", min=1)] = None,
    max_file_size: MaxFileSizeOpt = None,
    guarantee: GuaranteeOpt = None,
    engine: EngineOpt = None,
    no_cache: NoCacheOpt = False,
    exit_zero: Annotated[bool, typer.Option(
        "--exit-zero", help="Exit 0 even when there are findings (e.g. to upload SARIF in a later step).")]
    = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No summary; only errors on stderr.")] = False,
) -> None:
    """Report confident predictions where the code has no annotation (and, with --verify, annotations that
    are likely wrong). Writes nothing: the CI and pre-commit check. Exit 0 clean, 1 findings, 2 usage error."""
    from typetool import check as C
    from typetool.predictions import ModelNotFound, default_model_dir
    from typetool.settings import SettingsError, load_settings, validate

    targets = list(paths) if paths else [Path(".")]
    require_existing(targets)
    try:
        settings = load_settings(targets[0]).with_overrides(
            epsilon=epsilon, delta=delta, sites=sites, model=model and str(model), device=device,
            precision=precision, batch_size=batch_size, min_confidence=min_confidence,
            max_file_size=max_file_size, guarantee=guarantee, engine=engine)
        validate(settings, "options")
        if not 0.0 <= float(settings.min_confidence) <= 1.0:
            raise SettingsError(f"{settings.source or 'options'}: min-confidence must be between 0 and 1")
        kinds = parse_kinds(settings.sites)
    except (SettingsError, ValueError, TypeError) as exc:
        raise _usage(str(exc)) from None
    model_dir = Path(settings.model) if settings.model else default_model_dir()
    if not (model_dir / "model.safetensors").is_file():
        raise _usage(f"no model at {model_dir} (expected model.safetensors, tokenizer.json, config.json); "
                     f"pass --model DIR or set model in [tool.typetool]")

    changed = None
    if changed_only or base is not None:
        try:
            changed = C.changed_lines(base)
        except C.CheckError as exc:
            raise _usage(str(exc)) from None

    def get_predictor() -> TypePredictor:
        predictor: TypePredictor = load_predictor(model_dir, settings.device, settings.epsilon, settings.delta,
                                                    settings.precision, settings.guarantee, settings.engine)
        open_cache(predictor, targets, no_cache)
        return predictor

    try:
        with progress_bar(1000, "checking") as bar:
            task = bar.add_task("checking", total=None)
            outcome = C.run_check(targets, get_predictor, kinds, float(settings.min_confidence), verify,
                                  verify_epsilon, changed, settings.batch_size, int(settings.max_file_size * 1e6),
                                  progress=lambda k: bar.advance(task, k))
    except ModelNotFound as exc:  # the other language's shipped model (a project with Python and TypeScript)
        raise _usage(f"{exc}; Python and TypeScript files each need a model of their language") from None
    report(outcome.diagnostics, quiet)
    for note in outcome.notes:
        err.print(f"typetool: {note}", style="yellow", markup=False)

    root = C.repo_root() or Path.cwd()
    info: dict[str, object] = {
        "epsilon": settings.epsilon, "delta": settings.delta, "min_confidence": settings.min_confidence,
        "sites": settings.sites, "verify": verify, "verify_epsilon": verify_epsilon if verify else None,
        "changed_since": changed.base if changed is not None else None, "model": str(model_dir)}
    findings = outcome.findings
    if format == CheckFormat.json:
        text = C.format_json(findings, outcome.diagnostics, info)
    elif format == CheckFormat.sarif:
        text = C.format_sarif(findings, outcome.diagnostics, root, info)
    elif format == CheckFormat.github:
        text = C.format_github(findings, root)
    else:
        text = C.format_text(findings)
    if output is not None:
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise _usage(f"{output}: cannot write the report: {exc.strerror or exc}") from None
    else:
        sys.stdout.write(text)
        sys.stdout.flush()

    if not quiet:
        counts = C.summary(findings)
        scope = f" on lines changed since {changed.base}" if changed is not None else ""
        if findings:
            parts = ", ".join(f"{counts[r]} {r}" for r in (C.MISSING, C.SUSPICIOUS) if counts[r])
            files = "file" if counts["files"] == 1 else "files"
            err.print(f"typetool check: {counts['findings']} finding{'s' if len(findings) != 1 else ''} "
                      f"({parts}) in {counts['files']} {files}; {outcome.slots_checked} slots checked{scope}",
                      markup=False)
        else:
            err.print(f"typetool check: no findings; {outcome.slots_checked} slots checked{scope}", markup=False)
    # a file that could not be read is an error, as in `annotate` and `predict`
    from typetool.messages import READ_FAILURES

    unreadable = any(d.severity.value == "error" and d.code in READ_FAILURES for d in outcome.diagnostics)
    raise typer.Exit(EXIT_FOUND if (findings or unreadable) and not exit_zero else EXIT_OK)
