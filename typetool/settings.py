"""Settings: `[tool.typetool]` in the nearest pyproject.toml, as one frozen dataclass.

Does: finds the pyproject.toml that governs a path (the nearest one above it), reads `[tool.typetool]`,
checks every key and value, and gives defaults that a user can trust without reading the paper.
Command-line options override these; the CLI, the pre-commit hook, the CI check and the LSP server all read
the same settings.
Does not: read environment variables or user-level config files.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

VALID_SITES = ("params", "returns", "variables", "attributes")
GUARANTEES = ("written", "sites")
"""What epsilon bounds (docs/guarantees.md). `written`: among the annotations written, at most epsilon miss the true
type, with probability 1 - delta over the calibration sample (`typetool.selective`). `sites`: the prediction set
covers the true type at all but epsilon of all sites, a site left alone counting as covered (the marginal
guarantee of shared/design/prediction-sets.md)."""
PRECISIONS = ("fp32", "bf16")  # the encoder's arithmetic (`model.decoder.TypeDecoder.set_precision`)


def check_precision(precision: str) -> None:
    """ValueError unless `precision` is one of `PRECISIONS`."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")


class SettingsError(ValueError):
    pass


def check_device(device: str) -> None:
    """SettingsError when `device` is cuda and this torch has no usable CUDA device (a CPU-only build, or no
    GPU): a user's choice that cannot be honoured, not an internal error. `auto` falls back to the CPU."""
    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            build = "this torch is a CPU-only build" if torch.version.cuda is None else "no CUDA device is visible"
            raise SettingsError(f"--device cuda: {build}; use --device cpu (or auto)")


@dataclass(frozen=True, slots=True)
class Settings:
    epsilon: float = 0.1  # allowed miscoverage of a prediction set (types outside the set at most 10%)
    delta: float = 0.1  # probability that the calibration itself was unlucky
    sites: str = "params,returns"  # which slots annotate writes by default
    target_version: str = "py310"  # how types are spelled (py39 and older: Optional/List)
    model: str | None = None  # model directory (default: the shipped model)
    device: str = "cpu"
    precision: str = "fp32"  # the encoder's arithmetic: fp32, or bf16 (faster on CPUs with native bfloat16)
    batch_size: int = 64
    max_file_size: float = 2.0  # MB
    min_confidence: float = 0.5  # `typetool check`: report missing annotations at least this confident
    guarantee: str = "written"  # written: at most epsilon of what is written is wrong; sites: marginal (docs/guarantees.md)
    engine: bool = True  # run the checker engine (pyrefly for Python) for the engine stage; false: model only
    gate: bool = True  # annotate/predict: leave out an annotation with which the checker engine reports a new error
    source: str | None = None  # the pyproject.toml these came from

    def with_overrides(self, **values: Any) -> Settings:
        return replace(self, **{k: v for k, v in values.items() if v is not None})


def find_pyproject(start: Path) -> Path | None:
    try:
        current = start.resolve()
    except (OSError, RuntimeError):  # a symlink loop: look from where it sits
        current = start.absolute().parent
    if current.is_file():
        current = current.parent
    for directory in (current, *current.parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def load_settings(start: Path | None = None) -> Settings:
    path = find_pyproject(start if start is not None else Path.cwd())
    if path is None:
        return Settings()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(f"{path}: cannot read [tool.typetool]: {exc}") from None
    table = data.get("tool", {}).get("typetool", {})
    if not isinstance(table, dict):
        raise SettingsError(f"{path}: [tool.typetool] must be a table")
    known = {f.name: f for f in fields(Settings)} | {}
    values: dict[str, Any] = {}
    for key, value in table.items():
        name = key.replace("-", "_")
        if name not in known or name == "source":
            raise SettingsError(f"{path}: unknown key {key!r} in [tool.typetool]; known: "
                                f"{', '.join(k.replace('_', '-') for k in known if k != 'source')}")
        values[name] = value
    settings = Settings(**values, source=str(path))
    validate(settings, str(path))
    return settings


def validate(s: Settings, where: str = "settings") -> None:
    if not (0 < s.epsilon < 1) or not (0 < s.delta < 1):
        raise SettingsError(f"{where}: epsilon and delta must be between 0 and 1")
    for part in s.sites.split(","):
        if part.strip() and part.strip() not in VALID_SITES:
            raise SettingsError(f"{where}: unknown site kind {part!r}; expected {', '.join(VALID_SITES)}")
    if not isinstance(s.max_file_size, (int, float)) or s.max_file_size <= 0:
        raise SettingsError(f"{where}: max-file-size must be a positive number of MB")
    if s.device not in ("auto", "cpu", "cuda"):
        raise SettingsError(f"{where}: device must be auto, cpu or cuda")
    if s.guarantee not in GUARANTEES:
        raise SettingsError(f"{where}: guarantee must be {' or '.join(GUARANTEES)}, not {s.guarantee!r}")
    if not isinstance(s.engine, bool) or not isinstance(s.gate, bool):
        raise SettingsError(f"{where}: engine and gate must be true or false")
    if s.precision not in PRECISIONS:
        raise SettingsError(f"{where}: precision must be {' or '.join(PRECISIONS)}")
    if not s.target_version.startswith("py3"):
        raise SettingsError(f"{where}: target-version must look like py39 or py310")
