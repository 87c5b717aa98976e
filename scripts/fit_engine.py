"""Fit the engine stage of a shipped Python model, then recalibrate it with the engine in the loop.

The engine stage (`typetool/model/engine_stage.py`) is fitted where the name linker's combiner was: on the five
training packages the T5 never trained on (rich, black, isort, cattrs, tomli: the model card's held-out set),
live, from their stripped sources with pyrefly's inferred types. The calibration (confidence and write rules)
is then refitted on the calibration split's packages, also live with the engine, each package capped at
`--cap` sites (whole files, fixed seed) so that no package dominates.

Run: python scripts/fit_engine.py models/typetool-py-compact [--cap 2000]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from collections import defaultdict
from pathlib import Path

HELD = ("rich", "black", "isort", "cattrs", "tomli")


def _sources(split: str, names: tuple[str, ...] = ()) -> list[Path]:
    from typetool.corpus import default_package_list, read_package_list
    from typetool.python.corpus import download, unpack

    pk = [p for p in read_package_list(default_package_list())
          if p.split == split and (not names or p.name in names)]
    cache = Path(".cache/packages")
    wheels = download(pk, cache)
    return [unpack(wheels[p.key], cache / "src" / p.key) for p in pk]


def _cap(records: list, cap: int, seed: int = 0) -> list:
    """At most `cap` records per package, taken as whole files in a seeded order."""
    by_pkg: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for r in records:
        by_pkg[r.package][r.id.split("::")[0]].append(r)
    out = []
    for pkg in sorted(by_pkg):
        files = sorted(by_pkg[pkg])
        random.Random(f"{seed}:{pkg}").shuffle(files)
        kept: list = []
        for f in files:
            if len(kept) + len(by_pkg[pkg][f]) > cap and kept:
                continue
            kept += by_pkg[pkg][f]
        out += kept
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("model", type=Path)
    p.add_argument("--cap", type=int, default=2000, help="calibration sites per package at most")
    p.add_argument("--features", default="margin,engine", help="the calibrator's features, comma-separated "
                   "(evaluation.calibrate: margin, kind, engine)")
    a = p.parse_args(argv)
    from typetool.evaluation import calibrate, fit_engine, live_records
    from typetool.predictions import TypePredictor

    predictor = TypePredictor(a.model)
    held = live_records(_sources("train", HELD))[0][1]
    print(f"held-out: {len(held)} sites, {sum(bool(r.engine) for r in held)} with an engine type", flush=True)
    info = fit_engine(predictor, held, log=print)
    calib_all = live_records(_sources("calib"))[0][1]
    calib = _cap(calib_all, a.cap)
    counts: dict[str, int] = defaultdict(int)
    for r in calib:
        counts[r.package] += 1
    print(f"calibration: {len(calib)} of {len(calib_all)} sites: {dict(sorted(counts.items()))}", flush=True)
    # the package names without their versions, as the corpus names them (the guarantee sentence lists them)
    names = [re.sub(r"-\d[\w.]*$", "", r.package).replace("_", "-") for r in calib]
    data = calibrate(predictor, calib, packages=names,
                     features=tuple(f for f in a.features.split(",") if f))
    print(json.dumps({"engine": info, "calibration": data["fit"]}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
