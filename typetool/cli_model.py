"""`typetool predict`, `evaluate`, `train` and `calibrate`: thin front ends over the pipeline and the model."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from typetool.cli_common import (
    EXIT_FOUND,
    EXIT_USAGE,
    KINDS_HELP,
    PRECISION_HELP,
    DeviceOpt,
    EngineOpt,
    GateOpt,
    GuaranteeOpt,
    MaxFileSizeOpt,
    ModelOpt,
    NoCacheOpt,
    OutputFormat,
    PrecisionOpt,
    err,
    load_predictor,
    open_cache,
    out,
    parse_kinds,
    progress_bar,
    report,
    require_existing,
)


def predict_command(
    paths: Annotated[list[Path], typer.Argument(help="Files or directories.")],
    format: Annotated[OutputFormat, typer.Option("--format", "-f")] = OutputFormat.text,
    top_k: Annotated[int, typer.Option("--top-k", min=1, max=20, help="Candidates per slot.")] = 5,
    device: Annotated[str | None, typer.Option("--device", help="auto, cpu or cuda [default cpu].")] = None,
    precision: Annotated[str | None, typer.Option("--precision", help=PRECISION_HELP + " Default: precision "
                                                  "in pyproject.toml, else fp32.")] = None,
    batch_size: Annotated[int | None, typer.Option("--batch-size", min=1)] = None,
    model: ModelOpt = None,
    epsilon: Annotated[float | None, typer.Option(help="Allowed miscoverage of the set [default 0.1, or epsilon "
                                                  "in \\[tool.typetool]].")] = None,
    delta: Annotated[float | None, typer.Option(help="Failure probability of the guarantee [default 0.1].")]
    = None,
    sites: Annotated[str | None, typer.Option("--sites", help=KINDS_HELP + " [default params,returns, as "
                                              "annotate]")] = None,
    target_version: Annotated[str | None, typer.Option("--target-version", help="As annotate's: the spelling "
                                                       "the plan is made for.")] = None,
    all_slots: Annotated[bool, typer.Option("--all", help="Also predict slots that have an annotation (one "
                                            "pass, no plan).")] = False,
    max_file_size: MaxFileSizeOpt = None,
    guarantee: GuaranteeOpt = None,
    engine: EngineOpt = None,
    gate: GateOpt = None,
    no_cache: NoCacheOpt = False,
) -> None:
    """Predict a type for every unannotated slot: top-k candidates with calibrated confidence and the partial
    type (holes `?`) that `typetool apply` will write. Reads [tool.typetool] as `annotate` does and makes the same
    plan (to the same fixpoint), so `predict --format json > p.json && apply p.json` writes what `annotate`
    writes."""
    from typetool.pipeline import plan_project, predictions_payload, slice_project
    from typetool.settings import SettingsError, load_settings, validate
    from typetool.writeback import WriteOptions, parse_target_version

    require_existing(paths)
    try:
        settings = load_settings(paths[0] if paths else None).with_overrides(
            epsilon=epsilon, delta=delta, sites=sites, model=model and str(model), device=device,
            precision=precision, batch_size=batch_size, target_version=target_version, max_file_size=max_file_size,
            guarantee=guarantee, engine=engine, gate=gate)
        validate(settings, "options")
        target = parse_target_version(settings.target_version)
    except (SettingsError, ValueError) as exc:
        err.print(f"typetool: {exc}", style="red", markup=False)
        raise typer.Exit(EXIT_USAGE) from None
    kinds = parse_kinds(settings.sites)
    limit = int(settings.max_file_size * 1e6)
    predictor = load_predictor(Path(settings.model) if settings.model else None, settings.device,
                               settings.epsilon, settings.delta, settings.precision, settings.guarantee,
                               settings.engine)
    open_cache(predictor, paths, no_cache)
    with progress_bar(1000, "predicting") as bar:
        task = bar.add_task("reading", total=None)

        def stage(label: str, total: int | None) -> None:
            bar.update(task, description=label, total=total, completed=0)

        if all_slots:
            from typetool.pipeline import load_project

            project = load_project(paths, max_bytes=limit)
            slices = slice_project(project, kinds, only_unannotated=False)
            stage("predicting", len(slices))
            preds = predictor.predict(slices, top_k=top_k, batch_size=settings.batch_size,
                                      progress=lambda k: bar.advance(task, k))
        else:
            plan = plan_project(paths, predictor, WriteOptions(target_version=target, max_bytes=limit), kinds,
                                settings.batch_size, lambda k: bar.advance(task, k), limit, stage=stage, top_k=top_k,
                                gate=settings.gate)
            project, preds = plan.project, plan.predictions
    report(project.diagnostics)
    from typetool.messages import READ_FAILURES

    # a file that could not be read: exit 1 after the output, as `annotate` and `check` do
    failed = any(d.severity.value == "error" and d.code in READ_FAILURES for d in project.diagnostics)
    if format == OutputFormat.json:
        payload = predictions_payload(project, preds, predictor)
        sys.stdout.write(json.dumps(payload, indent=1, ensure_ascii=False) + "\n")
        raise typer.Exit(EXIT_FOUND if failed else 0)
    if not predictor.calibrated:
        err.print("note: this model has no calibration.json: confidences are raw model probabilities and "
                  "types are written without holes", style="yellow")
    for p in preds:
        s = p.slot
        shown = p.shown(p.partial) or "(left alone)"
        # most confident first (the calibrated confidence can order two candidates otherwise than the model's
        # scores, which choose the written type)
        ranked = sorted(p.candidates[:top_k], key=lambda c: -c.confidence)
        cands = ", ".join(f"{p.shown(c.type)} {c.confidence:.2f}" for c in ranked)
        out.print(f"{s.file}:{s.line}:{s.column + 1} {s.kind.value} {s.scope}.{s.name}: {shown}  "
                  f"[{p.confidence:.2f}]  ({cands})", markup=False)
    raise typer.Exit(EXIT_FOUND if failed else 0)


def evaluate_command(
    paths: Annotated[list[Path] | None, typer.Argument(
        help="Annotated code to strip and recover; each PATH counts as one package (the headline is the mean "
        "over packages).")] = None,
    format: Annotated[OutputFormat, typer.Option("--format", "-f")] = OutputFormat.text,
    model: ModelOpt = None,
    device: DeviceOpt = "cpu",
    precision: PrecisionOpt = "fp32",
    batch_size: Annotated[int, typer.Option("--batch-size", min=1)] = 64,
    autotyping: Annotated[bool, typer.Option("--autotyping/--no-autotyping",
                                             help="Also run the autotyping baseline (needs it installed).")]
    = False,
    epsilon: Annotated[float, typer.Option(min=0.001, max=0.5)] = 0.1,
    delta: Annotated[float, typer.Option(min=0.001, max=0.5)] = 0.1,
    report_dir: Annotated[Path | None, typer.Option("--report", help="Write report.json and a reliability "
                                                    "diagram (reliability.html) here.")] = None,
    tsc: Annotated[bool, typer.Option("--tsc/--no-tsc", help="Also run TypeScript's own inferFromUsage code fix "
                                      "on TypeScript files (needs `npm ci --prefix tools/tsc-infer`).")] = False,
    strict: Annotated[bool, typer.Option(
        "--strict/--lenient", help="The protocol. Strict (the default): stripped code looks like code that was "
        "never annotated, so the imports (and `if TYPE_CHECKING:` imports) that only annotations used leave the "
        "names in scope (Python). Lenient: every import stays, as strip-and-recover usually does.")] = True,
    guarantee: Annotated[str, typer.Option("--guarantee", help="written or sites (docs/guarantees.md).")]
    = "written",
    dev_eval: Annotated[bool, typer.Option(
        "--dev-eval", help="Evaluate the pinned dev-eval packages of every language (their sources as `corpus "
        "build` unpacked them), with the model of each language: the yardstick every model change is judged "
        "on.")] = False,
    engine: Annotated[bool, typer.Option(
        "--engine/--no-engine", help="Run the checker engine (pyrefly, on the stripped Python code) for the engine "
        "stage, and report it alone as a baseline; --no-engine: the model alone.")] = True,
) -> None:
    """Strip-and-recover on annotated code: exact match, precision, coverage, parametric match and top-5 of
    the model beside the baselines (most frequent type per kind, literal/default heuristic, autotyping for
    Python, the TypeScript compiler's inferFromUsage for TypeScript), one table per language."""
    from typetool.evaluation import run_evaluations
    from typetool.settings import GUARANTEES

    paths = list(paths or [])
    if dev_eval:
        paths += _dev_eval_sources()
    if not paths:
        raise typer.BadParameter("give the code to evaluate (PATH...) or --dev-eval", param_hint="PATH")
    require_existing(paths)
    if guarantee not in GUARANTEES:
        raise typer.BadParameter(f"must be {' or '.join(GUARANTEES)}", param_hint="--guarantee")
    predictor = load_predictor(model, device, epsilon, delta, precision, guarantee)
    results = run_evaluations(paths, predictor, batch_size=batch_size, autotyping=autotyping,
                              report_dir=report_dir, tsc=tsc, code_imports_only=strict, engine=engine)
    report(results[0].diagnostics, quiet=True)
    if format == OutputFormat.json:
        payload = results[0].as_json() if len(results) == 1 else {"results": [r.as_json() for r in results]}
        sys.stdout.write(json.dumps(payload, indent=1) + "\n")
    else:
        out.print("\n\n".join(r.text() for r in results), markup=False)


def _dev_eval_sources() -> list[Path]:
    """The unpacked sources of every language's pinned dev-eval packages; a usage error naming the command that
    fetches them when one is missing."""
    from typetool.languages import languages

    found: list[Path] = []
    for lang in languages():
        for spec, src in lang.dev_sources(None, None):
            if not src.is_dir():
                raise typer.BadParameter(
                    f"the {lang.name} dev-eval package {spec} is not unpacked at {src}: run `typetool corpus build "
                    f"--language {lang.corpus_name}` first", param_hint="--dev-eval")
            found.append(src)
    return found


def train_command(
    train: Annotated[Path, typer.Option("--train", help="Training JSONL (from `typetool corpus build`).")]
    = Path(".cache/corpus/train.jsonl"),
    valid: Annotated[Path, typer.Option("--valid", help="Validation JSONL, for progress lines only.")]
    = Path(".cache/corpus/calib.jsonl"),
    out_dir: Annotated[Path, typer.Option("--out", help="Model directory to write (checkpoints inside).")]
    = Path("runs/py-small"),
    preset: Annotated[str, typer.Option(help="tiny, compact, small, medium or base.")] = "small",
    time_budget_minutes: Annotated[float | None, typer.Option(help="Stop (and save) after this long.")] = None,
    max_steps: Annotated[int | None, typer.Option(help="Stop after this many optimizer steps.")] = None,
    batch_size: Annotated[int, typer.Option(min=1)] = 32,
    lr: Annotated[float, typer.Option()] = 1e-3,
    max_input_len: Annotated[int, typer.Option()] = 160,
    resume_from: Annotated[Path | None, typer.Option(help="Continue training a shipped model directory.")]
    = None,
    rename_prob: Annotated[float, typer.Option(min=0.0, max=1.0, help="Share of training records whose project "
                                               "type names are renamed, to teach copying names from the "
                                               "slice.")] = 0.0,
    keep_best: Annotated[bool, typer.Option(help="Save the weights with the best validation exact match, not "
                                            "the last.")] = False,
) -> None:
    """Train the type model on this machine (CPU by default, CUDA when present; several GPUs through
    `accelerate launch -m typetool.model.train`). Resumes from OUT/checkpoint when it exists."""
    from typetool.evaluation import write_priors
    from typetool.model.train import train as run_training

    for path in (train, valid):
        if not path.is_file():
            err.print(f"{path}: not found (run `typetool corpus build` first)", style="red")
            raise typer.Exit(EXIT_USAGE)
    summary = run_training(train, valid, out_dir, preset=preset, time_budget_minutes=time_budget_minutes,
                           max_steps=max_steps, batch_size=batch_size, lr=lr, max_input_len=max_input_len,
                           resume_from=resume_from, rename_prob=rename_prob, keep_best=keep_best,
                           log=lambda line: err.print(line, markup=False))
    write_priors(train, out_dir)
    out.print(json.dumps(summary, indent=1, default=str), markup=False)


def calibrate_command(
    model: Annotated[Path, typer.Option("--model", help="Model directory to calibrate (calibration.json is "
                                        "written into it).")],
    records: Annotated[Path, typer.Option("--records", help="Calibration JSONL (the calib split).")]
    = Path(".cache/corpus/calib.jsonl"),
    batch_size: Annotated[int, typer.Option(min=1)] = 64,
) -> None:
    """Fit the calibrated confidence and the PAC prediction-set data on held-out calibration packages."""
    from typetool.evaluation import calibrate, records_from_jsonl

    predictor = load_predictor(model, "cpu", 0.1, 0.1)
    recs = records_from_jsonl(records)
    data = calibrate(predictor, recs, batch_size, packages=[r.package for r in recs])
    out.print(json.dumps(data["fit"], indent=1), markup=False)


def ship_command(
    run_dir: Annotated[Path, typer.Argument(help="A training run's output directory.")],
    name: Annotated[str, typer.Option("--name", help="Directory name under models/.")] = "typetool-py-compact",
    corpus_dir: Annotated[Path, typer.Option("--corpus", help="Corpus directory (train/calib/dev .jsonl).")]
    = Path(".cache/corpus"),
    sources: Annotated[Path | None, typer.Option("--sources", help="Unpacked package sources (default: "
                                                 ".cache/packages/src, or .cache/npm/src for a TypeScript "
                                                 "model).")] = None,
    autotyping: Annotated[bool, typer.Option("--autotyping/--no-autotyping")] = True,
    note: Annotated[str, typer.Option("--note", help="Training history for the model card.")] = "",
    link_held: Annotated[Path | None, typer.Option(
        "--link-held", help="JSONL of training packages the model never trained on (scripts/holdout.py): fit the "
        "learned name linker (its name model on the corpus's train split less those packages, its combiner on "
        "the model's beam over them). Without it, the rule links are measured on the calibration split.")] = None,
    lenient_corpus: Annotated[Path | None, typer.Option(
        "--lenient-corpus", help="A corpus built with `corpus build --lenient` (imports kept): its dev split is "
        "also evaluated, for the model card's lenient figures beside the strict ones.")] = None,
) -> None:
    """Copy a trained model into models/NAME, fit its name linker, calibrate it, evaluate it on dev-eval and
    write its model card."""
    from typetool.predictions import REPO_MODELS_DIR
    from typetool.ship import ship

    # the repository's models/ (where the wheel's typetool/models/ comes from), never an installed package
    ship(run_dir, REPO_MODELS_DIR / name, corpus_dir, None, sources, autotyping,
         log=lambda line: out.print(line, markup=False), note=note, link_held=link_held,
         lenient_corpus=lenient_corpus)


def annotate_command(
    paths: Annotated[list[Path], typer.Argument(help="Files or directories to annotate.")],
    epsilon: Annotated[float | None, typer.Option(help="Allowed miscoverage of each prediction set "
                                                  "[default 0.1, or epsilon in \\[tool.typetool]].")] = None,
    delta: Annotated[float | None, typer.Option(help="Failure probability of the guarantee [default 0.1].")]
    = None,
    diff: Annotated[bool, typer.Option("--diff", help="Print a unified diff; write nothing.")] = False,
    check: Annotated[bool, typer.Option("--check", help="Write nothing; exit 1 if a file would change.")]
    = False,
    sites: Annotated[str | None, typer.Option("--sites", help=KINDS_HELP + " [default params,returns]")]
    = None,
    model: ModelOpt = None,
    device: Annotated[str | None, typer.Option("--device", help="auto, cpu or cuda.")] = None,
    precision: Annotated[str | None, typer.Option("--precision", help=PRECISION_HELP + " Default: precision "
                                                  "in pyproject.toml, else fp32.")] = None,
    batch_size: Annotated[int | None, typer.Option("--batch-size", min=1)] = None,
    target_version: Annotated[str | None, typer.Option("--target-version", help="py39 spells Optional/List; "
                                                       "py310 and later X | None, list[int].")] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace existing annotations.")] = False,
    max_file_size: MaxFileSizeOpt = None,
    guarantee: GuaranteeOpt = None,
    engine: EngineOpt = None,
    gate: GateOpt = None,
    no_cache: NoCacheOpt = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only report errors.")] = False,
) -> None:
    """Predict and write annotations: full types where the model is sure, types with `Any` holes where it is
    sure of part of the type (PAC prediction sets at EPSILON/DELTA), nothing where it is not. Every write is
    atomic, re-parsed and proven to change nothing but annotations and imports."""
    from rich.table import Table

    from typetool.pipeline import annotate
    from typetool.settings import SettingsError, load_settings, validate
    from typetool.writeback import WriteMode, WriteOptions, parse_target_version

    require_existing(paths)
    try:
        settings = load_settings(paths[0] if paths else None).with_overrides(
            epsilon=epsilon, delta=delta, sites=sites, model=model and str(model), device=device,
            precision=precision, batch_size=batch_size, target_version=target_version, max_file_size=max_file_size,
            guarantee=guarantee, engine=engine, gate=gate)
        validate(settings, "options")
        target = parse_target_version(settings.target_version)
    except (SettingsError, ValueError) as exc:
        err.print(f"typetool: {exc}", style="red", markup=False)
        raise typer.Exit(EXIT_USAGE) from None
    kinds = parse_kinds(settings.sites)
    predictor = load_predictor(Path(settings.model) if settings.model else None, settings.device,
                               settings.epsilon, settings.delta, settings.precision, settings.guarantee,
                               settings.engine)
    open_cache(predictor, paths, no_cache)
    mode = WriteMode.from_flags(diff, check)
    with progress_bar(1000, "annotating") as bar:
        task = bar.add_task("reading", total=None)

        def stage(label: str, total: int | None) -> None:
            bar.update(task, description=label, total=total, completed=0)

        limit = int(settings.max_file_size * 1e6)
        outcome = annotate(paths, predictor, mode, WriteOptions(target_version=target, overwrite=overwrite,
                                                                max_bytes=limit),
                           kinds, settings.batch_size, progress=lambda k: bar.advance(task, k), max_bytes=limit,
                           stage=stage, gate=settings.gate)
    report(outcome.run.all_diagnostics, quiet)
    if mode.shows_diff:
        for f in outcome.run.files:
            if f.diff:
                sys.stdout.write(f.diff)
    if not quiet:
        from typetool.languages import by_key, default_language
        from typetool.predictions import ModelNotFound

        languages = outcome.languages or [default_language().key]
        title = f"typetool annotate: {' and '.join(by_key(lang).name for lang in languages)} " \
                f"(epsilon {settings.epsilon}, delta {settings.delta})"
        table = Table(title=title, show_header=len(languages) > 1)
        table.add_column("")
        for lang in languages:
            table.add_column(by_key(lang).name, justify="right")
        columns = [outcome.summary(lang) for lang in languages]
        for key in columns[0]:
            if key == "files refused" and not any(c[key] for c in columns):
                continue  # (a refused file's reason is printed above the table)
            table.add_row(key, *(str(c[key]) for c in columns))
        err.print(table)
        for lang in languages:
            try:
                sentence = predictor.for_language(lang).guarantee_sentence()
            except ModelNotFound:
                continue
            err.print(f"{by_key(lang).name}: {sentence}" if len(languages) > 1 else sentence, markup=False,
                      soft_wrap=True)
    raise typer.Exit(outcome.run.exit_code)
