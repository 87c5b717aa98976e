"""The fast constrained beam search (`TypeDecoder._beam_search`: live beams only, per-example cross-attention
keys/values, output layer on the allowed tokens only, memoized grammar) must return what the plain
`_beam_search_reference` returns: the same candidates in the same order, with the same tokens and spans, and
scores / token log-probs within 1e-5. Inputs: the slices of the bundled `inventory` project plus hand-written
slices in the corpus's format (no dependency on `.cache`), decoded by the shipped model; and a random-weight
model whose long, nested outputs exercise the length budget and deep bracket stacks."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

from typetool.model.config import ModelSettings, new_model
from typetool.model.decoder import Candidate, TypeDecoder
from typetool.model.saving import load_model
from typetool.pipeline import slice_paths
from typetool.slices import render_slice

ROOT = Path(__file__).resolve().parents[1]
MODEL_DIR = ROOT / "models" / "typetool-py-compact"
INVENTORY = Path(__file__).resolve().parent / "data" / "projects" / "inventory"
TOL = 1e-5

# hand-written slices in the corpus's rendering: header and evidence lines, then the scope names (`names:` line)
_SLICES: list[tuple[list[str], list[str]]] = [
    (["<py> param cls of add_slots(cls)", "uses: .__dict__ ; .__name__ ; .mro() ; .__bases__",
      "calls: dataclasses.fields(#0) ; getattr(#0) ; type(#0)"], ["_T", "Any", "Mapping", "Type", "TypeVar"]),
    (["<py> return of __getstate__(self)", "returns: { field.name: getattr(s… (literal dict)"], ["Any", "Mapping"]),
    (["<py> param callback of register(self, name, callback) in class Registry",
      "uses: callback(event) ; callable(callback)", "calls: self._hooks.setdefault(#0)"],
     ["Registry", "Event", "Callable", "Any"]),
    (["<py> return of parse_pairs(text)", "returns: [(k, v) for k, v in …] (list comprehension)",
      "uses: result assigned to pairs"], ["Iterator", "Tuple"]),
    (["<py> param timeout of connect(host, port=8080, timeout=None)", "evidence: default None",
      "uses: if timeout is not None ; time.monotonic() + timeout"], ["Connection", "Optional"]),
    (["<py> variable cache in module", "value: = {} (literal dict)", "uses: cache[key] = value ; cache.get(key)",
      "context: module memo"], []),
    (["<py> return of load_config(path)", "returns: json.load(f)", "calls: open(#0)",
      "context: doc Read the JSON settings file at path."], ["Config", "Path", "Dict", "Any"]),
    (["<py> param nodes of topo_sort(nodes, edges)", "uses: for n in nodes ; len(nodes) ; sorted(nodes)"],
     ["Node", "Graph", "Sequence", "Mapping", "Set"]),
    (["<py> return of __aenter__(self) in class Session", "returns: self", "context: decorators @override"],
     ["Session", "Self", "AsyncIterator"]),
    (["<py> param argv of main(argv=None)", "evidence: default None", "calls: parser.parse_args(#0)"],
     ["ArgumentParser", "Namespace", "Sequence", "Optional"]),
    (["<py> attribute retries of class Policy", "value: = 3 in class body", "context: decorators @dataclass"],
     ["Policy", "Backoff"]),
    (["<py> return of read_lines(self) in class Reader", "returns: self._fh.read().splitlines()"],
     ["Reader", "TextIO", "List"]),
    (["<py> param handler of add_handler(self, handler) in class Logger(Filterer)",
      "uses: self.handlers.append(handler) ; handler.level"], ["Logger", "Handler", "Filterer", "LogRecord"]),
    (["<py> return of future_result(fut)", "returns: await fut", "context: decorators @staticmethod"],
     ["Future", "Awaitable", "TypeVar", "T"]),
    (["<py> param data of checksum(data)", "uses: hashlib.sha256(data) ; len(data) ; data[:4]"], ["Digest"]),
    (["<py> param on_error of retry(fn, attempts=3, on_error=None)", "evidence: default None",
      "uses: on_error(exc, attempt)"], ["Callable", "Optional", "Exception"]),
    (["<py> return of window(seq, n)", "returns: zip(*(itertools.islice(seq, i, None) for i in range(n)))"],
     ["Iterable", "Iterator", "Tuple", "TypeVar", "T"]),
    (["<py> param matrix of transpose(matrix)", "uses: zip(*matrix) ; matrix[0] ; len(matrix[0])"],
     ["List", "Sequence"]),
    (["<py> variable DEFAULTS in module", 'value: = {"color": True, "width": 80} (literal dict)'], ["Final"]),
    (["<py> param x"], []),
]
HANDWRITTEN = [("\n".join(lines + ([f"names: {' ; '.join(scope)}"] if scope else [])), scope)
               for lines, scope in _SLICES]


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    prev = torch.get_num_threads()
    torch.set_num_threads(1)  # deterministic and fast for this tiny model when the cores are shared
    yield
    torch.set_num_threads(prev)


@pytest.fixture(scope="module")
def predictor() -> TypeDecoder:
    return load_model(MODEL_DIR)


@pytest.fixture(scope="module")
def records() -> list[tuple[str, list[str]]]:
    run = slice_paths([INVENTORY])
    recs = [(render_slice(s), list(s.scope_names)) for s in run.slices] + HANDWRITTEN
    assert len(recs) >= 60
    return recs


def assert_same(fast: list[list[Candidate]], ref: list[list[Candidate]], tol: float = TOL) -> None:
    assert len(fast) == len(ref)
    for i, (xs, ys) in enumerate(zip(fast, ref)):
        assert [(x.type, x.tokens, x.offsets) for x in xs] == [(y.type, y.tokens, y.offsets) for y in ys], i
        for x, y in zip(xs, ys):
            assert abs(x.score - y.score) <= tol, (i, x.type, x.score, y.score)
            assert len(x.token_logprobs) == len(y.token_logprobs)
            assert all(abs(a - b) <= tol for a, b in zip(x.token_logprobs, y.token_logprobs)), (i, x.type)


def counting(module: torch.nn.Module, counts: dict[str, int], name: str) -> Callable[[], None]:
    """Count calls of `module.forward` (as an instance attribute: a forward hook would turn the fast path off);
    returns the undo."""
    inner = module.forward

    def forward(*args: Any, **kwargs: Any) -> Any:
        counts[name] = counts.get(name, 0) + 1
        return inner(*args, **kwargs)

    module.forward = forward
    return lambda: delattr(module, "forward")


@pytest.mark.parametrize("batch_size,top_k,num_beams", [(64, 5, None), (16, 3, 6), (7, 5, 8)])
def test_fast_search_matches_reference(predictor: TypeDecoder, records: list[tuple[str, list[str]]], batch_size: int,
                                       top_k: int, num_beams: int | None) -> None:
    inputs, scopes = [r[0] for r in records], [r[1] for r in records]
    kw: dict[str, Any] = {"top_k": top_k, "batch_size": batch_size, "num_beams": num_beams}
    fast = predictor.predict(inputs, scopes, **kw)
    ref = predictor.predict(inputs, scopes, reference=True, **kw)
    assert all(len(c) == top_k for c in ref)
    assert_same(fast, ref)


def test_single_unpadded_input_matches_reference(predictor: TypeDecoder,
                                                 records: list[tuple[str, list[str]]]) -> None:
    for text, scope in records[:3] + HANDWRITTEN[-1:]:  # a batch of one: no padding in the encoder mask
        assert_same(predictor.predict([text], [scope]), predictor.predict([text], [scope], reference=True))


def test_the_two_searches_run_different_code(predictor: TypeDecoder, records: list[tuple[str, list[str]]]) -> None:
    """Guard against comparing the reference with itself: the fast search never calls the model's forward nor
    its full-vocabulary output layer; the reference does, every step."""
    inputs, scopes = [r[0] for r in records[:8]], [r[1] for r in records[:8]]
    for reference in (False, True):
        counts: dict[str, int] = {}
        undo = [counting(predictor.model, counts, "model"), counting(predictor.model.lm_head, counts, "lm_head")]
        try:
            predictor.predict(inputs, scopes, reference=reference)
        finally:
            for u in undo:
                u()
        assert (counts.get("model", 0) > 0 and counts.get("lm_head", 0) > 0) == reference, counts


BOOSTED = ("[", ",", "|", "...", "list", "dict", "Optional", "tuple", "Callable")


@pytest.mark.parametrize("seed,scale,boost,max_len,min_len,min_depth", [
    (6, 2.0, 5.0, 16, 16, 3),  # deep nesting, up to the length budget
    (5, 3.0, 4.0, 24, 24, 1),
    (4, 3.0, 3.0, 32, 32, 0),
    (1, 8.0, 1.0, 12, 8, 0),  # peaky, unboosted
])
def test_fast_search_matches_reference_on_random_weights(predictor: TypeDecoder, seed: int, scale: float,
                                                         boost: float, max_len: int, min_len: int,
                                                         min_depth: int) -> None:
    """A random tiny model whose embedding rows for structural tokens and generic names are scaled up writes
    long, nested types that run into the length budget. Its logits are several times the shipped model's, and
    float32 rounding grows with them (the reference itself moves by ~1e-5 between batch sizes here), so scores
    get a looser tolerance; candidates, order and tokens must still be the same."""
    tok = predictor.tokenizer
    model = new_model("tiny", tok.get_vocab_size(), seed=seed)
    with torch.no_grad():
        model.shared.weight.mul_(scale)
        for s in BOOSTED:
            model.shared.weight[tok.token_to_id(s)] *= boost
    pred = TypeDecoder(model, tok, predictor.vocab, ModelSettings(max_target_len=max_len), "cpu")
    rng = random.Random(seed)
    inputs = [text for text, _ in HANDWRITTEN] * 2
    scopes = [rng.sample(["MyWidget", "Node", "Tree_2", "pkg.Config", "bad-name", "Literal"], 3) for _ in inputs]
    fast = pred.predict(inputs, scopes, top_k=4, batch_size=16)
    ref = pred.predict(inputs, scopes, top_k=4, batch_size=16, reference=True)
    cands = [c for cs in ref for c in cs]
    assert max(len(c.tokens) for c in cands) >= min_len  # long outputs were reached
    assert max(c.type.count("[") for c in cands) >= min_depth
    assert_same(fast, ref, tol=1e-4)
