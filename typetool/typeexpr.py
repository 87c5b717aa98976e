"""Type expressions as trees: parse, print, normalize, and the tree operations behind prediction sets.

Does: parses a Python annotation string (via `ast`, never `eval`) into a `TypeNode` tree; prints a tree in
PEP 604 style (`dict[str, int] | None`) or `typing` style (`Optional[Dict[str, int]]`) with holes as `?` or
`Any`; records each node's character span in the printed text, so token log-probabilities can be charged to
nodes; normalizes labels for evaluation (typing aliases to builtins, `Optional`/`Union` to sorted flat `|`,
module prefixes dropped, `Final`/`ClassVar`/`Annotated`/... unwrapped); and provides the tree operations that
prediction sets need (enumerate nodes by path, replace, keep a downward-closed node set with holes, set
containment, outer constructor, names used).

Does not: resolve names (`Foo` is just a name; whether it is imported, a class or an alias is unknown here),
check arity or kinds (`dict[int]` parses), evaluate anything, keep forward-reference quotes (`"Foo"` parses
to the name `Foo`; write-back decides where quotes are needed), or support PEP 646 star syntax (`tuple[*Ts]`).

Tree shape. A node is `name` plus `args`. Besides ordinary names (`int`, `None`, `collections.abc.Mapping`),
these names are structural: `?` a hole, `|` a union (2 or more args; `parse_type` flattens nested `|`),
`[]` a bracketed list of types (Callable's parameters; may be empty), `...` the Ellipsis, and `()` the empty
tuple in `tuple[()]`. The args of `Literal` and the metadata args of `Annotated` (all args but the first) are
values, kept verbatim as leaf names: `'a'`, `-1`, `True`, `Color.RED`, `Field(gt=0)`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Literal

__all__ = [
    "ELLIPSIS", "EMPTY_TUPLE", "HOLE", "NONE", "NodePath", "Style", "TypeNode", "TypeParseError", "contains",
    "hole_count", "is_well_formed", "names", "nodes", "normalize", "normalize_label", "outer",
    "own_char_positions", "parse_type", "partial", "replace_at", "size", "to_str", "to_str_with_spans",
]

NodePath = tuple[int, ...]
"""A node's address: the child indices from the root (the root is `()`)."""
Style = Literal["pep604", "typing"]


@dataclass(frozen=True, slots=True)
class TypeNode:
    """One node of a type expression tree; see the module docstring for the structural names."""

    name: str
    args: tuple[TypeNode, ...] = ()

    def __str__(self) -> str:
        return to_str(self)


class TypeParseError(ValueError):
    """The string is not a well-formed type expression."""


HOLE = TypeNode("?")
NONE = TypeNode("None")
ELLIPSIS = TypeNode("...")
EMPTY_TUPLE = TypeNode("()")
_STRUCTURAL = frozenset({"?", "|", "[]", "...", "()"})


def _last(name: str) -> str:
    return name.rsplit(".", 1)[-1]


def _is_value_arg(parent: TypeNode, index: int) -> bool:
    """Is `parent.args[index]` a verbatim value (a Literal value or Annotated metadata), not a type?"""
    last = _last(parent.name)
    if last == "Literal":
        return not parent.args[index].args  # a nested `Literal[...]` is a type node
    return last == "Annotated" and index > 0


# ---------------------------------------------------------------------------------------------------- parsing

_HOLE_NAME = "__typetool_hole__"
_MAX_STRING_DEPTH = 8


def _mask_holes(s: str) -> str:
    """Replace each `?` outside string literals by a reserved identifier, so that `ast` can parse holes."""
    out: list[str] = []
    quote = ""
    escaped = False
    for ch in s:
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = ""
            out.append(ch)
        elif ch in "'\"":
            quote = ch
            out.append(ch)
        else:
            out.append(f" {_HOLE_NAME} " if ch == "?" else ch)
    return "".join(out)


def parse_type(s: str) -> TypeNode:
    """Parse an annotation string into a tree; raise `TypeParseError` if it is not a type expression.

    Accepts names, dotted names, `None`, subscripts, `X | Y`, quoted (string) annotations anywhere a type may
    stand, `[...]` lists and `...` as subscript arguments, `tuple[()]`, Literal values, Annotated metadata,
    and `?` holes. Rejects calls, lambdas, arithmetic, comparisons, numbers in type position, and so on.
    """
    return _parse(s, 0)


def _parse(s: str, depth: int) -> TypeNode:
    if depth > _MAX_STRING_DEPTH:
        raise TypeParseError("string annotations nested too deeply")
    if not s.strip():
        raise TypeParseError("empty type expression")
    try:
        tree = ast.parse(_mask_holes(s).strip(), mode="eval")
        return _Converter(depth).type(tree.body)
    except TypeParseError:
        raise
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        raise TypeParseError(f"not a type expression: {s!r}") from exc


class _Converter:
    def __init__(self, depth: int) -> None:
        self.depth = depth

    def type(self, node: ast.expr, *, in_subscript: bool = False) -> TypeNode:
        if isinstance(node, ast.Name):
            return HOLE if node.id == _HOLE_NAME else TypeNode(node.id)
        if isinstance(node, ast.Attribute):
            return TypeNode(self.dotted(node))
        if isinstance(node, ast.Constant):
            if node.value is None:
                return NONE
            if isinstance(node.value, str):
                return _parse(node.value, self.depth + 1)
            if node.value is Ellipsis and in_subscript:
                return ELLIPSIS
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            members: list[TypeNode] = []
            for side in (node.left, node.right):
                member = self.type(side)
                members.extend(member.args if member.name == "|" else (member,))
            return TypeNode("|", tuple(members))
        elif isinstance(node, ast.List) and in_subscript:
            return TypeNode("[]", tuple(self.type(e) for e in node.elts))
        elif isinstance(node, ast.Subscript):
            return self.subscript(node)
        raise TypeParseError(f"not allowed in a type expression: {ast.unparse(node)!r}")

    def dotted(self, node: ast.expr) -> str:
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            raise TypeParseError(f"not a (dotted) name: {ast.unparse(node)!r}")
        parts.append(node.id)
        if _HOLE_NAME in parts:
            raise TypeParseError("a hole cannot be part of a name")
        return ".".join(reversed(parts))

    def subscript(self, node: ast.Subscript) -> TypeNode:
        name = self.dotted(node.value)
        elts = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        if not elts:
            return TypeNode(name, (EMPTY_TUPLE,))
        last = _last(name)
        if last == "Literal":
            return TypeNode(name, tuple(self.literal_value(e) for e in elts))
        if last == "Annotated":
            first = self.type(elts[0], in_subscript=True)
            return TypeNode(name, (first, *(self.metadata(e) for e in elts[1:])))
        return TypeNode(name, tuple(self.type(e, in_subscript=True) for e in elts))

    def metadata(self, node: ast.expr) -> TypeNode:
        if isinstance(node, ast.Name) and node.id == _HOLE_NAME:
            return HOLE
        return TypeNode(ast.unparse(node))

    def literal_value(self, node: ast.expr) -> TypeNode:
        if isinstance(node, ast.Constant) and node.value is not Ellipsis:
            return TypeNode(repr(node.value))
        if (isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd))
                and isinstance(node.operand, ast.Constant) and isinstance(node.operand.value, (int, float))
                and not isinstance(node.operand.value, bool)):
            sign = "-" if isinstance(node.op, ast.USub) else ""
            return TypeNode(sign + repr(node.operand.value))
        if isinstance(node, (ast.Name, ast.Attribute)):
            return self.type(node)
        if isinstance(node, ast.Subscript):
            return self.subscript(node)
        raise TypeParseError(f"not a Literal value: {ast.unparse(node)!r}")


def is_well_formed(s: str) -> bool:
    """Does `s` parse as a type expression? Syntactic only: names are not resolved, arities not checked."""
    try:
        parse_type(s)
    except TypeParseError:
        return False
    return True


# --------------------------------------------------------------------------------------------------- printing

_TYPING_NAMES = {
    "list": "List", "dict": "Dict", "set": "Set", "frozenset": "FrozenSet", "tuple": "Tuple", "type": "Type",
    "defaultdict": "DefaultDict", "deque": "Deque",
}


class _Printer:
    def __init__(self, style: Style, hole: str) -> None:
        if style not in ("pep604", "typing"):
            raise ValueError(f"unknown style {style!r}")
        self.style = style
        self.hole = hole
        self.parts: list[str] = []
        self.pos = 0
        self.spans: dict[NodePath, tuple[int, int]] = {}

    def emit(self, text: str) -> None:
        self.parts.append(text)
        self.pos += len(text)

    def unprinted(self, t: TypeNode, path: NodePath) -> None:
        for sub, _ in nodes(t):
            self.spans[path + sub] = (self.pos, self.pos)

    def seq(self, t: TypeNode, path: NodePath, indices: Iterable[int], sep: str) -> None:
        for k, i in enumerate(indices):
            if k:
                self.emit(sep)
            self.node(t.args[i], path + (i,))

    def node(self, t: TypeNode, path: NodePath) -> None:
        start = self.pos
        writing = self.hole != "?"  # printing for source code: keep the result valid there
        if t.name == "?":
            self.emit(self.hole)
        elif t.name == "|":
            nones = [i for i, a in enumerate(t.args) if a == NONE]
            if self.style == "pep604":
                self.seq(t, path, range(len(t.args)), " | ")
            elif len(t.args) == 2 and len(nones) == 1:
                self.emit("Optional[")
                self.seq(t, path, [1 - nones[0]], "")
                self.emit("]")
                self.unprinted(NONE, path + (nones[0],))
            else:
                self.emit("Union[")
                self.seq(t, path, range(len(t.args)), ", ")
                self.emit("]")
        elif t.name == "[]":
            self.emit("[")
            self.seq(t, path, range(len(t.args)), ", ")
            self.emit("]")
        elif not t.args:
            self.emit(t.name)
        elif writing and _last(t.name) == "Literal" and any(a == HOLE for a in t.args):
            self.emit(self.hole)  # `Literal[1, Any]` is invalid: the whole Literal becomes the hole
            for i, a in enumerate(t.args):
                self.unprinted(a, path + (i,))
        else:
            name = _TYPING_NAMES.get(t.name, t.name) if self.style == "typing" else t.name
            self.emit(name + "[")
            for i, arg in enumerate(t.args):
                if i:
                    self.emit(", ")
                if writing and i == 0 and arg == HOLE and _last(t.name) == "Callable":
                    self.emit("...")  # `Callable[Any, R]` is invalid; `Callable[..., R]` is the same set
                    self.spans[path + (0,)] = (self.pos - 3, self.pos)
                else:
                    self.node(arg, path + (i,))
            self.emit("]")
        self.spans[path] = (start, self.pos)


def to_str_with_spans(t: TypeNode, style: Style = "pep604",
                      hole: str = "?") -> tuple[str, dict[NodePath, tuple[int, int]]]:
    """Print `t` and give, for each node path, the `[start, end)` span of its whole subtree in the text.

    Brackets and separators (`[`, `]`, `, `, ` | `) lie inside the parent's span but outside every child's,
    so they count as the parent's own text. A node that is not printed (the `None` of `Optional[X]`) gets
    an empty span.
    """
    printer = _Printer(style, hole)
    printer.node(t, ())
    return "".join(printer.parts), printer.spans


def to_str(t: TypeNode, style: Style = "pep604", hole: str = "?") -> str:
    """Canonical text: `dict[str, list[int]]`, `int | None`, `Callable[[int], str]`.

    `style="typing"` targets Pythons before 3.9/3.10: `Optional[X]`, `Union[A, B]`, and `List`, `Dict`, `Set`,
    `FrozenSet`, `Tuple`, `Type`, `DefaultDict`, `Deque` for *subscripted* builtins (a bare `list` is valid
    everywhere and stays). Holes print as `hole`; with any other hole text than `?` (say `Any`, for writing
    back), a holed Callable parameter list prints as `...` and a Literal with a holed value as the hole.
    """
    return to_str_with_spans(t, style, hole)[0]


def own_char_positions(t: TypeNode) -> dict[NodePath, list[int]]:
    """For each node, the positions of `to_str(t)` that spell its own text: its span minus its children's.

    The positions of all nodes partition `range(len(to_str(t)))`.
    """
    _, spans = to_str_with_spans(t)
    own: dict[NodePath, list[int]] = {}
    for path, node in nodes(t):
        start, end = spans[path]
        taken: set[int] = set()
        for i in range(len(node.args)):
            child_start, child_end = spans[path + (i,)]
            taken.update(range(child_start, child_end))
        own[path] = [p for p in range(start, end) if p not in taken]
    return own


# ---------------------------------------------------------------------------------------------- normalization

_ALIASES = {
    "List": "list", "Dict": "dict", "Set": "set", "FrozenSet": "frozenset", "Tuple": "tuple", "Type": "type",
    "DefaultDict": "defaultdict", "Deque": "deque", "Text": "str", "NoneType": "None",
}
_WRAPPERS = frozenset({"Final", "ClassVar", "Annotated", "Required", "NotRequired", "ReadOnly"})
_DROPPED_LABELS = frozenset({"Final", "ClassVar", "TypeAlias"})


def _canonical_name(name: str) -> str:
    parts = name.split(".")
    if len(parts) > 1 and parts[-2] == "abc" and parts[-1] == "Set":
        return "AbstractSet"  # collections.abc.Set is typing.AbstractSet, not the builtin set
    return _ALIASES.get(parts[-1], parts[-1])


def _union_key(t: TypeNode) -> tuple[bool, str]:
    return (t == NONE, to_str(t))


def _make_union(members: Iterable[TypeNode]) -> TypeNode:
    flat: list[TypeNode] = []
    for m in members:
        for x in m.args if m.name == "|" else (m,):
            if x not in flat:
                flat.append(x)
    flat.sort(key=_union_key)
    return flat[0] if len(flat) == 1 else TypeNode("|", tuple(flat))


def normalize(t: TypeNode) -> TypeNode:
    """The evaluation normal form (docs: evaluation.md). Idempotent.

    Module prefixes dropped (`typing.List` -> `List`, `torch.Tensor` -> `Tensor`); typing aliases to
    builtins (`List` -> `list`, `DefaultDict` -> `defaultdict`, `Text` -> `str`; `collections.abc.Set` ->
    `AbstractSet`); `Optional[X]` -> `X | None`; `Union[...]` -> `|`; unions flattened, deduplicated, sorted
    by text with `None` last, and a one-member union replaced by its member; `Final[X]`, `ClassVar[X]`,
    `Annotated[X, ...]`, `Required[X]`, `NotRequired[X]`, `ReadOnly[X]` -> X; nested Literals flattened and
    deduplicated (values keep their order and text). Holes, `...`, `()` stay.
    """
    if t.name in ("?", "...", "()"):
        return t
    if t.name == "[]":
        return TypeNode("[]", tuple(normalize(a) for a in t.args))
    if t.name == "|":
        return _make_union(normalize(a) for a in t.args)
    name = _canonical_name(t.name)
    if not t.args:
        return TypeNode(name)
    if name == "Literal":
        values: list[TypeNode] = []
        for i, arg in enumerate(t.args):
            inner = arg if _is_value_arg(t, i) else normalize(arg)
            for v in inner.args if inner.name == "Literal" else (inner,):
                if v not in values:
                    values.append(v)
        return TypeNode("Literal", tuple(values))
    if name in _WRAPPERS:
        return normalize(t.args[0])
    if name == "Optional":
        return _make_union([*(normalize(a) for a in t.args), NONE])
    if name == "Union":
        return _make_union(normalize(a) for a in t.args)
    return TypeNode(name, tuple(normalize(a) for a in t.args))


def normalize_label(s: str) -> str | None:
    """Parse, normalize and print an annotation from source. None when it does not parse, contains a hole,
    or is not a training target (a bare `Final`, `ClassVar` or `TypeAlias`)."""
    try:
        t = normalize(parse_type(s))
    except TypeParseError:
        return None
    if (t.name in _DROPPED_LABELS and not t.args) or hole_count(t):
        return None
    return to_str(t)


# ----------------------------------------------------------------------------------------- tree operations

def nodes(t: TypeNode) -> list[tuple[NodePath, TypeNode]]:
    """All nodes in pre-order, each with its path."""
    out: list[tuple[NodePath, TypeNode]] = []

    def walk(n: TypeNode, path: NodePath) -> None:
        out.append((path, n))
        for i, arg in enumerate(n.args):
            walk(arg, path + (i,))

    walk(t, ())
    return out


def _iter_nodes(t: TypeNode) -> Iterator[TypeNode]:
    yield t
    for arg in t.args:
        yield from _iter_nodes(arg)


def replace_at(t: TypeNode, path: NodePath, new: TypeNode) -> TypeNode:
    """`t` with the subtree at `path` replaced by `new`. Raises IndexError for a path not in `t`."""
    if not path:
        return new
    i = path[0]
    if not 0 <= i < len(t.args):
        raise IndexError(f"no child {i} under {t.name!r}")
    return TypeNode(t.name, t.args[:i] + (replace_at(t.args[i], path[1:], new),) + t.args[i + 1:])


def partial(t: TypeNode, keep: AbstractSet[NodePath]) -> TypeNode:
    """The partial type that keeps the nodes in `keep` and puts a hole in place of every removed subtree.

    `keep` must be downward closed (with each node, its parent) and name paths of `t`; else ValueError.
    An empty `keep` gives a lone hole: the empty prediction.
    """
    paths = {p for p, _ in nodes(t)}
    for p in keep:
        if p not in paths:
            raise ValueError(f"path {p} is not in the type")
        if p and p[:-1] not in keep:
            raise ValueError(f"keep is not downward closed: {p} is kept but its parent is not")

    def build(n: TypeNode, path: NodePath) -> TypeNode:
        if path not in keep:
            return HOLE
        return TypeNode(n.name, tuple(build(a, path + (i,)) for i, a in enumerate(n.args)))

    return build(t, ())


def contains(partial_type: TypeNode, full: TypeNode) -> bool:
    """Is `full` in the set of `partial_type`? Every kept node must agree, and a hole matches any subtree.

    Union members are matched as a set (in any order, one to one), so `int | ?` contains `None | int`; a hole
    stands for one subtree, so `int | ?` does not contain `int | str | None`. Normalize both sides first.
    """
    if partial_type.name == "?":
        return True
    if partial_type.name != full.name or len(partial_type.args) != len(full.args):
        return False
    if partial_type.name == "|":
        kept = [a for a in partial_type.args if a.name != "?"]  # holes take whatever is left over
        return _match_members(kept, list(full.args))
    return all(contains(p, f) for p, f in zip(partial_type.args, full.args, strict=True))


def _match_members(kept: list[TypeNode], pool: list[TypeNode]) -> bool:
    if not kept:
        return True
    return any(contains(kept[0], f) and _match_members(kept[1:], pool[:i] + pool[i + 1:])
               for i, f in enumerate(pool))


def hole_count(t: TypeNode) -> int:
    """Number of holes."""
    return sum(1 for n in _iter_nodes(t) if n.name == "?")


def size(t: TypeNode) -> int:
    """Number of nodes, holes and structural nodes included."""
    return sum(1 for _ in _iter_nodes(t))


def outer(t: TypeNode) -> TypeNode:
    """The outer constructor only, for "match up to parametric type": `dict[str, int]` -> `dict`.

    A union becomes the union of its members' outer constructors (deduplicated, sorted, `None` last), so
    unions compare by the set of outer names: `list[int] | None` -> `list | None`.
    """
    if t.name == "|":
        return _make_union(outer(a) for a in t.args)
    return TypeNode(t.name)


def names(t: TypeNode) -> set[str]:
    """All type names used (`Literal` included); not structural names, holes, or Literal/metadata values."""
    found: set[str] = set()

    def walk(n: TypeNode) -> None:
        if n.name not in _STRUCTURAL:
            found.add(n.name)
        for i, arg in enumerate(n.args):
            if not _is_value_arg(n, i):
                walk(arg)

    walk(t)
    return found
