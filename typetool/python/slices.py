"""Stage 3b for Python, usage slices: for each slot, the evidence about its type, and the one text the model reads.

Does: for a `SlotSite`, collects (JoernTI-style, adapted to Python) how the value is defined (assigned
expressions, default value, static evidence such as literals, constructor calls and `return None` only), what
is done with it (attributes and methods used, calls it flows into with the argument position or keyword and the
callee's parameter annotation when the project has one, operators, comparisons, isinstance checks, iteration,
subscripts, await/with/return/yield), the enclosing function's signature, class, decorators and docstring,
one hop of data flow across calls in the project (callers' arguments for a parameter, the callee's return for
an assigned variable, what callers do with a function's result), and the names in scope that could be its type.
`render_slice` (`typetool.slices`) turns a slice into the model's input text.
Does not: predict (`typetool.model`) or read the slot's own annotation into the slice (that is the label).
"""


from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from typetool.diagnostics import Diagnostic
from typetool.python.facts import ClassInfo, FunctionInfo, ModuleFacts, Node, Use, docstring_of
from typetool.python.project import PythonProject
from typetool.python.slots import SlotSite
from typetool.slices import (
    MAX_ITEMS,
    MAX_SCOPE_NAMES,
    UsageSlice,
    cap,
    short,
)
from typetool.slots import SlotKind
from typetool.treesitter import captures, text
from typetool.typenames import name_words

STUB_BODY = "stub body"
"""A return's evidence when its function's body is `...` (and at most a docstring or `pass`), instead of "no
return"."""
MAX_PROJECT_NAMES = 32  # classes of other project modules a function points to, after those

if TYPE_CHECKING:
    from typetool.slots import Annotation


MAX_LAST_WORD_HITS = 4  # `config` points to the classes ending in Config only when there are at most this many


BUILTIN_TYPES = frozenset({
    "int", "str", "float", "bool", "bytes", "list", "dict", "set", "tuple", "frozenset", "object", "type",
    "complex", "bytearray", "memoryview", "range", "slice",
})


def literal_kind(node: Node | None) -> str | None:
    """A static type read off an expression without a model: literals, displays, comprehensions, lambdas."""
    if node is None:
        return None
    t = node.type
    if t == "integer":
        return "int"
    if t == "float":
        return "float"
    if t in ("true", "false"):
        return "bool"
    if t == "none":
        return "None"
    if t in ("string", "concatenated_string"):
        prefix = text(node)[:3].lower()
        return "bytes" if "b" in prefix.split("'")[0].split('"')[0] else "str"
    if t in ("list", "list_comprehension"):
        return "list"
    if t in ("dictionary", "dictionary_comprehension"):
        return "dict"
    if t in ("set", "set_comprehension"):
        return "set"
    if t == "tuple":
        return "tuple"
    if t == "generator_expression":
        return "Generator"
    if t == "lambda":
        return "Callable"
    if t == "unary_operator":
        return literal_kind(node.child_by_field_name("argument"))
    if t == "parenthesized_expression" and node.named_child_count == 1:
        return literal_kind(node.named_children[0])
    if t == "comparison_operator" or t == "not_operator":
        return "bool"
    if t == "await":
        return None
    return None


def element_kinds(node: Node) -> str:
    kinds = sorted({k for c in node.named_children if (k := literal_kind(c)) is not None})
    return ",".join(kinds[:3])


class Slicer:
    """Extracts slices for the slots of a `Project`. Cheap per-module facts are cached."""

    def __init__(self, project: PythonProject, code_imports_only: bool = False) -> None:
        """`code_imports_only`: scope names leave out the imported names that occur only in annotations and import
        statements (an occurrence in a string or comment, `__all__` say, counts as a use), as if the code had
        never been annotated (and so never imported them); strip-and-recover keeps every import otherwise, as is
        usual."""
        self.project = project
        self.code_imports_only = code_imports_only
        self._scope_cache: dict[int, tuple[list[str], dict[str, int]]] = {}
        self._names_cache: dict[tuple[int, int, int], tuple[str, ...]] = {}
        self._signatures: dict[int, str] = {}
        self._attr_reads: dict[int, dict[tuple[int, str], list[Node]]] = {}
        self._annotation_spans: dict[tuple[int, bool], list[tuple[int, int]]] = {}
        self._classes: tuple[set[str], dict[str, list[str]], dict[str, list[str]]] | None = None

    # -- evidence about one expression ---------------------------------------------------------------------

    def evidence_of_value(self, m: ModuleFacts, value: Node | None, what: str = "") -> list[str]:
        out: list[str] = []
        if value is None:
            return out
        lk = literal_kind(value)
        if lk is not None:
            el = element_kinds(value) if value.type in ("list", "dictionary", "set", "tuple") else ""
            out.append(f"{what}literal {lk}" + (f" of {el}" if el else ""))
            return out
        if value.type == "call":
            func = value.child_by_field_name("function")
            fname = text(func)
            targets = self.project.resolve_expr(m, func)
            classes = [t for t in targets if isinstance(t, ClassInfo)]
            fns = [t for t in targets if isinstance(t, FunctionInfo)]
            last = fname.rsplit(".", 1)[-1]
            if classes:
                out.append(f"{what}ctor {classes[0].name}")
            elif last in BUILTIN_TYPES:
                out.append(f"{what}ctor {last}")
            elif fns:
                fn = fns[0]
                if fn.return_annotation is not None:
                    out.append(f"{what}{fn.name}() -> {short(fn.return_annotation, 40)}")
                else:
                    rets = [short(r.named_children[0], 30) for r in fn.returns if r.named_children][:2]
                    if rets:
                        out.append(f"{what}{fn.name}() returns " + " | ".join(rets))
            elif last[:1].isupper():
                out.append(f"{what}ctor? {last}")
        return out

    def context_of(self, m: ModuleFacts, subject: Node) -> tuple[str, str] | None:
        """Classify one occurrence of the slot's value by its syntactic context: (section, item)."""
        parent = m.parent_of(subject)
        if parent is None:
            return None
        pt = parent.type
        if pt == "attribute" and parent.child_by_field_name("object") == subject:
            attr = text(parent.child_by_field_name("attribute"))
            gp = m.parent_of(parent)
            if gp is not None and gp.type == "call" and gp.child_by_field_name("function") == parent:
                args = gp.child_by_field_name("arguments")
                argdesc = _args_summary(args)
                return "uses", f".{attr}({argdesc})"
            if gp is not None and gp.type == "assignment" and gp.child_by_field_name("left") == parent:
                return "uses", f".{attr} ="
            return "uses", f".{attr}"
        if pt in ("argument_list", "keyword_argument"):
            if pt == "keyword_argument":
                if parent.child_by_field_name("value") != subject:
                    return None
                arglist = m.parent_of(parent)
                call = m.parent_of(arglist) if arglist is not None else None
                where = text(parent.child_by_field_name("name")) + "="
            else:
                call = m.parent_of(parent)
                index = [c.id for c in parent.named_children if c.type not in ("keyword_argument", "comment")]
                where = f"#{index.index(subject.id)}" if subject.id in index else "#?"
            if call is None or call.type != "call":
                return None
            func = call.child_by_field_name("function")
            fname = short(func, 32)
            if fname in ("isinstance", "issubclass"):
                args = call.child_by_field_name("arguments")
                second = args.named_children[1] if args is not None and args.named_child_count > 1 else None
                return "ops", f"{fname}(_, {short(second, 36)})"
            ann = self.callee_param_annotation(m, call, where)
            return "calls", f"{fname}({where})" + (f": {ann}" if ann else "")
        if pt == "call" and parent.child_by_field_name("function") == subject:
            return "uses", f"called({_args_summary(parent.child_by_field_name('arguments'))})"
        if pt == "binary_operator":
            op = text(parent.child_by_field_name("operator"))
            left = parent.child_by_field_name("left")
            other = parent.child_by_field_name("right") if left == subject else left
            side = f"_ {op} {_operand(other)}" if left == subject else f"{_operand(other)} {op} _"
            return "ops", side
        if pt == "comparison_operator":
            kids = parent.named_children
            ops = [text(o) for o in parent.children_by_field_name("operators")]
            others = [c for c in kids if c.id != subject.id]
            op = ops[0] if ops else "?"
            other = others[0] if others else None
            if kids and kids[0].id == subject.id:
                return "ops", f"_ {op} {_operand(other)}"
            return "ops", f"{_operand(other)} {op} _"
        if pt == "boolean_operator" or pt == "not_operator":
            return "ops", "truthy"
        if pt in ("if_statement", "while_statement", "elif_clause", "conditional_expression", "if_clause",
                  "assert_statement"):
            return "ops", "truthy"
        if pt == "unary_operator":
            return "ops", f"{text(parent.child_by_field_name('operator'))}_"
        if pt == "augmented_assignment":
            op = text(parent.child_by_field_name("operator"))
            if parent.child_by_field_name("left") == subject:
                return "ops", f"_ {op} {_operand(parent.child_by_field_name('right'))}"
            return "ops", f"x {op} _"
        if pt == "subscript" and parent.child_by_field_name("value") == subject:
            return "uses", f"[{_operand(parent.child_by_field_name('subscript'))}]"
        if pt in ("for_statement", "for_in_clause") and parent.child_by_field_name("right") == subject:
            return "uses", "for-in"
        if pt == "await":
            return "uses", "await"
        if pt in ("with_item", "as_pattern") and (pt == "with_item" or (parent.parent is not None and
                                                                        parent.parent.type == "with_item")):
            return "uses", "with"
        if pt == "return_statement":
            return "uses", "returned"
        if pt == "yield":
            return "uses", "yielded"
        if pt == "list_splat":
            return "uses", "*unpacked"
        if pt == "dictionary_splat":
            return "uses", "**unpacked"
        if pt == "interpolation":
            return "uses", "f-string"
        if pt == "assignment" and parent.child_by_field_name("right") == subject:
            target = parent.child_by_field_name("left")
            declared = parent.child_by_field_name("type")
            return "uses", f"assigned to {short(target, 24)}" + (
                f": {short(declared, 24)}" if declared is not None else "")
        if pt == "pair":
            return "uses", "dict value" if parent.child_by_field_name("value") == subject else "dict key"
        if pt in ("list", "tuple", "set"):
            return "uses", f"in {pt}"
        if pt == "parenthesized_expression":
            return self.context_of(m, parent)
        return None

    def callee_param_annotation(self, m: ModuleFacts, call: Node, where: str) -> str | None:
        info = m.calls.get(call.id)
        if info is None:
            return None
        for target in info.targets:
            if not isinstance(target, FunctionInfo):
                continue
            params = target.params
            skip = 1 if target.implicit_first and (
                target.name == "__init__" or call.child_by_field_name("function") is not None
                and call.child_by_field_name("function").type == "attribute"  # type: ignore[union-attr]
            ) else 0
            p = None
            if where.startswith("#") and where[1:].isdigit():
                i = int(where[1:]) + skip
                if i < len(params) and params[i].kind in ("positional", "posonly"):
                    p = params[i]
                else:
                    p = next((q for q in params if q.kind == "star"), None)
            elif where.endswith("="):
                p = next((q for q in params if q.name == where[:-1]), None)
            if p is not None and p.annotation is not None:
                return short(p.annotation, 36)
        return None

    # -- slices --------------------------------------------------------------------------------------------

    def slice(self, site: SlotSite) -> UsageSlice:
        kind = site.slot.kind
        if kind == SlotKind.PARAM:
            return self._param(site)
        if kind == SlotKind.RETURN:
            return self._return(site)
        if kind == SlotKind.VARIABLE:
            return self._variable(site)
        return self._attribute(site)

    def _collect(self, m: ModuleFacts, subjects: Iterable[Node | tuple[ModuleFacts, Node]]) -> dict[str, list[str]]:
        """Contexts of the subjects (nodes of `m`, or (module, node) pairs for nodes in other modules)."""
        out: dict[str, list[str]] = {"uses": [], "calls": [], "ops": []}
        seen: set[str] = set()
        for subject in subjects:
            found = self.context_of(*subject) if isinstance(subject, tuple) else self.context_of(m, subject)
            if found is None:
                continue
            section, item = found
            if item in seen:
                continue
            seen.add(item)
            out[section].append(item)
        return out

    def _param(self, site: SlotSite) -> UsageSlice:
        fn, p, m = site.function, site.param, site.module
        assert fn is not None and p is not None
        evidence: list[str] = []
        if p.kind == "star":
            evidence.append("*args")
        elif p.kind == "starstar":
            evidence.append("**kwargs")
        if p.default is not None:
            evidence.extend(self.evidence_of_value(m, p.default, "default "))
            evidence.append(f"default = {short(p.default, 36)}")
        uses = p.definition.uses if p.definition is not None else []
        coll = self._collect(m, (u.node for u in uses))
        callers = self._caller_args(fn, p.index, p.name)
        header = f"param {p.name} of {self.signature_in_class(fn)}"
        return UsageSlice(
            slot=site.slot, header=header, evidence=cap(evidence), uses=cap(coll["uses"]),
            calls=cap(coll["calls"]), ops=cap(coll["ops"]), callers=cap(callers),
            context=cap(self._fn_context(fn, p.name)), scope_names=self.scope_names(m, fn),
        )

    def _caller_args(self, fn: FunctionInfo, index: int, name: str) -> list[str]:
        out: list[str] = []
        for call in fn.callers[:12]:
            func = call.func
            implicit = fn.implicit_first and (fn.name == "__init__" or func.type == "attribute")
            pos = index - (1 if implicit else 0)
            for apos, kw, expr in call.args:
                if (kw == name) or (apos is not None and apos == pos and fn.params[index].kind in
                                    ("positional", "posonly")):
                    lk = literal_kind(expr)
                    item = short(expr, 36) if lk is None or expr.type not in ("string",) else f"{lk} literal"
                    ev = self.evidence_of_value(call.module, expr)
                    out.append(item + (f" ({ev[0]})" if ev and "literal" not in ev[0] else ""))
        return list(dict.fromkeys(out))

    def _return(self, site: SlotSite) -> UsageSlice:
        fn, m = site.function, site.module
        assert fn is not None
        evidence: list[str] = []
        values = [r.named_children[0] for r in fn.returns if r.named_children]
        bare = [r for r in fn.returns if not r.named_children]
        if fn.name == "__init__":
            evidence.append("__init__")
        if fn.yields or _has_yield(fn):
            evidence.append("generator (yields)")
        if fn.is_async:
            evidence.append("async def")
        if not values and not fn.returns and fn.raises and not _has_yield(fn):
            evidence.append("only raises")
        elif not fn.returns and _stub_body(fn.node):
            evidence.append(STUB_BODY)  # an overload, a protocol method: the body says nothing of the type
        elif not values or all(v.type == "none" for v in values):
            evidence.append("returns None only" if fn.returns else "no return")
        returns: list[str] = []
        for v in values[:MAX_ITEMS]:
            ev = self.evidence_of_value(m, v)
            returns.append(short(v, 40) + (f" ({ev[0]})" if ev and "literal" not in ev[0] else "")
                           if not ev or "literal" not in ev[0] else f"{short(v, 24)} ({ev[0]})")
        if bare:
            returns.append("bare return")
        # what callers do with the result (one hop)
        coll = self._collect(m, ((c.module, c.node) for c in fn.callers[:12]))
        uses = [f"result {u}" for u in coll["uses"]] + [f"result -> {c}" for c in coll["calls"]] + \
            [f"result {o}" for o in coll["ops"]]
        header = f"return of {self.signature_in_class(fn)}"
        ctx = self._fn_context(fn, None)
        dec = fn.decorator_names
        if dec:
            ctx.insert(0, "decorators " + " ".join("@" + d for d in dec[:3]))
        return UsageSlice(
            slot=site.slot, header=header, evidence=cap(evidence), returns=cap(returns), uses=cap(uses),
            context=cap(ctx), scope_names=self.scope_names(m, fn),
        )

    def _variable(self, site: SlotSite) -> UsageSlice:
        m, d = site.module, site.definition
        assert d is not None
        defs = [x for x in d.scope.bindings.get(d.name, []) if x.scope is d.scope]
        evidence: list[str] = []
        defined: list[str] = []
        uses: list[Use] = []
        for x in defs:
            uses.extend(x.uses)
            if x.kind in ("assign", "annassign", "walrus", "augassign"):
                if x.value is not None:
                    evidence.extend(self.evidence_of_value(m, x.value))
                    defined.append(("+= " if x.kind == "augassign" else "= ") + short(x.value, 44))
            elif x.kind == "for":
                defined.append(f"for in {short(x.value, 40)}")
            elif x.kind == "with":
                defined.append(f"with {short(x.value, 40)}")
            elif x.kind == "except":
                defined.append(f"except {short(x.value, 40)}")
            else:
                defined.append(x.kind)
        coll = self._collect(m, (u.node for u in dict.fromkeys(uses)))
        where = f"function {site.function.name}" if site.function is not None else "module"
        header = f"variable {d.name} in {where}" + (_in_class(site.function) if site.function else "")
        ctx = self._fn_context(site.function, None) if site.function is not None else _module_context(m)
        return UsageSlice(
            slot=site.slot, header=header, evidence=cap(list(dict.fromkeys(evidence))),
            defined=cap(list(dict.fromkeys(defined))), uses=cap(coll["uses"]), calls=cap(coll["calls"]),
            ops=cap(coll["ops"]), context=cap(ctx), scope_names=self.scope_names(m, site.function),
        )

    def _attribute(self, site: SlotSite) -> UsageSlice:
        m, cls = site.module, site.cls
        assert cls is not None and site.attribute is not None
        name = site.slot.name
        evidence: list[str] = []
        defined: list[str] = []
        for a in site.attribute:
            where = f"in {a.function.name}" if a.function is not None else "in class body"
            if a.value is not None:
                evidence.extend(self.evidence_of_value(m, a.value))
                defined.append(f"= {short(a.value, 40)} {where}")
                if a.function is not None and a.value.type == "identifier":
                    p = next((q for q in a.function.params if q.name == text(a.value)), None)
                    if p is not None and p.default is not None:
                        evidence.extend(self.evidence_of_value(m, p.default, "param default "))
        coll = self._collect(m, self.attribute_reads(m).get((id(cls), name), []))
        header = f"attribute {name} of class {cls.name}" + (
            f"({', '.join(short(b, 24) for b in cls.bases[:3])})" if cls.bases else "")
        ctx: list[str] = []
        doc = cls.node.child_by_field_name("body")
        ds = docstring_of(doc)
        if ds:
            mention = _doc_mention(ds, name)
            ctx.append(("doc " + mention) if mention else "doc " + _first_line(ds))
        if cls.decorators:
            ctx.append("decorators " + " ".join("@" + short(dd.named_children[0] if dd.named_children else dd, 30)
                                                for dd in cls.decorators[:2]))
        return UsageSlice(
            slot=site.slot, header=header, evidence=cap(list(dict.fromkeys(evidence))), defined=cap(defined),
            uses=cap(coll["uses"]), calls=cap(coll["calls"]), ops=cap(coll["ops"]), context=cap(ctx),
            scope_names=self.scope_names(m, None, cls),
        )

    # -- context -------------------------------------------------------------------------------------------

    def _fn_context(self, fn: FunctionInfo, param: str | None) -> list[str]:
        out: list[str] = []
        if fn.docstring:
            mention = _doc_mention(fn.docstring, param) if param else None
            out.append("doc " + (mention or _first_line(fn.docstring)))
            if param is None:
                ret = _doc_returns(fn.docstring)
                if ret:
                    out.append("doc returns " + ret)
        if param is not None and fn.decorator_names:
            out.append("decorators " + " ".join("@" + d for d in fn.decorator_names[:3]))
        return out

    def signature_in_class(self, fn: FunctionInfo) -> str:
        """`signature(fn)` and the enclosing class (cached: a function has one slot per parameter)."""
        sig = self._signatures.get(id(fn))
        if sig is None:
            sig = signature(fn) + _in_class(fn)
            self._signatures[id(fn)] = sig
        return sig

    def attribute_reads(self, m: ModuleFacts) -> dict[tuple[int, str], list[Node]]:
        """`self.x` reads in the module's methods, by (id of the class, attribute name)."""
        index = self._attr_reads.get(id(m))
        if index is None:
            index = {}
            for node, scope in m.attr_uses.values():
                cls = _class_of_scope(scope)
                if cls is not None:
                    index.setdefault((id(cls), text(node.child_by_field_name("attribute"))), []).append(node)
            self._attr_reads[id(m)] = index
        return index

    def scope_names(self, m: ModuleFacts, fn: FunctionInfo | None, cls: ClassInfo | None = None) -> tuple[str, ...]:
        """Names that could be the slot's type: classes, aliases and TypeVars defined or imported in the module,
        the enclosing class first, then those the function mentions (as identifiers, annotations excluded), then
        the rest; then classes of other project modules that the function points to (`_project_classes_for`)."""
        key = (id(m), id(fn), id(cls))  # module-level slots have neither a function nor a class
        cached = self._names_cache.get(key)
        if cached is not None:
            return cached
        cached_base = self._scope_cache.get(id(m))
        if cached_base is None:
            names = module_type_names(m)
            if self.code_imports_only:
                used = set(_WORD.findall(self._code_text(m, m.parsed.root, imports=True)))
                names = [n for n in names if n not in m.imports or n in used]
            cached_base = self._scope_cache[id(m)] = (names, {n: i for i, n in enumerate(names)})
        base, position = cached_base
        first: list[str] = []
        owner = cls or (fn.cls if fn is not None else None)
        if owner is not None:
            first.append(owner.name)
        code = set(_WORD.findall(self._code_text(m, fn.node))) if fn is not None else set()
        # the module's names the code mentions, in the module's order (looked up by the code's words: a
        # generated module has thousands of names and as many functions)
        first.extend(sorted((n for n in code if n in position), key=position.__getitem__))
        chosen = dict.fromkeys(first)
        for n in base:  # then the rest, up to the limit
            if len(chosen) >= MAX_SCOPE_NAMES:
                break
            chosen.setdefault(n)
        out = tuple(chosen)[:MAX_SCOPE_NAMES]
        if fn is not None:
            seen = set(out)
            out += tuple(n for n in self._project_classes_for(fn, code) if n not in seen)[:MAX_PROJECT_NAMES]
        self._names_cache[key] = out
        return out

    def _project_classes_for(self, fn: FunctionInfo, code: set[str]) -> list[str]:
        """Classes of the project's modules that the function points to (those its module binds are in the list
        already; written annotations import the others: `writeback` looks names up among the project's classes):
        those its code names (`code`: the words of its code, `cst.ClassDef(...)`), those a segment of its name is
        (`visit_ClassDef`), and those a parameter is named like (`parser_config` -> `ParserConfig`; `config` ->
        the few classes ending in `Config`). Strongest evidence first."""
        by_name, by_joined, by_last = self._project_index()
        if not by_name:
            return []
        mentioned = [n for n in code if n in by_name]
        segments = [seg for seg in fn.name.split("_") if seg in by_name]
        joined: list[str] = []
        last: list[str] = []
        for p in fn.params:
            ws = name_words(p.name)
            if not ws:
                continue
            joined.extend(by_joined.get("".join(ws), []))
            hits = by_last.get(ws[-1], []) if len(ws[-1]) >= 3 else []
            if len(hits) <= MAX_LAST_WORD_HITS:
                last.extend(hits)
        return list(dict.fromkeys(sorted(mentioned) + segments + joined + last))

    def _project_index(self) -> tuple[set[str], dict[str, list[str]], dict[str, list[str]]]:
        """Module-level classes of the project: their names, and by their lower-case joined words and last word."""
        if self._classes is None:
            names: set[str] = set()
            joined: dict[str, list[str]] = {}
            last: dict[str, list[str]] = {}
            for mod in self.project.modules.values():
                for c in mod.classes:
                    if c.qualname != c.name or c.name in names:
                        continue
                    names.add(c.name)
                    ws = name_words(c.name)
                    if ws:
                        joined.setdefault("".join(ws), []).append(c.name)
                        last.setdefault(ws[-1], []).append(c.name)
            for table in (joined, last):
                for v in table.values():
                    v.sort(key=lambda n: (len(n), n))
            self._classes = (names, joined, last)
        return self._classes

    def _code_text(self, m: ModuleFacts, node: Node, imports: bool = False) -> str:
        """The source of `node` with every annotation under it cut out (and every import statement, with
        `imports`): annotations are the labels that strip-and-recover hides, so a name the function mentions only
        in an annotation must not rank first."""
        key = (id(m), imports)
        spans = self._annotation_spans.get(key)
        if spans is None:
            found = captures("python", "annotations", m.parsed.root)
            nodes = found.get("annotation", []) + (found.get("import", []) if imports else [])
            spans = self._annotation_spans[key] = sorted((n.start_byte, n.end_byte) for n in nodes)
        pos, end = node.start_byte, node.end_byte
        pieces: list[bytes] = []
        for s, e in spans[bisect_left(spans, (pos, -1)):]:
            if s >= end:
                break
            if s >= pos:
                pieces.append(m.data[pos:s])
                pos = e
        pieces.append(m.data[pos:end])
        return b" ".join(pieces).decode("utf-8", "replace")


def module_type_names(m: ModuleFacts) -> list[str]:
    names: list[str] = []
    for c in m.classes:
        if "." not in c.qualname or c.qualname.count(".") == 0:
            names.append(c.name)
    found = captures("python", "types", m.parsed.root)
    for key in ("typevar", "alias"):
        names.extend(text(n) for n in found.get(key, []))
    for local in m.imports:
        last = local.rsplit(".", 1)[-1]
        if last[:1].isupper() and not last.isupper():
            names.append(last)
    names.extend(c.name for c in m.classes)
    return list(dict.fromkeys(names))


def signature(fn: FunctionInfo) -> str:
    """`name(a, b=1, *args, **kw)`: parameter names and defaults, never annotations (they are labels)."""
    parts: list[str] = []
    star_done = False
    for p in fn.params:
        if p.kind == "star":
            parts.append("*" + p.name)
            star_done = True
        elif p.kind == "starstar":
            parts.append("**" + p.name)
        else:
            if p.kind == "kwonly" and not star_done:
                parts.append("*")
                star_done = True
            parts.append(p.name + (f"={short(p.default, 16)}" if p.default is not None else ""))
    prefix = "async " if fn.is_async else ""
    return f"{prefix}{fn.name}({', '.join(parts)})"


def _in_class(fn: FunctionInfo | None) -> str:
    if fn is None or fn.cls is None:
        return ""
    bases = ", ".join(short(b, 24) for b in fn.cls.bases[:2])
    return f" in class {fn.cls.name}" + (f"({bases})" if bases else "")


def _module_context(m: ModuleFacts) -> list[str]:
    return [f"module {m.modname}"] + ([f"doc {_first_line(m.docstring)}"] if m.docstring else [])


def _first_line(doc: str) -> str:
    line = doc.strip().split("\n", 1)[0].strip()
    return line if len(line) <= 60 else line[:59] + "…"


_WORD = re.compile(r"\w+")


def _doc_mention(doc: str, name: str | None) -> str | None:
    """The docstring line that documents `name` (Sphinx `:param name:`, Google `name (type):`, NumPy)."""
    if not name:
        return None
    if name not in doc:
        return None
    lines = [ln.strip() for ln in doc.splitlines()]
    for i, ln in enumerate(lines):
        if _mentions(ln, name):
            # NumPy style: "name : type" on one line, description on the next
            out = ln
            if out.rstrip().endswith(":") and i + 1 < len(lines):
                out = out + " " + lines[i + 1]
            return out if len(out) <= 70 else out[:69] + "…"
    return None


def _mentions(line: str, name: str) -> bool:
    """Whether `name` occurs in `line` as a word after a space, `:`, `*` or `(` (or at the start): the regex
    `(^|[\\s:*(])name\\b` without compiling one pattern per parameter."""
    start = 0
    while (i := line.find(name, start)) >= 0:
        end = i + len(name)
        before_ok = i == 0 or line[i - 1].isspace() or line[i - 1] in ":*("
        after_ok = end == len(line) or not (line[end].isalnum() or line[end] == "_")
        if before_ok and after_ok:
            return True
        start = i + 1
    return False


def _doc_returns(doc: str) -> str | None:
    lines = [ln.strip() for ln in doc.splitlines()]
    for i, ln in enumerate(lines):
        low = ln.lower()
        if low.startswith((":return", ":rtype", "returns:", "return:", "returns", "yields")):
            out = ln
            if len(out) < 12 and i + 1 < len(lines):
                out += " " + lines[i + 1]
            return out if len(out) <= 60 else out[:59] + "…"
    return None


def _stub_body(node: Node) -> bool:
    """Whether a function's body is a declaration stub: `...` with nothing else but a docstring or `pass` (an
    `@overload`, a protocol or abstract method). Its return type is declared, never inferred from the body. A body
    of `pass` or a docstring alone is a real no-op that returns None (libcst's visitor hooks), not a stub."""
    body = node.child_by_field_name("body")
    if body is None:
        return False
    ellipsis = False
    for stmt in body.named_children:
        if stmt.type in ("comment", "pass_statement"):
            continue
        if stmt.type == "expression_statement" and len(stmt.named_children) == 1 and \
                stmt.named_children[0].type in ("ellipsis", "string"):
            ellipsis = ellipsis or stmt.named_children[0].type == "ellipsis"
            continue
        return False
    return ellipsis


def _has_yield(fn: FunctionInfo) -> bool:
    return bool(fn.yields) and not fn.is_lambda  # recorded by the walker


def _operand(node: Node | None) -> str:
    if node is None:
        return "?"
    lk = literal_kind(node)
    if lk is not None and node.type not in ("none", "true", "false"):
        value = short(node, 12)
        return value if len(value) <= 8 else f"<{lk}>"
    return short(node, 20)


def _args_summary(args: Node | None) -> str:
    if args is None:
        return ""
    items = [short(c, 14) if c.type != "keyword_argument" else text(c.child_by_field_name("name")) + "="
             for c in args.named_children if c.type != "comment"]
    s = ", ".join(items[:3]) + (", …" if len(items) > 3 else "")
    return s if len(s) <= 36 else s[:35] + "…"


def _class_of_scope(scope: object) -> ClassInfo | None:
    s = scope
    while s is not None:
        fn = getattr(s, "function", None)
        if fn is not None and fn.cls is not None:
            return fn.cls  # type: ignore[no-any-return]
        s = getattr(s, "parent", None)
    return None


# ------------------------------------------------------------------------------------- what the core calls

def slice_python(project: PythonProject, kinds: frozenset[SlotKind], only_unannotated: bool,
                 files: set[str] | None, diagnostics: list[Diagnostic]) -> list[UsageSlice]:
    """The slices of the project's slots of `kinds` (in `files`, when given); a module nested too deep to walk
    is reported in `diagnostics` and skipped."""
    from typetool import messages as M
    from typetool.diagnostics import Severity
    from typetool.python.slots import extract_slots
    from typetool.workspace import analysis_context

    slicer = Slicer(project)
    out: list[UsageSlice] = []
    with analysis_context():
        for relpath, module in project.modules.items():
            if files is not None and relpath not in files:
                continue
            try:
                for site in extract_slots(module):
                    if site.slot.kind not in kinds or (only_unannotated and site.slot.annotation is not None):
                        continue
                    out.append(slicer.slice(site))
            except RecursionError:  # code nested deeper than the raised limit: report the file, go on
                code, message = M.msg(M.TOO_DEEP)
                diagnostics.append(Diagnostic(relpath, code, message, Severity.WARNING))
    return out


def annotated_python(project: PythonProject, kinds: frozenset[SlotKind], files: set[str] | None
                     ) -> list[Annotation]:
    """The project's annotated slots of `kinds` that vote for their namesakes (`model/consistency.py`): those
    of a function, not a property's setter or deleter (whose return shares its getter's name, not its type)."""
    from typetool.python.slots import iter_sites
    from typetool.slots import Annotation
    from typetool.workspace import analysis_context

    out: list[Annotation] = []
    with analysis_context():
        for site in iter_sites(project, kinds, files, skip_too_deep=True):
            slot = site.slot
            if (slot.annotation is not None and site.function is not None
                    and not (slot.kind == SlotKind.RETURN and _is_accessor(site.function.decorator_names))):
                out.append(Annotation("py", slot.kind.value, slot.name, site.function.name, slot.annotation))
    return out


def _is_accessor(decorators: Sequence[str]) -> bool:
    return any(d.endswith((".setter", ".deleter")) for d in decorators)
