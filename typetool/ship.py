"""Shipping a trained model: copy, calibrate, evaluate on dev-eval packages, write the model card.

Does: copies a training run's model files into `models/<name>/` (never its checkpoint), writes the training
type priors, fits the calibrated confidence and PAC data on the calibration split, evaluates on the dev-eval
split (all packages together, then each package live from its source with the baselines, autotyping included)
and writes `README.md` (the model card: data, training, hardware, metrics, calibration, prediction-set
coverage, limits, how to reproduce) and `reliability.html`.
Does not: train (`typetool.model.train`) or build the corpus (`typetool.corpus`).
"""

from __future__ import annotations

import json
import platform
import shutil
import time
from pathlib import Path
from typing import Any

from typetool.evaluation import (
    EvaluationResult,
    calibrate,
    evaluate_records,
    fit_consistency,
    fit_link_prob,
    fit_linker,
    records_from_jsonl,
    run_evaluations,
    write_priors,
    write_report,
)
from typetool.languages import by_key, default_language, languages
from typetool.model.consistency import CONSISTENCY_FILE, MIN_ANNOTATED_FIT, PREDICTED
from typetool.model.linker import LINKER_FILE, LINKER_META
from typetool.predictions import TypePredictor, model_language

PROTOCOL_GROUPS = ("all (param+return)", "param", "return", "user-defined")  # the lenient protocol's table
SHIPPED_FILES = ("config.json", "generation_config.json", "model.safetensors", "tokenizer.json",
                 "type_vocab.json", "decoding.json", "card.json")


def _dev_sources(language: str, package_list: Path | None, sources: Path | None) -> list[tuple[str, Path]]:
    """(name@version, unpacked source) of each dev-eval package of the language's pinned list."""
    return by_key(language).dev_sources(package_list, sources)


def ship(run_dir: Path, model_dir: Path, corpus_dir: Path, package_list: Path | None, sources: Path | None,
         autotyping: bool = True, log: Any = print, note: str = "", link_held: Path | None = None,
         lenient_corpus: Path | None = None) -> dict[str, Any]:
    """`package_list`/`sources`: the pinned list and unpacked sources of the model's language (None: the
    defaults, `corpus_python.txt` and .cache/packages/src, or `corpus_typescript.txt` and .cache/npm/src).
    `link_held`: a JSONL of training packages the model never trained on; given, the learned name linker is
    fitted (`fit_linker`), else the rule links' precision is measured on the calibration split. `lenient_corpus`:
    a corpus built with `corpus build --lenient` (imports kept), whose dev split is also evaluated for the card."""
    language = model_language(run_dir)
    model_dir.mkdir(parents=True, exist_ok=True)
    for name in SHIPPED_FILES:
        if (run_dir / name).is_file() and run_dir.resolve() != model_dir.resolve():  # re-shipping in place
            shutil.copy2(run_dir / name, model_dir / name)
    write_priors(corpus_dir / "train.jsonl", model_dir)
    # the linker is refitted (or dropped) here: an old one must not shape the link fit or the calibration
    (model_dir / LINKER_FILE).unlink(missing_ok=True)
    (model_dir / LINKER_META).unlink(missing_ok=True)
    (model_dir / CONSISTENCY_FILE).unlink(missing_ok=True)  # it is fitted on the linker's output
    predictor = TypePredictor(model_dir)
    t0 = time.perf_counter()
    cal_records = records_from_jsonl(corpus_dir / "calib.jsonl")
    linker: dict[str, Any] | None = None
    link: dict[str, Any] | None = None
    if link_held is not None:
        held = records_from_jsonl(link_held)
        linker = fit_linker(predictor, records_from_jsonl(corpus_dir / "train.jsonl"), held, log=log)
        linker["consistency"] = fit_consistency(predictor, held, log=log)
        # calibration must not see what the linker was fitted on (a calibration package lent to the combiner)
        held_packages = {r.package for r in held}
        cal_records = [r for r in cal_records if r.package not in held_packages]
    else:
        link = fit_link_prob(predictor, cal_records)
        log(f"name links: {link['right']} of {link['links']} right on {link['n']} calibration sites "
            f"(p {link['p']:.3f}); top-1 there {100 * link['top1_without']:.1f}% -> {100 * link['top1_with']:.1f}%")
    cal = calibrate(predictor, cal_records, packages=[r.package for r in cal_records])
    if link is not None:
        cal["link"] = link
    if linker is not None:
        cal["linker"] = linker
    log(f"calibrated on {len(cal_records)} sites in {time.perf_counter() - t0:.0f}s: {cal['fit']}")
    t0 = time.perf_counter()
    dev = records_from_jsonl(corpus_dir / "dev.jsonl")
    overall = evaluate_records(predictor, dev)
    dev_seconds = time.perf_counter() - t0
    log(overall.text())
    write_report(overall, model_dir / "eval")
    per_package: dict[str, EvaluationResult] = {}
    for spec, src in _dev_sources(language, package_list, sources):
        if not src.is_dir():
            log(f"{src}: missing, skipping the live evaluation of {spec}")
            continue
        t0 = time.perf_counter()
        results = run_evaluations([src], predictor, code_imports_only=True,
                                  baselines=frozenset(by_key(language).baselines if autotyping else ()))
        per_package[spec] = next(r for r in results if r.language == language)
        log(f"{spec}: evaluated in {time.perf_counter() - t0:.0f}s")
        log(per_package[spec].report.table(groups=("all (param+return)",)))
    card = json.loads((model_dir / "card.json").read_text(encoding="utf-8")) if (model_dir / "card.json").is_file() \
        else {}
    lenient: EvaluationResult | None = None
    if lenient_corpus is not None:
        lenient = evaluate_records(predictor, records_from_jsonl(lenient_corpus / "dev.jsonl"))
        log("lenient protocol (imports kept), macro over packages:")
        log(lenient.report.macro_table(groups=PROTOCOL_GROUPS))
    text = model_card(model_dir.name, card, cal, overall, per_package, corpus_dir, dev_seconds, len(dev), note,
                      language, lenient)
    (model_dir / "README.md").write_text(text, encoding="utf-8")
    summary = {"overall": overall.as_json(), "packages": {k: v.as_json() for k, v in per_package.items()},
               **({"lenient": lenient.as_json()} if lenient is not None else {}),
               "calibration": cal["fit"]}
    (model_dir / "eval" / "summary.json").write_text(json.dumps(summary, indent=1) + "\n", encoding="utf-8")
    return summary


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


_TS_DATA = ("Pinned npm packages (`typetool/corpus_typescript.txt`, one `npm pack` call), split by package: train, "
            "calibration (carved out of the training list: @tanstack/router-core, mobx, @trpc/client), dev-eval "
            "(immer, @microsoft/signalr; never used for training or calibration). Only `.ts`/`.tsx` sources "
            "(never `.d.ts`, tests or vendored code), identical function bodies deduplicated, effect capped at "
            "8000 slots. Labels are the explicit annotations in the shared bracket form (`string[]` is "
            "`Array[string]`); annotations the form cannot express (object type literals, mapped and conditional "
            "types, `keyof`, `typeof`, ...) are left out of training and count as misses in calibration and "
            "dev-eval. Slices are computed with every annotation hidden, as for stripped code.")
_TS_BASELINE = ("`typetool evaluate <package source> --tsc`: the model beside the most frequent type per kind, the "
                "literal/default heuristic, and the TypeScript compiler's own \"infer from usage\" code fix "
                "(typescript@5.9.3 language service, `getCombinedCodeFix(..., \"inferFromUsage\")` on a stripped "
                "copy; it fills parameters, not return types).")


def model_card(name: str, card: dict[str, Any], cal: dict[str, Any], overall: EvaluationResult,
               per_package: dict[str, EvaluationResult], corpus_dir: Path, dev_seconds: float,
               n_dev: int, note: str = "", language: str = "py", lenient: EvaluationResult | None = None) -> str:
    stats = (corpus_dir / "stats.txt").read_text(encoding="utf-8") if (corpus_dir / "stats.txt").is_file() else ""
    ts = language == "ts"
    origin = ("trained from scratch" if not card.get("continued_from")
              else f"continued from `{card['continued_from']}` (its weights and tokenizer; the type vocabulary is the "
              "TypeScript training targets')" if ts
              else f"trained from scratch in stages, the last continuing `{card['continued_from']}` (see the "
              "training history below)")
    lines = [f"# {name}", "",
             (f"The {'TypeScript' if ts else 'Python'} type predictor shipped with typetool: a small T5 "
              f"(encoder-decoder) {origin} on usage slices of well-annotated {'TypeScript' if ts else 'Python'} "
              "packages, decoding only well-formed type expressions over known and in-scope names, with calibrated "
              "confidence and PAC prediction sets."), "",
             "## Model", "",
             (f"- architecture: T5, preset `{card.get('preset', '?')}`, {card.get('params', '?')} parameters, "
             f"vocabulary {card.get('vocab_size', '?')} (BPE trained on the corpus)"),
             ("- weights: `model.safetensors`; tokenizer `tokenizer.json`; decoding `decoding.json`; type vocabulary "
             "`type_vocab.json`; training type counts `type_priors.json`; calibration `calibration.json`"
             + ("; name linker `linker.safetensors` with `linker.json`" if cal.get("linker") else "")
             + ("; consistency stage `consistency.json`" if (cal.get("linker") or {}).get("consistency") else "")),
             (f"- training: {card.get('step', '?')} steps, {card.get('examples_seen', '?')} examples "
             f"({card.get('epochs', '?')} epochs), {float(card.get('train_seconds', 0)) / 60:.0f} min on "
             + ("one GPU" if str(card.get("device", "cpu")).startswith("cuda")
                else f"cpu ({platform.machine()}, 2 CPU cores, shared with other work)") + ", batch "
             f"{card.get('batch_size', '?')}, lr {card.get('lr', '?')}, inputs truncated to "
             f"{card.get('max_input_len', '?')} tokens; stopped by `{card.get('stopped', '?')}`"
             + (f"; project type names renamed in {100 * float(card['rename_prob']):.0f}% of the training records"
                if card.get("rename_prob") else "")
             + (f"; weights of step {card['best_step']}, the best validation exact match"
                if card.get("best_step") not in (None, card.get("step")) else "")),
             ("- loads from this directory only (`from_pretrained(dir, local_files_only=True)`, safetensors); no "
             "network at run time"), "",
             "## Data", "",
             _TS_DATA if ts else ("Pinned packages (`typetool/corpus_python.txt`), split by package: train, calibration (carved out "
             "of the training list: click, httpx, anyio, packaging, pluggy, platformdirs), dev-eval (libcst, "
             "structlog, markdown-it-py, hatchling; never used for training or calibration). Vendored code "
             "skipped, identical function bodies deduplicated (dev-eval bodies never enter train/calib), "
             "transformers/openai/setuptools capped. Slices are computed with every annotation hidden, as for "
             "stripped code. Sites from one repository are correlated: the calibration guarantee is over "
             "packages like the calibration packages, not over arbitrary code."), "",
             "```", stats.strip(), "```", "",
             "## Dev-eval metrics (strip and recover, strict protocol)", "",
             (f"{n_dev} annotated sites of {max(len(overall.report.packages), 1)} dev-eval packages; exact match "
             "over all sites (an abstention counts as wrong), after the normalization of "
             "`typetool.typeexpr.normalize`. Strict protocol: the stripped code looks like code that was never "
             "annotated (imports only annotations used are gone from the names in scope). The headline is macro: "
             "each rate averaged over the packages, so that no package decides it; micro (over sites) and the "
             f"per-package figures follow. Measured with `typetool ship-model` (the dev split took "
             f"{dev_seconds:.0f}s)."), "",
             *(["Macro (mean over packages):", "", "```", overall.report.macro_table(), "```", "",
                "Micro (over sites):", ""] if len(overall.report.packages) > 1 else []),
             "```", overall.report.table(), "```", "",
             *(["Per package (param+return):", "", "```", overall.report.package_table(), "```", ""]
               if len(overall.report.packages) > 1 else [])]
    if lenient is not None:
        lines += ["### The lenient protocol", "",
                  ("Strip-and-recover as it is usually run keeps every import, although code that was never "
                   "annotated never imported the classes its annotations would name. Rebuilt with `typetool corpus "
                   "build --lenient`, the same dev packages give (macro, then micro):"), "",
                  "```", lenient.report.macro_table(groups=PROTOCOL_GROUPS), "",
                  lenient.report.table(groups=PROTOCOL_GROUPS), "```", ""]
    if per_package:
        lines += ["### Per package, live from source, with baselines", "",
                  _TS_BASELINE if ts else
                  ("`typetool evaluate <package source> --autotyping`: the model beside the most frequent type per "
                  "kind, the literal/default heuristic (static evidence only), and autotyping "
                  "(`python -m autotyping --aggressive --guess-common-names` on a stripped copy)."), "",
                  "| package | predictor | n | exact | precision | coverage | parametric | top-5 |",
                  "|---|---|---|---|---|---|---|---|"]
        for pkg, res in per_package.items():
            for pred, groups in res.report.as_json().items():
                g = groups.get("all (param+return)")
                if g is None:
                    continue
                lines.append(f"| {pkg} | {pred} | {g['n']} | {_pct(g['exact'])} | {_pct(g['precision'])} | "
                             f"{_pct(g['coverage'])} | {_pct(g['parametric'])} | {_pct(g['top5'])} |")
        lines.append("")
    fit = cal["fit"]
    lines += ["## Calibrated confidence", "",
              (f"Platt scaling per training-frequency bucket, features log p(t|x) and log p(t|empty context), fitted "
              f"on {fit['n']} calibration sites (top-1 accuracy there {_pct(fit['top1_accuracy'])}): ECE "
              f"{fit['ece_before']:.3f} -> {fit['ece_after']:.3f}, Brier {fit['brier_before']:.3f} -> "
              f"{fit['brier_after']:.3f} on the calibration sites.")]
    link = cal.get("link")
    if link:
        lines += ["", (f"Name links (`typetool/model/name_rule.py`): a parameter named like exactly one class in scope "
                       f"gets that class as a candidate, scored log p, where p is the share of links that were "
                       f"right on the calibration sites ({link['right']} of {link['links']}, p {link['p']:.3f}); "
                       f"top-1 there {_pct(link['top1_without'])} without links, {_pct(link['top1_with'])} with "
                       "them. The calibration above was fitted with them."), ""]
    linker = cal.get("linker")
    if linker:
        nm, cb = linker["name_model"], linker["combiner"]
        lines += ["", ("Name linker (`typetool/model/linker.py`, `linker.safetensors`): a name model scores every "
                       "class in the slot's scope (and \"none of them\") from the slot's and the class's words, the "
                       "class's mentions in the slice and its place in scope; a combiner merges those classes with the "
                       f"beam. The name model was trained on {int(nm['examples'])} training sites (the gold type was "
                       f"a class in scope at {_pct(nm['gold_is_a_class'])} of them; top-1 there "
                       f"{_pct(nm['top1'])}); the combiner was fitted on the model's beam over "
                       f"{int(cb['sites'])} sites of packages it never trained on "
                       f"({', '.join(linker['held_packages'])}): top-1 there {_pct(cb['top1_beam'])} from the beam "
                       f"alone, {_pct(cb['top1_linked'])} with the linker. The calibration above was fitted with "
                       "it."), ""]
        cons = linker.get("consistency")
        if cons:
            lines += [("Consistency (`typetool/model/consistency.py`, `consistency.json`): in a run over a project, a "
                       "parameter is re-scored by what the model predicts for the parameters of the same name (a "
                       "return, for the returns of functions of the same name): its own log-prob plus a log-linear "
                       "term in their votes, fitted on the linker's output over the same packages: "
                       f"{int(cons['with_namesakes'])} of {int(cons['sites'])} sites there have namesakes; top-1 "
                       f"{_pct(cons['top1_before'])} before the stage, {_pct(cons['top1_after'])} after (in "
                       "sample). The calibration and every dev figure above include it (each dev package is one "
                       "run); the editor, which predicts a few slots at a time, does not run it. "
                       + (("In partly annotated code the annotated parameters and returns vote too, with weights "
                           f"of their own fitted with {_pct(float(cons.get('annotated_share', 0)))} of those sites "
                           "taken as annotated: top-1 of the others "
                           f"{_pct(float(cons.get('top1_rest_before', 0)))} with the predicted votes alone, "
                           f"{_pct(float(cons.get('top1_rest_after', 0)))} with the annotations' too (in sample; the "
                           "strip-and-recover figures above have no annotations to read).")
                          if any(cons.get("weights", [])[1 + len(PREDICTED):]) else
                          (f"Annotations in the code weigh nothing here: taking {_pct(float(cons.get('annotated_share', 0)))} "
                           f"of those sites as annotated reached only {int(cons.get('reached_by_annotations', 0))} "
                           f"others, under the {MIN_ANNOTATED_FIT} needed to fit their weights."))), ""]
    for label, r in (("raw", overall.calibration_before), ("calibrated", overall.calibration_after)):
        if r is not None:
            lines.append(f"- dev-eval, {label}: ECE {r.ece:.3f}, Brier {r.brier:.3f} (n {r.n})")
    lines += ["- reliability diagram: `eval/reliability.html`", "",
              "## What is written: the guarantee on dev-eval", "",
              ("Under the default guarantee (docs/guarantees.md) a write rule per kind of site (a confidence floor "
               "and a tau for the holes) is chosen on the calibration sites so that, with probability 1 - delta, at "
               "most epsilon of the written annotations miss the true type. On the dev-eval's parameter and return "
               "sites: written = share of sites where a type (full or with holes) is written; wrong/written = "
               "share of those that miss the true type (micro, then the mean over packages and the worst package); "
               "miscoverage = share of all sites whose true type the written set misses; exact = share of all "
               "sites where the full type written equals the annotation."), "",
              "| epsilon | delta | written | wrong/written | macro written | macro wrong/written | worst package "
              "| miscoverage | exact | full | with holes |",
              "|---|---|---|---|---|---|---|---|---|---|---|"]
    for p in overall.pac:
        lines.append(f"| {p.epsilon} | {p.delta} | {_pct(p.written)} | {_pct(p.wrong_written)} | "
                     f"{_pct(p.macro_written)} | {_pct(p.macro_wrong_written)} | {_pct(p.max_wrong_written)} | "
                     f"{_pct(p.miscoverage)} | {_pct(p.written_exact)} | {_pct(p.written_full)} | "
                     f"{_pct(p.written_partial)} |")
    if note.strip():
        lines += ["", "## Training history", "", note.strip()]
    lines += ["", "## Limits", "",
              ("- Trained for a short time on small hardware (minutes of one GPU at most, a 2-core CPU otherwise); "
               "the published GPU-trained anchors were measured on other data "
              + ("(CodeTIDAL5, 220M parameters: 71.27% on ManyTypes4TypeScript)." if ts else
                 "(TypeT5 67-71% exact on BetterTypes4Py).")),
              *([("- The name linker links bare classes in scope, not generics of them (`Array<C>`); classes "
                  "of other modules only when the module imports them. " if ts else
                  "- The name linker links bare classes in scope (and `C | None` for a parameter defaulting to "
                  "None), not generics of them (`list[C]`); classes of other modules only when the run loads "
                  "them. ")
                 + "Under the lenient protocol, imports that only annotations used stay in scope, which helps it"
                 + (" (see the lenient protocol above)." if lenient is not None else ".")]
                if cal.get("linker") else []),
              ("- TypeScript only; literal types, object type literals and other types without a bracket form are "
               "never predicted." if ts else "- Python only; `Literal[...]` values and `tuple[()]` are never "
               "predicted."),
              "- Variables and attributes have little training data and are reported separately.", "",
              "## Reproduce", "", "```",
              "typetool corpus build" + (" --language typescript --out .cache/corpus-ts" if ts else ""),
              *(_gpu_reproduce(card, corpus_dir, name) if str(card.get("device", "cpu")).startswith("cuda") else [
              (f"python -m typetool.model.train --train {card.get('train_jsonl', f'{corpus_dir}/train.jsonl')} "
              f"--valid {card.get('valid_jsonl', f'{corpus_dir}/calib.jsonl')} "
              f"--out runs/{name} --preset {card.get('preset', 'compact')} "
              f"--time-budget-minutes {max(1, round(float(card.get('train_seconds', 0)) / 60))} "
              + (f"--resume-from {card['continued_from']} " if card.get("continued_from") else "")
              + f"--batch-size {card.get('batch_size', 32)} --lr {card.get('lr', 0.001)} "
              + (f"--rename-prob {card['rename_prob']} " if card.get("rename_prob") else "")
              + ("--keep-best " if card.get("best_step") is not None else "")
              + f"--max-input-len {card.get('max_input_len', 160)}")]),
              *_ship_lines(name, corpus_dir, cal.get("linker"), lenient is not None), "```", ""]
    return "\n".join(lines)


def _ship_lines(name: str, corpus_dir: Path, linker: dict[str, Any] | None, lenient: bool) -> list[str]:
    """The reproduce lines that ship a trained run (with its name linker, when it has one)."""
    ship = f"typetool ship-model runs/{name} --name {name} --corpus {corpus_dir}"
    if not linker:
        return [ship]
    held = ",".join(linker.get("held_packages", []))
    return [(f"python scripts/holdout.py {corpus_dir}/train.jsonl FIT.jsonl HELD.jsonl {held}   # or the "
            "calibration split's records of those packages, when the run trained on all of train"),
            *(["typetool corpus build --lenient --out LENIENT"] if lenient else []),
            ship + " --link-held HELD.jsonl" + (" --lenient-corpus LENIENT" if lenient else "")]


def _gpu_reproduce(card: dict[str, Any], corpus_dir: Path, name: str) -> list[str]:
    """The reproduce lines of a model trained by the prepared GPU run (`scripts/gpu_train.sh`)."""
    minutes = max(1, round(float(card.get("train_seconds", 0)) / 60))
    lang = card.get("language") if card.get("language") in {x.key for x in languages()} else default_language().key
    return [f"bash scripts/gpu_prepare.sh   # here: packs {corpus_dir}/train.jsonl and the tokenizers into .gpu/",
            (f"bash scripts/gpu_train.sh {minutes}   # on the GPU machine, with .gpu/ carried; this model is the "
             f"{lang}-{card.get('preset', 'compact')} run"),
            (f"python scripts/pack_runs.py unpack OUT_DIR runs/gpu   # here; then: mv runs/gpu/{lang}-"
             f"{card.get('preset', 'compact')} runs/{name}")]
