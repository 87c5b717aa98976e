"""The type predictor: a small T5 trained from scratch, with grammar-constrained beam search.

Does: re-exports the public API of the submodules (imported lazily, so `import typetool.model` is cheap):
`load_model` / `save_model` (saving), `TypeDecoder` / `Candidate` (predict), `prepare` (data),
`train_tokenizer` (tokenizer), `TypeVocab` / `TypeGrammar` (grammar), `PRESETS` / `ModelSettings` /
`make_config` (config).
Training is `typetool.model.train.train` (not re-exported: the name is taken by the submodule that
`python -m typetool.model.train` runs).
Does not: build usage slices, calibrate scores or build prediction sets (other stages do).
Nothing here touches a model hub: configs are built in code and models load from local folders only.
"""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING, Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see train.py; only matters if torch is not loaded yet

_EXPORTS = {
    "load_model": "saving", "save_model": "saving", "TypeDecoder": "predict", "Candidate": "predict",
    "prepare": "data", "train_tokenizer": "tokenizer", "TypeVocab": "grammar",
    "TypeGrammar": "grammar", "PRESETS": "config", "ModelSettings": "config", "make_config": "config",
}
__all__ = ["PRESETS", "Candidate", "ModelSettings", "TypeDecoder", "TypeGrammar", "TypeVocab", "load_model",
           "make_config", "prepare", "save_model", "train_tokenizer"]

if TYPE_CHECKING:
    from typetool.model.config import PRESETS, ModelSettings, make_config
    from typetool.model.data import prepare
    from typetool.model.decoder import Candidate, TypeDecoder
    from typetool.model.grammar import TypeGrammar, TypeVocab
    from typetool.model.saving import load_model, save_model
    from typetool.model.tokenizer import train_tokenizer


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
