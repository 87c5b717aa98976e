"""Model sizes and the settings saved next to a model: T5 configs built in code, never fetched.

Does: defines the `tiny` / `small` / `base` presets, builds a `T5Config` (and a fresh, randomly initialised
`T5ForConditionalGeneration`) for a preset and vocabulary, and the `ModelSettings` that decoding needs
(lengths, beams), stored as `decoding.json`.
Does not: train, save or load weights (`train.py`, `saving.py`).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing in this package may reach a model hub

import torch
from transformers import T5Config, T5ForConditionalGeneration

from typetool.model.tokenizer import EOS_ID, PAD_ID

# d_model, d_ff, encoder layers, decoder layers, heads, head dim.  Params with an 8k vocab: tiny ~1.8M, compact
# ~3.5M, small ~7.3M, medium ~12.0M (45.7 MiB in float32, the largest under the 50 MB shipping limit), base ~40M.
PRESETS: dict[str, dict[str, int]] = {
    "tiny": {"d_model": 128, "d_ff": 512, "num_layers": 2, "num_decoder_layers": 1, "num_heads": 4, "d_kv": 32},
    "compact": {"d_model": 192, "d_ff": 768, "num_layers": 3, "num_decoder_layers": 1, "num_heads": 6,
                "d_kv": 32},
    "small": {"d_model": 256, "d_ff": 1024, "num_layers": 4, "num_decoder_layers": 2, "num_heads": 8, "d_kv": 32},
    "medium": {"d_model": 320, "d_ff": 1280, "num_layers": 5, "num_decoder_layers": 2, "num_heads": 8,
               "d_kv": 40},
    "base": {"d_model": 512, "d_ff": 2048, "num_layers": 6, "num_decoder_layers": 4, "num_heads": 8, "d_kv": 64},
}


def make_config(preset: str, vocab_size: int, dropout: float = 0.1, **overrides: int) -> T5Config:
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    kw: dict[str, Any] = {**PRESETS[preset], **overrides}
    kw.update(decoder_start_token_id=PAD_ID)  # a generic PreTrainedConfig field, unknown to T5Config's stub
    return T5Config(vocab_size=vocab_size, dropout_rate=dropout, feed_forward_proj="relu", pad_token_id=PAD_ID,
                    eos_token_id=EOS_ID, relative_attention_num_buckets=32, relative_attention_max_distance=128,
                    **kw)


def new_model(preset: str, vocab_size: int, seed: int = 0) -> T5ForConditionalGeneration:
    torch.manual_seed(seed)
    return T5ForConditionalGeneration(make_config(preset, vocab_size))


def count_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@dataclass
class ModelSettings:
    """Decoding settings shipped with a model (`decoding.json`)."""

    max_input_len: int = 192
    max_target_len: int = 32
    num_beams: int = 5
    min_name_count: int = 1  # type-vocabulary names seen fewer times in training are not predicted
    preset: str = "small"
    format_version: int = 1
    # log-prob of a name-linked candidate (`name_rule.py`): log of the share of links that were right on the
    # calibration split, measured by `ship-model`; None leaves name links out
    link_logprob: float | None = None

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> ModelSettings:
        if not path.exists():
            return cls()
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in json.loads(path.read_text()).items() if k in known})
