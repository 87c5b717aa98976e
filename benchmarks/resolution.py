"""Resolution of the calibrated confidence on the Python dev-eval: the share of parameter and return sites whose
top-1 confidence is at least 0.9, and how often the top-1 is right there, per package, micro and macro (issue
18 asks for a third of the sites above 0.9 at 95% accuracy or more).

Needs the 12 dev packages unpacked under .cache/packages/src (`typetool corpus build`, or scripts/fit_engine.py's
download). Run: python benchmarks/resolution.py [MODEL_DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

from typetool.corpus import default_package_list, read_package_list
from typetool.evaluation import live_records, run_model
from typetool.predictions import TypePredictor, canonical


def main(argv: list[str]) -> int:
    pred = TypePredictor(Path(argv[0]) if argv else None, language="py")
    paths = [Path(".cache/packages/src") / p.key for p in read_package_list(default_package_list())
             if p.split == "dev"]
    recs = [r for r in live_records(paths)[0][1] if r.kind in ("param", "return")]
    out = run_model(pred, recs)
    per: dict[str, list[int]] = {}
    for r, ranked, conf in zip(recs, out.ranked, out.confidences):
        c = conf[0] if conf else 0.0
        ok = bool(ranked) and ranked[0] == canonical(r.target, "py")
        a = per.setdefault(r.package, [0, 0, 0])
        a[0] += 1
        if c >= 0.9:
            a[1] += 1
            a[2] += ok
    tot = [sum(v[i] for v in per.values()) for i in range(3)]
    print(f"micro: share >= 0.9 {tot[1] / tot[0]:.3f}, accuracy there {tot[2] / max(tot[1], 1):.3f}")
    print(f"macro: share >= 0.9 {sum(v[1] / v[0] for v in per.values()) / len(per):.3f}, accuracy there "
          f"{sum(v[2] / max(v[1], 1) for v in per.values()) / len(per):.3f}")
    for p, v in sorted(per.items()):
        print(f"{p:28} {v[0]:6d} share {v[1] / v[0]:.3f} acc {v[2] / max(v[1], 1):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
