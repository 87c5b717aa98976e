#!/usr/bin/env bash
# Here (no GPU needed): pack the corpora and the shipped tokenizers into .gpu/ (git-ignored), the files that
# scripts/gpu_train.sh reads on the GPU machine. Needs the corpora of the current slicer (scope names ordered by
# annotation-free code, session 4): `typetool corpus build --out .cache/corpus8` and
# `typetool corpus build --language typescript --out .cache/corpus-ts3`. Ship a run trained on them with
# `typetool ship-model RUN --corpus .cache/corpus8 --link-held HELD.jsonl` (HELD: scripts/holdout.py's held file).
set -eu
mkdir -p .gpu
gzip -c .cache/corpus8/train.jsonl > .gpu/py-train.jsonl.gz
gzip -c .cache/corpus-ts3/train.jsonl > .gpu/ts-train.jsonl.gz
cp models/typetool-py-compact/tokenizer.json .gpu/py-tokenizer.json
cp models/typetool-ts-compact/tokenizer.json .gpu/ts-tokenizer.json
du -sh .gpu/*
