"""The type-expression grammar that constrained decoding walks, at the level of tokenizer tokens.

Does: keeps the names a prediction may use (builtin/typing/stdlib names per language, the training type
vocabulary, and per-example scope names) as tries of token-id sequences; tracks a decoding state (bracket
stack, expecting a type / inside a name / after a complete atom) and gives the token ids allowed next, with a
length budget so that every hypothesis can still close its brackets before the target length runs out;
renders a token sequence in canonical text (`dict[str, list[int]]`, `int | None`) with each token's span.
Does not: run the model (`predict.py`), emit `Literal[...]` values, string forward references, `tuple[()]`
or TypeScript-only syntax (`T[]`, `Array<T>`, object and function types): TypeScript targets must use the
bracket form (`Array[number]`, `Promise[string] | null`) to be reachable.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from tokenizers import Tokenizer

from typetool.languages import by_key, languages
from typetool.model.tokenizer import ELLIPSIS, EOS

NAME_RE = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*")
_FULL_NAME_RE = re.compile(rf"^{NAME_RE.pattern}$")
_STRING_RE = re.compile(r"'[^']*'|\"[^\"]*\"")
INF = 1 << 20
MAX_DEPTH = 6
MAX_ARGS = 8
EXCLUDED_NAMES = frozenset({"Literal", "typing.Literal", "Annotated", "typing.Annotated", "True", "False"})

_ONE_ARG = """list set frozenset type List Set FrozenSet Type Deque deque Optional Sequence Iterable Iterator
Collection AbstractSet MutableSet MutableSequence Awaitable Array Promise"""
_TWO_ARGS = "dict Dict Mapping MutableMapping DefaultDict defaultdict OrderedDict Record Map Callable typing.Callable \
collections.abc.Callable"
TUPLE_HEADS = frozenset({"tuple", "Tuple", "typing.Tuple"})
CALLABLE_HEADS = frozenset({"Callable", "typing.Callable", "collections.abc.Callable"})
_ARITY: dict[str, tuple[int, int]] = {  # (min, max) args of known generics; others take 1..MAX_ARGS
    **dict.fromkeys(_ONE_ARG.split(), (1, 1)),
    **dict.fromkeys(_TWO_ARGS.split(), (2, 2)),
    "Generator": (1, 3), "Coroutine": (1, 3),
    **{h: (1, 16) for h in TUPLE_HEADS},
    "Union": (2, MAX_ARGS),
}


def arity(head: str) -> tuple[int, int]:
    return _ARITY.get(head, _ARITY.get(head.rsplit(".", 1)[-1], (1, MAX_ARGS)))


def builtin_names(language: str) -> dict[str, bool]:
    """name -> may take `[...]`, for the names every prediction in `language` (a key: "py", "ts") may use
    (`Language.grammar_names`)."""
    return by_key(language).grammar_names()


# --------------------------------------------------------------------------------------------- type vocabulary


@dataclass
class TypeVocab:
    """What training targets contained: type names with counts, the names seen with `[...]` after them, and
    whole target strings with counts (`types`, for frequency buckets)."""

    names: dict[str, int] = field(default_factory=dict)
    generic: set[str] = field(default_factory=set)
    types: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_targets(cls, targets: Iterable[str]) -> TypeVocab:
        counts: Counter[str] = Counter()
        whole: Counter[str] = Counter()
        generic: set[str] = set()
        for target in targets:
            whole[target] += 1
            t = _STRING_RE.sub("", target)  # Literal values are not names
            for m in NAME_RE.finditer(t):
                counts[m.group()] += 1
                if t[m.end():m.end() + 1] == "[":
                    generic.add(m.group())
        return cls(dict(counts.most_common()), generic, dict(whole.most_common()))

    def merge(self, other: TypeVocab) -> TypeVocab:
        names, types = Counter(self.names), Counter(self.types)
        names.update(other.names)
        types.update(other.types)
        return TypeVocab(dict(names.most_common()), self.generic | other.generic, dict(types.most_common()))

    def save(self, path: Path) -> None:
        d = {"names": self.names, "generic": sorted(self.generic), "types": self.types}
        path.write_text(json.dumps(d, indent=0) + "\n")

    @classmethod
    def load(cls, path: Path) -> TypeVocab:
        d = json.loads(path.read_text())
        return cls(dict(d["names"]), set(d["generic"]), dict(d.get("types", {})))


# ------------------------------------------------------------------------------------------------- name tries


class NameTrie:
    """Names as token-id paths. Node 0 is the root; `name[n]` is set where a whole name ends."""

    def __init__(self) -> None:
        self.children: list[dict[int, int]] = [{}]
        self.name: list[str | None] = [None]
        self.generic: list[bool] = [False]
        self.min_rem: list[int] = [INF]  # fewest tokens from this node to the end of some name
        self._tensors: dict[int, tuple[torch.Tensor, torch.Tensor, int]] = {}

    def add(self, ids: list[int], name: str, generic: bool) -> None:
        node = 0
        for i in ids:
            nxt = self.children[node].get(i)
            if nxt is None:
                nxt = len(self.children)
                self.children[node][i] = nxt
                self.children.append({})
                self.name.append(None)
                self.generic.append(False)
                self.min_rem.append(INF)
            node = nxt
        self.name[node] = name
        self.generic[node] = self.generic[node] or generic

    def finalize(self) -> NameTrie:
        for n in range(len(self.children) - 1, -1, -1):  # children are created after their parents
            best = 0 if self.name[n] is not None else INF
            for c in self.children[n].values():
                best = min(best, 1 + self.min_rem[c])
            self.min_rem[n] = best
        self._tensors.clear()
        return self

    def child_ids(self, node: int, budget: int) -> torch.Tensor:
        """Token ids leading from `node` to a child with `min_rem <= budget`."""
        if node not in self._tensors:
            kids = self.children[node]
            ids = torch.tensor(list(kids.keys()), dtype=torch.long)
            rem = torch.tensor([self.min_rem[c] for c in kids.values()], dtype=torch.long)
            self._tensors[node] = (ids, rem, int(rem.max()) if len(kids) else 0)
        ids, rem, worst = self._tensors[node]
        return ids if budget >= worst else ids[rem <= budget]

    def __len__(self) -> int:
        return sum(n is not None for n in self.name)


EMPTY_TRIE = NameTrie().finalize()


# ------------------------------------------------------------------------------------------- decoding states

ATOM, NAME, AFTER, DONE = range(4)
Frame = tuple[str, int, bool]  # (generic head or "" for a bare `[...]` list, index of the current arg, bare)


@dataclass(frozen=True, slots=True)
class State:
    phase: int = ATOM
    stack: tuple[Frame, ...] = ()
    gnode: int = -1  # NAME: node in the global trie (-1: not on a global path)
    snode: int = -1  # NAME: node in the example's scope trie
    head: str = ""  # AFTER: the name just completed, when it may take `[`
    unionable: bool = False  # AFTER: `|` may follow
    ellipsis: bool = False  # AFTER: the atom was `...`
    union_rhs: bool = False  # ATOM: right of `|`, so a name must come


@dataclass(frozen=True)
class Context:
    """What one example decodes against: its language's global trie and its scope trie."""

    gtrie: NameTrie
    strie: NameTrie

    @property
    def min_name(self) -> int:
        return min(self.gtrie.min_rem[0], self.strie.min_rem[0])


class TypeGrammar:
    """Allowed-next-token sets for well-formed type expressions over a tokenizer's vocabulary."""

    def __init__(self, tokenizer: Tokenizer, vocab: TypeVocab, min_name_count: int = 1,
                 max_depth: int = MAX_DEPTH) -> None:
        self.tokenizer = tokenizer
        self.max_depth = max_depth
        tid = tokenizer.token_to_id
        ids = [tid(s) for s in ("[", "]", ",", "|", ELLIPSIS, EOS)]
        if any(i is None for i in ids):
            raise ValueError("tokenizer lacks a structural token ([ ] , | ... </s>)")
        self.lb, self.rb, self.comma, self.bar, self.ell, self.eos = (int(i) for i in ids)  # type: ignore[arg-type]
        self.id_to_token = [tokenizer.id_to_token(i) or "" for i in range(tokenizer.get_vocab_size())]
        self._name_cache: dict[str, list[int] | None] = {}
        learned = {n: n in vocab.generic for n, c in vocab.names.items() if c >= min_name_count}
        self.tries = {lang.key: self.build_trie({**learned, **lang.grammar_names()}) for lang in languages()}

    # names -> tries
    def name_ids(self, names: list[str]) -> list[list[int] | None]:
        """Each name's canonical token ids, or None where it is not a dotted identifier or has unknown chars."""
        todo = [n for n in dict.fromkeys(names) if n not in self._name_cache]
        ok = [n for n in todo if _FULL_NAME_RE.match(n) and n not in EXCLUDED_NAMES]
        for n in todo:
            self._name_cache[n] = None
        for n, enc in zip(ok, self.tokenizer.encode_batch(ok, add_special_tokens=False)):
            if "".join(self.id_to_token[i] for i in enc.ids) == n:
                self._name_cache[n] = list(enc.ids)
        return [self._name_cache[n] for n in names]

    def build_trie(self, names: dict[str, bool]) -> NameTrie:
        trie = NameTrie()
        for (name, generic), ids in zip(names.items(), self.name_ids(list(names))):
            if ids:
                trie.add(ids, name, generic)
        return trie.finalize()

    def context(self, language: str, scope_names: Iterable[str] = (), generic: Iterable[str] = ()) -> Context:
        """The decoding context of one example; scope names (project classes etc.) take `[...]` only if listed
        in `generic`."""
        scope = {n: False for n in scope_names if n not in EXCLUDED_NAMES}
        scope.update({n: True for n in generic if n in scope})
        return Context(self.tries[language], self.build_trie(scope) if scope else EMPTY_TRIE)

    def allowed_names(self, ctx: Context) -> set[str]:
        return {n for n in ctx.gtrie.name if n} | {n for n in ctx.strie.name if n}

    # the state machine
    @staticmethod
    def _close_cost(stack: tuple[Frame, ...], min_name: int) -> int:
        """Fewest tokens that complete every open frame (missing args, `]`) and then emit EOS."""
        cost = 1
        for head, i, bare in stack:
            lo = 1 if bare else arity(head)[0]
            cost += 1 + (1 + min_name) * max(0, lo - (i + 1))
        return cost

    def cost(self, s: State, ctx: Context) -> int:
        """A lower bound on the tokens, EOS included, that any completion of `s` needs (exact enough that
        some allowed move always lowers it by one)."""
        if s.phase == DONE:
            return 0
        rest = self._close_cost(s.stack, ctx.min_name)
        if s.phase == AFTER:
            return rest
        if s.phase == ATOM:
            return ctx.min_name + rest
        g = ctx.gtrie.min_rem[s.gnode] if s.gnode >= 0 else INF
        return min(g, ctx.strie.min_rem[s.snode] if s.snode >= 0 else INF) + rest

    @staticmethod
    def _complete(s: State, ctx: Context) -> State | None:
        """NAME -> AFTER, if a whole name ends here."""
        gname = ctx.gtrie.name[s.gnode] if s.gnode >= 0 else None
        sname = ctx.strie.name[s.snode] if s.snode >= 0 else None
        name = gname or sname
        if name is None:
            return None
        generic = (gname is not None and ctx.gtrie.generic[s.gnode]) or (
            sname is not None and ctx.strie.generic[s.snode])
        return State(AFTER, s.stack, head=name if generic else "", unionable=True)

    def _struct_moves(self, s: State) -> list[tuple[int, State]]:
        """Moves by non-name tokens from an ATOM or AFTER state."""
        top = s.stack[-1] if s.stack else None
        out: list[tuple[int, State]] = []
        if s.phase == ATOM:
            if top is None or s.union_rhs:
                return out
            head, i, bare = top
            if bare and i == 0:  # `Callable[[], R]`
                out.append((self.rb, State(AFTER, s.stack[:-1])))
            if head in CALLABLE_HEADS and i == 0:
                out.append((self.lb, State(ATOM, s.stack + (("", 0, True),))))
                out.append((self.ell, State(AFTER, s.stack, ellipsis=True)))
            elif head in TUPLE_HEADS and i == 1:
                out.append((self.ell, State(AFTER, s.stack, ellipsis=True)))
            return out
        if s.head and len(s.stack) < self.max_depth:
            out.append((self.lb, State(ATOM, s.stack + ((s.head, 0, False),))))
        if s.unionable:
            out.append((self.bar, State(ATOM, s.stack, union_rhs=True)))
        if top is None:
            out.append((self.eos, State(DONE)))
            return out
        head, i, bare = top
        lo, hi = (1, MAX_ARGS) if bare else arity(head)
        if i + 1 < hi and not (s.ellipsis and head in TUPLE_HEADS):
            out.append((self.comma, State(ATOM, s.stack[:-1] + ((head, i + 1, bare),))))
        if i + 1 >= lo and not (s.ellipsis and head in CALLABLE_HEADS):
            out.append((self.rb, State(AFTER, s.stack[:-1], unionable=not bare)))
        return out

    def _name_nodes(self, s: State) -> tuple[int, int]:
        """Trie nodes whose children may come next: the roots when a type starts, the current nodes in a name."""
        if s.phase == NAME:
            return s.gnode, s.snode
        if s.phase != ATOM:
            return -1, -1
        top = s.stack[-1] if s.stack else None
        if top is not None and not s.union_rhs and top[0] in CALLABLE_HEADS and top[1] == 0:
            return -1, -1  # Callable's first argument is `[...]` or `...`
        return 0, 0

    def allowed(self, s: State, ctx: Context, remaining: int) -> list[torch.Tensor]:
        """Token ids allowed next, as tensors to concatenate, when at most `remaining` more tokens (EOS
        included) may be emitted. Never empty for a state reached from `State()` through allowed moves with
        `remaining >= cost(state)`."""
        after = remaining - 1
        out: list[torch.Tensor] = []
        gnode, snode = self._name_nodes(s)
        if gnode >= 0 or snode >= 0:
            budget = after - self._close_cost(s.stack, ctx.min_name)
            if gnode >= 0:
                out.append(ctx.gtrie.child_ids(gnode, budget))
            if snode >= 0 and ctx.strie is not EMPTY_TRIE:
                out.append(ctx.strie.child_ids(snode, budget))
        base = self._complete(s, ctx) if s.phase == NAME else s
        if base is not None:
            ok = [t for t, nxt in self._struct_moves(base) if self.cost(nxt, ctx) <= after]
            if ok:
                out.append(torch.tensor(ok, dtype=torch.long))
        return out

    def advance(self, s: State, token: int, ctx: Context) -> State:
        """The state after emitting `token`; ValueError if the grammar does not allow it."""
        gnode, snode = self._name_nodes(s)
        g = ctx.gtrie.children[gnode].get(token, -1) if gnode >= 0 else -1
        n = ctx.strie.children[snode].get(token, -1) if snode >= 0 else -1
        if g >= 0 or n >= 0:
            return State(NAME, s.stack, gnode=g, snode=n)
        base = self._complete(s, ctx) if s.phase == NAME else s
        for t, nxt in self._struct_moves(base) if base is not None else []:
            if t == token:
                return nxt
        raise ValueError(f"token {self.id_to_token[token]!r} not allowed in {s}")

    def render(self, ids: list[int]) -> tuple[str, list[tuple[int, int]]]:
        """Canonical text of a type's token ids (EOS excluded) and each token's [start, end) span in it.
        Separators own their spaces (`, `, ` | `), so the spans partition the text."""
        parts: list[str] = []
        spans: list[tuple[int, int]] = []
        pos = 0
        for i in ids:
            text = ", " if i == self.comma else " | " if i == self.bar else self.id_to_token[i]
            parts.append(text)
            spans.append((pos, pos + len(text)))
            pos += len(text)
        return "".join(parts), spans
