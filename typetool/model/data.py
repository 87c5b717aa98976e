"""Training data: JSONL records tokenized once into a cache, and length-bucketed padded batches.

Does: reads a dataset (one `{"input", "target", "package", "kind"}` object per line), tokenizes inputs and
targets with the model's tokenizer, drops records whose target does not fit `max_target_len` (a cut type
would teach ill-formed output), and caches the ragged token arrays as one safetensors file keyed by a hash
of the file bytes, the tokenizer and the lengths, so re-runs skip tokenization; yields deterministic
length-bucketed batches (per seed and epoch, so an interrupted epoch can be resumed).
Does not: build datasets from source code (the slicing stage does), or split by package.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors.numpy import load_file, save_file
from tokenizers import Tokenizer

from typetool.model.tokenizer import PAD_ID, encode_inputs, encode_targets, py_or_ts

FORMAT = 1
CHUNK = 20_000


def iter_jsonl(path: Path) -> Iterator[dict[str, str]]:
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)


def data_language(path: Path) -> str:
    """The key of the language of a dataset's first input (by its tag; the default language's when empty)."""
    for record in iter_jsonl(path):
        return py_or_ts(str(record["input"]))
    return py_or_ts("")


@dataclass
class Prepared:
    """Ragged token arrays of one dataset: example i is `inputs[input_offsets[i]:input_offsets[i+1]]`."""

    inputs: np.ndarray  # int32 [total input tokens]
    input_offsets: np.ndarray  # int64 [n + 1]
    targets: np.ndarray  # int32 [total target tokens], each target ends with EOS
    target_offsets: np.ndarray  # int64 [n + 1]
    record_index: np.ndarray  # int64 [n], line number (among non-empty lines) of each kept record
    cache_file: Path
    from_cache: bool = False

    def __len__(self) -> int:
        return len(self.record_index)

    @property
    def input_lengths(self) -> np.ndarray:
        return np.diff(self.input_offsets)

    def input(self, i: int) -> np.ndarray:
        return self.inputs[self.input_offsets[i]:self.input_offsets[i + 1]]

    def target(self, i: int) -> np.ndarray:
        return self.targets[self.target_offsets[i]:self.target_offsets[i + 1]]

    def batch(self, idx: np.ndarray | list[int]) -> dict[str, torch.Tensor]:
        """Right-padded `input_ids`, `attention_mask` and `labels` (-100 where padded)."""
        ins = [self.input(int(i)) for i in idx]
        outs = [self.target(int(i)) for i in idx]
        S, T = max(len(x) for x in ins), max(len(y) for y in outs)
        input_ids = np.full((len(ins), S), PAD_ID, dtype=np.int64)  # [B, S]
        labels = np.full((len(outs), T), -100, dtype=np.int64)  # [B, T]
        for k, (x, y) in enumerate(zip(ins, outs)):
            input_ids[k, :len(x)] = x
            labels[k, :len(y)] = y
        ids = torch.from_numpy(input_ids)
        return {"input_ids": ids, "attention_mask": (ids != PAD_ID).long(), "labels": torch.from_numpy(labels)}


def cache_key(path: Path, tok: Tokenizer, max_input_len: int, max_target_len: int) -> str:
    h = hashlib.sha256(f"{FORMAT}:{max_input_len}:{max_target_len}:".encode())
    h.update(hashlib.sha256(tok.to_str().encode()).digest())
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:24]


def prepare(jsonl: str | Path, tokenizer: Tokenizer, cache_dir: str | Path, max_input_len: int = 192,
            max_target_len: int = 32, rename_prob: float = 0.0, seed: int = 0) -> Prepared:
    """Tokenize `jsonl` (or load the cached result of an identical earlier call); with `rename_prob`, each
    record's project type names are first renamed with that probability (`augment.rename_records`)."""
    path = Path(jsonl)
    key = cache_key(path, tokenizer, max_input_len, max_target_len)
    if rename_prob:
        from typetool.model.augment import VERSION

        key += f"-rename{rename_prob:g}-{seed}-v{VERSION}"
    cache = Path(cache_dir) / f"{path.stem}.{key}.safetensors"
    if cache.exists():
        a = load_file(str(cache))
        return Prepared(a["inputs"], a["input_offsets"], a["targets"], a["target_offsets"], a["record_index"],
                        cache, from_cache=True)
    ins: list[np.ndarray] = []
    outs: list[np.ndarray] = []
    in_lens: list[int] = []
    out_lens: list[int] = []
    kept: list[int] = []
    records = iter_jsonl(path)
    parts: list[str] = []
    language = "py"
    if rename_prob:
        from typetool.model.augment import name_parts, rename_records

        language = data_language(path)
        parts = name_parts((r["target"] for r in iter_jsonl(path)), language)
    line = 0
    while chunk := [r for _, r in zip(range(CHUNK), records)]:
        if rename_prob:
            chunk = [{k: str(v) for k, v in r.items() if k in ("input", "target")}
                     for r in rename_records(chunk, parts, rename_prob, seed, language, start=line)]
        x_ids = encode_inputs(tokenizer, [r["input"] for r in chunk], max_input_len)
        y_ids = encode_targets(tokenizer, [r["target"] for r in chunk])
        for k, (x, y) in enumerate(zip(x_ids, y_ids)):
            if len(y) <= max_target_len:
                ins.append(np.asarray(x, dtype=np.int32))
                outs.append(np.asarray(y, dtype=np.int32))
                in_lens.append(len(x))
                out_lens.append(len(y))
                kept.append(line + k)
        line += len(chunk)
    empty = np.zeros(0, dtype=np.int32)
    arrays = {
        "inputs": np.concatenate(ins) if ins else empty,
        "input_offsets": np.concatenate([[0], np.cumsum(in_lens)]).astype(np.int64),
        "targets": np.concatenate(outs) if outs else empty,
        "target_offsets": np.concatenate([[0], np.cumsum(out_lens)]).astype(np.int64),
        "record_index": np.asarray(kept, dtype=np.int64),
    }
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".tmp")
    save_file(arrays, str(tmp))
    tmp.replace(cache)  # atomic: a killed run never leaves a half-written cache
    return Prepared(arrays["inputs"], arrays["input_offsets"], arrays["targets"], arrays["target_offsets"],
                    arrays["record_index"], cache)


def bucketed_batches(lengths: np.ndarray, batch_size: int, seed: int, epoch: int,
                     pool_batches: int = 64) -> list[np.ndarray]:
    """Shuffle, sort each pool of `pool_batches * batch_size` examples by length, cut into batches, shuffle
    the batches. Same (seed, epoch) -> same batches, so a resumed run can skip the ones it has done."""
    rng = np.random.default_rng([seed, epoch])
    perm = rng.permutation(len(lengths))
    pool = batch_size * pool_batches
    batches: list[np.ndarray] = []
    for start in range(0, len(perm), pool):
        chunk = perm[start:start + pool]
        chunk = chunk[np.argsort(lengths[chunk], kind="stable")]
        batches.extend(chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size))
    order = rng.permutation(len(batches))
    return [batches[i] for i in order]
