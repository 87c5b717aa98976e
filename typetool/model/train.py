"""Training: a T5 type predictor from scratch (or continued from a shipped model), resumable, CPU or GPU(s).

Does: trains the tokenizer on the training set (unless one is inherited), tokenizes and caches both datasets,
trains with AdamW, linear warmup then linear decay (to 10% of the peak), length-bucketed batches and gradient
clipping; logs step / loss / lr / examples per second, and validation loss and greedy exact match every
`eval_every` steps; writes a checkpoint (weights, optimizer state, step, data position, RNG, all safetensors
or JSON) to out_dir/checkpoint/ every `checkpoint_minutes`, at the end, on SIGTERM/SIGINT and when the time
budget runs out, and resumes from it; `resume_from` continues a shipped model directory (weights, tokenizer,
type vocabulary) with a fresh optimizer. With `time_budget_minutes` the decay is fitted to end with the
budget. Runs through `accelerate` (imported lazily), so `accelerate launch -m typetool.model.train ...`
trains on several GPUs; with one process it is plain PyTorch on CPU or one GPU.
Does not: build datasets, calibrate, or evaluate constrained top-k accuracy (see `bench.py` and the
calibration stage); gradient accumulation is not implemented.

Run: python -m typetool.model.train --train T.jsonl --valid V.jsonl --out runs/py-small --preset small \\
        --time-budget-minutes 300
"""

from __future__ import annotations

import os

# OpenMP threads that spin while waiting made a 2-thread run 13x slower here while another process shared the
# two cores (passive: 1.3x). Its cost on an idle machine was not measured. Only effective before torch loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import json
import shutil
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from tokenizers import Tokenizer
from transformers import T5ForConditionalGeneration

from typetool.model.config import PRESETS, ModelSettings, count_params, new_model
from typetool.model.data import Prepared, bucketed_batches, data_language, iter_jsonl, prepare
from typetool.model.decoder import greedy_ids
from typetool.model.grammar import TypeVocab
from typetool.model.saving import load_t5, quiet, save_model
from typetool.model.tokenizer import corpus_texts, load_tokenizer, train_tokenizer

MAX_BAD_STEPS = 50  # non-finite gradients in a row that stop training
FIT_AFTER_STEPS = 20  # steps timed before a time budget first fits the schedule length (then refitted as it goes)
MIN_LR_FRAC = 0.1


def default_cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "typetool" / "prepared"


def lr_at(step: int, total: int, warmup: int, peak: float) -> float:
    if step < warmup:
        return peak * (step + 1) / warmup
    frac = min(1.0, (step - warmup) / max(1, total - warmup))
    return peak * (1.0 - (1.0 - MIN_LR_FRAC) * frac)


# ---------------------------------------------------------------------------------------------- checkpoints


def _optimizer_to_safetensors(sd: dict[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for pid, st in sd["state"].items():
        for k, v in st.items():
            if isinstance(v, torch.Tensor):
                tensors[f"{pid}.{k}"] = v.detach().cpu().contiguous()
            else:
                scalars.setdefault(str(pid), {})[k] = v
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def _optimizer_from_safetensors(tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {}
    for key, v in tensors.items():
        pid, k = key.split(".", 1)
        state.setdefault(int(pid), {})[k] = v
    for pid, extra in meta["scalars"].items():
        state.setdefault(int(pid), {}).update(extra)
    return {"state": state, "param_groups": meta["param_groups"]}


def save_checkpoint(ckpt: Path, model: T5ForConditionalGeneration, optimizer: torch.optim.Optimizer,
                    state: dict[str, Any], tokenizer: Tokenizer, base_vocab: TypeVocab,
                    best_weights: dict[str, torch.Tensor] | None = None) -> None:
    """Write to a temporary folder, then swap it in: a run killed mid-save keeps the previous checkpoint.
    `best_weights` (keep_best's) go to best.safetensors, so a resumed run still knows them."""
    tmp, old = ckpt.with_name(ckpt.name + ".tmp"), ckpt.with_name(ckpt.name + ".old")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    with quiet():
        model.save_pretrained(tmp)
    tensors, meta = _optimizer_to_safetensors(optimizer.state_dict())
    save_file(tensors, str(tmp / "optimizer.safetensors"))
    (tmp / "optimizer.json").write_text(json.dumps(meta))
    rng = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        rng["cuda"] = torch.cuda.get_rng_state()
    save_file(rng, str(tmp / "rng.safetensors"))
    tokenizer.save(str(tmp / "tokenizer.json"))
    base_vocab.save(tmp / "base_type_vocab.json")
    if best_weights is not None:
        save_file({k: v.contiguous() for k, v in best_weights.items()}, str(tmp / "best.safetensors"))
    (tmp / "state.json").write_text(json.dumps(state, indent=2))  # written last: marks the folder complete
    if ckpt.exists():
        shutil.rmtree(old, ignore_errors=True)
        ckpt.rename(old)
    tmp.rename(ckpt)
    shutil.rmtree(old, ignore_errors=True)


def find_checkpoint(out_dir: Path) -> Path | None:
    for d in (out_dir / "checkpoint", out_dir / "checkpoint.old"):
        if (d / "state.json").exists():
            return d
    return None


def load_optimizer_state(ckpt: Path, optimizer: torch.optim.Optimizer) -> None:
    meta = json.loads((ckpt / "optimizer.json").read_text())
    optimizer.load_state_dict(_optimizer_from_safetensors(load_file(str(ckpt / "optimizer.safetensors")), meta))


# ----------------------------------------------------------------------------------------------- evaluation


@torch.inference_mode()
def evaluate(model: T5ForConditionalGeneration, data: Prepared, limit: int, batch_size: int,
             device: torch.device, max_target_len: int) -> dict[str, float]:
    """Validation loss (per target token) and greedy, unconstrained exact match on up to `limit` examples."""
    n = min(limit, len(data))
    if n == 0:
        return {"valid_loss": float("nan"), "valid_exact_match": float("nan"), "valid_n": 0}
    idx = np.linspace(0, len(data) - 1, n).astype(np.int64)
    idx = idx[np.argsort(data.input_lengths[idx], kind="stable")]
    was_training = model.training
    model.train(False)
    loss_sum, tokens, hits = 0.0, 0, 0
    for start in range(0, n, batch_size):
        b = {k: v.to(device) for k, v in data.batch(idx[start:start + batch_size]).items()}
        n_tok = int((b["labels"] != -100).sum())
        loss_sum += float(model(**b).loss) * n_tok
        tokens += n_tok
        pred = greedy_ids(model, b["input_ids"], b["attention_mask"], max_target_len)
        for p, i in zip(pred, idx[start:start + batch_size]):
            hits += p == data.target(int(i))[:-1].tolist()
    model.train(was_training)
    return {"valid_loss": loss_sum / max(1, tokens), "valid_exact_match": hits / n, "valid_n": n}


# -------------------------------------------------------------------------------------------------- training


def _accelerator(mixed_precision: str) -> Any:
    from accelerate import Accelerator  # type: ignore[import-untyped]  # only training needs accelerate

    if mixed_precision == "auto":
        # float32 (TF32 matrix products on a GPU): bf16 autocast sent 3 of 4 T5 runs on an H100 to NaN losses
        # within 300-900 steps at lr 1e-3, and models this small are launch-bound, so it gained little speed
        mixed_precision = "no"
        if torch.cuda.is_available():
            torch.backends.cuda.matmul.allow_tf32 = True
    return Accelerator(mixed_precision=mixed_precision)


def train(train_jsonl: str | Path, valid_jsonl: str | Path, out_dir: str | Path, *, preset: str = "small",
          max_steps: int | None = None, epochs: float | None = None, batch_size: int = 32, lr: float = 1e-3,
          weight_decay: float = 0.01, warmup_steps: int | None = None, time_budget_minutes: float | None = None,
          resume: bool = True, resume_from: str | Path | None = None, eval_every: int = 500,
          log_every: int = 20, checkpoint_minutes: float = 10.0, cache_dir: str | Path | None = None,
          seed: int = 0, max_input_len: int = 192, max_target_len: int = 32, vocab_size: int = 8000,
          valid_limit: int = 512, mixed_precision: str = "auto", threads: int = 0, keep_best: bool = False,
          rename_prob: float = 0.0,
          log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Train and save a model directory at `out_dir` (plus `out_dir/checkpoint/`); returns a summary with the
    loss `history`, `evals`, `start_step`, `step` and `stopped` ("max_steps", "time_budget", "signal",
    "non_finite": MAX_BAD_STEPS updates in a row had non-finite gradients).
    With `keep_best`, the saved model is the weights of the evaluation (periodic or final) with the highest
    validation exact match (`best_step` in the summary), kept in memory and in the checkpoint
    (best.safetensors), whose model stays the latest state, so resuming continues from where training stopped.
    `rename_prob`: the share of training records whose project type names are renamed (`augment`), to teach
    copying names from the slice."""
    t0 = time.time()
    out = Path(out_dir)
    acc = _accelerator(mixed_precision)
    main = bool(acc.is_main_process)
    rank, world = int(acc.process_index), int(acc.num_processes)

    def say(msg: str) -> None:
        if main:
            (log or (lambda m: print(m, flush=True)))(msg)

    prev_threads = torch.get_num_threads()
    if acc.device.type == "cpu":
        torch.set_num_threads(threads or max(1, (os.cpu_count() or 1) // world))
        torch.set_flush_denormal(True)  # denormal floats can make CPU kernels many times slower
    if main:
        out.mkdir(parents=True, exist_ok=True)
    ckpt = find_checkpoint(out) if resume else None
    state: dict[str, Any] = json.loads((ckpt / "state.json").read_text()) if ckpt else {}
    src = Path(resume_from) if resume_from and not ckpt else None

    # tokenizer: checkpoint's, the continued model's, an earlier attempt's, or a new one
    with acc.main_process_first():
        if ckpt:
            tok = load_tokenizer(ckpt / "tokenizer.json")
        elif src:
            tok = load_tokenizer(src / "tokenizer.json")
        elif (resume and (out / "tokenizer.json").exists()) or not main:
            tok = load_tokenizer(out / "tokenizer.json")
        else:
            say(f"training tokenizer (vocab {vocab_size}) on {train_jsonl}")
            tok = train_tokenizer(corpus_texts(iter_jsonl(Path(train_jsonl))), vocab_size)
        if main:
            tok.save(str(out / "tokenizer.json"))
    language = data_language(Path(train_jsonl))
    # a model continued on another language (a TypeScript model started from the Python one) keeps the weights
    # and tokenizer but not the type names it could decode: those come from the new training targets only
    inherit = src is not None and _card_language(src) == language
    base_vocab = (TypeVocab.load(ckpt / "base_type_vocab.json") if ckpt
                  else TypeVocab.load(src / "type_vocab.json") if src and inherit else TypeVocab())

    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    with acc.main_process_first():
        train_data = prepare(train_jsonl, tok, cache, max_input_len, max_target_len, rename_prob, seed)
        valid_data = prepare(valid_jsonl, tok, cache, max_input_len, max_target_len)
    if len(train_data) == 0:
        raise ValueError(f"{train_jsonl}: no usable training examples")
    say(f"data: {len(train_data)} train, {len(valid_data)} valid examples"
        f"{' (cached)' if train_data.from_cache else ''}; cache {train_data.cache_file.parent}")

    if ckpt:
        model = load_t5(ckpt)
    elif src:
        model = load_t5(src)
    else:
        model = new_model(preset, tok.get_vocab_size(), seed)
    preset = str(state.get("preset", ModelSettings.load(src / "decoding.json").preset
                           if src and (src / "decoding.json").is_file() else preset))
    n_params = count_params(model)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                             {"params": no_decay, "weight_decay": 0.0}], lr=lr, betas=(0.9, 0.98), eps=1e-8)
    if ckpt:
        load_optimizer_state(ckpt, opt)
        rng = load_file(str(ckpt / "rng.safetensors"))
        torch.set_rng_state(rng["cpu"])
        if "cuda" in rng and torch.cuda.is_available():
            torch.cuda.set_rng_state(rng["cuda"])
    else:
        torch.manual_seed(seed + rank)
    model, opt = acc.prepare(model, opt)
    model.train()

    per_epoch = len(train_data) // (batch_size * world) or 1
    planned = max_steps or (int(epochs * per_epoch) if epochs else None)
    total = int(planned or state.get("total_steps") or (10**9 if time_budget_minutes else per_epoch))
    step, epoch, pos = int(state.get("step", 0)), int(state.get("epoch", 0)), int(state.get("batch_in_epoch", 0))
    start_step, examples = step, int(state.get("examples", 0))
    prior_s = float(state.get("train_seconds", 0.0))
    say(f"model: preset {preset}, {n_params / 1e6:.2f}M params, vocab {tok.get_vocab_size()}, device {acc.device}"
        f" x{world}; {'resuming at step ' + str(step) if ckpt else 'continuing ' + str(src) if src else 'new'}"
        f"; batch {batch_size}, lr {lr}, {per_epoch} steps/epoch, planned steps {total if total < 10**9 else '?'}")

    stop = {"signal": False}
    old_handlers: dict[signal.Signals, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            old_handlers[sig] = signal.signal(sig, lambda *_: stop.update(signal=True))

    history: list[dict[str, float]] = []
    evals: list[dict[str, float]] = []
    budget_s = time_budget_minutes * 60 if time_budget_minutes else None
    t_run, t_log, t_ckpt = time.time(), time.time(), time.time()
    ex_log, loss_log, n_log, stopped = 0, 0.0, 0, "max_steps"
    skipped = bad_run = 0  # optimizer steps skipped for non-finite gradients: in all, and in a row

    best: dict[str, Any] = {"em": -1.0, "step": None, "weights": None}
    if keep_best and ckpt and state.get("best_step") is not None and (ckpt / "best.safetensors").is_file():
        best.update(em=float(state["best_em"]), step=int(state["best_step"]),
                    weights=load_file(str(ckpt / "best.safetensors")))

    def snapshot() -> dict[str, Any]:
        return {"step": step, "epoch": epoch, "batch_in_epoch": pos, "total_steps": total, "examples": examples,
                "preset": preset, "train_seconds": prior_s + time.time() - t_run, "seed": seed,
                "batch_size": batch_size, "world": world, "train_jsonl": str(train_jsonl),
                "rename_prob": rename_prob, "best_em": best["em"], "best_step": best["step"]}

    def sync(values: list[int]) -> list[int]:
        if world == 1:
            return values
        from accelerate.utils import broadcast  # type: ignore[import-untyped]

        return [int(v) for v in broadcast(torch.tensor(values, device=acc.device), from_process=0).tolist()]

    def checkpoint() -> None:
        if main:
            save_checkpoint(out / "checkpoint", acc.unwrap_model(model), opt, snapshot(), tok, base_vocab,
                            best["weights"])
        acc.wait_for_everyone()


    def run_eval() -> dict[str, float]:
        res: dict[str, float] = {}
        if main:
            res = evaluate(acc.unwrap_model(model), valid_data, valid_limit, 64, acc.device, max_target_len)
            res["step"] = step
            evals.append(res)
            say(f"eval step {step} | valid_loss {res['valid_loss']:.4f} | valid_em {res['valid_exact_match']:.4f}"
                f" | n {res['valid_n']}")
            if keep_best and res["valid_exact_match"] > best["em"]:
                best.update(em=res["valid_exact_match"], step=step, weights={
                    k: v.detach().to("cpu", copy=True) for k, v in acc.unwrap_model(model).state_dict().items()})
        acc.wait_for_everyone()
        return res

    try:
        while step < total and stopped == "max_steps":
            batches = bucketed_batches(train_data.input_lengths, batch_size, seed, epoch)
            batches = batches[:len(batches) // world * world][rank::world] or batches[:1]
            while pos < len(batches) and step < total:
                warm = warmup_steps if warmup_steps is not None else max(1, min(1000, total // 20))
                for g in opt.param_groups:
                    g["lr"] = lr_at(step, total, warm, lr)
                batch = {k: v.to(acc.device) for k, v in train_data.batch(batches[pos]).items()}
                loss = model(**batch).loss
                acc.backward(loss)
                norm = acc.clip_grad_norm_(model.parameters(), 1.0)
                finite = norm is None or bool(torch.isfinite(norm))
                if acc.scaler is not None:  # fp16: the gradient scaler skips an overflowed update itself
                    opt.step()
                    finite = not opt.step_was_skipped
                elif finite:  # otherwise skip it here, rather than write NaN into the weights
                    opt.step()
                skipped, bad_run = (skipped, 0) if finite else (skipped + 1, bad_run + 1)
                opt.zero_grad(set_to_none=True)
                step, pos = step + 1, pos + 1
                n_ex = len(batches[pos - 1]) * world
                examples, ex_log = examples + n_ex, ex_log + n_ex
                if finite:
                    loss_log, n_log = loss_log + float(loss.detach()), n_log + 1
                if step % log_every == 0 or step == total:
                    dt = time.time() - t_log
                    mean = loss_log / n_log if n_log else float("nan")
                    history.append({"step": step, "loss": mean, "examples_per_s": ex_log / dt})
                    say(f"step {step}/{total} | epoch {epoch} | loss {mean:.4f} | lr {opt.param_groups[0]['lr']:.2e}"
                        f" | {ex_log / dt:.1f} ex/s | elapsed {time.time() - t0:.0f}s"
                        + (f" | {skipped} non-finite steps skipped" if skipped else ""))
                    t_log, ex_log, loss_log, n_log = time.time(), 0, 0.0, 0
                if bad_run >= MAX_BAD_STEPS:  # every process saw the same (reduced) gradients: same decision
                    say(f"stopping: {bad_run} non-finite gradients in a row at step {step}; lower --lr, or use "
                        f"--mixed-precision no")
                    stopped = "non_finite"
                    break
                if eval_every and step % eval_every == 0 and step < total:
                    run_eval()
                # decisions every process must share (else DDP deadlocks): the main process's
                code = 2 if stop["signal"] else 1 if budget_s and time.time() - t0 > budget_s * 0.97 else 0
                fitted = total
                if budget_s and step - start_step >= FIT_AFTER_STEPS and step % min(log_every, 50) == 0:
                    # fit the decay to the time left, at the average speed so far (evals and saves included)
                    rate = (step - start_step) / (time.time() - t_run)
                    fit = step + int(rate * max(0.0, budget_s * 0.97 - (time.time() - t0)))
                    fitted = max(step + 1, min(planned or fit, fit))
                save_now = int(time.time() - t_ckpt > checkpoint_minutes * 60)
                code, new_total, save_now = sync([code, fitted, save_now])
                if new_total != total and abs(new_total - total) > 0.02 * total:
                    say(f"time budget: schedule now {new_total} steps")
                total = new_total
                if code:
                    stopped = "signal" if code == 2 else "time_budget"
                    break
                if save_now:
                    checkpoint()
                    t_ckpt = time.time()
            if pos >= len(batches):
                epoch, pos = epoch + 1, 0
    finally:
        for sig, h in old_handlers.items():
            signal.signal(sig, h)
    if n_log:
        dt = time.time() - t_log
        history.append({"step": step, "loss": loss_log / n_log, "examples_per_s": ex_log / max(dt, 1e-9)})
    checkpoint()
    final = run_eval() if stopped != "signal" else {}
    run_s = time.time() - t_run
    if main and keep_best and best["weights"] is not None and best["step"] != step:
        acc.unwrap_model(model).load_state_dict(best["weights"])
        say(f"keeping the weights of step {best['step']} (valid_em {best['em']:.4f}) rather than step {step}")
        chosen = next((e for e in evals if e["step"] == best["step"]), {"valid_exact_match": best["em"]})
        final = {**{k: v for k, v in chosen.items() if k != "step"},
                 "final_step_valid_exact_match": final.get("valid_exact_match", float("nan"))}
    summary: dict[str, Any] = {
        "preset": preset, "params": n_params, "vocab_size": tok.get_vocab_size(), "start_step": start_step,
        "step": step, "total_steps": total, "epochs": round(step / per_epoch, 3), "stopped": stopped,
        "examples_seen": examples, "train_examples": len(train_data), "valid_examples": len(valid_data),
        "examples_per_s": (examples - int(state.get("examples", 0))) / max(run_s, 1e-9),
        "train_seconds": prior_s + run_s, "device": str(acc.device), "processes": world, "batch_size": batch_size,
        "lr": lr, "max_input_len": max_input_len, "max_target_len": max_target_len, "train_jsonl": str(train_jsonl),
        "valid_jsonl": str(valid_jsonl), "continued_from": str(resume_from) if resume_from else None,
        "language": language,
        "best_step": best["step"] if keep_best else None, "skipped_steps": skipped,
        "rename_prob": rename_prob, **final, "history": history, "evals": evals,
    }
    if main:
        kept = set(train_data.record_index.tolist())
        targets = (r["target"] for i, r in enumerate(iter_jsonl(Path(train_jsonl))) if i in kept)
        vocab = base_vocab.merge(TypeVocab.from_targets(targets))
        card = {k: v for k, v in summary.items() if k not in ("history", "evals")}
        settings = ModelSettings(max_input_len=max_input_len, max_target_len=max_target_len, preset=preset)
        save_model(acc.unwrap_model(model), tok, vocab, out, card, settings)
        say(f"saved model to {out} ({stopped} at step {step}, {summary['examples_per_s']:.1f} ex/s)")
    acc.wait_for_everyone()
    torch.set_num_threads(prev_threads)
    return summary


def _card_language(model_dir: Path) -> str:
    from typetool.predictions import model_language

    return model_language(model_dir)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m typetool.model.train", description=__doc__.split("\n")[0])
    p.add_argument("--train", required=True, help="training JSONL")
    p.add_argument("--valid", required=True, help="validation JSONL")
    p.add_argument("--out", required=True, help="output model directory (checkpoint/ inside)")
    p.add_argument("--preset", default="small", choices=sorted(PRESETS))
    p.add_argument("--max-steps", type=int)
    p.add_argument("--epochs", type=float)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--warmup-steps", type=int)
    p.add_argument("--time-budget-minutes", type=float)
    p.add_argument("--no-resume", dest="resume", action="store_false", help="ignore out/checkpoint")
    p.add_argument("--resume-from", help="continue training a shipped model directory")
    p.add_argument("--eval-every", type=int, default=500)
    p.add_argument("--log-every", type=int, default=20)
    p.add_argument("--checkpoint-minutes", type=float, default=10.0)
    p.add_argument("--cache-dir")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-input-len", type=int, default=192)
    p.add_argument("--max-target-len", type=int, default=32)
    p.add_argument("--vocab-size", type=int, default=8000)
    p.add_argument("--valid-limit", type=int, default=512)
    p.add_argument("--mixed-precision", default="auto", choices=["auto", "no", "bf16", "fp16"])
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0: all cores / processes)")
    p.add_argument("--rename-prob", type=float, default=0.0,
                   help="share of training records whose project type names are renamed (teaches copying)")
    p.add_argument("--keep-best", action="store_true",
                   help="save the weights with the best validation exact match of this run, not the last")
    a = vars(p.parse_args(argv))
    if not 0.0 <= a["rename_prob"] <= 1.0:
        p.error("--rename-prob must be between 0 and 1")
    summary = train(a.pop("train"), a.pop("valid"), a.pop("out"), **a)
    print(json.dumps({k: v for k, v in summary.items() if k not in ("history", "evals")}, indent=2), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
