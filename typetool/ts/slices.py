"""Stage 3b for TypeScript, usage slices: the evidence about each TypeScript slot, as the shared `UsageSlice`.

Does: for a `TsSlotSite`, collects how the value is defined (defaults, initializers, assignments; static
evidence: literals, `new C()`, `as T`, calls to project functions with a declared return type), what is done
with it (property accesses, method calls, optional chaining, indexing, calls it flows into with the position and
the callee's parameter annotation when the project has one, operators, comparisons, `typeof`/`instanceof`
narrowing, spreads, awaits, `for...of`, template literals, returns), one hop across calls (callers' arguments for
a parameter, what callers do with a function's result), the enclosing signature and class, and the names in
scope that could be its type (type parameters, the module's classes/interfaces/aliases/enums, imported names).
The result renders with the same `render_slice` as Python, tagged `<ts>`.
Does not: predict, or read the slot's own annotation anywhere (not in the signature, not through a recursive call
that passes the parameter back or returns the function's own result). With `blind=True`, used for the corpus, no
annotation of the project is read at all, as for stripped code: code quoted in a slice is shown without its type
annotations, type arguments and `as`/`satisfies` types, and the names in scope are ordered by their uses as
values only (in either mode, so that annotated and stripped code give the same order).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from typetool.diagnostics import Diagnostic
from typetool.slices import MAX_ITEM_CHARS, MAX_ITEMS, MAX_SCOPE_NAMES, UsageSlice, cap, short
from typetool.slots import SlotKind
from typetool.treesitter import text
from typetool.ts.facts import (
    CLASS_NODES,
    FUNCTION_NODES,
    Node,
    TsClass,
    TsFunction,
    TsModule,
    annotation_text,
    names_under,
    references,
)
from typetool.ts.project import TsProject
from typetool.ts.slots import TsSlotSite

_COMPARE = frozenset({"===", "!==", "==", "!=", "<", ">", "<=", ">="})
# what stripping the types from code removes (blind slices)
_TYPE_NODES = frozenset({"type_annotation", "type_arguments", "type_parameters", "type_predicate_annotation",
                         "asserts_annotation", "omitting_type_annotation", "adding_type_annotation",
                         "opting_type_annotation"})

if TYPE_CHECKING:
    from typetool.slots import Annotation


def untyped(node: Node | None, limit: int = MAX_ITEM_CHARS) -> str:
    """`short`, with the code's type annotations, type arguments and `as`/`satisfies` types cut out (as in stripped
    code). Only the first few hundred bytes of the node are looked at."""
    if node is None:
        return ""
    base, data = node.start_byte, node.text or b""
    budget = 4 * limit + 64
    cuts: list[tuple[int, int]] = []
    removed = 0
    stack = [node]
    while stack:
        n = stack.pop()
        if n.start_byte - base - removed > budget:
            break  # preorder is document order: everything left starts later
        t = n.type
        if t in _TYPE_NODES:
            cuts.append((n.start_byte - base, n.end_byte - base))
            removed += n.end_byte - n.start_byte
            continue
        kids = n.named_children
        if t in ("as_expression", "satisfies_expression") and kids:
            cuts.append((kids[0].end_byte - base, n.end_byte - base))
            removed += n.end_byte - kids[0].end_byte
            kids = kids[:1]
        stack.extend(reversed(kids))
    if not cuts:
        return short(node, limit)
    parts, at = [], 0
    for start, end in sorted(cuts):
        if start >= at:
            parts.append(data[at:start])
            at = end
    parts.append(data[at:])
    s = " ".join(b"".join(parts).decode("utf-8", "replace").split())
    return s if len(s) <= limit else s[: limit - 1] + "…"


def literal_kind(node: Node | None) -> str | None:
    """A type read off an expression without a model."""
    if node is None:
        return None
    t = node.type
    if t == "parenthesized_expression" and node.named_children:
        return literal_kind(node.named_children[0])
    if t == "number":
        return "bigint" if text(node).endswith("n") else "number"
    if t in ("string", "template_string"):
        return "string"
    if t in ("true", "false"):
        return "boolean"
    if t == "null":
        return "null"
    if t == "undefined" or (t == "identifier" and text(node) == "undefined"):
        return "undefined"
    if t == "regex":
        return "RegExp"
    if t == "array":
        kinds = sorted({k for k in (literal_kind(c) for c in node.named_children) if k})
        return "array" + (f" of {'/'.join(kinds)}" if kinds else " (empty)" if not node.named_children else "")
    if t == "object":
        keys = [_member_key(c) for c in node.named_children if c.type != "comment"][:4]
        return "object {" + ", ".join(keys) + "}"
    if t in FUNCTION_NODES:
        return "function"
    if t in CLASS_NODES:
        return "class"
    if t in ("jsx_element", "jsx_self_closing_element", "jsx_fragment"):
        return "JSX element"
    if t == "unary_expression":
        op = text(node.children[0])
        return {"!": "boolean", "typeof": "string", "-": "number", "+": "number", "void": "undefined"}.get(op)
    if t == "binary_expression":
        op = text(node.child_by_field_name("operator"))
        if op in _COMPARE or op in ("instanceof", "in"):
            return "boolean"
    return None


def _member_key(member: Node) -> str:
    """How a member of an object literal is listed: its key, `...x` for a spread."""
    if member.type == "spread_element":
        return "..." + short(member.named_children[0] if member.named_children else None, 12)
    key = member.child_by_field_name("key") or member.child_by_field_name("name")
    return " ".join(text(key if key is not None else member).split())[:16]


@dataclass
class _ClassUses:
    """`this.<name>` member expressions in the functions of one class, by name (one walk per class)."""

    by_name: dict[str, list[tuple[TsFunction, Node]]]


class TsSlicer:
    """Slices for the slots of a `TsProject`."""

    def __init__(self, project: TsProject, blind: bool = False, code_imports_only: bool = False) -> None:
        """`blind`: slice as if the code had no annotations (the corpus's and evaluation's slicer).
        `code_imports_only`: the names in scope leave out the imports that only types use (annotations, type
        arguments, `import` statements), as if the code had never been annotated and so never imported them
        (the strict protocol); a use in code, a class's `extends`/`implements`, an interface or type alias
        declaration, or an `export` counts."""
        self.project = project
        self.blind = blind
        self.code_imports_only = code_imports_only
        self._names: dict[tuple[str, int], tuple[str, ...]] = {}
        # relpath -> the module's type-like names, and their positions
        self._candidates: dict[str, tuple[list[str], dict[str, int]]] = {}
        self._returns: dict[int, list[Node]] = {}  # id(TsFunction) -> its returned values
        self._class_uses: dict[int, _ClassUses] = {}  # id(TsClass) -> its `this.x` uses
        # id(TsModule) -> (the module, id(TsClass) -> the class's functions with a body, in the module's order)
        self._methods: dict[int, tuple[TsModule, dict[int, list[TsFunction]]]] = {}
        self._contexts: dict[int, list[str]] = {}  # id(TsFunction) -> its context items
        self._hidden: Node | None = None  # the annotation of the slot being sliced: never read

    def ann(self, node: Node | None) -> str | None:
        """An annotation's text, unless the slicer is blind or it is the current slot's own annotation."""
        if self.blind or node is None or (self._hidden is not None and node == self._hidden):
            return None
        return annotation_text(node)

    def code(self, node: Node | None, limit: int = MAX_ITEM_CHARS) -> str:
        """A piece of code as quoted in a slice (without its types when blind)."""
        return untyped(node, limit) if self.blind else short(node, limit)

    # -- one expression ------------------------------------------------------------------------------------

    def evidence_of_value(self, m: TsModule, value: Node | None, what: str = "") -> list[str]:
        if value is None:
            return []
        lk = literal_kind(value)
        if lk is not None:
            return [f"{what}literal {lk}"]
        t = value.type
        if t == "parenthesized_expression" and value.named_children:
            return self.evidence_of_value(m, value.named_children[0], what)
        if t in ("as_expression", "satisfies_expression", "non_null_expression") and value.named_children:
            kids = value.named_children
            if self.blind or t == "non_null_expression":  # stripped code: what is cast
                return self.evidence_of_value(m, kids[0], what)
            return [f"{what}{'as' if t == 'as_expression' else 'satisfies'} {short(kids[-1], 40)}"]
        if t == "await_expression" and value.named_children:
            return [f"{what}await {e}" for e in self.evidence_of_value(m, value.named_children[0])][:1] or \
                [f"{what}await"]
        if t == "new_expression":
            ctor = value.child_by_field_name("constructor")
            return [f"{what}new {self.code(ctor, 30)}"]
        if t == "call_expression":
            target = self.project.target_of_call(m, value)
            if isinstance(target, TsFunction):
                rt = self.ann(target.return_type)
                if rt is not None:
                    return [f"{what}{target.name}() -> {rt[:40]}"]
                rets = self._return_values(target)[:2]
                if rets:
                    return [f"{what}{target.name}() returns " + " | ".join(self.code(r, 30) for r in rets)]
            func = value.child_by_field_name("function")
            if func is not None and func.type == "member_expression":
                func = func.child_by_field_name("property")
            name = text(func) if func is not None and func.type in ("identifier", "property_identifier") else ""
            if name in ("String", "Number", "Boolean", "BigInt", "Symbol"):
                return [f"{what}ctor {name.lower()}"]
        return []

    def context_of(self, m: TsModule, subject: Node) -> tuple[str, str] | None:
        """(section, item) describing one occurrence of the value by its syntactic context."""
        parent = subject.parent
        if parent is None:
            return None
        pt = parent.type
        if pt == "non_null_expression" or pt == "parenthesized_expression":
            found = self.context_of(m, parent)
            return (found[0], ("!" if pt == "non_null_expression" else "") + found[1]) if found else None
        if pt == "member_expression" and parent.child_by_field_name("object") == subject:
            prop = text(parent.child_by_field_name("property"))
            dot = "?." if any(c.type == "?." for c in parent.children) else "."
            gp = parent.parent
            if gp is not None and gp.type == "call_expression" and gp.child_by_field_name("function") == parent:
                args = gp.child_by_field_name("arguments")
                return "uses", f"{dot}{prop}({self._args_summary(args)})"
            return "uses", f"{dot}{prop}"
        if pt == "subscript_expression" and parent.child_by_field_name("object") == subject:
            index = parent.child_by_field_name("index")
            lk = literal_kind(index)
            return "uses", f"[{lk or self.code(index, 20)}]"
        if pt == "call_expression" and parent.child_by_field_name("function") == subject:
            return "uses", f"called({self._args_summary(parent.child_by_field_name('arguments'))})"
        if pt == "arguments" and parent.parent is not None:
            call = parent.parent
            pos = [c.id for c in parent.named_children if c.type != "comment"].index(subject.id)
            func = call.child_by_field_name("function") or call.child_by_field_name("constructor")
            name = ("new " if call.type == "new_expression" else "") + self.code(func, 32)
            target = self.project.target_of_call(m, call)
            note = ""
            if isinstance(target, TsFunction) and pos < len(target.params):
                p = target.params[pos]
                pa = self.ann(p.type)
                note = f": {pa[:32]}" if pa else f" {p.name}"
            return "calls", f"{name}(#{pos}{note})"
        if pt == "spread_element":
            gp = parent.parent
            where = {"array": "array", "object": "object", "arguments": "call"}.get(gp.type if gp else "", "?")
            return "ops", f"...spread into {where}"
        if pt == "binary_expression":
            op = text(parent.child_by_field_name("operator"))
            left, right = parent.child_by_field_name("left"), parent.child_by_field_name("right")
            other = right if left == subject else left
            lk = literal_kind(other)
            side = f"{op} {lk or self.code(other, 24)}" if left == subject else f"{lk or self.code(other, 24)} {op} it"
            if op == "instanceof" and left == subject:
                return "ops", f"instanceof {self.code(right, 30)}"
            return "ops", side
        if pt == "unary_expression":
            op = text(parent.children[0])
            if op == "typeof":
                gp = parent.parent
                if gp is not None and gp.type == "binary_expression":
                    other = gp.child_by_field_name("right") if gp.child_by_field_name("left") == parent else \
                        gp.child_by_field_name("left")
                    return "ops", f"typeof {text(gp.child_by_field_name('operator'))} {self.code(other, 20)}"
                return "ops", "typeof"
            return "ops", f"{op}x"
        if pt == "update_expression":
            return "ops", "++/--"
        if pt == "augmented_assignment_expression":
            op = text(parent.child_by_field_name("operator"))
            other = parent.child_by_field_name("right")
            return "ops", f"{op} {literal_kind(other) or self.code(other, 24)}"
        if pt == "await_expression":
            return "ops", "await"
        if pt == "for_in_statement":
            kw = "of" if any(c.type == "of" for c in parent.children) else "in"
            return ("ops", f"for {kw}") if parent.child_by_field_name("right") == subject else None
        if pt == "return_statement":
            return "ops", "returned"
        if pt == "template_substitution":
            return "ops", "in template string"
        if pt in ("if_statement", "while_statement") or (pt == "ternary_expression"
                                                          and parent.child_by_field_name("condition") == subject):
            return "ops", "truthiness"
        if pt == "assignment_expression":
            if parent.child_by_field_name("right") == subject:
                return "uses", f"assigned to {self.code(parent.child_by_field_name('left'), 30)}"
            value = parent.child_by_field_name("right")
            lk = literal_kind(value)
            return "uses", f"= {lk or self.code(value, 30)}"
        if pt == "variable_declarator" and parent.child_by_field_name("value") == subject:
            return "uses", f"-> {self.code(parent.child_by_field_name('name'), 20)}"
        if pt == "pair" and parent.child_by_field_name("value") == subject:
            return "uses", f"in object as {self.code(parent.child_by_field_name('key'), 20)}"
        if pt == "shorthand_property_identifier" or pt == "object":
            return "uses", "in object"
        if pt == "array":
            return "uses", "in array"
        if pt == "as_expression" and not self.blind:
            kids = parent.named_children
            return ("ops", f"as {short(kids[-1], 30)}") if kids else None
        return None

    def _args_summary(self, args: Node | None) -> str:
        if args is None:
            return ""
        kids = [c for c in args.named_children if c.type != "comment"]
        return ", ".join(literal_kind(c) or self.code(c, 12) for c in kids[:3]) + (", …" if len(kids) > 3 else "")

    def _collect(self, m: TsModule, subjects: Iterable[tuple[TsModule, Node]]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {"uses": [], "calls": [], "ops": []}
        for mod, node in subjects:
            found = self.context_of(mod, node)
            if found is not None and found[1] not in out[found[0]]:
                out[found[0]].append(found[1])
        return out

    # -- slots -----------------------------------------------------------------------------------------------

    def slice(self, site: TsSlotSite) -> UsageSlice:
        kind = site.slot.kind
        own = (site.param.type if kind == SlotKind.PARAM and site.param is not None else
               site.function.return_type if kind == SlotKind.RETURN and site.function is not None else
               site.variable.type if kind == SlotKind.VARIABLE and site.variable is not None else
               site.field.type if kind == SlotKind.ATTRIBUTE and site.field is not None else None)
        self._hidden = own
        try:
            if kind == SlotKind.PARAM:
                return self._param(site)
            if kind == SlotKind.RETURN:
                return self._return(site)
            if kind == SlotKind.VARIABLE:
                return self._variable(site)
            return self._field(site)
        finally:
            self._hidden = None

    def _param(self, site: TsSlotSite) -> UsageSlice:
        fn, p, m = site.function, site.param, site.module
        assert fn is not None and p is not None
        evidence: list[str] = []
        if p.rest:
            evidence.append("...rest parameter")
        if p.optional:
            evidence.append("optional (?)")
        if p.accessibility:
            evidence.append(f"parameter property ({p.accessibility})")
        if p.pattern.type in ("object_pattern", "array_pattern"):
            evidence.append(f"destructured {self.code(p.pattern, 40)}")
        if p.value is not None:
            evidence.extend(self.evidence_of_value(m, p.value, "default "))
            evidence.append(f"default = {self.code(p.value, 36)}")
        coll: dict[str, list[str]] = {"uses": [], "calls": [], "ops": []}
        if p.identifier is not None and fn.body is not None:
            coll = self._collect(m, ((m, r) for r in references(fn.body, p.identifier)))
        callers: list[str] = []
        for cm, call in self.project.callers_of(fn)[:12]:
            args = call.child_by_field_name("arguments")
            if args is None:
                continue
            values = [a for a in args.named_children if a.type != "comment"]
            if p.index < len(values):
                arg = values[p.index]
                ev = self.evidence_of_value(cm, arg)
                callers.append(f"{self.code(arg, 30)}" + (f" ({ev[0]})" if ev else ""))
        header = f"param {p.name} of {self.signature(fn, hide=p)}"
        return UsageSlice(slot=site.slot, header=header, evidence=cap(evidence), uses=cap(coll["uses"]),
                          calls=cap(coll["calls"]), ops=cap(coll["ops"]), callers=cap(callers),
                          context=cap(self._fn_context(fn)), scope_names=self.scope_names(m, fn, fn.cls),
                          language="ts")

    def _return_values(self, fn: TsFunction) -> list[Node]:
        found = self._returns.get(id(fn))
        if found is None:
            found = self._returns[id(fn)] = _return_values(fn)
        return found

    def _contains(self, fn: TsFunction, types: tuple[str, ...]) -> bool:
        body = fn.body
        stack = [body] if body is not None else []
        while stack:
            n = stack.pop()
            if n is not body and n.type in FUNCTION_NODES:
                continue
            if n.type in types:
                return True
            stack.extend(n.named_children)
        return False

    def _return(self, site: TsSlotSite) -> UsageSlice:
        fn, m = site.function, site.module
        assert fn is not None
        evidence: list[str] = []
        if fn.is_async:
            evidence.append("async")
        if fn.is_generator:
            evidence.append("generator (yields)")
        if fn.kind == "getter":
            evidence.append("getter")
        rets = self._return_values(fn)
        values = [r for r in rets if r.type != "return_statement"]
        if not values:
            evidence.append("throws only" if self._contains(fn, ("throw_statement",)) and not rets else
                            "returns nothing" if rets else "no return")
        returns: list[str] = []
        for v in values[:MAX_ITEMS]:
            ev = self.evidence_of_value(m, v)
            returns.append(f"{self.code(v, 30)} ({ev[0]})" if ev else self.code(v, 40))
        if len(values) < len(rets):
            returns.append("bare return")
        coll = self._collect(m, self.project.callers_of(fn)[:12])
        uses = [f"result {u}" for u in coll["uses"]] + [f"result -> {c}" for c in coll["calls"]] + \
            [f"result {o}" for o in coll["ops"]]
        header = f"return of {self.signature(fn)}"
        return UsageSlice(slot=site.slot, header=header, evidence=cap(evidence), returns=cap(returns),
                          uses=cap(uses), context=cap(self._fn_context(fn)),
                          scope_names=self.scope_names(m, fn, fn.cls), language="ts")

    def _variable(self, site: TsSlotSite) -> UsageSlice:
        v, m = site.variable, site.module
        assert v is not None
        evidence = self.evidence_of_value(m, v.value)
        defined = [f"{v.keyword} = {self.code(v.value, 44)}" if v.value is not None else f"{v.keyword} (no value)"]
        coll = self._collect(m, ((m, r) for r in references(v.scope_node, v.name, exclude=v.name_node)))
        where = f"function {v.function.name}" if v.function is not None else "module"
        header = f"variable {v.name} in {where}"
        ctx = self._fn_context(v.function) if v.function is not None else []
        return UsageSlice(slot=site.slot, header=header, evidence=cap(evidence), defined=cap(defined),
                          uses=cap(coll["uses"]), calls=cap(coll["calls"]), ops=cap(coll["ops"]),
                          context=cap(ctx), scope_names=self.scope_names(m, v.function, None), language="ts")

    def _field(self, site: TsSlotSite) -> UsageSlice:
        f, cls, m = site.field, site.cls, site.module
        assert f is not None and cls is not None
        evidence = self.evidence_of_value(m, f.value)
        if f.mark is not None:
            evidence.append("optional (?)" if text(f.mark) == "?" else "definitely assigned (!)")
        if f.static:
            evidence.append("static")
        defined = [f"= {self.code(f.value, 40)}"] if f.value is not None else []
        reads: list[tuple[TsModule, Node]] = []
        for fn, n in self._uses_of_class(m, cls).by_name.get(f.name, ()):
            reads.append((m, n))
            parent = n.parent
            if parent is not None and parent.type == "assignment_expression" and \
                    parent.child_by_field_name("left") == n:
                value = parent.child_by_field_name("right")
                evidence.extend(self.evidence_of_value(m, value))
                defined.append(f"= {self.code(value, 36)} in {fn.name}")
        coll = self._collect(m, reads)
        header = f"field {f.name} of class {cls.name}" + (f" extends {cls.heritage[0]}" if cls.heritage else "")
        return UsageSlice(slot=site.slot, header=header, evidence=cap(evidence), defined=cap(defined),
                          uses=cap(coll["uses"]), calls=cap(coll["calls"]), ops=cap(coll["ops"]),
                          scope_names=self.scope_names(m, None, cls), language="ts")

    def _uses_of_class(self, m: TsModule, cls: TsClass) -> _ClassUses:
        found = self._class_uses.get(id(cls))
        if found is None:
            by_name: dict[str, list[tuple[TsFunction, Node]]] = {}
            for fn in self._methods_of(m).get(id(cls), ()):
                if fn.body is None:
                    continue
                per_fn: dict[str, list[Node]] = {}
                for n in _this_members(fn.body):
                    per_fn.setdefault(text(n.child_by_field_name("property")), []).append(n)
                for name, nodes in per_fn.items():
                    by_name.setdefault(name, []).extend((fn, n) for n in nodes[:40])
            found = self._class_uses[id(cls)] = _ClassUses(by_name)
        return found

    def _methods_of(self, m: TsModule) -> dict[int, list[TsFunction]]:
        """The module's functions with a body by their class (one walk per module, not one per class)."""
        cached = self._methods.get(id(m))
        if cached is None or cached[0] is not m:
            by_class: dict[int, list[TsFunction]] = {}
            for fn in m.functions:
                if fn.cls is not None and fn.body is not None:
                    by_class.setdefault(id(fn.cls), []).append(fn)
            cached = self._methods[id(m)] = (m, by_class)
        return cached[1]

    # -- context -----------------------------------------------------------------------------------------------

    def signature(self, fn: TsFunction, hide: object = None) -> str:
        """`Class.name(params)` with the other parameters' annotations (never the slot's own: `hide`)."""
        parts = []
        for p in fn.params:
            pa = self.ann(p.type) if p is not hide else None
            s = ("..." if p.rest else "") + p.name + ("?" if p.optional else "") + (f": {pa}" if pa else "")
            if p.value is not None:
                s += f" = {self.code(p.value, 16)}"
            parts.append(s)
        params = ", ".join(parts)
        if len(params) > 80:
            params = params[:79] + "…"
        prefix = "async " if fn.is_async else ""
        kind = {"getter": "get ", "setter": "set "}.get(fn.kind, "")
        return f"{prefix}{kind}{fn.qualname}({params})"

    def _fn_context(self, fn: TsFunction | None) -> list[str]:
        if fn is None:
            return []
        found = self._contexts.get(id(fn))
        if found is None:
            found = self._contexts[id(fn)] = self._context_of_function(fn)
        return found

    def _context_of_function(self, fn: TsFunction) -> list[str]:
        out: list[str] = []
        if fn.cls is not None:
            out.append(f"in class {fn.cls.name}" + (f" extends {fn.cls.heritage[0]}" if fn.cls.heritage else ""))
        if fn.parent is not None:
            out.append(f"inside {fn.parent.name}")
        comment = _leading_comment(fn.node)
        if comment:
            out.append("doc " + comment)
        return out

    def scope_names(self, m: TsModule, fn: TsFunction | None, cls: TsClass | None) -> tuple[str, ...]:
        key = (m.relpath, (fn or cls).node.id if (fn or cls) is not None else 0)  # type: ignore[union-attr]
        cached = self._names.get(key)
        if cached is not None:
            return cached
        names: list[str] = []
        for owner in (fn.node if fn is not None else None, cls.node if cls is not None else None):
            tps = owner.child_by_field_name("type_parameters") if owner is not None else None
            if tps is not None:
                names.extend(text(tp.child_by_field_name("name")) for tp in tps.named_children
                             if tp.child_by_field_name("name") is not None)
        module_names = self._candidates.get(m.relpath)
        if module_names is None:
            found = [n for n, node in m.top_level.items() if node.type in (
                "class_declaration", "abstract_class_declaration", "interface_declaration", "type_alias_declaration",
                "enum_declaration")]
            imported = [i.local for i in m.imports if i.local[:1].isupper()]
            if self.code_imports_only:
                in_code = code_names(m.parsed.tree.root_node)
                imported = [n for n in imported if n in in_code]
            found += imported
            unique = list(dict.fromkeys(found))
            module_names = self._candidates[m.relpath] = (unique, {n: i for i, n in enumerate(unique)})
        candidates, position = module_names
        # used first: names the function uses as values (`new C`, `x instanceof C`, `C.of()`), never as types (in
        # the candidates' order; looked up by the function's names: a generated module has thousands of each)
        used = sorted((n for n in names_under(fn.node) if n in position), key=position.__getitem__) \
            if fn is not None else []
        chosen = dict.fromkeys(n for n in names + used if n)
        for n in candidates:  # then the rest, up to the limit
            if len(chosen) >= MAX_SCOPE_NAMES:
                break
            if n:
                chosen.setdefault(n)
        out = tuple(chosen)[:MAX_SCOPE_NAMES]
        self._names[key] = out
        return out


def code_names(root: Node) -> set[str]:
    """The identifiers a module's code uses, outside `import` statements and type annotations, type arguments
    and `as`/`satisfies` types: what stripped code would still mention."""
    out: set[str] = set()
    stack = [root]
    while stack:
        n = stack.pop()
        t = n.type
        if t in _TYPE_NODES or t == "import_statement":
            continue
        kids = n.named_children
        if t in ("as_expression", "satisfies_expression") and kids:
            kids = kids[:1]
        if t in ("identifier", "type_identifier") and n.text is not None:
            out.add(n.text.decode("utf-8", "replace"))
        stack.extend(kids)
    return out


def _return_values(fn: TsFunction) -> list[Node]:
    """The returned expressions of a function (the `return_statement` itself for a bare `return`), not those of
    nested functions and classes; an arrow function's expression body."""
    body = fn.body
    if body is None:
        return []
    if body.type != "statement_block":
        return [body]
    out: list[Node] = []
    stack = [body]
    while stack:
        n = stack.pop()
        if n is not body and (n.type in FUNCTION_NODES or n.type in CLASS_NODES):
            continue
        if n.type == "return_statement":
            out.append(n.named_children[0] if n.named_children else n)
            continue
        stack.extend(reversed(n.named_children))
    return out


def _this_members(body: Node) -> list[Node]:
    """`this.x` member expressions under `body`, in document order."""
    out: list[Node] = []
    stack = [body]
    while stack:
        n = stack.pop()
        if n.type == "member_expression":
            obj = n.child_by_field_name("object")
            if obj is not None and obj.type == "this":
                out.append(n)
        stack.extend(reversed(n.named_children))
    return out


def _leading_comment(node: Node) -> str | None:
    cur = node
    while cur.parent is not None and cur.parent.type in ("export_statement", "variable_declarator",
                                                          "lexical_declaration"):
        cur = cur.parent
    prev = cur.prev_named_sibling
    if prev is None or prev.type != "comment" or prev.end_point[0] + 1 < cur.start_point[0]:
        return None
    lines = [ln.strip(" */") for ln in text(prev).splitlines()]
    first = next((ln for ln in lines if ln and not ln.startswith("@")), "")
    return first[:60] or None


_ASYNC_RETURNS = frozenset({"Promise", "any"})
_GENERATOR_RETURNS = frozenset({"Generator", "Iterable", "IterableIterator", "Iterator", "any"})
_ASYNC_GENERATOR_RETURNS = frozenset({"AsyncGenerator", "AsyncIterable", "AsyncIterableIterator", "AsyncIterator",
                                      "any"})
_NO_VALUE_RETURNS = frozenset({"void", "undefined", "any", "never"})
_PRIMITIVES = frozenset({"string", "number", "boolean", "bigint", "symbol", "void", "undefined", "null", "never",
                         "Literal"})
_STRUCTURED = ("object", "JSX", "array", "function", "RegExp")
_LITERAL_ITEM = re.compile(r"(?:^|\()(?:default )?literal (\w+)")


def allowed_by_evidence(s: UsageSlice, type_str: str) -> bool:
    """`allowed` for a slice."""
    return allowed(s.slot.kind.value, s.evidence, s.returns, type_str)


def allowed_in_input(kind: str, model_input: str, type_str: str) -> bool:
    """`allowed` for a rendered model input (`render_slice`), as calibration and evaluation records hold them;
    an item cut short by the renderer says nothing."""
    sections = {line.split(": ", 1)[0]: line.split(": ", 1)[1].split(" ; ")
                for line in model_input.split("\n")[1:] if ": " in line}
    return allowed(kind, sections.get("evidence", ()), sections.get("returns", ()), type_str)


def allowed(kind: str, evidence: Sequence[str], returns: Sequence[str], type_str: str) -> bool:
    """Whether TypeScript accepts `type_str` for this slot given what the slice saw, for the rules the compiler
    enforces on every function: an async function returns the global `Promise<T>`, a generator a
    Generator/Iterable (async: AsyncGenerator/AsyncIterable), a function that never returns a value
    `void`/`undefined`/`never` (or `any`); and a literal initializer, default or returned literal rules out
    primitive types of another kind (`42` is no `string`, `{...}` or `<li/>` no `boolean`). Types naming
    anything but primitives (aliases, enums, classes, `any`) are not judged."""
    from typetool.typeexpr import parse_type

    try:
        tree = parse_type(type_str)
    except ValueError:
        return True
    outer = tree.name.rsplit(".", 1)[-1]
    ev = set(evidence)
    if kind == "return":
        if "generator (yields)" in ev:
            return outer in (_ASYNC_GENERATOR_RETURNS if "async" in ev else _GENERATOR_RETURNS)
        if "async" in ev:
            return outer in _ASYNC_RETURNS
        if ev & {"no return", "returns nothing", "throws only"}:
            return outer in _NO_VALUE_RETURNS
        if not returns or any(not _LITERAL_ITEM.search(r) for r in returns if r != "bare return"):
            return True  # some returned value says nothing static
        literals = [m.group(1) for r in returns for m in [_LITERAL_ITEM.search(r)] if m]
    else:
        literals = [m.group(1) for e in evidence for m in [_LITERAL_ITEM.match(e)] if m]
        if not literals:
            return True
        literals = literals[:1]  # the initializer or default
    members = {m.name.rsplit(".", 1)[-1] for m in (tree.args if tree.name == "|" else (tree,))}
    if members & {"any", "unknown", "object", "Object"} or any(m not in _PRIMITIVES for m in members
                                                              if m not in ("Array", "ReadonlyArray")):
        return True  # an alias, enum, class or structured type: not judged
    for lit in literals:
        if lit.startswith(_STRUCTURED) and not members - _PRIMITIVES:
            return False  # an object, array, JSX element or function is no primitive
        if lit in ("number", "string", "boolean", "bigint") and lit not in members and "Literal" not in members:
            return False  # a number literal is no string
    return True


# ------------------------------------------------------------------------------------- what the core calls

def slice_typescript(project: TsProject, kinds: frozenset[SlotKind], only_unannotated: bool,
                     files: set[str] | None, diagnostics: list[Diagnostic]) -> list[UsageSlice]:
    """The slices of the project's slots of `kinds` (in `files`, when given); a module nested too deep to slice
    is reported in `diagnostics` and skipped."""
    from typetool import messages as M
    from typetool.diagnostics import Severity
    from typetool.ts.slots import extract_ts_slots

    slicer = TsSlicer(project)
    out: list[UsageSlice] = []
    for relpath, module in project.modules.items():
        if files is not None and relpath not in files:
            continue
        try:
            found = [slicer.slice(site) for site in extract_ts_slots(module)
                     if site.slot.kind in kinds and not (only_unannotated and site.slot.annotation is not None)]
        except RecursionError:
            code, message = M.msg(M.TOO_DEEP)
            diagnostics.append(Diagnostic(relpath, code, message, Severity.WARNING))
            continue
        out.extend(found)
    return out


def annotated_typescript(project: TsProject, kinds: frozenset[SlotKind], files: set[str] | None
                         ) -> list[Annotation]:
    """The project's annotated slots of `kinds` of a function: they vote for their namesakes."""
    from typetool.slots import Annotation
    from typetool.ts.slots import extract_ts_slots

    out: list[Annotation] = []
    for relpath, module in project.modules.items():
        if files is not None and relpath not in files:
            continue
        try:
            sites = list(extract_ts_slots(module))
        except RecursionError:  # (its slicing reports it)
            continue
        for site in sites:
            slot = site.slot
            if slot.annotation is not None and site.function is not None and slot.kind in kinds:
                out.append(Annotation("ts", slot.kind.value, slot.name, site.function.name, slot.annotation))
    return out
