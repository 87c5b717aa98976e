"""TypeScript type annotations as the shared bracket-form `TypeNode` trees: parse, normalize, print back as TS.

Does: parses TS type text with tree-sitter (in a type position, `let __t: <text>`) into the same tree form the
Python side uses, so the model, its grammar and the prediction-set code work unchanged; normalizes trees for
training targets and evaluation labels; prints a (possibly partial) tree back as TypeScript source.

Tree conventions (TS -> tree, shown as `typeexpr.to_str` prints it):
  keyword types `string number boolean any unknown void undefined null never object bigint symbol`, `this`,
    and type references (`Foo`, `ns.Foo`, kept dotted) are plain names;
  `T[]` and `Array<T>` -> `Array[T]`; `readonly T[]` and `ReadonlyArray<T>` -> `ReadonlyArray[T]`;
  `G<A, B>` -> `G[A, B]`; parentheses are unwrapped; `A | B` -> a union node `|` (flattened);
  `A & B` -> `Intersection[A, B]` (flattened); `[A, B]` and `readonly [A, B]` -> `tuple[A, B]`, `[]` ->
    `tuple[()]`; tuple member names are dropped (`[x: A]` -> `tuple[A]`);
  `(a: A, b?: B) => R` -> `Callable[[A, B], R]` (optional parameters keep their type, a `this` parameter is
    dropped, an untyped parameter is `any`); any rest parameter makes it `Callable[..., R]` (any arguments);
  literal types `'a'`, `1`, `-1.5`, `true` -> `Literal['a']`, `Literal[1]`, `Literal[-1.5]`, `Literal[true]`:
    one value per Literal node, strings as Python `repr` of the decoded value, numbers as the Python `repr`
    of their value (`0x10` -> `16`, `1e3` -> `1000`); a union of literals is a union of Literal nodes.
Does not (raises `TypeParseError`; the corpus counts such labels as unreachable misses): object type literals
`{ a: A }` (and `{}`), mapped, conditional and `infer` types, `keyof`, `typeof x`, indexed access `T[K]`,
template literal types, type predicates `x is T` and `asserts x`, constructor types `new () => T`, generic
function types `<T>(x: T) => T`, `unique symbol`, bigint literals `1n`, tuples with optional (`[A, B?]`) or
rest (`[A, ...B[]]`) elements, and syntax errors. Names are not resolved: a TS type that happens to be called
`Callable`, `Intersection`, `Literal` or `tuple` reads as the structural form of the same name.

Normal form (`normalize_ts`): module/namespace prefixes dropped (`ns.Foo` -> `Foo`), but no Python alias
mapping (`Set`, `Map`, `Record` stay); unions flattened, deduplicated and sorted by text with `null` then
`undefined` last; a multi-value `Literal[a, b]` split into `Literal[a] | Literal[b]`; intersections flattened,
deduplicated and sorted. `normalize_ts_label` prints it with `typeexpr.to_str`: the training target and label.
"""

from __future__ import annotations

import ast
import functools
import math
from collections.abc import Iterable

import tree_sitter as ts

from typetool.ts.parse import typescript_language
from typetool.typeexpr import ELLIPSIS, EMPTY_TUPLE, HOLE, TypeNode, TypeParseError, parse_type, to_str

__all__ = ["normalize_ts", "normalize_ts_label", "parse_ts_type", "to_ts"]

_MAX_DEPTH = 100
_PREFIX = "let __t: "
_NULLISH = {"null": 1, "undefined": 2}
_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "0": "\0"}
_SHORT_ESCAPES = {v: "\\" + k for k, v in _ESCAPES.items() if k != "0"}


# ---------------------------------------------------------------------------------------------------- parsing

@functools.cache
def _parser() -> ts.Parser:
    return ts.Parser(typescript_language())


def _kids(node: ts.Node) -> list[ts.Node]:
    return [c for c in node.named_children if c.type != "comment"]


def _text(node: ts.Node) -> str:
    return (node.text or b"").decode("utf-8")


def parse_ts_type(text: str) -> TypeNode:
    """Parse TypeScript type text (`Map<string, number[]> | null`) into a tree; see the module docstring."""
    try:
        source = f"{_PREFIX}{text}\n;".encode()
    except UnicodeEncodeError as exc:
        raise TypeParseError(f"not encodable: {text!r}") from exc
    root = _parser().parse(source).root_node
    if root.has_error:
        raise TypeParseError(f"not a TypeScript type: {text!r}")
    decls = _kids(root)
    declarators = _kids(decls[0]) if len(decls) == 1 and decls[0].type == "lexical_declaration" else []
    annotation = declarators[0].child_by_field_name("type") if len(declarators) == 1 else None
    if annotation is None or declarators[0].child_by_field_name("value") is not None or len(_kids(annotation)) != 1:
        raise TypeParseError(f"not a single TypeScript type: {text!r}")
    return _convert(_kids(annotation)[0], 0)


def _convert(node: ts.Node, depth: int) -> TypeNode:
    if depth > _MAX_DEPTH:
        raise TypeParseError("type nested too deeply")
    kind, kids = node.type, _kids(node)
    sub = functools.partial(_convert, depth=depth + 1)
    if kind in ("type_identifier", "this_type"):
        return TypeNode(_text(node))
    if kind == "predefined_type":
        name = " ".join(_text(node).split())
        if name == "unique symbol":
            raise TypeParseError("no bracket form for TypeScript `unique symbol`")
        return TypeNode(name)
    if kind == "nested_type_identifier":
        return TypeNode(_dotted(node))
    if kind == "generic_type":
        head, targs = node.child_by_field_name("name"), node.child_by_field_name("type_arguments")
        if head is None or targs is None:
            raise TypeParseError(f"malformed generic type: {_text(node)!r}")
        return TypeNode(_dotted(head), tuple(sub(a) for a in _kids(targs)))
    if kind == "array_type":
        return TypeNode("Array", (sub(kids[0]),))
    if kind == "readonly_type":
        return _readonly(kids[0], depth + 1)
    if kind == "parenthesized_type":
        return sub(kids[0])
    if kind in ("union_type", "intersection_type"):
        return _combine(kind, [sub(k) for k in _members(node)])
    if kind == "tuple_type":
        return TypeNode("tuple", tuple(_tuple_member(k, depth + 1) for k in kids) or (EMPTY_TUPLE,))
    if kind == "function_type":
        return _function(node, depth)
    if kind == "literal_type":
        return _literal(kids[0])
    raise TypeParseError(f"no bracket form for TypeScript {kind}: {_text(node)!r}")


def _members(node: ts.Node) -> list[ts.Node]:
    """The members of a union (intersection) chain, without recursion: tree-sitter nests `A | B | C` leftwards."""
    out: list[ts.Node] = []
    stack = [node]
    while stack:
        n = stack.pop()
        if n.type == node.type:
            stack.extend(reversed(_kids(n)))
        else:
            out.append(n)
    return out


def _combine(kind: str, members: list[TypeNode]) -> TypeNode:
    label = "|" if kind == "union_type" else "Intersection"
    flat = tuple(a for m in members for a in (m.args if m.name == label else (m,)))
    return flat[0] if len(flat) == 1 else TypeNode(label, flat)


def _readonly(node: ts.Node, depth: int) -> TypeNode:
    """`readonly` applied to `node`. tree-sitter reads `readonly A[] | B` as `readonly (A[] | B)`; TypeScript
    binds `readonly` tighter than `|` and `&`, so it goes to the leftmost member."""
    kids = _kids(node)
    if node.type in ("union_type", "intersection_type"):
        first, *others = _members(node)
        return _combine(node.type, [_readonly(first, depth + 1), *(_convert(k, depth + 1) for k in others)])
    if node.type == "array_type":
        return TypeNode("ReadonlyArray", (_convert(kids[0], depth + 1),))
    if node.type == "tuple_type":
        return _convert(node, depth)
    raise TypeParseError(f"no bracket form for `readonly` on {_text(node)!r}")


def _dotted(node: ts.Node) -> str:
    if node.type in ("nested_type_identifier", "nested_identifier"):
        return ".".join(_dotted(k) for k in _kids(node))
    return _text(node)


def _tuple_member(node: ts.Node, depth: int) -> TypeNode:
    if node.type == "required_parameter":  # a named member `[x: A]`
        pattern, annotation = node.child_by_field_name("name"), node.child_by_field_name("type")
        if pattern is None or pattern.type != "identifier" or annotation is None:
            raise TypeParseError(f"no bracket form for the tuple member {_text(node)!r}")
        return _convert(_kids(annotation)[0], depth)
    if node.type in ("optional_type", "rest_type", "optional_parameter"):
        raise TypeParseError(f"no bracket form for the optional or rest tuple member {_text(node)!r}")
    return _convert(node, depth)


def _function(node: ts.Node, depth: int) -> TypeNode:
    params, returns = node.child_by_field_name("parameters"), node.child_by_field_name("return_type")
    if node.child_by_field_name("type_parameters") is not None or params is None or returns is None:
        raise TypeParseError(f"no bracket form for the generic or malformed function type {_text(node)!r}")
    types: list[TypeNode] = []
    rest = False
    for param in _kids(params):
        pattern, annotation = param.child_by_field_name("pattern"), param.child_by_field_name("type")
        if pattern is not None and pattern.type == "this":
            continue
        rest = rest or (pattern is not None and pattern.type == "rest_pattern")
        types.append(_convert(_kids(annotation)[0], depth + 1) if annotation is not None else TypeNode("any"))
    first = ELLIPSIS if rest else TypeNode("[]", tuple(types))
    return TypeNode("Callable", (first, _convert(returns, depth + 1)))


def _literal(node: ts.Node) -> TypeNode:
    kind = node.type
    if kind in ("null", "undefined"):
        return TypeNode(kind)
    if kind in ("true", "false"):
        value = kind
    elif kind == "string":
        try:
            value = repr("".join(_unescape(_text(k)) if k.type == "escape_sequence" else _text(k) for k in _kids(node)))
        except ValueError as exc:  # an escape beyond U+10FFFF
            raise TypeParseError(f"bad escape in {_text(node)!r}") from exc
    elif kind == "number":
        value = _number(_text(node))
    elif kind == "unary_expression" and _text(node).startswith("-") and _kids(node)[-1].type == "number":
        value = "-" + _number(_text(_kids(node)[-1]))
    else:
        raise TypeParseError(f"no bracket form for the literal type {_text(node)!r}")
    return TypeNode("Literal", (TypeNode(value),))


def _number(text: str) -> str:
    """A numeric literal's value as Python's `repr` (TS numbers are floats: integral ones print as ints)."""
    try:
        value = ast.literal_eval(text.replace("_", ""))
    except (ValueError, SyntaxError) as exc:
        raise TypeParseError(f"no bracket form for the number literal {text!r}") from exc
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        raise TypeParseError(f"no bracket form for the number literal {text!r}")
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        value = int(value)
    return repr(value)


def _unescape(esc: str) -> str:
    """The character(s) a JavaScript string escape sequence stands for."""
    body = esc[1:]
    if body[:1] in ("u", "x") and len(body) > 1:
        return chr(int(body[1:].strip("{}"), 16))
    if body[:1] in "\r\n\u2028\u2029":
        return ""  # a line continuation
    return _ESCAPES.get(body, body)


# ---------------------------------------------------------------------------------------------- normalization

def _ts_union(members: Iterable[TypeNode]) -> TypeNode:
    flat: list[TypeNode] = []
    for m in members:
        for x in m.args if m.name == "|" else (m,):
            if x not in flat:
                flat.append(x)
    flat.sort(key=lambda x: (_NULLISH.get(x.name, 0), to_str(x)))
    return flat[0] if len(flat) == 1 else TypeNode("|", tuple(flat))


def normalize_ts(t: TypeNode) -> TypeNode:
    """The TypeScript evaluation normal form (see the module docstring). Idempotent; holes, `...`, `()` stay."""
    if t.name in ("?", "...", "()"):
        return t
    if t.name == "[]":
        return TypeNode("[]", tuple(normalize_ts(a) for a in t.args))
    if t.name == "|":
        return _ts_union(normalize_ts(a) for a in t.args)
    name = t.name.rsplit(".", 1)[-1]
    if name == "Literal" and t.args:
        values: list[TypeNode] = []
        for v in (v for a in t.args for v in (a.args if a.name.rsplit(".", 1)[-1] == "Literal" else (a,))):
            if v not in values:
                values.append(v)
        return _ts_union(TypeNode("Literal", (v,)) for v in values)
    if name == "Intersection" and t.args:
        parts: list[TypeNode] = []
        for p in (normalize_ts(a) for a in t.args):
            parts.extend(x for x in (p.args if p.name == "Intersection" else (p,)) if x not in parts)
        parts.sort(key=to_str)
        return parts[0] if len(parts) == 1 else TypeNode("Intersection", tuple(parts))
    return TypeNode(name, tuple(normalize_ts(a) for a in t.args))


def normalize_ts_label(text: str) -> str | None:
    """Parse, normalize and print TS type text in the shared bracket form (`Promise[Array[string]] | null`).

    None when it has no bracket form, or when the printed form would not parse back to the same tree with
    `typeexpr.parse_type` (a name such as `$Foo` that is not a Python identifier)."""
    try:
        t = normalize_ts(parse_ts_type(text))
        label = to_str(t)
        return label if parse_type(label) == t else None
    except TypeParseError:
        return None


# --------------------------------------------------------------------------------------------------- printing

_FUNC, _UNION, _INTER, _PREFIX_OP, _PRIMARY = range(5)  # TS type precedence, loosest first
_READONLY = _FUNC  # tree-sitter misreads an unparenthesized `readonly A[] | B`: parenthesize it in `|`, `&`


def to_ts(t: TypeNode, hole: str = "any") -> str:
    """Print a (possibly partial) tree as TypeScript source, holes as `hole`: `Array[A | B]` -> `(A | B)[]`,
    `Callable[[A], R]` -> `(arg0: A) => R`, a holed or `...` parameter list -> `(...args: any[]) => R`,
    `tuple[()]` -> `[]`, `Intersection[A, B]` -> `A & B`, `Literal['a', 1]` -> `'a' | 1`."""
    return _print(t, hole)[0]


def _at(t: TypeNode, hole: str, level: int) -> str:
    text, own = _print(t, hole)
    return f"({text})" if own < level else text


def _print(t: TypeNode, hole: str) -> tuple[str, int]:
    """The text and its precedence level."""
    args = t.args
    if t.name in ("?", "..."):
        return hole, _PRIMARY
    if t.name == "()":
        return "[]", _PRIMARY
    if t.name == "|":
        return " | ".join(_at(a, hole, _UNION) for a in args), _UNION  # `|` is associative
    if t.name == "Intersection" and args:
        return " & ".join(_at(a, hole, _PREFIX_OP) for a in args), _INTER if len(args) > 1 else _PRIMARY
    if t.name == "Literal" and args:
        values = [_at(v, hole, _INTER) if v.args or v == HOLE else _ts_value(v.name) for v in args]
        negative = values[0].startswith("-")
        return " | ".join(values), _UNION if len(values) > 1 else _PREFIX_OP if negative else _PRIMARY
    if t.name in ("[]", "tuple") and args:
        members = () if args == (EMPTY_TUPLE,) else args
        return "[" + ", ".join(_at(a, hole, _FUNC) for a in members) + "]", _PRIMARY
    if t.name == "Array" and len(args) == 1:
        return _at(args[0], hole, _PRIMARY) + "[]", _PRIMARY
    if t.name == "ReadonlyArray" and len(args) == 1:
        return "readonly " + _at(args[0], hole, _PRIMARY) + "[]", _READONLY
    if t.name == "Callable" and len(args) == 2:
        if args[0].name == "[]":
            params = ", ".join(f"arg{i}: {_at(a, hole, _FUNC)}" for i, a in enumerate(args[0].args))
        else:
            params = "...args: any[]"
        return f"({params}) => {_at(args[1], hole, _FUNC)}", _FUNC
    if args:
        return t.name + "<" + ", ".join(_at(a, hole, _FUNC) for a in args) + ">", _PRIMARY
    return t.name, _PRIMARY


def _ts_value(value: str) -> str:
    """A Literal value as TS: Python string reprs become single-quoted JS strings; others stay as written."""
    try:
        decoded = ast.literal_eval(value) if value[:1] in ("'", '"') else None
    except (ValueError, SyntaxError):
        decoded = None
    if not isinstance(decoded, str):
        return value
    out = []
    for ch in decoded:
        if ch in "\\'":
            out.append("\\" + ch)
        elif ch in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[ch])
        elif ord(ch) < 0x20 or ch in "\u2028\u2029\x7f":
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "'" + "".join(out) + "'"
