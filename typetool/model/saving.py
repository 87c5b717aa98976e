"""Model directories: write and read a trained model from a local folder only (safetensors, never pickle).

Does: `save_model` writes config.json + model.safetensors (transformers `save_pretrained`), tokenizer.json,
type_vocab.json (names seen in training targets, with counts), decoding.json (lengths, beams) and card.json
(training facts for the model card); `load_model` reads such a folder with `local_files_only=True` and
returns a `TypeDecoder`.
Does not: write the human-readable model card README.md (the evaluation/calibration stage owns it, since it
knows metrics and coverage), or download anything.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from tokenizers import Tokenizer
from transformers import T5ForConditionalGeneration
from transformers.utils import logging as hf_logging

from typetool.model.config import ModelSettings
from typetool.model.decoder import TypeDecoder, resolve_device
from typetool.model.grammar import TypeVocab
from typetool.model.linker import Linker
from typetool.model.tokenizer import load_tokenizer

MODEL_FILES = ("config.json", "model.safetensors", "tokenizer.json", "type_vocab.json", "decoding.json")


@contextmanager
def quiet() -> Iterator[None]:
    """No transformers progress bars ("Loading weights", "Writing model shards") in logs and CLI output."""
    was = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    try:
        yield
    finally:
        if was:
            hf_logging.enable_progress_bar()  # type: ignore[no-untyped-call]


def save_model(model: T5ForConditionalGeneration, tokenizer: Tokenizer, type_vocab: TypeVocab, out_dir: str | Path,
               card_fields: dict[str, Any] | None = None, settings: ModelSettings | None = None) -> Path:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with quiet():
        model.save_pretrained(out)  # config.json, generation_config.json, model.safetensors
    tokenizer.save(str(out / "tokenizer.json"))
    type_vocab.save(out / "type_vocab.json")
    (settings or ModelSettings()).save(out / "decoding.json")
    if card_fields is not None:
        (out / "card.json").write_text(json.dumps(card_fields, indent=2, sort_keys=True, default=str) + "\n")
    return out


def load_t5(model_dir: str | Path) -> T5ForConditionalGeneration:
    d = Path(model_dir)
    if not (d / "model.safetensors").exists():
        raise FileNotFoundError(f"{d}: no model.safetensors (a model directory holds {', '.join(MODEL_FILES)})")
    with quiet():
        model: T5ForConditionalGeneration = T5ForConditionalGeneration.from_pretrained(
            d, local_files_only=True, use_safetensors=True)
    return model


def load_model(model_dir: str | Path, device: str = "cpu", precision: str = "fp32") -> TypeDecoder:
    """A `TypeDecoder` for the model in `model_dir` on `device` ("cpu", "cuda", or "auto": CUDA if present), its
    encoder in `precision` (`TypeDecoder.set_precision`)."""
    d = Path(model_dir)
    model = load_t5(d)
    return TypeDecoder(model, load_tokenizer(d / "tokenizer.json"), TypeVocab.load(d / "type_vocab.json"),
                     ModelSettings.load(d / "decoding.json"), device=str(resolve_device(device)),
                     linker=Linker.load(d), precision=precision)
