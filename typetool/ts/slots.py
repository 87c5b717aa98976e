"""Stage 3a for TypeScript, type slots: every place in a .ts/.tsx module where a type annotation can go.

Does: lists parameters of named functions, methods and arrow functions (plain, optional, rest, destructured,
parameter properties; not `this`), their return types (not constructors or setters), `let`/`const`/`var`
declarators with a plain name (not destructuring, not `for...of` heads, not those whose value is a function or
class: that function's own slots cover it, unless the declarator is annotated, `const f: Handler = (e) => ...`,
where the annotation types the function), and class fields (the same rule for function values); each with its
existing annotation, the same `Slot` type and id scheme as Python (`file::kind::scope::name`, `@N` for the N-th
function, class or declarator of the same name in one scope), and where write-back inserts `: T` (a byte offset: after
the name, after its `?` or `!`, before a default; a return type goes after the closing parenthesis; for
`x => ...` the bytes to wrap in parentheses too).
Does not: look at uses (`ts.slices`), predict, or list slots in `.d.ts` files, ambient `declare` blocks,
interfaces, type aliases, overload signatures or anonymous callbacks (contextually typed by TypeScript).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from typetool.slots import Slot, SlotKind, position
from typetool.ts.facts import (
    MODULE_SCOPE,
    Node,
    TsClass,
    TsField,
    TsFunction,
    TsModule,
    TsParam,
    TsVar,
    annotation_text,
)

FUNCTION_VALUES = frozenset({"arrow_function", "function_expression", "function", "generator_function", "class"})


@dataclass(frozen=True, slots=True)
class TsSlotSite:
    """A slot with the facts it came from and where an annotation is inserted."""

    slot: Slot
    module: TsModule
    insert_at: int  # byte offset where `: T` goes
    wrap: tuple[int, int] | None = None  # `x => ...`: wrap these bytes in parentheses before inserting
    function: TsFunction | None = None
    param: TsParam | None = None
    variable: TsVar | None = None
    field: TsField | None = None
    cls: TsClass | None = None


def _in_error(node: Node) -> bool:
    n: Node | None = node
    while n is not None:
        if n.type == "ERROR" or n.is_missing:
            return True
        n = n.parent
    return False


def _scopes(m: TsModule) -> dict[int, str]:
    """Function node id -> scope name, with `@N` for the N-th function of the same qualified name."""
    seen: Counter[str] = Counter()
    out: dict[int, str] = {}
    for fn in m.functions:
        seen[fn.qualname] += 1
        n = seen[fn.qualname]
        out[fn.node.id] = fn.qualname if n == 1 else f"{fn.qualname}@{n}"
    return out


def extract_ts_slots(m: TsModule) -> Iterator[TsSlotSite]:
    """All slots of one module: functions' params and returns, then variables, then class fields."""
    file = m.relpath
    data = m.data
    scopes = _scopes(m)
    damaged = m.parsed.tree.root_node.has_error

    def make(kind: SlotKind, scope: str, name: str, at: Node, ann: Node | None) -> Slot:
        line, col = position(at, data)
        return Slot(Slot.make_id(file, kind, scope, name), file, kind, scope, name, line, col, annotation_text(ann))

    for fn in m.functions:
        if damaged and _in_error(fn.node):
            continue
        scope = scopes[fn.node.id]
        bare = fn.params_node is not None and fn.params_node.type == "identifier"
        wrap = (fn.params_node.start_byte, fn.params_node.end_byte) if bare and fn.params_node is not None else None
        names: Counter[str] = Counter()
        for p in fn.params:
            names[p.name] += 1
            name = p.name if names[p.name] == 1 else f"{p.name}@{names[p.name]}"
            mark = next((c for c in p.node.children if not c.is_named and c.type == "?"), None)
            at = (mark or p.pattern).end_byte
            yield TsSlotSite(make(SlotKind.PARAM, scope, name, p.pattern, p.type), m, at, wrap, fn, p, cls=fn.cls)
        if fn.returns_annotatable and fn.params_node is not None:
            name_node = fn.node.child_by_field_name("name") or fn.node
            yield TsSlotSite(make(SlotKind.RETURN, scope, "return", name_node, fn.return_type), m,
                             fn.params_node.end_byte, wrap, fn, cls=fn.cls)
    per_scope: Counter[tuple[str, str]] = Counter()
    for v in m.variables:
        if (damaged and _in_error(v.node)) or _is_for_head(v.node) or (v.type is None and _is_function(v.value)):
            continue
        scope = scopes.get(v.function.node.id, v.function.qualname) if v.function is not None else MODULE_SCOPE
        per_scope[(scope, v.name)] += 1
        n = per_scope[(scope, v.name)]
        name = v.name if n == 1 else f"{v.name}@{n}"
        mark = next((c for c in v.node.children if not c.is_named and c.type == "!"), None)
        yield TsSlotSite(make(SlotKind.VARIABLE, scope, name, v.name_node, v.type), m,
                         (mark or v.name_node).end_byte, function=v.function, variable=v)
    classes: Counter[str] = Counter()
    for cls in m.classes:
        classes[cls.qualname] += 1
        if damaged and _in_error(cls.node):
            continue
        n_cls = classes[cls.qualname]
        cls_scope = cls.qualname if n_cls == 1 else f"{cls.qualname}@{n_cls}"
        fields: Counter[str] = Counter()
        for f in cls.fields:
            if f.type is None and _is_function(f.value):
                continue
            fields[f.name] += 1
            name = f.name if fields[f.name] == 1 else f"{f.name}@{fields[f.name]}"
            yield TsSlotSite(make(SlotKind.ATTRIBUTE, cls_scope, name, f.name_node, f.type), m,
                             (f.mark or f.name_node).end_byte, field=f, cls=cls)


def _is_function(value: Node | None) -> bool:
    while value is not None and value.type == "parenthesized_expression" and value.named_children:
        value = value.named_children[0]
    return value is not None and value.type in FUNCTION_VALUES


def _is_for_head(decl: Node) -> bool:
    parent = decl.parent
    grand = parent.parent if parent is not None else None
    return grand is not None and grand.type == "for_in_statement"
