"""Pack trained run folders into the few files a lent GPU machine may send back, and unpack them here.

`pack RUNS OUT`: each run's weights as float16 safetensors (cut into parts of at most 15 MiB), and one tar of
everything else a model folder needs (config, tokenizer, type vocabulary, card, logs), without checkpoints.
`unpack IN DEST`: rebuild `DEST/<run>/model.safetensors` in float32 from the parts. Float16 keeps 11 significant
bits; the shipped model is the unpacked float32 one, and every figure reported is measured on it.

Run: python scripts/pack_runs.py pack /tmp/tt/runs $OUT ; python scripts/pack_runs.py unpack DIR runs/gpu
"""

from __future__ import annotations

import argparse
import io
import tarfile
from pathlib import Path

import torch
from safetensors.torch import load, load_file, save, save_file

PART = 15 * 2**20
SKIP = {"model.safetensors", "checkpoint", "checkpoint.old", "checkpoint.tmp"}


def pack(runs: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    with tarfile.open(out / "runs.tar.gz", "w:gz") as tar:
        for run in sorted(p for p in runs.iterdir() if p.is_dir()):
            for f in sorted(run.iterdir()):
                if f.name not in SKIP and f.is_file():
                    tar.add(f, arcname=f"{run.name}/{f.name}")
            weights = run / "model.safetensors"
            if not weights.is_file():
                print(f"{run.name}: no model.safetensors")
                continue
            tensors = load_file(str(weights))
            half = {}
            for k, v in tensors.items():
                h = v.to(torch.float16) if v.is_floating_point() else v
                if v.is_floating_point() and not torch.isfinite(h).all():
                    h = v.to(torch.bfloat16)  # out of float16's range: keep the range, lose precision
                half[k] = h.contiguous()
            data = save(half)
            for i in range(0, len(data), PART):
                (out / f"{run.name}.f16.part{i // PART}").write_bytes(data[i:i + PART])
            print(f"{run.name}: {len(data) / 2**20:.1f} MiB in {(len(data) + PART - 1) // PART} part(s)")
        for log in sorted(runs.glob("*.log")):
            tar.add(log, arcname=log.name)


def unpack(src: Path, dest: Path) -> None:
    with tarfile.open(src / "runs.tar.gz") as tar:
        tar.extractall(dest, filter="data")
    names = sorted({p.name.split(".f16.part")[0] for p in src.glob("*.f16.part*")})
    for name in names:
        parts = sorted(src.glob(f"{name}.f16.part*"), key=lambda p: int(p.name.rsplit("part", 1)[1]))
        buf = io.BytesIO()
        for p in parts:
            buf.write(p.read_bytes())
        tensors = {k: v.to(torch.float32) if v.is_floating_point() else v for k, v in load(buf.getvalue()).items()}
        (dest / name).mkdir(parents=True, exist_ok=True)
        save_file(tensors, str(dest / name / "model.safetensors"), metadata={"format": "pt"})
        print(f"{name}: {sum(v.numel() for v in tensors.values()) / 1e6:.2f}M params -> {dest / name}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("action", choices=["pack", "unpack"])
    p.add_argument("src", type=Path)
    p.add_argument("dest", type=Path)
    a = p.parse_args(argv)
    (pack if a.action == "pack" else unpack)(a.src, a.dest)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
