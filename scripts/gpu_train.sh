#!/usr/bin/env bash
# One prepared training run for a lent GPU machine (or any CUDA host): trains several model sizes side by side on
# one GPU from the corpora packed in .gpu/ (see scripts/gpu_prepare.sh), picks each run's best checkpoint on
# held-out training packages, and packs the results into $OUT (scripts/pack_runs.py).
#
# Usage (repo root): bash scripts/gpu_train.sh MINUTES [LIMIT]
#   MINUTES: time budget of each training run; LIMIT (dry runs): keep only LIMIT examples per file.
# What it gave on an H100 (2026-11-26; the runs are in models/*/README.md): four processes side by side trained
# at 600-2,700 examples/s each; two at 2,000-2,400. Under bf16 autocast three of the four runs (medium, small,
# ts-small) went to NaN losses within 300-900 steps, so training now runs in float32 (TF32) by default and skips
# any update whose gradient is not finite; --keep-best had kept their last finite evaluation.
set -u
MIN=${1:-7}
LIMIT=${2:-0}
OUT=${OUT:-/tmp/tt-out}
W=${TT_WORK:-/tmp/tt}
PY=${PY:-python3}
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=true
mkdir -p "$OUT" "$W/data" "$W/runs"
{ date; nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1
  $PY -c 'import torch, transformers, tokenizers, accelerate, safetensors as s; print("torch", torch.__version__, "cuda", torch.cuda.is_available(), "transformers", transformers.__version__, "tokenizers", tokenizers.__version__, "accelerate", accelerate.__version__, "safetensors", s.__version__)'
} 2>&1 | tee "$W/runs/env.log"

for f in .gpu/*.jsonl.gz; do gunzip -c "$f" > "$W/data/$(basename "$f" .gz)"; done
$PY scripts/holdout.py "$W/data/py-train.jsonl" "$W/data/py-fit.jsonl" "$W/data/py-held.jsonl" \
  rich,black,isort,cattrs,tomli --limit "$LIMIT" | tee -a "$W/runs/env.log"
$PY scripts/holdout.py "$W/data/ts-train.jsonl" "$W/data/ts-fit.jsonl" "$W/data/ts-held.jsonl" \
  msw,@mswjs/interceptors,@tanstack/query-core --limit "$LIMIT" | tee -a "$W/runs/env.log"

run() {  # name language preset extra-args...
  local name=$1 lang=$2 preset=$3; shift 3
  rm -rf "$W/runs/$name" && mkdir -p "$W/runs/$name"  # a fresh run, also on a machine still warm from the last
  cp ".gpu/$lang-tokenizer.json" "$W/runs/$name/tokenizer.json"  # the shipped model's tokenizer (train reuses it)
  $PY -m typetool.model.train --train "$W/data/$lang-fit.jsonl" --valid "$W/data/$lang-held.jsonl" \
    --out "$W/runs/$name" --preset "$preset" --time-budget-minutes "$MIN" --max-input-len 160 \
    --cache-dir "$W/cache-$name" --keep-best --checkpoint-minutes 1000 "$@" > "$W/runs/$name.log" 2>&1
  echo "$name: exit $? $(tail -n 1 "$W/runs/$name.log" | head -c 200)"
}

run py-medium py medium --batch-size 128 --lr 0.001 --eval-every 400 --valid-limit 1536 &
run py-small py small --batch-size 128 --lr 0.001 --eval-every 400 --valid-limit 1536 &
run py-compact py compact --batch-size 128 --lr 0.0015 --eval-every 400 --valid-limit 1536 &
run ts-small ts small --batch-size 64 --lr 0.001 --eval-every 200 --valid-limit 1536 &
sleep 60; nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv >> "$W/runs/env.log" 2>&1
wait
grep -h "eval step\|saved model\|keeping" "$W"/runs/*.log | tail -n 40
$PY scripts/pack_runs.py pack "$W/runs" "$OUT"
ls -la "$OUT"
