#!/usr/bin/env bash
# Here (no GPU needed): pack the corpora and the shipped tokenizers into .gpu/ (git-ignored), the files that
# scripts/gpu_train.sh reads on the GPU machine. Needs the round-2 corpora (issue 19: 105 Python and 30
# TypeScript training packages, strict protocol, share caps): `typetool corpus build --out .cache/corpus-r2`
# (about 15 minutes on one core) and `typetool corpus build --language typescript --out .cache/corpus-ts-r2`.
# Ship a run trained on them with `typetool ship-model RUN --corpus .cache/corpus-r2 --link-held HELD.jsonl`
# (HELD: scripts/holdout.py's held file), and judge it with `typetool evaluate --dev-eval`.
set -eu
mkdir -p .gpu
gzip -c .cache/corpus-r2/train.jsonl > .gpu/py-train.jsonl.gz
gzip -c .cache/corpus-ts-r2/train.jsonl > .gpu/ts-train.jsonl.gz
cp models/typetool-py-compact/tokenizer.json .gpu/py-tokenizer.json
cp models/typetool-ts-compact/tokenizer.json .gpu/ts-tokenizer.json
du -sh .gpu/*
