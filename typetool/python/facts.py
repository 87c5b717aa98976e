"""Stage 2a, Python facts: one walk over a module's tree-sitter tree that records scopes and bindings.

Does: for one parsed Python module, builds the scope tree (module, class, function, lambda, comprehension),
every binding of a name (`Def`: assignment, augmented assignment, annotated assignment, for/with/except/match
targets, walrus, comprehension targets, parameters, imports, def/class names, global/nonlocal redirection),
every read of a name (`Use`) with its reaching definitions (flow-sensitive within a scope: branches join,
loops iterate to a fixpoint, break/continue/return/raise cut the flow), statement-level control-flow edges,
functions with their parameters/returns/yields/raises, classes with bases, methods and `self.x` attributes,
and calls with their arguments.
Does not: look at other files. Names not bound in their own scope are resolved to enclosing scopes at the end
of the module; imports, calls and the class hierarchy are resolved across files by `typetool.python.project`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator

import tree_sitter as ts

from typetool.treesitter import ParsedFile, text

Node = ts.Node

_ids = itertools.count(1)


def new_id() -> int:
    return next(_ids)


class Scope:
    __slots__ = (
        "bindings",
        "children",
        "cls",
        "function",
        "global_names",
        "kind",
        "name",
        "node",
        "nonlocal_names",
        "parent",
        "qualname",
    )

    def __init__(self, kind: str, name: str, qualname: str, node: Node, parent: Scope | None) -> None:
        self.kind = kind  # module | class | function | lambda | comprehension
        self.name = name
        self.qualname = qualname
        self.node = node
        self.parent = parent
        self.bindings: dict[str, list[Def]] = {}
        self.global_names: set[str] = set()
        self.nonlocal_names: set[str] = set()
        self.function: FunctionInfo | None = None
        self.cls: ClassInfo | None = None
        self.children: list[Scope] = []


class Def:
    """One binding of a name."""

    __slots__ = (
        "annotation",
        "id",
        "kind",
        "name",
        "node",
        "redirected",
        "scope",
        "stmt",
        "target",
        "uses",
        "value",
    )

    def __init__(self, name: str, scope: Scope, kind: str, node: Node, value: Node | None,
                 annotation: Node | None, stmt: Node | None, target: object = None) -> None:
        self.id = next(_ids)
        self.name = name
        self.scope = scope
        self.kind = kind  # assign annassign augassign for with except walrus comp param import function class match
        self.node = node  # the identifier (or statement) that binds
        self.value = value  # the expression assigned, when there is one
        self.annotation = annotation
        self.stmt = stmt
        self.uses: list[Use] = []
        self.target = target  # FunctionInfo / ClassInfo / ImportBinding / ParamInfo for those kinds
        # bound in an enclosing scope through `global`/`nonlocal` (the binding is not in `scope`'s own text)
        self.redirected = False


class Use:
    """One read of a name, with the bindings that may reach it."""

    __slots__ = ("defs", "id", "name", "node", "outer", "scope", "stmt")

    def __init__(self, name: str, scope: Scope, node: Node, stmt: Node | None) -> None:
        self.id = next(_ids)
        self.name = name
        self.scope = scope
        self.node = node
        self.stmt = stmt
        self.defs: list[Def] = []
        # True when the value may come from an enclosing scope (a `global`/`nonlocal` name read before this
        # function rebinds it): `resolve_free_uses` adds the bindings of that scope.
        self.outer = False


class ParamInfo:
    __slots__ = ("annotation", "default", "definition", "function", "index", "kind", "name", "node")

    def __init__(self, name: str, index: int, kind: str, node: Node, annotation: Node | None,
                 default: Node | None, function: FunctionInfo) -> None:
        self.name = name
        self.index = index  # position among all parameters, self included
        self.kind = kind  # positional | posonly | kwonly | star | starstar
        self.node = node
        self.annotation = annotation
        self.default = default
        self.function = function
        self.definition: Def | None = None


class FunctionInfo:
    __slots__ = (
        "callers",
        "cls",
        "decorators",
        "docstring",
        "id",
        "is_async",
        "is_lambda",
        "module",
        "name",
        "node",
        "ordinal",
        "params",
        "qualname",
        "raises",
        "return_annotation",
        "returns",
        "scope",
        "yields",
    )

    def __init__(self, name: str, qualname: str, node: Node, cls: ClassInfo | None, module: ModuleFacts) -> None:
        self.id = new_id()
        self.name = name
        self.qualname = qualname
        self.node = node
        self.scope: Scope | None = None
        self.params: list[ParamInfo] = []
        self.decorators: list[Node] = []
        self.cls = cls
        self.is_async = False
        self.returns: list[Node] = []  # return statements (value may be absent)
        self.yields: list[Node] = []
        self.raises = 0
        self.return_annotation: Node | None = None
        self.docstring: str | None = None
        self.module = module
        self.callers: list[CallInfo] = []
        self.is_lambda = False
        self.ordinal = 1  # 2, 3, ... for later definitions with the same qualified name (overloads, setters)

    @property
    def decorator_names(self) -> list[str]:
        out = []
        for d in self.decorators:
            expr = d.named_children[0] if d.named_children else d
            if expr.type == "call":
                expr = expr.child_by_field_name("function") or expr
            out.append(text(expr))
        return out

    @property
    def is_method(self) -> bool:
        return self.cls is not None

    @property
    def is_static(self) -> bool:
        return any(n.endswith("staticmethod") for n in self.decorator_names)

    @property
    def implicit_first(self) -> bool:
        """Whether the first parameter is self/cls (not a slot)."""
        return self.cls is not None and not self.is_static and bool(self.params) and \
            self.params[0].kind in ("positional", "posonly")


class ClassInfo:
    __slots__ = (
        "attributes",
        "bases",
        "decorators",
        "id",
        "keywords",
        "methods",
        "module",
        "name",
        "node",
        "ordinal",
        "qualname",
        "resolved_bases",
        "scope",
    )

    def __init__(self, name: str, qualname: str, node: Node, module: ModuleFacts) -> None:
        self.id = new_id()
        self.name = name
        self.qualname = qualname
        self.node = node
        self.scope: Scope | None = None
        self.bases: list[Node] = []
        self.keywords: list[Node] = []
        self.methods: dict[str, FunctionInfo] = {}
        self.attributes: dict[str, list[AttrDef]] = {}
        self.decorators: list[Node] = []
        self.module = module
        self.resolved_bases: list[ClassInfo] = []
        self.ordinal = 1


class AttrDef:
    """A binding of an attribute on `self`/`cls` in a method, or a name bound in a class body."""

    __slots__ = ("annotation", "cls", "function", "id", "kind", "name", "node", "stmt", "value")

    def __init__(self, name: str, cls: ClassInfo, node: Node, value: Node | None, annotation: Node | None,
                 stmt: Node | None, function: FunctionInfo | None, kind: str) -> None:
        self.id = new_id()
        self.name = name
        self.cls = cls
        self.node = node
        self.value = value
        self.annotation = annotation
        self.stmt = stmt
        self.function = function
        self.kind = kind  # instance | class


class CallInfo:
    __slots__ = ("args", "func", "id", "module", "node", "scope", "stmt", "targets")

    def __init__(self, node: Node, func: Node, scope: Scope, module: ModuleFacts, stmt: Node | None) -> None:
        self.id = new_id()
        self.node = node
        self.func = func
        self.scope = scope
        self.module = module
        self.stmt = stmt
        # (position or None, keyword or None, expression); `*x` has keyword "*", `**x` has "**"
        self.args: list[tuple[int | None, str | None, Node]] = []
        self.targets: list[FunctionInfo | ClassInfo] = []


class ImportBinding:
    __slots__ = ("attr", "level", "local", "module", "node")

    def __init__(self, local: str, module: str, attr: str | None, level: int, node: Node) -> None:
        self.local = local  # name bound in this module
        self.module = module  # dotted module as written (without the leading dots)
        self.attr = attr  # imported name for `from m import attr`, None for `import m`
        self.level = level  # number of leading dots
        self.node = node


class ModuleFacts:
    """Everything the facts stage learns about one module."""

    def __init__(self, parsed: ParsedFile, modname: str, is_package: bool) -> None:
        self.parsed = parsed
        self.relpath = parsed.source.relpath
        self.modname = modname
        self.is_package = is_package
        self.data = parsed.source.data
        self.scope = Scope("module", modname, "", parsed.root, None)
        self.functions: list[FunctionInfo] = []
        self.classes: list[ClassInfo] = []
        self.calls: dict[int, CallInfo] = {}  # keyed by tree-sitter node id
        self.uses: dict[int, Use] = {}  # keyed by tree-sitter node id (idempotent when loops are re-walked)
        self.defs: dict[tuple[int, str], Def] = {}
        self.imports: dict[str, ImportBinding] = {}
        self.wildcard_imports: list[ImportBinding] = []
        # every module an import statement names, in text order: `import a.b` gives module "a.b" (the binding in
        # `imports` is only "a"); `from m import x` gives module "m" and attr "x" (a name or a submodule)
        self.imported: list[ImportBinding] = []
        self.statements: dict[int, int] = {}  # tree-sitter node id -> statement graph id
        self.stmt_nodes: dict[int, Node] = {}  # statement graph id -> node
        self.cfg_edges: set[tuple[int, int]] = set()
        self.attr_uses: dict[int, tuple[Node, Scope]] = {}  # `self.x` reads in methods
        self.docstring: str | None = None
        self.module_id = new_id()  # graph id of the module node (the CFG entry of the module body)
        # functions, classes, lambdas and comprehension scopes by tree-sitter node id: a loop body is walked
        # more than once (to a fixpoint), but each definition is recorded once
        self.def_infos: dict[int, FunctionInfo | ClassInfo] = {}
        self.comp_scopes: dict[int, Scope] = {}
        # syntactic parent of uses, calls and `self.x` reads, by node id, recorded by the walker (tree-sitter's
        # Node.parent searches down from the root, which is slow in long blocks); see `parent_of`
        self.parents: dict[int, Node] = {}

    def parent_of(self, node: Node) -> Node | None:
        parent = self.parents.get(node.id)
        return parent if parent is not None else node.parent




def docstring_of(block: Node | None) -> str | None:
    if block is None:
        return None
    for i in range(block.named_child_count):  # not `named_children`: a class body can hold thousands
        child = block.named_child(i)
        if child is None or child.type == "comment":
            continue
        if child.type == "expression_statement" and child.named_child_count == 1:
            s = child.named_children[0]
            if s.type == "string":
                body = "".join(text(c) for c in s.named_children if c.type == "string_content")
                return body.strip()
        return None
    return None


# ---------------------------------------------------------------------------------------------------------
# Flow state: reaching definitions per name in the current scope, plus the CFG predecessors.

class _Layer:
    """A frozen layer of a `Reach`: its bindings (None: unbound here) over those of `parent`."""

    __slots__ = ("depth", "entries", "parent")

    def __init__(self, entries: dict[str, frozenset[Def] | None], parent: _Layer | None) -> None:
        self.entries = entries
        self.parent = parent
        self.depth: int = parent.depth + 1 if parent is not None else 1


class Reach:
    """The definitions reaching a point, per name: a map that copies, joins and compares in time proportional
    to what changed since the flows parted, not to every name of the scope (a flow is copied at each branch,
    loop pass and comprehension, and a module or function of thousands of statements has thousands of names).
    A private top dict over a chain of frozen layers shared with the copies; a copy freezes the top. A new layer
    is merged with the one below while that is at most twice its size, so each layer is more than twice the
    size of the one above it and a lookup reads at most about log2(names) dicts."""

    __slots__ = ("below", "top")

    def __init__(self, top: dict[str, frozenset[Def] | None] | None = None, below: _Layer | None = None) -> None:
        self.top: dict[str, frozenset[Def] | None] = top if top is not None else {}
        self.below = below

    def get(self, name: str) -> frozenset[Def] | None:
        top = self.top
        if name in top:
            return top[name]
        layer = self.below
        while layer is not None:
            entries = layer.entries
            if name in entries:
                return entries[name]
            layer = layer.parent
        return None

    def __setitem__(self, name: str, defs: frozenset[Def]) -> None:
        self.top[name] = defs

    def pop(self, name: str) -> None:
        """Unbind `name` (`del x`, the end of `except E as x`)."""
        if self.below is None:
            self.top.pop(name, None)
        elif self.get(name) is not None:
            self.top[name] = None

    def _freeze(self) -> _Layer | None:
        """The top as a frozen layer (merged down while the layer below is at most twice its size); the top
        is empty after it."""
        if not self.top:
            return self.below
        entries, below = self.top, self.below
        while below is not None and len(below.entries) <= 2 * len(entries):
            entries = {**below.entries, **entries}
            below = below.parent
        if below is None:
            entries = {k: v for k, v in entries.items() if v is not None}
        self.top = {}
        self.below = _Layer(entries, below)
        return self.below

    def copy(self) -> Reach:
        return Reach(None, self._freeze())

    def _diff(self, base: _Layer | None) -> dict[str, frozenset[Def] | None]:
        """The bindings of this map that are not those of `base` (one of its layers, or None for all)."""
        layers: list[dict[str, frozenset[Def] | None]] = [self.top]
        layer = self.below
        while layer is not base:
            assert layer is not None
            layers.append(layer.entries)
            layer = layer.parent
        if len(layers) == 1:
            return self.top
        out: dict[str, frozenset[Def] | None] = {}
        for entries in reversed(layers):
            out.update(entries)
        return out

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Reach):
            return NotImplemented
        base = _common((self.below, other.below))
        mine, theirs = self._diff(base), other._diff(base)
        for name in mine.keys() | theirs.keys():
            a = mine[name] if name in mine else _lookup(base, name)
            b = theirs[name] if name in theirs else _lookup(base, name)
            if a != b:
                return False
        return True

    __hash__ = None  # type: ignore[assignment]  # mutable


def _lookup(layer: _Layer | None, name: str) -> frozenset[Def] | None:
    while layer is not None:
        if name in layer.entries:
            return layer.entries[name]
        layer = layer.parent
    return None


def _common(layers: Iterable[_Layer | None]) -> _Layer | None:
    """The deepest layer that every chain in `layers` passes through (None: none does)."""
    it = iter(layers)
    base = next(it)
    for other in it:
        a, b = base, other
        while a is not b:
            if a is None or b is None:
                return None
            if a.depth >= b.depth:
                a = a.parent
            else:
                b = b.parent
        base = a
    return base


def join_reach(reaches: list[Reach]) -> Reach:
    """The union, per name, of the definitions reaching each of `reaches` (a name unbound in some of them
    gets the others'), computed over the names bound since they parted."""
    for r in reaches:
        r._freeze()
    base = _common(r.below for r in reaches)
    diffs = [r._diff(base) for r in reaches]
    top: dict[str, frozenset[Def] | None] = {}
    names: dict[str, None] = {}
    for d in diffs:
        names.update(dict.fromkeys(d))
    for name in names:
        inherited = _lookup(base, name)
        union: frozenset[Def] | None = None
        for d in diffs:
            defs = d.get(name, inherited)
            if defs is not None:
                union = defs if union is None else union | defs
        if union is not None or inherited is not None:
            top[name] = union
    return Reach(top, base)


class Flow:
    """The definitions reaching a point (per name) and the CFG statements that may run just before it.
    A `dead` flow walks unreachable code: its bindings are recorded but reach nothing outside it."""

    __slots__ = ("dead", "preds", "reach")

    def __init__(self, reach: Reach, preds: frozenset[int], dead: bool = False) -> None:
        self.reach = reach
        self.preds = preds
        self.dead = dead

    def copy(self) -> Flow:
        return Flow(self.reach.copy(), self.preds, self.dead)


def join(*flows: Flow | None) -> Flow | None:
    live = [f for f in flows if f is not None]
    if not live:
        return None
    if len(live) == 1:
        return live[0].copy()
    preds: frozenset[int] = frozenset().union(*(f.preds for f in live))
    return Flow(join_reach([f.reach for f in live]), preds, all(f.dead for f in live))


def same(a: Flow | None, b: Flow | None) -> bool:
    if a is None or b is None:
        return a is b
    return a.reach == b.reach and a.preds == b.preds


# In a flow, stands for "the value bound in an enclosing scope" for `global` and `nonlocal` names.
OUTER: Def = Def.__new__(Def)
OUTER.id, OUTER.name, OUTER.kind, OUTER.uses = 0, "<outer>", "outer", []


def _with_bindings(base: Flow, made: dict[str, set[Def]], extra: Flow | None) -> Flow:
    """`base` joined with the bindings in `made` (each may reach) and with `extra`."""
    out = join(base, extra) or base.copy()
    for name, defs in made.items():
        old = out.reach.get(name)
        out.reach[name] = frozenset(defs) if old is None else old | defs
    return out


COMPREHENSIONS = frozenset({"list_comprehension", "set_comprehension", "dictionary_comprehension",
                            "generator_expression"})
PATTERN_TYPES = frozenset({"pattern_list", "tuple_pattern", "list_pattern", "tuple", "list"})
LEAVES = frozenset({"integer", "float", "true", "false", "none", "ellipsis", "comment", "string_content",
                    "escape_sequence", "string_start", "string_end"})
NESTED_DEFS = frozenset({"function_definition", "class_definition", "decorated_definition"})


class Walker:
    """Walks one module. Entry point: `collect_facts`."""

    def __init__(self, facts: ModuleFacts) -> None:
        self.m = facts
        self.scope = facts.scope
        self.function: FunctionInfo | None = None
        self.cls: ClassInfo | None = None
        self.stmt: Node | None = None
        self.loop_stack: list[tuple[list[Flow], list[Flow]]] = []  # (breaks, continues)
        # open `try` statements of the current function: (scope, every binding made in the try so far)
        self.try_stack: list[tuple[Scope, dict[str, set[Def]]]] = []
        self.comp_outer: Flow | None = None  # flow of the function around the comprehension being walked
        self.yields: set[int] = set()
        self.qualname_count: dict[str, int] = {}

    # -- scopes ------------------------------------------------------------------------------------------

    def qual(self, name: str) -> str:
        prefix = self.scope.qualname
        return f"{prefix}.{name}" if prefix else name

    def ordinal_for(self, qualname: str) -> int:
        n = self.qualname_count.get(qualname, 0) + 1
        self.qualname_count[qualname] = n
        return n

    def binding_scope(self, name: str) -> Scope:
        scope = self.scope
        if name in scope.global_names:
            return self.m.scope
        if name in scope.nonlocal_names:
            # the nearest enclosing function that binds it (skipping those that are `nonlocal` too); if none
            # does yet (the binding comes later in the text), the nearest enclosing function
            s = scope.parent
            first: Scope | None = None
            while s is not None:
                if s.kind in ("function", "lambda") and name not in s.nonlocal_names:
                    if name in s.bindings:
                        return s
                    first = first or s
                s = s.parent
            return first or self.m.scope
        return scope

    # -- recording ---------------------------------------------------------------------------------------

    def define(self, node: Node, flow: Flow | None, kind: str, value: Node | None = None,
               annotation: Node | None = None, target: object = None, name: str | None = None,
               binds: bool = True) -> Def:
        """Record a binding of `name` (default: the node's text); it reaches the rest of `flow`.
        `binds=False` records a declaration that binds nothing (`x: int`)."""
        name = name if name is not None else text(node)
        key = (node.id, name)
        d = self.m.defs.get(key)
        scope = self.binding_scope(name)
        if d is None:
            d = Def(name, scope, kind, node, value, annotation, self.stmt, target)
            d.redirected = scope is not self.scope
            self.m.defs[key] = d
            scope.bindings.setdefault(name, []).append(d)
        if not binds:
            return d
        if flow is not None:
            flow.reach[name] = frozenset((d,))
        for try_scope, made in self.try_stack:
            if try_scope is d.scope:
                made.setdefault(name, set()).add(d)
        return d

    def use(self, node: Node, flow: Flow | None, parent: Node | None = None) -> None:
        nid = node.id
        u = self.m.uses.get(nid)
        if u is None:
            raw = node.text
            u = Use(raw.decode("utf-8", "replace") if raw is not None else "", self.scope, node, self.stmt)
            self.m.uses[nid] = u
            if parent is not None:
                self.m.parents[nid] = parent
        if flow is not None:
            reaching = flow.reach.get(u.name)
            if reaching:
                for d in reaching:
                    if d is OUTER:
                        u.outer = True
                    elif d not in u.defs:
                        u.defs.append(d)
                        d.uses.append(u)

    def statement(self, node: Node, flow: Flow | None) -> Flow | None:
        """Register `node` as a CFG node; edges from the flow's predecessors."""
        sid = self.m.statements.get(node.id)
        if sid is None:
            sid = new_id()
            self.m.statements[node.id] = sid
            self.m.stmt_nodes[sid] = node
        if flow is None:
            return None
        for p in flow.preds:
            self.m.cfg_edges.add((p, sid))
        flow.preds = frozenset((sid,))
        return flow

    # -- statements --------------------------------------------------------------------------------------

    def block(self, node: Node | None, flow: Flow | None) -> Flow | None:
        if node is None:
            return flow
        for child in node.named_children:
            if child.type == "comment":
                continue
            if flow is None:
                self.stmt_(child, None)  # unreachable: analysed, but what it binds reaches nothing
            else:
                flow = self.stmt_(child, flow)
        return flow

    def stmt_(self, node: Node, flow: Flow | None) -> Flow | None:
        saved = self.stmt
        self.stmt = node
        try:
            return self._stmt(node, flow)
        finally:
            self.stmt = saved

    def _stmt(self, node: Node, flow: Flow | None) -> Flow | None:
        t = node.type
        if flow is None:
            # Unreachable code is still analysed (uses get no reaching definitions, bindings are recorded).
            flow = Flow(Reach(), frozenset(), dead=True)
        first = node.id not in self.m.statements  # loop bodies are walked more than once
        flow = self.statement(node, flow)
        assert flow is not None
        if t == "expression_statement":
            for child in node.named_children:
                flow = self.expr_stmt(child, flow)
            return flow
        if t in ("function_definition", "class_definition", "decorated_definition"):
            return self.definition(node, flow, [])
        if t == "return_statement":
            if self.function is not None and first:
                self.function.returns.append(node)
            for c in node.named_children:
                self.expr(c, flow)
            return None
        if t == "if_statement":
            return self.if_(node, flow)
        if t == "for_statement":
            return self.for_(node, flow)
        if t == "while_statement":
            return self.while_(node, flow)
        if t == "try_statement":
            return self.try_(node, flow)
        if t == "with_statement":
            return self.with_(node, flow)
        if t == "match_statement":
            return self.match_(node, flow)
        if t in ("import_statement", "import_from_statement", "future_import_statement"):
            self.import_(node, flow, first_walk=first)
            return flow
        if t == "raise_statement":
            if self.function is not None and first:
                self.function.raises += 1
            for c in node.named_children:
                self.expr(c, flow)
            return None
        if t in ("break_statement", "continue_statement"):
            if self.loop_stack and not flow.dead:
                breaks, continues = self.loop_stack[-1]
                (breaks if t == "break_statement" else continues).append(flow.copy())
            return None
        if t in ("global_statement", "nonlocal_statement"):
            # Python requires the declaration before any use or binding of the name in the scope, so
            # recording it here, in text order, is enough. Until the function rebinds the name, a read sees
            # the enclosing scope's value (OUTER).
            names = [text(i) for i in node.named_children if i.type == "identifier"]
            (self.scope.global_names if t == "global_statement" else self.scope.nonlocal_names).update(names)
            if self.scope.kind != "module":
                for name in names:
                    flow.reach[name] = frozenset((OUTER,))
            return flow
        if t == "pass_statement":
            return flow
        if t == "delete_statement":
            self.delete(node, flow)
            return flow
        if t == "type_alias_statement":
            left = node.child_by_field_name("left")
            ident = left.named_children[0] if left is not None and left.named_children else None
            if ident is not None and ident.type == "identifier":
                self.define(ident, flow, "alias", node.child_by_field_name("right"))
            return flow
        if t == "block":
            return self.block(node, flow)
        # assert, print, exec, ERROR and anything else: walk the expressions inside
        for c in node.named_children:
            self.expr(c, flow)
        return flow

    def delete(self, node: Node, flow: Flow) -> None:
        """`del a, (b, c), x.y`: the names are read, then unbound (no definition reaches past it)."""
        for c in node.named_children:
            if c.type == "identifier":
                self.use(c, flow, node)
                flow.reach.pop(text(c))
            elif c.type in ("expression_list", "tuple", "list", "parenthesized_expression"):
                self.delete(c, flow)
            elif c.type != "comment":
                self.expr(c, flow)

    def expr_stmt(self, node: Node, flow: Flow) -> Flow:
        t = node.type
        if t == "assignment":
            return self.assignment(node, flow)
        if t == "augmented_assignment":
            left = node.child_by_field_name("left")
            right = node.child_by_field_name("right")
            self.expr(right, flow)
            if left is not None and left.type == "identifier":
                self.use(left, flow, node)
                self.define(left, flow, "augassign", right)
            else:
                self.expr(left, flow)
                if left is not None and left.type == "attribute":
                    self.attr_target(left, right, None, flow, aug=True)
            return flow
        if t == "string" and self.stmt is not None:
            return flow  # docstrings and bare strings
        self.expr(node, flow)
        return flow

    def assignment(self, node: Node, flow: Flow) -> Flow:
        # a = b = value is nested: assignment(left=a, right=assignment(left=b, right=value))
        targets: list[Node] = []
        annotation = node.child_by_field_name("type")
        cur: Node | None = node
        value: Node | None = None
        while cur is not None and cur.type == "assignment":
            left = cur.child_by_field_name("left")
            if left is not None:
                targets.append(left)
            if cur.child_by_field_name("type") is not None and cur is not node:
                annotation = annotation or cur.child_by_field_name("type")
            value = cur.child_by_field_name("right")
            cur = value
        if value is not None:
            self.expr(value, flow)
        if annotation is not None:
            self.annotation_expr(annotation, flow)
        for target in targets:
            if value is None and target.type == "identifier":
                # `x: T` declares without binding: recorded (it is the slot's place) but reaches nothing
                self.define(target, None, "annassign", None, annotation, binds=False)
                continue
            self.bind(target, flow, "annassign" if annotation is not None else "assign", value,
                      annotation if len(targets) == 1 else None)
        return flow

    def annotation_expr(self, node: Node, flow: Flow | None) -> None:
        # Names in annotations are uses (of classes, aliases); string annotations are left alone.
        self.expr(node, flow)

    def bind(self, target: Node, flow: Flow | None, kind: str, value: Node | None,
             annotation: Node | None = None) -> None:
        t = target.type
        if t == "identifier":
            self.define(target, flow, kind, value, annotation)
        elif t in PATTERN_TYPES or t == "parenthesized_expression":
            for c in target.named_children:
                self.bind(c, flow, kind, None)
        elif t == "as_pattern_target":  # `with v as x`, `except E as e`: x is bound to (the result of) v
            for c in target.named_children:
                self.bind(c, flow, kind, value)
        elif t in ("list_splat_pattern", "list_splat"):
            for c in target.named_children:
                self.bind(c, flow, kind, None)
        elif t == "attribute":
            self.expr(target.child_by_field_name("object"), flow, target)
            self.attr_target(target, value, annotation, flow)
        elif t == "subscript":
            self.expr(target, flow)
        elif t == "type":
            for c in target.named_children:
                self.bind(c, flow, kind, value, annotation)
        else:
            self.expr(target, flow)

    def attr_target(self, target: Node, value: Node | None, annotation: Node | None, flow: Flow | None,
                    aug: bool = False) -> None:
        """`self.x = v` inside a method (or `cls.x = v` in a classmethod) binds an attribute of the class."""
        fn = self.function
        obj = target.child_by_field_name("object")
        attr = target.child_by_field_name("attribute")
        if fn is None or fn.cls is None or obj is None or attr is None or obj.type != "identifier":
            return
        if not fn.params or text(obj) != fn.params[0].name or fn.is_static:
            return
        name = text(attr)
        existing = fn.cls.attributes.setdefault(name, [])
        if any(a.node.id == target.id for a in existing):
            return
        kind = "class" if any(n.endswith("classmethod") for n in fn.decorator_names) else "instance"
        existing.append(AttrDef(name, fn.cls, target, None if aug else value, annotation, self.stmt, fn, kind))

    # -- compound statements ----------------------------------------------------------------------------

    def if_(self, node: Node, flow: Flow) -> Flow | None:
        self.expr(node.child_by_field_name("condition"), flow)
        outs: list[Flow | None] = []
        outs.append(self.block(node.child_by_field_name("consequence"), flow.copy()))
        has_else = False
        current = flow
        for alt in node.children_by_field_name("alternative"):
            if alt.type == "elif_clause":
                current = current.copy()
                saved = self.stmt
                self.stmt = alt
                current = self.statement(alt, current) or current
                self.expr(alt.child_by_field_name("condition"), current)
                self.stmt = saved
                outs.append(self.block(alt.child_by_field_name("consequence"), current.copy()))
            elif alt.type == "else_clause":
                has_else = True
                outs.append(self.block(alt.child_by_field_name("body"), current.copy()))
        if not has_else:
            outs.append(current)
        return join(*outs)

    def loop(self, node: Node, flow: Flow, head: Callable[[Flow], None], body: Node | None,
             orelse: Node | None, endless: bool = False) -> Flow | None:
        """A loop: the body is walked until the definitions reaching its head stop growing (gen/kill sets
        converge in two passes; nested loops in a few more). `endless` (`while True`) leaves only by break."""
        entry = flow.copy()
        header_id = self.m.statements[node.id]
        out: Flow | None = None
        breaks: list[Flow] = []
        for _ in range(4):
            breaks = []
            continues: list[Flow] = []
            self.loop_stack.append((breaks, continues))
            state = entry.copy()
            state.preds = frozenset((header_id,))
            head(state)
            out = self.block(body, state)
            self.loop_stack.pop()
            back = join(out, *continues)
            if back is not None:
                for p in back.preds:
                    self.m.cfg_edges.add((p, header_id))
            new_entry = join(entry, back)
            assert new_entry is not None
            new_entry.preds = entry.preds
            if new_entry.reach == entry.reach:
                break
            entry = new_entry
        exit_flow: Flow | None = None
        if not endless:
            exit_flow = entry.copy()
            exit_flow.preds = frozenset((header_id,))
        if orelse is not None:
            exit_flow = self.block(orelse, exit_flow)
        return join(exit_flow, *breaks)

    def for_(self, node: Node, flow: Flow) -> Flow | None:
        self.expr(node.child_by_field_name("right"), flow)
        left = node.child_by_field_name("left")
        right = node.child_by_field_name("right")

        def head(state: Flow) -> None:
            if left is not None:
                self.bind(left, state, "for", right)

        alt = node.child_by_field_name("alternative")
        return self.loop(node, flow, head, node.child_by_field_name("body"),
                         alt.child_by_field_name("body") if alt is not None else None)

    def while_(self, node: Node, flow: Flow) -> Flow | None:
        cond = node.child_by_field_name("condition")

        def head(state: Flow) -> None:
            self.expr(cond, state)

        alt = node.child_by_field_name("alternative")
        endless = cond is not None and (cond.type == "true" or (cond.type == "integer" and text(cond) == "1"))
        return self.loop(node, flow, head, node.child_by_field_name("body"),
                         alt.child_by_field_name("body") if alt is not None else None, endless)

    def try_(self, node: Node, flow: Flow) -> Flow | None:
        """try/except/else/finally. Any statement of the body may raise, so a handler starts from the state
        before the try joined with every binding the body makes; the finally clause also runs on the paths
        that leave by an exception (from the body or a handler), and the code after it follows only the
        normal exits."""
        before = flow.copy()
        made: dict[str, set[Def]] = {}
        self.try_stack.append((self.scope, made))
        after_body = self.block(node.child_by_field_name("body"), flow.copy())
        handler_entry = _with_bindings(before, made, after_body)
        outs: list[Flow | None] = []
        else_out = after_body
        finally_clause = None
        for child in node.named_children:
            if child.type == "except_clause" or child.type == "except_group_clause":
                state = handler_entry.copy()
                saved = self.stmt
                self.stmt = child
                state = self.statement(child, state) or state
                value = child.child_by_field_name("value")
                bound: list[str] = []
                if value is not None and value.type == "as_pattern":
                    types = value.named_children[0] if value.named_children else None
                    self.expr(types, state)
                    alias = value.child_by_field_name("alias")
                    if alias is not None:
                        self.bind(alias, state, "except", types)
                        bound = [text(i) for i in alias.named_children if i.type == "identifier"]
                elif value is not None:
                    self.expr(value, state)
                self.stmt = saved
                body = next((c for c in child.named_children if c.type == "block"), None)
                out = self.block(body, state)
                if out is not None:
                    for name in bound:  # `except E as e` ends with an implicit `del e`
                        out.reach.pop(name)
                outs.append(out)
            elif child.type == "else_clause":
                else_out = self.block(child.child_by_field_name("body"), after_body) if after_body else None
            elif child.type == "finally_clause":
                finally_clause = child
        self.try_stack.pop()
        result = join(else_out, *outs)
        if finally_clause is None:
            return result
        body = next((c for c in finally_clause.named_children if c.type == "block"), None)
        on_error = _with_bindings(before, made, None)
        fin_in = join(result, on_error)
        assert fin_in is not None
        fin_out = self.block(body, fin_in)
        if result is None or fin_out is None:
            return None
        if result.reach == fin_in.reach:
            return fin_out
        return self.block(body, result)  # again, from the normal exits only, for what follows the try

    def with_(self, node: Node, flow: Flow) -> Flow | None:
        for clause in node.named_children:
            if clause.type != "with_clause":
                continue
            for item in clause.named_children:
                value = item.child_by_field_name("value")
                if value is None:
                    continue
                if value.type == "as_pattern":
                    ctx = value.named_children[0] if value.named_children else None
                    self.expr(ctx, flow)
                    alias = value.child_by_field_name("alias")
                    if alias is not None:
                        self.bind(alias, flow, "with", ctx)
                else:
                    self.expr(value, flow)
        return self.block(node.child_by_field_name("body"), flow)

    def match_(self, node: Node, flow: Flow) -> Flow | None:
        subject = node.child_by_field_name("subject")
        self.expr(subject, flow)
        body = node.child_by_field_name("body")
        outs: list[Flow | None] = []
        if body is None:
            return flow
        irrefutable = False
        for case in body.named_children:
            if case.type != "case_clause":
                continue
            state = flow.copy()
            for c in case.named_children:
                if c.type == "case_pattern":
                    self.pattern(c, state, subject)
                    if c.named_child_count == 1 and c.named_children[0].type == "dotted_name" and \
                            "." not in text(c) and case.child_by_field_name("guard") is None:
                        irrefutable = True
            guard = case.child_by_field_name("guard")
            if guard is not None:
                self.expr(guard, state)
            outs.append(self.block(case.child_by_field_name("consequence"), state))
        if not irrefutable:
            outs.append(flow)
        return join(*outs)

    def pattern(self, node: Node, flow: Flow, subject: Node | None) -> None:
        t = node.type
        if t == "dotted_name":
            if node.named_child_count == 1:
                ident = node.named_children[0]
                if text(ident) != "_":
                    self.define(ident, flow, "match", subject)
            else:
                self.expr(node.named_children[0], flow)
            return
        if t == "class_pattern":
            children = node.named_children
            if children and children[0].type == "dotted_name":
                self.use(children[0].named_children[0], flow)
                children = children[1:]
            for c in children:
                self.pattern(c, flow, None)
            return
        if t == "keyword_pattern":
            for c in node.named_children[1:]:
                self.pattern(c, flow, None)
            return
        if t in ("splat_pattern", "as_pattern"):
            kids = node.named_children
            for c in kids:
                if c.type == "identifier":
                    self.define(c, flow, "match", subject if t == "as_pattern" else None)
                else:
                    self.pattern(c, flow, subject)
            return
        if t == "dict_pattern":
            for i, c in enumerate(node.named_children):
                if node.field_name_for_named_child(i) == "key":
                    self.expr(c, flow)
                else:
                    self.pattern(c, flow, None)
            return
        for c in node.named_children:
            self.pattern(c, flow, None)

    # -- definitions -------------------------------------------------------------------------------------

    def definition(self, node: Node, flow: Flow, decorators: list[Node]) -> Flow:
        if node.type == "decorated_definition":
            decs = [c for c in node.named_children if c.type == "decorator"]
            for d in decs:
                self.expr(d, flow)
            inner = node.child_by_field_name("definition")
            if inner is None:
                return flow
            return self.definition(inner, flow, decorators + decs)
        if node.type == "class_definition":
            return self.class_(node, flow, decorators)
        return self.function_(node, flow, decorators)

    def function_(self, node: Node, flow: Flow, decorators: list[Node]) -> Flow:
        name_node = node.child_by_field_name("name")
        seen = self.m.def_infos.get(node.id)
        if isinstance(seen, FunctionInfo):  # walked again (a loop body): only what depends on the flow
            self._signature_uses(seen.params, seen.return_annotation, flow)
            if name_node is not None:
                self.define(name_node, flow, "function", None, None, seen)
            return flow
        name = text(name_node)
        base = self.qual(name)
        ordinal = self.ordinal_for(base)
        qualname = base if ordinal == 1 else f"{base}@{ordinal}"
        cls = self.cls if self.scope.kind == "class" else None
        fn = FunctionInfo(name, qualname, node, cls, self.m)
        self.m.def_infos[node.id] = fn
        fn.ordinal = ordinal
        fn.decorators = decorators
        fn.is_async = any(c.type == "async" for c in node.children[:2])
        fn.return_annotation = node.child_by_field_name("return_type")
        body = node.child_by_field_name("body")
        fn.docstring = docstring_of(body)
        self.m.functions.append(fn)
        if cls is not None and name not in cls.methods:
            cls.methods[name] = fn
        params_node = node.child_by_field_name("parameters")
        # defaults and annotations are evaluated in the enclosing scope, at definition time
        raw_params = self.collect_params(params_node, fn)
        self._signature_uses(raw_params, fn.return_annotation, flow)
        if name_node is not None:
            self.define(name_node, flow, "function", None, None, fn)
        self.function_body(fn, raw_params, body, "function")
        return flow

    def _signature_uses(self, params: list[ParamInfo], returns: Node | None, flow: Flow) -> None:
        # defaults and annotations are evaluated in the enclosing scope, at definition time
        for p in params:
            if p.default is not None:
                self.expr(p.default, flow)
            if p.annotation is not None:
                self.annotation_expr(p.annotation, flow)
        if returns is not None:
            self.annotation_expr(returns, flow)

    def collect_params(self, params_node: Node | None, fn: FunctionInfo) -> list[ParamInfo]:
        out: list[ParamInfo] = []
        if params_node is None:
            return out
        kind = "positional"
        items = params_node.named_children
        if any(c.type == "positional_separator" for c in items):
            kind = "posonly"
        for c in items:
            t = c.type
            if t == "positional_separator":
                kind = "positional"
                continue
            if t == "keyword_separator":
                kind = "kwonly"
                continue
            annotation = c.child_by_field_name("type")
            default = c.child_by_field_name("value")
            pkind = kind
            name_node: Node | None
            if t == "identifier":
                name_node = c
            elif t in ("default_parameter", "typed_default_parameter"):
                name_node = c.child_by_field_name("name")
            elif t == "typed_parameter":
                inner = c.named_children[0] if c.named_children else None
                name_node = inner
                if inner is not None and inner.type in ("list_splat_pattern", "dictionary_splat_pattern"):
                    pkind = "star" if inner.type == "list_splat_pattern" else "starstar"
                    name_node = inner.named_children[0] if inner.named_children else None
            elif t in ("list_splat_pattern", "dictionary_splat_pattern"):
                pkind = "star" if t == "list_splat_pattern" else "starstar"
                name_node = c.named_children[0] if c.named_children else None
            elif t == "tuple_pattern":  # Python 2 style, not valid in 3: ignore
                continue
            else:
                continue
            if name_node is None or name_node.type != "identifier":
                continue
            if pkind == "star":
                kind = "kwonly"
            out.append(ParamInfo(text(name_node), len(out), pkind, name_node, annotation, default, fn))
        fn.params = out
        return out

    def function_body(self, fn: FunctionInfo, params: list[ParamInfo], body: Node | None, kind: str) -> None:
        saved = (self.scope, self.function, self.cls, self.loop_stack, self.stmt, self.try_stack, self.comp_outer)
        scope = Scope(kind, fn.name, fn.qualname, fn.node, self.scope)
        scope.function = fn
        fn.scope = scope
        self.scope.children.append(scope)
        self.scope = scope
        self.function = fn
        self.loop_stack = []
        self.try_stack = []
        self.comp_outer = None
        state = Flow(Reach(), frozenset((fn.id,)))
        for p in params:
            p.definition = self.define(p.node, state, "param", p.default, p.annotation, p)
        if body is not None:
            if body.type == "block":
                self.block(body, state)
            else:  # lambda body: an expression
                fn.returns.append(body)
                self.expr(body, state)
        self.scope, self.function, self.cls, self.loop_stack, self.stmt, self.try_stack, self.comp_outer = saved

    def class_(self, node: Node, flow: Flow, decorators: list[Node]) -> Flow:
        name_node = node.child_by_field_name("name")
        supers = node.child_by_field_name("superclasses")
        seen = self.m.def_infos.get(node.id)
        if isinstance(seen, ClassInfo):  # walked again (a loop body): only what depends on the flow
            if supers is not None:
                for c in supers.named_children:
                    self.expr(c.child_by_field_name("value") if c.type == "keyword_argument" else c, flow)
            if name_node is not None:
                self.define(name_node, flow, "class", None, None, seen)
            return flow
        name = text(name_node)
        base = self.qual(name)
        ordinal = self.ordinal_for(base)
        qualname = base if ordinal == 1 else f"{base}@{ordinal}"
        info = ClassInfo(name, qualname, node, self.m)
        self.m.def_infos[node.id] = info
        info.ordinal = ordinal
        info.decorators = decorators
        self.m.classes.append(info)
        if supers is not None:
            for c in supers.named_children:
                if c.type == "keyword_argument":
                    info.keywords.append(c)
                    self.expr(c.child_by_field_name("value"), flow)
                elif c.type not in ("list_splat", "dictionary_splat", "comment"):
                    info.bases.append(c)
                    self.expr(c, flow)
                else:
                    self.expr(c, flow)
        saved = (self.scope, self.cls, self.function, self.loop_stack, self.try_stack, self.comp_outer)
        scope = Scope("class", name, qualname, node, self.scope)
        scope.cls = info
        info.scope = scope
        self.scope.children.append(scope)
        self.scope = scope
        self.cls = info
        self.function = None
        self.loop_stack = []
        self.try_stack = []
        self.comp_outer = None
        self.block(node.child_by_field_name("body"), Flow(Reach(), frozenset((info.id,))))
        # names bound in the class body (not methods or nested classes) are class attributes
        for attr_name, defs in scope.bindings.items():
            for d in defs:
                if d.kind in ("assign", "annassign", "augassign"):
                    info.attributes.setdefault(attr_name, []).insert(
                        0, AttrDef(attr_name, info, d.node, d.value, d.annotation, d.stmt, None, "class"))
                    break
        self.scope, self.cls, self.function, self.loop_stack, self.try_stack, self.comp_outer = saved
        if name_node is not None:
            self.define(name_node, flow, "class", None, None, info)
        return flow

    def import_(self, node: Node, flow: Flow, first_walk: bool = True) -> None:
        if node.type == "future_import_statement":
            return
        if node.type == "import_statement":
            for c in node.named_children:
                if c.type == "dotted_name":
                    full = text(c)
                    first = c.named_children[0] if c.named_children else c
                    b = ImportBinding(full.split(".")[0], full.split(".")[0], None, 0, c)
                    self.m.imports.setdefault(b.local, b)
                    self.define(first, flow, "import", None, None, b)
                    if first_walk:
                        self.m.imported.append(ImportBinding(b.local, full, None, 0, c))
                elif c.type == "aliased_import":
                    mod = c.child_by_field_name("name")
                    alias = c.child_by_field_name("alias")
                    if alias is None:
                        continue
                    b = ImportBinding(text(alias), text(mod), None, 0, c)
                    self.m.imports[b.local] = b
                    self.define(alias, flow, "import", None, None, b)
                    if first_walk:
                        self.m.imported.append(b)
            return
        module_node = node.child_by_field_name("module_name")
        level = 0
        module = ""
        if module_node is not None:
            if module_node.type == "relative_import":
                for c in module_node.named_children:
                    if c.type == "import_prefix":
                        level = len(text(c).strip())
                    elif c.type == "dotted_name":
                        module = text(c)
            else:
                module = text(module_node)
        for c in node.named_children:
            if c is module_node or c.id == getattr(module_node, "id", None):
                continue
            if c.type == "dotted_name":
                name_ident = c.named_children[-1] if c.named_children else c
                b = ImportBinding(text(c), module, text(c), level, c)
                self.m.imports[b.local] = b
                self.define(name_ident, flow, "import", None, None, b)
                if first_walk:
                    self.m.imported.append(b)
            elif c.type == "aliased_import":
                orig = c.child_by_field_name("name")
                alias = c.child_by_field_name("alias")
                if alias is None:
                    continue
                b = ImportBinding(text(alias), module, text(orig), level, c)
                self.m.imports[b.local] = b
                self.define(alias, flow, "import", None, None, b)
                if first_walk:
                    self.m.imported.append(b)
            elif c.type == "wildcard_import" and first_walk:
                b = ImportBinding("*", module, "*", level, c)
                self.m.wildcard_imports.append(b)
                self.m.imported.append(b)

    # -- expressions -------------------------------------------------------------------------------------

    def expr(self, node: Node | None, flow: Flow | None, parent: Node | None = None) -> None:
        """Walk an expression: record uses (with their reaching definitions), calls, walrus bindings, nested
        comprehension and lambda scopes. `parent` is the node's syntactic parent, when the caller knows it."""
        if node is None:
            return
        t = node.type
        if t == "identifier":
            self.use(node, flow, parent)
            return
        if t == "attribute":
            obj = node.child_by_field_name("object")
            self.expr(obj, flow, node)
            if parent is not None:
                self.m.parents[node.id] = parent
            fn = self.function
            if fn is not None and fn.cls is not None and obj is not None and obj.type == "identifier" \
                    and fn.params and text(obj) == fn.params[0].name:
                self.m.attr_uses[node.id] = (node, self.scope)
            return
        if t == "call":
            func = node.child_by_field_name("function")
            self.expr(func, flow, node)
            call: CallInfo | None = None
            if func is not None and node.id not in self.m.calls:
                call = CallInfo(node, func, self.scope, self.m, self.stmt)
                self.m.calls[node.id] = call
                if parent is not None:
                    self.m.parents[node.id] = parent
            args = node.child_by_field_name("arguments")
            if args is not None:
                self.m.parents[args.id] = node
                if args.type == "generator_expression":
                    self.expr(args, flow, node)
                    if call is not None:
                        call.args.append((0, None, args))
                else:
                    pos = 0
                    for a in args.named_children:
                        at = a.type
                        if at == "keyword_argument":
                            v = a.child_by_field_name("value")
                            self.m.parents[a.id] = args
                            self.expr(v, flow, a)
                            if call is not None and v is not None:
                                call.args.append((None, text(a.child_by_field_name("name")), v))
                        elif at == "comment":
                            continue
                        else:
                            self.expr(a, flow, args)
                            if call is not None:
                                if at == "list_splat":
                                    call.args.append((None, "*", a))
                                elif at == "dictionary_splat":
                                    call.args.append((None, "**", a))
                                else:
                                    call.args.append((pos, None, a))
                                    pos += 1
            return
        if t in LEAVES:
            return
        if t == "string":  # only f-string interpolations hold expressions
            for c in node.named_children:
                if c.type == "interpolation":
                    self.expr(c, flow, node)
            return
        if t == "named_expression":
            value = node.child_by_field_name("value")
            self.expr(value, flow, node)
            name = node.child_by_field_name("name")
            if name is not None:
                if self.scope.kind == "comprehension":
                    self.comprehension_walrus(name, value, flow)
                else:
                    self.define(name, flow, "walrus", value)
            return
        if t in COMPREHENSIONS:
            self.comprehension(node, flow)
            return
        if t == "lambda":
            self.lambda_(node, flow)
            return
        if t == "keyword_argument":
            self.expr(node.child_by_field_name("value"), flow, node)
            return
        if t == "yield" and self.function is not None and node.id not in self.yields:
            self.yields.add(node.id)
            self.function.yields.append(node)
        elif t == "parenthesized_expression" and parent is not None:
            self.m.parents[node.id] = parent
        for c in node.named_children:
            self.expr(c, flow, node)

    def comprehension_walrus(self, name: Node, value: Node | None, flow: Flow | None) -> None:
        """`(y := v)` in a comprehension binds `y` in the enclosing function (or module): it reaches the rest of
        the comprehension and, as the comprehension may run zero times, joins what reaches after it."""
        target_scope = self.scope
        while target_scope.kind == "comprehension" and target_scope.parent is not None:
            target_scope = target_scope.parent
        saved = self.scope
        self.scope = target_scope
        d = self.define(name, None, "walrus", value)
        self.scope = saved
        if flow is not None:
            flow.reach[d.name] = frozenset((d,))
        outer = self.comp_outer
        if outer is not None:
            old = outer.reach.get(d.name)
            outer.reach[d.name] = frozenset((d,)) if old is None else old | {d}

    def comprehension(self, node: Node, flow: Flow | None) -> None:
        """A comprehension is its own scope: its targets do not leak. It runs where it stands, so it sees the
        definitions reaching it in the enclosing function or module (not those of a class body)."""
        clauses = [c for c in node.named_children if c.type in ("for_in_clause", "if_clause")]
        # the first iterable is evaluated in the enclosing scope
        first = next((c for c in clauses if c.type == "for_in_clause"), None)
        if first is not None:
            for r in first.children_by_field_name("right"):
                self.expr(r, flow, first)
        saved, saved_outer = self.scope, self.comp_outer
        scope = self.m.comp_scopes.get(node.id)
        if scope is None:
            scope = Scope("comprehension", "<comp>", self.scope.qualname, node, self.scope)
            self.m.comp_scopes[node.id] = scope
            self.scope.children.append(scope)
        if saved.kind != "comprehension":
            self.comp_outer = flow
        enclosing = saved
        while enclosing.kind == "comprehension" and enclosing.parent is not None:
            enclosing = enclosing.parent
        preds = flow.preds if flow is not None else frozenset()
        inherit = flow is not None and enclosing.kind != "class"
        state = Flow(flow.reach.copy() if inherit and flow is not None else Reach(), preds)
        self.scope = scope
        for c in clauses:
            if c.type == "for_in_clause":
                if c is not first:
                    for r in c.children_by_field_name("right"):
                        self.expr(r, state, c)
                left = c.child_by_field_name("left")
                if left is not None:
                    self.bind(left, state, "comp", c.child_by_field_name("right"))
            else:
                for x in c.named_children:
                    self.expr(x, state, c)
        body = node.child_by_field_name("body")
        if body is not None:
            if body.type == "pair":
                for x in body.named_children:
                    self.expr(x, state, body)
            else:
                self.expr(body, state, node)
        self.scope, self.comp_outer = saved, saved_outer

    def lambda_(self, node: Node, flow: Flow | None) -> None:
        seen = self.m.def_infos.get(node.id)
        if isinstance(seen, FunctionInfo):  # walked again (a loop body)
            for p in seen.params:
                if p.default is not None:
                    self.expr(p.default, flow)
            return
        fn = FunctionInfo("<lambda>", self.qual("<lambda>"), node, None, self.m)
        self.m.def_infos[node.id] = fn
        fn.is_lambda = True
        params = self.collect_params(node.child_by_field_name("parameters"), fn)
        for p in params:
            if p.default is not None:
                self.expr(p.default, flow)
        saved_stmt = self.stmt
        self.function_body(fn, params, node.child_by_field_name("body"), "lambda")
        self.stmt = saved_stmt


def resolve_free_uses(facts: ModuleFacts) -> None:
    """Uses with no reaching definition in their own scope bind to the nearest enclosing scope that binds them
    (class scopes are skipped, as in Python), and get every binding there (flow-insensitive: the enclosing
    scope may rebind the name before the inner code runs). So do `global`/`nonlocal` names that a function
    reads before rebinding them."""
    for u in facts.uses.values():
        if len(u.defs) > 1:  # filled from sets: put them in creation order, so that runs are reproducible
            u.defs.sort(key=_def_id)
        if u.defs and not u.outer:
            continue
        name = u.name
        scope = u.scope
        if scope.kind == "module" or (scope.kind in ("function", "lambda") and name in scope.bindings):
            continue  # used before assignment: unresolved (or a builtin)
        target: Scope | None
        if name in scope.global_names:
            target = facts.scope
        elif scope.kind == "comprehension" and name in scope.bindings:
            target = scope
        else:
            target = scope.parent
            while target is not None:
                if target.kind != "class" and name in target.bindings:
                    break
                target = target.parent
        if target is None:
            continue
        for d in target.bindings.get(name, ()):
            if d not in u.defs:
                u.defs.append(d)
                d.uses.append(u)


def _def_id(d: Def) -> int:
    return d.id


def collect_facts(parsed: ParsedFile, modname: str, is_package: bool) -> ModuleFacts:
    facts = ModuleFacts(parsed, modname, is_package)
    facts.docstring = docstring_of(parsed.root)
    walker = Walker(facts)
    walker.block(parsed.root, Flow(Reach(), frozenset((facts.module_id,))))
    resolve_free_uses(facts)
    return facts


def iter_scopes(scope: Scope) -> Iterator[Scope]:
    """`scope` and every scope nested in it, parents first (iterative: nesting can be deep)."""
    stack = [scope]
    while stack:
        s = stack.pop()
        yield s
        stack.extend(reversed(s.children))


def all_defs(facts: ModuleFacts) -> Iterable[Def]:
    return facts.defs.values()
