"""Project consistency: a slot's candidates re-scored by what its namesakes in the same run are, or are predicted to be.

Does: the stage after the linker, over all the slots of one run (one project). Parameters that share a name in a
project (`node`, `config`, `console`) mostly share a type, and so do the returns of functions that share a name
(`visit_Name` in many visitors). Each slot with namesakes (the same kind and name, `key_of`, in the same group
the caller gives, e.g. the package) gets their votes: from the namesakes the model predicts, the mean of the
probability (exp of the linked log-prob) each gives each type; from the namesakes annotated in the code, the
share of them annotated with each type. Its candidates (the linker's union, up to `KEEP` of them) are then
re-scored by a log-linear model over (own log-prob, vote, log vote, vote x log(1 + namesakes)) for each kind of
vote, with extra weights for returns and the own log-prob's weight fixed at 1 (the votes add evidence, they do
not rescale the model's scores), and a softmax over the candidates gives each its final log-prob. The weights
are fitted (`fit`) on the packages the combiner is fitted on (the T5 never trained on them), after it, on the
linker's output there: the predicted votes' with every slot predicted, then the annotated votes' with half the
slots taken as annotated (left at 0 when that reaches under `MIN_ANNOTATED_FIT` others); calibration follows.
A property setter's or deleter's return has no namesakes (its name is its getter's). Slots without namesakes keep their candidates and scores.
Does not: add a type that none of a slot's candidates has, find the annotations (`pipeline.annotated_slots`),
decode (`predict.py`) or link (`linker.py`); the editor, which predicts a few slots at a time, does not run it.
"""

from __future__ import annotations

import json
import math
import random
import re
from collections import defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

from typetool.model.linker import Batches, Slot, listwise_fit

CONSISTENCY_FILE = "consistency.json"
CONSISTENCY_VERSION = 2
KEEP = 16  # candidates per slot the linker hands to this stage (the votes read all of them)
PREDICTED = ("vote", "log_vote", "vote_x_log_namesakes", "return_vote", "return_log_vote",
             "return_vote_x_log_namesakes")  # votes of namesakes the model predicts
ANNOTATED = ("annotated_vote", "annotated_log_vote", "annotated_vote_x_log_annotated", "return_annotated_vote",
             "return_annotated_log_vote")  # votes of namesakes annotated in the code
FEATURES = ("logp", *PREDICTED, *ANNOTATED)
MIN_ANNOTATED_FIT = 1000  # predicted slots an annotation must reach before the annotations' weights are fitted
ANNOTATED_SHARE = 0.5  # the share of held-out slots taken as annotated when the annotation weights are fitted
_MIN_LOGP = -1e4
_VOTE_FLOOR = 1e-3  # log(vote + floor): a type no namesake proposes is unlikely, not impossible
Ranked = list[tuple[str, float]]  # (canonical type, log-prob), best first


Key = tuple[Hashable, str, str]  # (the group, e.g. a package; the slot kind; the name)


def key_of(group: Hashable, kind: str, name: str, function: str) -> Key | None:
    """In the same `group`, parameters of one `name` (leading and trailing `_`/`$` ignored) are namesakes, and so
    are the returns of functions of one name; other kinds (attributes, variables) have none."""
    name = name.strip("_$")
    if kind == "param" and name:
        return (group, "param", name)
    if kind == "return" and function:
        return (group, "return", function)
    return None


ACCESSOR_RE = re.compile(r"@[\w.]*\.(?:setter|deleter)\b")  # a property's setter or deleter returns nothing


def namesake_key(group: Hashable, text: str) -> Key | None:
    """`key_of` a slot, read from its rendered slice; None for the return of a property's setter or deleter,
    whose name is its getter's."""
    slot = Slot.parse(text)
    if slot.kind == "return" and ACCESSOR_RE.search(text):
        return None
    return key_of(group, slot.kind, slot.var, slot.function)


def _rows(ranked: Sequence[Ranked], keys: Sequence[Key | None],
          annotated: Sequence[tuple[Key, str]] = ()) -> list[list[list[float]] | None]:
    """Each slot's feature rows, one per candidate (None for a slot without namesakes). `annotated`: the
    (key, canonical type) of namesakes annotated in the code, which vote for their type with certainty."""
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
    written: dict[Key, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for k, t in annotated:
        written[k][t] += 1
    out: list[list[list[float]] | None] = []
    for i, (cands, k) in enumerate(zip(ranked, keys)):
        if k is None or not cands or (k not in sums and k not in written):
            out.append(None)
            continue
        n = len(members[k]) - 1
        own = dict(cands)
        notes = written.get(k, {})
        n_notes = sum(notes.values())
        is_return = float(k[1] == "return")
        rows = []
        for t, lp in cands:
            lp = max(lp, _MIN_LOGP)  # a candidate scored -inf stays last instead of making the softmax NaN
            v = max(sums[k].get(t, 0.0) - math.exp(own[t]), 0.0) / n if n else 0.0
            lv, vn = (math.log(v + _VOTE_FLOOR), v * math.log1p(n)) if n else (0.0, 0.0)
            a = notes.get(t, 0) / n_notes if n_notes else 0.0
            la, an = (math.log(a + _VOTE_FLOOR), a * math.log1p(n_notes)) if n_notes else (0.0, 0.0)
            rows.append([lp, v, lv, vn, v * is_return, lv * is_return, vn * is_return,
                         a, la, an, a * is_return, la * is_return])
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

    def rescore(self, ranked: Sequence[Ranked], keys: Sequence[Key | None],
                annotated: Sequence[tuple[Key, str]] = ()) -> list[Ranked | None]:
        """Each slot's candidates re-scored and re-ranked (None where it has no namesakes: unchanged). `ranked`:
        each slot's (canonical type, log-prob) candidates, best first; `keys`: each slot's `namesake_key`;
        `annotated`: the (key, canonical type) of the run's slots annotated in the code."""
        ranked = _dedupe(ranked)
        out: list[Ranked | None] = []
        for cands, rows in zip(ranked, _rows(ranked, keys, annotated)):
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
        if data.get("version") == 1 and data.get("features") == ["logp", *PREDICTED]:
            # before annotated votes: the same stage, with annotations weighing nothing
            data = dict(data, version=CONSISTENCY_VERSION, features=list(FEATURES),
                        weights=list(data.get("weights") or []) + [0.0] * len(ANNOTATED))
        if (data.get("version") != CONSISTENCY_VERSION or data.get("features") != list(FEATURES)
                or data.get("keep") != KEEP):
            raise ValueError(f"{path}: fitted by another version of typetool (version {data.get('version')!r}, "
                             f"keep {data.get('keep')!r}); re-ship the model")
        weights = [float(w) for w in data.get("weights") or []]
        if len(weights) != len(FEATURES) or not all(math.isfinite(w) for w in weights):
            raise ValueError(f"{path}: expected {len(FEATURES)} finite weights")
        return cls(weights, dict(data.get("info") or {}))


def _fit_part(ranked: Sequence[Ranked], keys: Sequence[Key | None], golds: Sequence[str],
              annotated: Sequence[tuple[Key, str]], fixed: Sequence[float], seed: int) -> list[float]:
    """The weights after `fixed` (whose first is the own log-prob's, 1), fitted with `fixed` held."""
    groups, gold_idx = [], []
    for cands, rows, gold in zip(ranked, _rows(ranked, keys, annotated), golds):
        types = [t for t, _ in cands]
        if rows is not None and gold in types:
            groups.append(torch.tensor(rows, dtype=torch.float32))
            gold_idx.append(types.index(gold))
    head = torch.tensor(list(fixed), dtype=torch.float32)
    free = torch.zeros(len(FEATURES) - len(fixed), requires_grad=True)
    if groups:
        listwise_fit(lambda b: b[..., :len(fixed)] @ head + b[..., len(fixed):] @ free, [free],
                     Batches.of(groups, gold_idx, 512), 300, 0.05, 0.0, seed)
    return [float(x) for x in free.detach().tolist()]


def _top1(ranked: Sequence[Ranked], after: Sequence[Ranked | None], golds: Sequence[str],
          among: Sequence[int]) -> tuple[float, float]:
    n = max(len(among), 1)
    before = sum(bool(ranked[i]) and ranked[i][0][0] == golds[i] for i in among) / n
    now = sum(bool(after[i] or ranked[i]) and (after[i] or ranked[i])[0][0] == golds[i] for i in among) / n
    return round(before, 4), round(now, 4)


def fit(ranked: Sequence[Ranked], keys: Sequence[Key | None], golds: Sequence[str],
        annotated_share: float = ANNOTATED_SHARE, seed: int = 0) -> Consistency:
    """Fit the weights on the linker's output over packages the T5 never trained on (`golds`: their canonical
    annotations), on the slots with namesakes whose gold type is among their candidates, in two steps:
    - the predicted votes' weights with every slot predicted (the strip-and-recover setting);
    - then, those held, the annotated votes' weights, with a random `annotated_share` of the slots taken as
      annotated (their gold types vote) and the rest predicted.
    The own log-prob keeps weight 1 and the votes add to it. Fitting its weight too ranks better on the held-out
    packages (it tempers the own log-probs there) but flattens every slot with namesakes, and the prediction
    sets, whose tau comes from the calibration packages, then write a full type at fewer slots; dividing those
    weights by it ranks as well but makes namesakes' shared mistakes confident.
    Its info holds top-1 accuracy before and after, over all slots and, in the second setting, over the
    predicted ones."""
    ranked = _dedupe(ranked)
    everyone = range(len(ranked))
    predicted = [1.0] + _fit_part(ranked, keys, golds, (), [1.0], seed)[:len(PREDICTED)]
    rng = random.Random(seed)
    notes: list[tuple[Key, str]] = []
    rest_keys: list[Key | None] = []
    for k, gold in zip(keys, golds):
        if k is not None and rng.random() < annotated_share:
            notes.append((k, gold))
            rest_keys.append(None)  # annotated: not predicted
        else:
            rest_keys.append(k)
    rest = [i for i in everyone if rest_keys[i] is not None or keys[i] is None]
    noted = {k for k, _ in notes}
    reached = sum(k is not None and k in noted for k in rest_keys)
    # too few slots reached by annotations to fit their weights on (they came out extreme on one small package):
    # annotations then weigh nothing
    annotated = (_fit_part(ranked, rest_keys, golds, notes, predicted, seed) if reached >= MIN_ANNOTATED_FIT
                 else [0.0] * len(ANNOTATED))
    stage = Consistency(predicted + annotated)
    after = stage.rescore(ranked, keys)
    predicted_only = Consistency(predicted + [0.0] * len(ANNOTATED)).rescore(ranked, rest_keys)
    after_notes = stage.rescore(ranked, rest_keys, notes)
    before, now = _top1(ranked, after, golds, everyone)
    stage.info = {"sites": len(ranked), "with_namesakes": sum(a is not None for a in after),
                  "top1_before": before, "top1_after": now,
                  "annotated_share": annotated_share, "annotated_sites": len(notes),
                  "reached_by_annotations": reached,
                  # the others, predicted with the predicted votes only, then with the annotations' too
                  "top1_rest_before": _top1(ranked, predicted_only, golds, rest)[1],
                  "top1_rest_after": _top1(ranked, after_notes, golds, rest)[1]}
    return stage
