"""Benchmark a model directory: batched constrained predictions per second, model size, and top-k accuracy.

Does: loads a model (local folder only), runs `Predictor.predict` on the first `n` records of a JSONL dataset
after one warm-up batch, and prints params, on-disk size, predictions/s, greedy (unconstrained) decodes/s,
and exact-match top-1 / top-k accuracy (on `typeexpr.normalize_label` when that module is importable).
Does not: calibrate or measure prediction-set coverage.

Run: python -m typetool.model.bench models/py-small data/valid.jsonl --n 256 --batch-size 64
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import torch

from typetool.model.config import count_params
from typetool.model.data import iter_jsonl
from typetool.model.predict import greedy_ids, pad_batch
from typetool.model.saving import load_model
from typetool.model.tokenizer import encode_inputs


def _normalizer() -> Callable[[str], str]:
    try:
        from typetool.typeexpr import normalize_label
    except ImportError:
        return lambda s: s
    return lambda s: normalize_label(s) or s


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m typetool.model.bench", description=__doc__.split("\n")[0])
    p.add_argument("model_dir")
    p.add_argument("data", help="JSONL of {input, target, ...}; an optional `names` list gives scope names")
    p.add_argument("--n", type=int, default=256)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--top-k", type=int, default=5)
    p.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: all cores)")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads or torch.get_num_threads())
    pred = load_model(a.model_dir, a.device)
    records = [r for _, r in zip(range(a.n), iter_jsonl(Path(a.data)))]
    inputs = [r["input"] for r in records]
    scopes = [list(r.get("names", r.get("scope", []))) for r in records]
    size_mb = sum(f.stat().st_size for f in Path(a.model_dir).glob("*") if f.is_file()) / 2**20
    print(f"model {a.model_dir}: {count_params(pred.model) / 1e6:.2f}M params, {size_mb:.1f} MiB on disk, "
          f"device {pred.device}, {torch.get_num_threads()} threads")
    pred.predict(inputs[:a.batch_size], scopes[:a.batch_size], top_k=a.top_k, batch_size=a.batch_size)  # warm-up
    t = time.perf_counter()
    results = pred.predict(inputs, scopes, top_k=a.top_k, batch_size=a.batch_size)
    dt = time.perf_counter() - t
    print(f"constrained beam search (top {a.top_k}, {max(a.top_k, pred.settings.num_beams)} beams): "
          f"{len(inputs) / dt:.1f} predictions/s ({dt:.2f} s for {len(inputs)})")
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
