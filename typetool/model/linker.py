"""The learned name linker: which class in scope, if any, a slot's type is, and how that joins the model's beam.

Does: the entity-linking half of the predictor. The T5 almost never writes a project's own class (it gives the
gold class in scope a median 13 nats less than its top guess), yet most user-defined types of a slot are among
its scope names. Two small models fix that, both read from the rendered slice and its scope names alone:
- the *name model*, a two-layer MLP over hand-made features of each (slot, scope class) pair (how the
  parameter's, variable's or function's words match the class's CamelCase words, abbreviations, whether the
  slice mentions the class in code, `isinstance(#0, C)`, `return C(...)`, its place in the scope list, the
  slot kind, ...) and one "none of them" row per slot, gives a softmax over "the type is this class" and "it
  is none of them". It is trained on the training split (no T5 outputs needed, so any amount of data).
- the *combiner*, a log-linear model over the union of the beam's candidates and the linked classes (beam
  log-prob and rank, name-model log-prob, whether the candidate is a link, and for links the beam's confidence,
  whether the beam's best names builtins only, the name model's "none" log-prob, the slot kind), gives each candidate
  its final log-probability. It is fitted on packages the T5 never trained on, so it learns how far to trust
  the beam there, and it is fitted before calibration, which then calibrates its scores.
A linked class `C` is written `C | None` for a Python parameter whose default is `None`.
Does not: decode (`predict.py`), calibrate (`evaluation.calibrate`), or link dotted names, generics of a
class (`list[C]`), or anything not in the slice's scope names.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from typetool.languages import by_key, key_of_input
from typetool.typenames import name_words

LINKER_FILE = "linker.safetensors"
LINKER_META = "linker.json"

_HEAD_RE = re.compile(r"<(py|ts)> (param|return|attribute|field|variable|property)\b(?: ([\w$]+))?")
# `of f(`, `of async f(`, `of get Owner.size(` (TypeScript methods name their class), `in function f`
_FN_RE = re.compile(r" of (?:async )?(?:[gs]et )?(?:[\w$]+\.)*?(?:([\w$]+)\.)?([\w$]+)\(| in function ([\w$]+)")
_CLASS_RE = re.compile(r"\bclass ([\w$]+)")
LINKER_VERSION = 3  # of the features: a linker fitted on other features must be refitted
DEFAULT_NONE_RE = re.compile(r"\bdefault = None\b")  # a rendered slice's parameter defaults to None
_VERB_PREFIXES = ("get", "make", "create", "build", "new", "to", "as", "load", "parse", "read", "find", "from")
KINDS = ("param", "return", "attribute", "variable")
LINKER_BEAM = 5  # beam candidates the combiner merges with the links (`run_model`'s top-k when it is fitted)
N_POS = 8
Named = tuple["Slot", list[str], list[float]]  # a slot, its shortlisted classes, their log-probs then none's


@dataclass(frozen=True, slots=True)
class Slot:
    """What the linker reads of a rendered slice's first line."""

    language: str
    kind: str
    var: str  # the parameter, attribute or variable name; the function's name for a return
    function: str
    cls: str  # the enclosing class, or ""
    default_none: bool
    body: str  # the slice without its first and `names:` lines

    @classmethod
    def parse(cls, text: str) -> Slot:
        head, _, rest = text.partition("\n")
        language = key_of_input(head)
        m = _HEAD_RE.match(head)
        kind, var = (m.group(2), m.group(3) or "") if m else ("variable", "")
        if kind in ("property", "field"):
            kind = "attribute"
        fn = _FN_RE.search(head)
        owner, function = (fn.group(1) or "", fn.group(2) or fn.group(3) or "") if fn else ("", "")
        if kind == "return" or var == "of":
            var = function if kind == "return" else ""
        c = _CLASS_RE.search(head)
        body = "\n".join(line for line in rest.split("\n") if not line.startswith("names:"))
        return cls(language, kind, var.strip("_$"), function, c.group(1) if c else owner,
                   bool(DEFAULT_NONE_RE.search(text)), body)


def candidate_names(names: Sequence[str], language: str) -> list[str]:
    """The scope names the linker considers: undotted, capitalized, not builtin or standard-library types."""
    return list(_candidates(tuple(names), language))


@lru_cache(maxsize=4096)
def _candidates(names: tuple[str, ...], language: str) -> tuple[str, ...]:
    """`candidate_names`, memoized: the slots of one function share their scope names."""
    standard = by_key(language).is_standard_type
    out = []
    for n in dict.fromkeys(names):
        bare = n.lstrip("_$")
        if "." in n or not bare[:1].isupper() or standard(n):
            continue
        out.append(n)
    return tuple(out)


@lru_cache(maxsize=65536)
def _name_words(name: str) -> tuple[str, ...]:
    return tuple(name_words(name.lstrip("_$")))


SHORTLIST_FIRST = 24  # candidates kept whatever their evidence; later ones need some


def shortlist(slot: Slot, scope: Sequence[str]) -> list[tuple[str, int]]:
    """(name, place among the candidates) of the candidates the name model scores: the first
    `SHORTLIST_FIRST`, then those that share a word with the slot's or the function's name, are mentioned in
    the slice, or are the enclosing class (a module may import hundreds of classes)."""
    cands = candidate_names(scope, slot.language)
    if len(cands) <= SHORTLIST_FIRST:
        return [(n, i) for i, n in enumerate(cands)]
    near = set(name_words(slot.var)) | set(name_words(slot.function))
    mentioned = set(_IDENT_RE.findall(slot.body))
    return [(n, i) for i, n in enumerate(cands)
            if i < SHORTLIST_FIRST or n == slot.cls or n in mentioned or not near.isdisjoint(_name_words(n))]


def _is_subsequence(short: str, long: str) -> bool:
    at = 0
    for ch in short:
        at = long.find(ch, at) + 1
        if not at:
            return False
    return True


@lru_cache(maxsize=1 << 16)
def _match_cached(var_words: tuple[str, ...], name_words: tuple[str, ...]) -> tuple[float, ...]:
    """`_match`, memoized: the slots of one function share their words and candidates."""
    return tuple(_match(var_words, name_words))


def _match(var_words: Sequence[str], name_words: Sequence[str]) -> list[float]:
    """Word-match features between a slot's name and a class name (6 numbers)."""
    if not var_words or not name_words:
        return [0.0] * 6
    joined_v, joined_n = "".join(var_words), "".join(name_words)
    common = len(set(var_words) & set(name_words))
    last = var_words[-1]
    singular = last[:-1] if last.endswith("s") and len(last) > 3 else last
    return [
        float(joined_v == joined_n),
        float(name_words[-1] == last),
        common / len(name_words),
        common / len(var_words),
        float(len(joined_v) >= 2 and joined_v != joined_n and joined_v[0] == joined_n[0]
              and _is_subsequence(joined_v, joined_n)),
        float(singular != last and name_words[-1] == singular),
    ]


def _site_features(slot: Slot, n_cands: int) -> list[float]:
    kind = [float(slot.kind == k) for k in KINDS]
    return kind + [math.log1p(n_cands), float(slot.default_none), float("evidence:" in slot.body),
                   float("returns:" in slot.body), float(len(slot.var) <= 2), float(slot.var == "other")]


N_SITE = len(KINDS) + 6
N_CODE = 10
N_FEATURES = 1 + 6 + 6 + N_CODE + N_POS + N_SITE  # none flag, var match, function match, code, place, site


_IDENT_RE = re.compile(r"(?<![\w.$])[\w$]+")
_CALLED_RE = re.compile(r"(?<![\w.$])([\w$]+)\(")
_ISINSTANCE_RE = re.compile(r"isinstance\(#0, ([^)]*)\)")
_RETURNS_RE = re.compile(r"^returns:.*$", re.MULTILINE)


def pair_features(slot: Slot, names: Sequence[tuple[str, int]]) -> list[list[float]]:
    """One feature row per (candidate name, place among the candidates), in order, then the "none of them"
    row."""
    fn_words = tuple(w for w in name_words(slot.function) if w not in _VERB_PREFIXES)
    segments = set(slot.function.split("_"))
    var_words = tuple(name_words(slot.var))
    site = _site_features(slot, len(names))
    mentions = Counter(_IDENT_RE.findall(slot.body))
    called = set(_CALLED_RE.findall(slot.body))
    checked = {w for args in _ISINSTANCE_RE.findall(slot.body) for w in _IDENT_RE.findall(args)}
    returned = {n for line in _RETURNS_RE.findall(slot.body) for n in _CALLED_RE.findall(line)}
    rows = []
    for n, pos in names:
        nw = _name_words(n)
        row = [0.0]
        row += _match_cached(var_words, nw)
        row += _match_cached(fn_words, nw)
        row += [
            math.log1p(mentions.get(n, 0)),
            float(n in checked),
            float(n in returned),
            float(n in called),
            float(n == slot.cls),
            float(n.startswith("_")),
            _looks_like_typevar(n),
            float(bool(_ROLE_RE.search(n))),
            float(n in segments),
            math.log1p(pos),
        ]
        row += _POS_ONE_HOT[min(pos, N_POS - 1)]
        row += site
        rows.append(row)
    rows.append([1.0] + [0.0] * (6 + 6 + N_CODE + N_POS) + site)
    return rows


_TYPEVAR_RE = re.compile(r"_?T[A-Z_]\w*|_?[A-Z]\d?")
_ROLE_RE = re.compile(r"(Error|Exception|Warning|Mixin|Meta|Base|ABC|Protocol)$")
_POS_ONE_HOT = [[float(k == p) for k in range(N_POS)] for p in range(N_POS)]  # the last: at N_POS - 1 or later


@lru_cache(maxsize=1 << 16)
def _looks_like_typevar(n: str) -> float:
    return float(len(n.lstrip("_$")) <= 2 or bool(_TYPEVAR_RE.fullmatch(n)))


class NameModel(torch.nn.Module):
    """Scores each candidate row; a softmax over a slot's rows gives P(type is this class / none of them)."""

    def __init__(self, hidden: int = 32) -> None:
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(N_FEATURES, hidden), torch.nn.Tanh(),
                                       torch.nn.Linear(hidden, hidden), torch.nn.Tanh(), torch.nn.Linear(hidden, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [N, F] -> [N]
        return self.net(x).squeeze(-1)  # type: ignore[no-any-return]


# combiner features of one candidate of the union (beam candidates and linked classes)
COMBINER_FEATURES = ("beam_logp", "not_in_beam", "name_logp", "is_link", "link_and_beam", "link_x_beam_top",
                     "beam_first", "link_x_none_logp", "link_x_builtin_beam_top", "link_x_return")
N_COMBINER = len(COMBINER_FEATURES)


@dataclass(frozen=True, slots=True)
class BeamFacts:
    """What every combiner row of one site shares: the beam's best log-prob and whether its best type names
    builtin or standard-library types only, the name model's log-prob of "none of them", the slot kind."""

    top_logp: float
    top_builtin: bool
    none_logp: float
    is_return: bool


def combiner_row(beam_logp: float | None, name_logp: float, is_link: bool, beam_first: bool,
                 facts: BeamFacts) -> list[float]:
    """`beam_logp`: the candidate's log-prob in the beam (None if the beam lacks it); `name_logp`: the name
    model's log-prob of the linked class, or of "none of them" for a candidate that is no link; `beam_first`:
    the beam's best candidate."""
    link = float(is_link)
    return [beam_logp if beam_logp is not None else 0.0, float(beam_logp is None), name_logp, link,
            float(is_link and beam_logp is not None), facts.top_logp * link, float(beam_first),
            facts.none_logp * link, float(facts.top_builtin) * link, float(facts.is_return) * link]


def _builtin_only(t: str, language: str) -> bool:
    standard = by_key(language).is_standard_type
    return all(n == "None" or standard(n) for n in _TYPE_NAME_RE.findall(t))


_TYPE_NAME_RE = re.compile(r"[A-Za-z_$][\w.$]*")


@dataclass
class Linker:
    """The name model and the combiner's weights, saved beside a model as linker.safetensors + linker.json."""

    names: NameModel
    combiner: torch.Tensor  # [N_COMBINER]
    info: dict[str, object]

    def name_logps(self, text: str, scope: Sequence[str]) -> Named:
        """(the slot, its candidate class names, the log-prob of each, then that of none of them)."""
        return self.name_logps_many([text], [scope])[0]

    def name_logps_many(self, texts: Sequence[str], scopes: Sequence[Sequence[str]]) -> list[Named]:
        """`name_logps` of many slots, with one pass of the name model over all their rows."""
        slots = [Slot.parse(t) for t in texts]
        cands = [shortlist(slot, scope) for slot, scope in zip(slots, scopes)]
        rows = [pair_features(slot, c) for slot, c in zip(slots, cands)]
        flat = [r for group in rows for r in group]
        if not flat:
            return []
        with torch.inference_mode():
            scores = self.names(torch.tensor(flat, dtype=torch.float32)).tolist()
        out: list[Named] = []
        start = 0
        for slot, c, group in zip(slots, cands, rows):
            part = scores[start:start + len(group)]
            start += len(group)
            top = max(part)
            norm = top + math.log(sum(math.exp(v - top) for v in part))
            out.append((slot, [n for n, _ in c], [v - norm for v in part]))
        return out

    def save(self, model_dir: Path) -> None:
        tensors = {k: v.detach().contiguous() for k, v in self.names.state_dict().items()}
        tensors["combiner"] = self.combiner.detach().contiguous()
        save_file(tensors, str(model_dir / LINKER_FILE))
        meta = {"version": LINKER_VERSION, "features": N_FEATURES, "combiner_features": list(COMBINER_FEATURES),
                **self.info}
        (model_dir / LINKER_META).write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, model_dir: Path) -> Linker | None:
        path = model_dir / LINKER_FILE
        if not path.is_file():
            return None
        meta_path = model_dir / LINKER_META
        meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.is_file() else {}
        if (meta.get("version") != LINKER_VERSION or meta.get("features") != N_FEATURES
                or meta.get("combiner_features") != list(COMBINER_FEATURES)):
            raise ValueError(f"{path}: made by another version of the linker's features, or without its "
                             f"{LINKER_META}; refit it (typetool ship-model --link-held)")
        tensors = load_file(str(path))
        combiner = tensors.pop("combiner")
        hidden = tensors["net.0.weight"].shape[0]
        model = NameModel(hidden)
        model.load_state_dict(tensors)
        model.eval()
        return cls(model, combiner,
                   {k: v for k, v in meta.items() if k not in ("version", "features", "combiner_features")})


def linked_text(slot: Slot, name: str) -> str:
    optional = slot.kind == "param" and slot.default_none and by_key(slot.language).optional_default
    return f"{name} | None" if optional else name


# -- fitting -----------------------------------------------------------------------------------------------------


def gold_index(target: str, names: Sequence[str], canon: Callable[[str], str]) -> int:
    """The index of the class `target` is (bare, or `C | None`), or len(names) for none of them."""
    gold = canon(target)
    for i, n in enumerate(names):
        if gold == n or gold == canon(f"{n} | None"):
            return i
    return len(names)


@dataclass
class Batches:
    """Slots' row matrices bucketed by size into padded minibatches: x [B, W, F], mask [B, W], gold [B]."""

    batches: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]

    @classmethod
    def of(cls, groups: Sequence[torch.Tensor], golds: Sequence[int], size: int) -> Batches:
        order = sorted(range(len(groups)), key=lambda i: len(groups[i]))
        out = []
        for start in range(0, len(order), size):
            idx = order[start:start + size]
            width = max(len(groups[i]) for i in idx)
            x = torch.zeros(len(idx), width, groups[idx[0]].shape[1])
            mask = torch.zeros(len(idx), width, dtype=torch.bool)
            for r, i in enumerate(idx):
                x[r, :len(groups[i])] = groups[i]
                mask[r, :len(groups[i])] = True
            out.append((x, mask, torch.tensor([golds[i] for i in idx])))
        return cls(out)

    def top1(self, score: Callable[[torch.Tensor], torch.Tensor]) -> tuple[int, int, int, int]:
        """(right, slots, right where the gold is a class, slots where it is)."""
        right = n = right_cls = n_cls = 0
        with torch.no_grad():
            for x, mask, gold in self.batches:
                hit = score(x).masked_fill(~mask, -1e9).argmax(dim=1) == gold
                is_cls = gold < mask.sum(dim=1) - 1
                right, n = right + int(hit.sum()), n + len(gold)
                right_cls, n_cls = right_cls + int(hit[is_cls].sum()), n_cls + int(is_cls.sum())
        return right, n, right_cls, n_cls


def listwise_fit(score: Callable[[torch.Tensor], torch.Tensor], params: list[torch.Tensor], data: Batches,
                  epochs: int, lr: float, weight_decay: float, seed: int) -> float:
    """Minimize the mean -log softmax(gold) over each slot's rows; returns the last epoch's mean loss."""
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    g = torch.Generator().manual_seed(seed)
    loss_value = math.nan
    for _ in range(epochs):
        total, n = 0.0, 0
        for b in torch.randperm(len(data.batches), generator=g).tolist():
            x, mask, gold = data.batches[b]
            logits = score(x).masked_fill(~mask, -1e9)  # [B, W]
            loss = torch.nn.functional.cross_entropy(logits, gold)
            opt.zero_grad()
            loss.backward()  # type: ignore[no-untyped-call]
            opt.step()
            total, n = total + loss.item() * len(gold), n + len(gold)
        loss_value = total / max(n, 1)
    return loss_value


def fit_name_model(examples: Sequence[tuple[str, Sequence[str], str]], canon: Callable[[str], str],
                   hidden: int = 64, epochs: int = 8, seed: int = 0) -> tuple[NameModel, dict[str, float]]:
    """Train the name model on (rendered slice, scope names, gold type) triples; returns it and its figures on
    them (how often the gold is a candidate class, and top-1 accuracy of "which class, or none")."""
    torch.manual_seed(seed)
    groups, golds = [], []
    for text, scope, target in examples:
        slot = Slot.parse(text)
        cands = shortlist(slot, scope)
        groups.append(torch.tensor(pair_features(slot, cands), dtype=torch.float32))
        golds.append(gold_index(target, [n for n, _ in cands], canon))
    data = Batches.of(groups, golds, 256)
    model = NameModel(hidden)
    loss = listwise_fit(model, list(model.parameters()), data, epochs, 3e-3, 1e-4, seed)
    model.eval()
    right, n, right_cls, n_cls = data.top1(model)
    return model, {"examples": float(n), "gold_is_a_class": n_cls / max(n, 1), "top1": right / max(n, 1),
                   "top1_when_a_class": right_cls / max(n_cls, 1), "loss": loss}


@dataclass
class BeamSite:
    """One slot for the combiner: its slice, scope names, the beam's (type, log-prob) list (canonical types,
    best first) and its gold type (canonical; "" at prediction time)."""

    text: str
    scope: Sequence[str]
    beam: list[tuple[str, float]]
    gold: str = ""


def union_rows(named: Named, site: BeamSite, canon: Callable[[str], str]) -> tuple[list[str], list[list[float]]]:
    """The union of the beam's types and the linked classes' types, each with its combiner row; `named`: the
    name model's output for the site (`Linker.name_logps`)."""
    slot, cands, lp = named
    none_lp = lp[-1]
    beam = dict(site.beam)
    facts = BeamFacts(site.beam[0][1] if site.beam else -20.0,
                      bool(site.beam) and _builtin_only(site.beam[0][0], slot.language), none_lp,
                      slot.kind == "return")
    types: list[str] = []
    rows: list[list[float]] = []
    links: dict[str, float] = {}
    for n, l in zip(cands, lp):
        t = canon(linked_text(slot, n))
        links[t] = max(links.get(t, -math.inf), l)
    for t, blp in site.beam:
        if t in types:
            continue
        types.append(t)
        rows.append(combiner_row(blp, links.get(t, none_lp), t in links, not rows, facts))
    for t, l in links.items():
        if t not in beam:
            types.append(t)
            rows.append(combiner_row(None, l, True, False, facts))
    return types, rows


def fit_combiner(names: NameModel, sites: Sequence[BeamSite], canon: Callable[[str], str],
                 seed: int = 0) -> tuple[torch.Tensor, dict[str, float]]:
    """Fit the combiner's weights on `sites` (beam outputs on packages the T5 never trained on); returns them
    and the top-1 accuracy there before (the beam alone) and after."""
    groups, golds, before = [], [], 0
    named = Linker(names, torch.zeros(N_COMBINER), {}).name_logps_many([s.text for s in sites],
                                                                       [s.scope for s in sites])
    for s, nm in zip(sites, named):
        types, rows = union_rows(nm, s, canon)
        before += bool(s.beam) and s.beam[0][0] == s.gold
        if s.gold in types and rows:
            groups.append(torch.tensor(rows, dtype=torch.float32))
            golds.append(types.index(s.gold))
    data = Batches.of(groups, golds, 512)
    w = torch.zeros(N_COMBINER, requires_grad=True)
    with torch.no_grad():
        w[COMBINER_FEATURES.index("beam_logp")] = 1.0  # start from the beam and the name model, added
        w[COMBINER_FEATURES.index("name_logp")] = 1.0
    listwise_fit(lambda b: b @ w, [w], data, 300, 0.05, 0.0, seed)
    w = w.detach()
    after = data.top1(lambda b: b @ w)[0]
    n = max(len(sites), 1)
    return w, {"sites": float(len(sites)), "gold_in_union": len(golds) / n, "top1_beam": before / n, "top1_linked": after / n}


def rerank(linker: Linker, site: BeamSite, canon: Callable[[str], str],
           named: Named | None = None) -> list[tuple[str, float]]:
    """The union's types with their combined log-probs (a softmax over the union), best first; `named`: the
    site's `Linker.name_logps`, if already computed (`rerank_many`)."""
    types, rows = union_rows(named or linker.name_logps(site.text, site.scope), site, canon)
    if not types:
        return []
    w = linker.combiner.tolist()
    scores = [sum(a * b for a, b in zip(r, w)) for r in rows]
    top = max(scores)
    norm = top + math.log(sum(math.exp(v - top) for v in scores))
    return sorted(zip(types, [v - norm for v in scores]), key=lambda p: -p[1])


def rerank_many(linker: Linker, sites: Sequence[BeamSite],
                canons: Sequence[Callable[[str], str]]) -> list[list[tuple[str, float]]]:
    """`rerank` of many sites (one name-model pass over all of them); `canons`: each site's normalization."""
    named = linker.name_logps_many([s.text for s in sites], [s.scope for s in sites])
    return [rerank(linker, s, c, n) for s, c, n in zip(sites, canons, named)]
