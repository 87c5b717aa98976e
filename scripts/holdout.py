"""Split a training JSONL by package: the named packages go to a held-out validation file, the rest to training.

Used by `scripts/gpu_train.sh` so that choosing the best checkpoint (`--keep-best`) reads packages the model never
trains on, without touching the calibration split (whose independence the prediction sets rely on).

Run: python scripts/holdout.py IN.jsonl TRAIN_OUT.jsonl VALID_OUT.jsonl pkg1,pkg2 [--limit N]
"""

from __future__ import annotations

import argparse
import json


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("src")
    p.add_argument("train_out")
    p.add_argument("valid_out")
    p.add_argument("packages", help="comma-separated package names to hold out")
    p.add_argument("--limit", type=int, default=0, help="keep only the first N lines of each output (dry runs)")
    a = p.parse_args(argv)
    held = set(a.packages.split(","))
    counts = {"train": 0, "valid": 0}
    with open(a.src, encoding="utf-8") as f, open(a.train_out, "w", encoding="utf-8") as tr, \
            open(a.valid_out, "w", encoding="utf-8") as va:
        for line in f:
            if not line.strip():
                continue
            split = "valid" if json.loads(line)["package"] in held else "train"
            if a.limit and counts[split] >= a.limit:
                continue
            (va if split == "valid" else tr).write(line)
            counts[split] += 1
    print(f"{a.src}: {counts['train']} train, {counts['valid']} held out ({', '.join(sorted(held))})")
    if not counts["valid"]:
        raise SystemExit(f"none of {sorted(held)} found in {a.src}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
