#!/usr/bin/env bash
# Here (no GPU needed): pack the corpora and the shipped tokenizers into .gpu/ (git-ignored), the files that
# scripts/gpu_train.sh reads on the GPU machine. Needs .cache/corpus2 and .cache/corpus-ts (typetool corpus build).
set -eu
mkdir -p .gpu
gzip -c .cache/corpus2/train.jsonl > .gpu/py-train.jsonl.gz
gzip -c .cache/corpus-ts/train.jsonl > .gpu/ts-train.jsonl.gz
cp models/typetool-py-compact/tokenizer.json .gpu/py-tokenizer.json
cp models/typetool-ts-compact/tokenizer.json .gpu/ts-tokenizer.json
du -sh .gpu/*
