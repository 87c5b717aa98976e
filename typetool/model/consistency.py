"""Project consistency: a slot's candidates re-scored by what its namesakes in the same run are predicted to be.

Does: the stage after the linker, over all the slots of one run (one project). Parameters that share a name in a
project (`node`, `config`, `console`) mostly share a type, and so do the returns of functions that share a name
(`visit_Name` in many visitors). Each slot with namesakes (the same kind and name, `group_key`, in the same
group the caller gives, e.g. the package) gets their votes: the mean over the namesakes of the probability
(exp of the linked log-prob) each gives each type. Its candidates (the linker's union, up to `KEEP` of them) are
then re-scored by a log-linear model over (own log-prob, vote, log vote, vote x log(1 + namesakes)), with
extra vote weights for returns and the own log-prob's weight fixed at 1 (the votes add evidence, they do not
rescale the model's scores), and a softmax over the candidates gives each its final log-prob. The weights
are fitted (`fit`) on the packages the combiner is fitted on (the T5 never trained on them), after it, on the
linker's output there; calibration follows. Slots without namesakes keep their candidates and scores.
Does not: add a type that none of a slot's candidates has, read annotations already written in the code, or
decode (`predict.py`) or link (`linker.py`); the editor, which predicts a few slots at a time, does not run it.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

from typetool.model.linker import Batches, Slot, listwise_fit

CONSISTENCY_FILE = "consistency.json"
CONSISTENCY_VERSION = 1
KEEP = 16  # candidates per slot the linker hands to this stage (the votes read all of them)
FEATURES = ("logp", "vote", "log_vote", "vote_x_log_namesakes",
            "return_vote", "return_log_vote", "return_vote_x_log_namesakes")
_MIN_LOGP = -1e4
_VOTE_FLOOR = 1e-3  # log(vote + floor): a type no namesake proposes is unlikely, not impossible
Ranked = list[tuple[str, float]]  # (canonical type, log-prob), best first


Key = tuple[Hashable, str, str]  # (the group, e.g. a package; the slot kind; the name)


def namesake_key(group: Hashable, text: str) -> Key | None:
    """What makes two slots namesakes, read from a rendered slice: in the same `group`, parameters of one name,
    or returns of functions of one name; None for other kinds (attributes and variables get no votes)."""
    slot = Slot.parse(text)
    if slot.kind == "param" and slot.var:
        return (group, "param", slot.var)
    if slot.kind == "return" and slot.function:
        return (group, "return", slot.function)
    return None


def _rows(ranked: Sequence[Ranked], keys: Sequence[Key | None]) -> list[list[list[float]] | None]:
    """Each slot's feature rows, one per candidate (None for a slot without namesakes)."""
    members: dict[Key, list[int]] = defaultdict(list)
    for i, k in enumerate(keys):
        if k is not None:
            members[k].append(i)
    # a group's summed probabilities, from which each member's votes are its namesakes' (its own taken out)
    sums: dict[Key, dict[str, float]] = {}
    for k, idx in members.items():
        if len(idx) > 1:
            total: dict[str, float] = defaultdict(float)
            for j in idx:
                for t, lp in ranked[j]:
                    total[t] += math.exp(lp)
            sums[k] = total
    out: list[list[list[float]] | None] = []
    for i, (cands, k) in enumerate(zip(ranked, keys)):
        if k is None or k not in sums or not cands:
            out.append(None)
            continue
        n = len(members[k]) - 1
        own = dict(cands)
        is_return = float(k[1] == "return")
        rows = []
        for t, lp in cands:
            lp = max(lp, _MIN_LOGP)  # a candidate scored -inf stays last instead of making the softmax NaN
            v = max(sums[k].get(t, 0.0) - math.exp(own[t]), 0.0) / n
            lv, vn = math.log(v + _VOTE_FLOOR), v * math.log1p(n)
            rows.append([lp, v, lv, vn, v * is_return, lv * is_return, vn * is_return])
        out.append(rows)
    return out


def _dedupe(ranked: Sequence[Ranked]) -> list[Ranked]:
    """Each slot's candidates with one entry per type (its best)."""
    out = []
    for cands in ranked:
        seen: dict[str, float] = {}
        for t, lp in cands:
            seen.setdefault(t, lp)
        out.append(list(seen.items()))
    return out


@dataclass
class Consistency:
    """The fitted weights (one per `FEATURES` entry), saved beside a model as consistency.json."""

    weights: list[float]
    info: dict[str, object] = field(default_factory=dict)

    def rescore(self, ranked: Sequence[Ranked], keys: Sequence[Key | None]) -> list[Ranked | None]:
        """Each slot's candidates re-scored and re-ranked (None where it has no namesakes: unchanged). `ranked`:
        each slot's (canonical type, log-prob) candidates, best first; `keys`: each slot's `namesake_key`."""
        ranked = _dedupe(ranked)
        out: list[Ranked | None] = []
        for cands, rows in zip(ranked, _rows(ranked, keys)):
            if rows is None:
                out.append(None)
                continue
            scores = [sum(a * b for a, b in zip(r, self.weights)) for r in rows]
            top = max(scores)
            norm = top + math.log(sum(math.exp(s - top) for s in scores))
            out.append(sorted(((t, s - norm) for (t, _), s in zip(cands, scores)), key=lambda p: -p[1]))
        return out

    def save(self, model_dir: Path) -> None:
        data = {"version": CONSISTENCY_VERSION, "features": list(FEATURES), "keep": KEEP,
                "weights": [round(w, 6) for w in self.weights], "info": self.info}
        (model_dir / CONSISTENCY_FILE).write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, model_dir: Path) -> Consistency | None:
        """The stage saved in `model_dir`, or None when there is none; ValueError when it is damaged or was
        fitted on other features."""
        path = model_dir / CONSISTENCY_FILE
        if not path.is_file():
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
        # the calibration beside it was fitted with this stage: a stage that cannot be used is an error, not
        # something to drop silently
        if not isinstance(data, dict):
            raise ValueError(f"{path}: not a JSON object")  # noqa: TRY004 - the model loader reads ValueError
        if (data.get("version") != CONSISTENCY_VERSION or data.get("features") != list(FEATURES)
                or data.get("keep") != KEEP):
            raise ValueError(f"{path}: fitted by another version of typetool (version {data.get('version')!r}, "
                             f"keep {data.get('keep')!r}); re-ship the model")
        weights = [float(w) for w in data.get("weights") or []]
        if len(weights) != len(FEATURES) or not all(math.isfinite(w) for w in weights):
            raise ValueError(f"{path}: expected {len(FEATURES)} finite weights")
        return cls(weights, dict(data.get("info") or {}))


def fit(ranked: Sequence[Ranked], keys: Sequence[Key | None], golds: Sequence[str],
        seed: int = 0) -> Consistency:
    """Fit the weights on slots with namesakes whose gold type is among their candidates (the linker's output
    on packages the T5 never trained on); its info holds top-1 accuracy over all `ranked` before and after."""
    ranked = _dedupe(ranked)
    groups, gold_idx = [], []
    for cands, rows, gold in zip(ranked, _rows(ranked, keys), golds):
        types = [t for t, _ in cands]
        if rows is not None and gold in types:
            groups.append(torch.tensor(rows, dtype=torch.float32))
            gold_idx.append(types.index(gold))
    # the own log-prob keeps weight 1 and the votes add to it. Fitting its weight too ranks better on the
    # held-out packages (it tempers the own log-probs there) but flattens every slot with namesakes, and the
    # prediction sets, whose tau comes from the calibration packages, then write a full type at fewer slots;
    # dividing those weights by it ranks as well but makes namesakes' shared mistakes confident
    votes = torch.zeros(len(FEATURES) - 1, requires_grad=True)
    if groups:
        listwise_fit(lambda b: b[..., 0] + b[..., 1:] @ votes, [votes], Batches.of(groups, gold_idx, 512), 300,
                     0.05, 0.0, seed)
    stage = Consistency([1.0] + [float(x) for x in votes.detach().tolist()])
    after = stage.rescore(ranked, keys)
    n = max(len(ranked), 1)
    before_right = sum(bool(c) and c[0][0] == g for c, g in zip(ranked, golds))
    after_right = sum(bool(a or c) and (a or c)[0][0] == g for c, a, g in zip(ranked, after, golds))
    stage.info = {"sites": len(ranked), "with_namesakes": sum(a is not None for a in after),
                  "fitted_on": len(groups), "top1_before": round(before_right / n, 4),
                  "top1_after": round(after_right / n, 4)}
    return stage
