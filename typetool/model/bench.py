"""Benchmark a model directory: batched constrained predictions per second, model size, and top-k accuracy.

Does: loads a model (local folder only), runs `TypeDecoder.predict` on the first `n` records of a JSONL dataset
after one warm-up batch, and prints params, on-disk size, predictions/s (and without the name linker, and with
the consistency stage over all `n` records as one run, when the model has them), greedy (unconstrained) decodes/s,
and exact-match top-1 / top-k accuracy (on `typeexpr.normalize_label` when that module is importable).
`--reference` times the plain reference search instead; `--compare` also runs it and checks that both searches
return the same candidates (same types and tokens, scores and token log-probs within 1e-5).
Does not: calibrate or measure prediction-set coverage.

Run: python -m typetool.model.bench models/py-small data/valid.jsonl --n 256 --batch-size 64 [--compare]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from typetool.model.config import count_params
from typetool.model.consistency import KEEP, Consistency, namesake_key
from typetool.model.data import iter_jsonl
from typetool.model.decoder import Candidate, greedy_ids, pad_batch
from typetool.model.saving import load_model
from typetool.model.tokenizer import encode_inputs, py_or_ts
from typetool.predictions import canonical
from typetool.settings import PRECISIONS


def _normalizer() -> Callable[[str], str]:
    try:
        from typetool.typeexpr import normalize_label
    except ImportError:
        return lambda s: s
    return lambda s: normalize_label(s) or s


def _compare(a: list[list[Candidate]], b: list[list[Candidate]], tol: float = 1e-5) -> tuple[int, float]:
    """How many inputs got different candidates (types, tokens, spans, or log-probs off by more than `tol`), and
    the largest log-prob difference among the rest."""
    differ, worst = 0, 0.0
    for xs, ys in zip(a, b):
        same = [(x.type, x.tokens, x.offsets) for x in xs] == [(y.type, y.tokens, y.offsets) for y in ys]
        diffs = [abs(u - v) for x, y in zip(xs, ys) for u, v in zip([x.score, *x.token_logprobs],
                                                                      [y.score, *y.token_logprobs])]
        if not same or any(d > tol for d in diffs):
            differ += 1
        else:
            worst = max([worst, *diffs])
    return differ, worst


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m typetool.model.bench", description=__doc__.split("\n")[0])
    p.add_argument("model_dir")
    p.add_argument("data", help="JSONL of {input, target, ...}; an optional `names` list gives scope names")
    p.add_argument("--n", type=int, default=256)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--top-k", type=int, default=5)
    p.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: all cores)")
    p.add_argument("--precision", default="fp32", choices=PRECISIONS,
                   help="the encoder's arithmetic in the default search (the reference search is always fp32)")
    p.add_argument("--reference", action="store_true", help="time the reference beam search instead")
    p.add_argument("--compare", action="store_true", help="also run the reference search and compare outputs")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads or torch.get_num_threads())
    pred = load_model(a.model_dir, a.device)
    pred.set_precision(a.precision)
    records = [r for _, r in zip(range(a.n), iter_jsonl(Path(a.data)))]
    inputs = [r["input"] for r in records]
    scopes = [list(r.get("names", r.get("scope", []))) for r in records]
    size_mb = sum(f.stat().st_size for f in Path(a.model_dir).glob("*") if f.is_file()) / 2**20
    print(f"model {a.model_dir}: {count_params(pred.model) / 1e6:.2f}M params, {size_mb:.1f} MiB on disk, "
          f"device {pred.device}, {torch.get_num_threads()} threads, encoder "
          f"{'fp32 (the reference search)' if a.reference else pred.precision}")
    kw: dict[str, Any] = {"top_k": a.top_k, "batch_size": a.batch_size, "reference": a.reference}
    pred.predict(inputs[:a.batch_size], scopes[:a.batch_size], **kw)  # warm-up
    t = time.perf_counter()
    results = pred.predict(inputs, scopes, **kw)
    dt = time.perf_counter() - t
    print(f"constrained beam search{' (reference)' if a.reference else ''} (top {a.top_k}, "
          f"{max(a.top_k, pred.settings.num_beams)} beams): {len(inputs) / dt:.1f} predictions/s "
          f"({dt:.2f} s for {len(inputs)})")
    if pred.linker is not None:
        linker, pred.linker = pred.linker, None
        t = time.perf_counter()
        pred.predict(inputs, scopes, **kw)
        print(f"the same without the name linker: {len(inputs) / (time.perf_counter() - t):.1f} predictions/s")
        pred.linker = linker
    stage = Consistency.load(Path(a.model_dir))
    if stage is not None and not a.reference:  # as a run applies it: every record one run, namesakes by name
        t = time.perf_counter()
        union = pred.predict(inputs, scopes, **kw, keep=max(a.top_k, KEEP))
        stage.rescore([[(canonical(c.type, py_or_ts(x)), c.score) for c in cands] for x, cands in zip(inputs, union)],
                      [namesake_key(0, text) for text in inputs])
        print(f"the same with the consistency stage ({KEEP} candidates per slot, the {len(inputs)} slots one run): "
              f"{len(inputs) / (time.perf_counter() - t):.1f} predictions/s")
    if a.compare:
        t = time.perf_counter()
        other = pred.predict(inputs, scopes, **{**kw, "reference": not a.reference})
        dt = time.perf_counter() - t
        differ, worst = _compare(results, other)
        print(f"{'fast' if a.reference else 'reference'} search: {len(inputs) / dt:.1f} predictions/s; outputs differ "
              f"for {differ} of {len(inputs)} inputs; largest score / token log-prob difference {worst:.2e}"
              + (" (the fast search's encoder is bf16, the reference's fp32: they are expected to differ)"
                 if pred.precision == "bf16" else ""))
    ids = encode_inputs(pred.tokenizer, inputs, pred.settings.max_input_len)
    t = time.perf_counter()
    for s in range(0, len(ids), a.batch_size):
        x, m = pad_batch(ids[s:s + a.batch_size], pred.device)
        greedy_ids(pred.model, x, m, pred.settings.max_target_len)
    print(f"greedy unconstrained: {len(ids) / (time.perf_counter() - t):.1f} decodes/s")
    norm = _normalizer()
    gold = [norm(r["target"]) for r in records]
    top1 = sum(bool(c) and norm(c[0].type) == g for c, g in zip(results, gold))
    topk = sum(g in {norm(x.type) for x in c} for c, g in zip(results, gold))
    print(f"exact match: top-1 {top1 / len(gold):.3f}, top-{a.top_k} {topk / len(gold):.3f} (n={len(gold)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
