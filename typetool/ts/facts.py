"""Stage 2a for TypeScript, facts: one walk over a module's tree that records what slots and slices need.

Does: for one parsed .ts/.tsx module, records named functions (declarations, methods, getters/setters,
constructors, arrow functions and function expressions bound to a variable, class field, object property or
`export default`) with their qualified names, parameters (plain, optional, rest, destructured, parameter
properties, defaults) and return annotations; classes with heritage, fields and methods; `let`/`const`/`var`
declarators; imports (named, default, namespace) and exports (declarations, `export { a as b }`, re-exports);
and, for every binding, the identifiers that read it (lexical: a nested function that rebinds the name in its
parameters or directly in its body hides it; found with a per-tree identifier index, so each lookup costs only
the occurrences of that name inside the scope).
Does not: look at other files (`ts.project` resolves imports), type-check, or follow control flow (TypeScript
narrowing is read by the slicer from the syntax around each use). Anonymous callbacks (functions passed as
arguments, methods and function-valued properties of object literals that are not bound to a name) are
contextually typed by TypeScript: they own no slots, and their bodies count as their parent's. Functions of a bound
object literal are named through it (`const o = {a: {m() {}}}` gives `o.a.m`), those of a `namespace N` as `N.f`.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import tree_sitter as ts

from typetool.treesitter import ParsedFile, text
from typetool.ts.parse import grammar_for, parser_for

Node = ts.Node

FUNCTION_NODES = frozenset({
    "function_declaration", "generator_function_declaration", "function_expression", "generator_function",
    "arrow_function", "method_definition", "function",
})
CLASS_NODES = frozenset({"class_declaration", "abstract_class_declaration", "class"})
PARAM_NODES = frozenset({"required_parameter", "optional_parameter"})
MODULE_SCOPE = "<module>"
# node types the facts walk never needs to enter: names, literals and types hold no function, class or declaration
_INERT = frozenset({
    "identifier", "property_identifier", "private_property_identifier", "shorthand_property_identifier",
    "type_identifier", "string", "number", "true", "false", "null", "undefined", "this", "super", "comment",
    "regex", "type_annotation", "type_arguments", "type_parameters", "predefined_type", "statement_identifier",
    "hash_bang_line", "string_fragment", "escape_sequence", "import", "empty_statement", "accessibility_modifier",
    "override_modifier", "debugger_statement", "break_statement", "continue_statement",
})
_SKIPPED = frozenset({"ERROR", "ambient_declaration", "interface_declaration", "type_alias_declaration",
                      "enum_declaration", "function_signature"})


def annotation_text(type_annotation: Node | None) -> str | None:
    """`: Foo<T>` -> `Foo<T>` (the type_annotation node includes the colon)."""
    if type_annotation is None:
        return None
    s = text(type_annotation).strip()
    return s[1:].strip() if s.startswith(":") else s


@dataclass(eq=False)
class TsParam:
    node: Node
    pattern: Node
    name: str  # the identifier, or the compact text of a destructuring pattern
    index: int
    type: Node | None  # the type_annotation node
    value: Node | None  # the default
    optional: bool
    rest: bool
    accessibility: str | None  # `private`, `public readonly`, ...: the modifiers of a parameter property
    bare: bool = False  # the unparenthesized parameter of `x => ...`

    @property
    def identifier(self) -> str | None:
        """The name the parameter binds, unless it is destructured."""
        inner = self.pattern.named_children[0] if self.rest and self.pattern.named_children else self.pattern
        return self.name if inner.type == "identifier" else None


@dataclass(eq=False)
class TsClass:
    node: Node
    name: str
    qualname: str
    heritage: list[str] = field(default_factory=list)  # the `extends` clause (a class extends at most one)
    fields: list[TsField] = field(default_factory=list)
    methods: dict[str, list[TsFunction]] = field(default_factory=dict)
    function: TsFunction | None = None  # the function it is declared in, if any
    implements: list[str] = field(default_factory=list)  # the `implements` clause


@dataclass(eq=False)
class TsFunction:
    node: Node
    name: str
    qualname: str
    kind: str  # function | method | getter | setter | constructor | arrow
    params_node: Node | None  # formal_parameters, or the bare identifier of `x => ...`
    params: list[TsParam]
    return_type: Node | None
    body: Node | None
    cls: TsClass | None
    parent: TsFunction | None
    is_async: bool
    is_generator: bool
    static: bool = False

    @property
    def returns_annotatable(self) -> bool:
        return self.kind not in ("setter", "constructor")


@dataclass(eq=False)
class TsField:
    node: Node
    name: str
    name_node: Node
    type: Node | None
    value: Node | None
    cls: TsClass
    static: bool
    mark: Node | None  # the `?` or `!` after the name


@dataclass(eq=False)
class TsVar:
    node: Node  # the variable_declarator
    name: str
    name_node: Node
    type: Node | None
    value: Node | None
    keyword: str  # let | const | var
    function: TsFunction | None  # the enclosing named function (anonymous callbacks belong to their parent)
    scope_node: Node  # where references are looked for: the innermost enclosing function, even a callback, or the
    # program


@dataclass(eq=False)
class TsImport:
    node: Node
    local: str
    imported: str  # the exported name, "default", or "*" for a namespace import
    source: str


@dataclass(eq=False)
class TsModule:
    relpath: str
    parsed: ParsedFile
    functions: list[TsFunction] = field(default_factory=list)
    classes: list[TsClass] = field(default_factory=list)
    variables: list[TsVar] = field(default_factory=list)
    imports: list[TsImport] = field(default_factory=list)
    exports: dict[str, str] = field(default_factory=dict)  # exported name -> local name
    reexports: list[tuple[str, str, str]] = field(default_factory=list)  # (exported, imported or "*", source)
    top_level: dict[str, Node] = field(default_factory=dict)  # module-scope declarations by name (statements
    # of the program itself, not of blocks, callbacks or namespaces)
    calls: list[Node] = field(default_factory=list)  # every call and `new` expression, in document order

    @property
    def data(self) -> bytes:
        return self.parsed.source.data

    def function_named(self, name: str) -> TsFunction | None:
        for fn in self.functions:
            if fn.qualname == name:
                return fn
        return None

    def class_named(self, name: str) -> TsClass | None:
        for cls in self.classes:
            if cls.qualname == name:
                return cls
        return None


def _has_token(node: Node, token: str) -> bool:
    return any(not c.is_named and c.type == token for c in node.children)


def _prop_name(node: Node | None) -> str:
    if node is None:
        return "<anonymous>"
    s = text(node)
    return s if node.type != "computed_property_name" else "[" + " ".join(s[1:-1].split()) + "]"


def _compact(s: str, limit: int = 40) -> str:
    s = "".join(s.split())
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _compact_expr(node: Node, limit: int = 60) -> str:
    """An expression's text on one line, cut to `limit` characters (a class's `extends` clause can be a call
    holding a whole object literal)."""
    s = " ".join(text(node).split())
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _params(params_node: Node | None) -> list[TsParam]:
    if params_node is None:
        return []
    if params_node.type == "identifier":  # `x => ...`
        return [TsParam(params_node, params_node, text(params_node), 0, None, None, False, False, None, bare=True)]
    out: list[TsParam] = []
    for child in params_node.named_children:
        if child.type not in PARAM_NODES:
            continue
        pattern = child.child_by_field_name("pattern")
        if pattern is None or pattern.type == "this":
            continue
        rest = pattern.type == "rest_pattern"
        inner = pattern.named_children[0] if rest and pattern.named_children else pattern
        name = text(inner) if inner.type == "identifier" else _compact(text(pattern))
        modifiers = [text(c) for c in child.children
                     if c.type in ("accessibility_modifier", "override_modifier")
                     or (not c.is_named and c.type in ("readonly", "override"))]
        access = " ".join(modifiers) if modifiers else None
        out.append(TsParam(child, pattern, name, len(out), child.child_by_field_name("type"),
                           child.child_by_field_name("value"), child.type == "optional_parameter", rest, access))
    return out


class _Walker:
    def __init__(self, module: TsModule) -> None:
        self.m = module
        self.starts: list[int] = []  # start bytes of the nodes `visit` handles: subtrees without one are skipped

    def run(self) -> None:
        root = self.m.parsed.root
        found = ts.QueryCursor(_query(grammar_for(self.m.relpath), _STRUCTURE_QUERY)).captures(root)
        self.starts = sorted(n.start_byte for n in found.get("node", []))
        self.m.calls = sorted(found.get("call", []), key=lambda n: (n.start_byte, -n.end_byte))
        self.walk(root, "", None, None)

    # names --------------------------------------------------------------------------------------------------
    def _bound_name(self, node: Node) -> str | None:
        """The name a function or class expression is bound to by its parent, or None for callbacks."""
        parent = node.parent
        if parent is None:
            return None
        if parent.type == "parenthesized_expression":
            return self._bound_name(parent)
        if parent.type == "variable_declarator" and parent.child_by_field_name("value") == node:
            name = parent.child_by_field_name("name")
            return text(name) if name is not None and name.type == "identifier" else None
        if parent.type in ("public_field_definition", "field_definition"):
            return _prop_name(parent.child_by_field_name("name") or parent.child_by_field_name("property"))
        if parent.type == "pair" and parent.child_by_field_name("value") == node:
            return _prop_name(parent.child_by_field_name("key"))
        if parent.type == "assignment_expression" and parent.child_by_field_name("right") == node:
            left = parent.child_by_field_name("left")
            if left is not None and left.type == "member_expression":
                return text(left.child_by_field_name("property"))
            return text(left) if left is not None and left.type == "identifier" else None
        if parent.type == "export_statement":
            return "default"
        return None

    def _object_prefix(self, node: Node) -> str | None:
        """For a method/pair inside `const o = {...}`: `o` (object literal members are named `o.m`; in nested
        literals `o.a.m`); None when the object literal is not bound to a name (an argument, a returned value)."""
        obj = node.parent
        if obj is None or obj.type != "object":
            return None
        name = self._bound_name(obj)
        if name is None:
            return None
        holder = _unparenthesized_parent(obj)
        if holder is not None and holder.type == "pair":
            outer = self._object_prefix(holder)
            return None if outer is None else f"{outer}.{name}"
        return name

    # the walk -----------------------------------------------------------------------------------------------
    def walk(self, node: Node, prefix: str, fn: TsFunction | None, cls: TsClass | None) -> None:
        """Visit the named children of `node` (the hot loop of the module walk: inert nodes are not entered)."""
        starts = self.starts
        for child in node.named_children:
            t = child.type
            if t in _INERT:
                continue
            if t in _SPECIAL:
                self.visit(child, prefix, fn, cls)
                continue
            k = bisect_left(starts, child.start_byte)
            if k < len(starts) and starts[k] < child.end_byte:
                self.walk(child, prefix, fn, cls)

    def visit(self, node: Node, prefix: str, fn: TsFunction | None, cls: TsClass | None) -> None:
        t = node.type
        if t in _SKIPPED:
            if t == "enum_declaration" or t == "interface_declaration" or t == "type_alias_declaration":
                name = node.child_by_field_name("name")
                if name is not None and _at_module_level(node):
                    self.m.top_level.setdefault(text(name), node)
            return
        if t in CLASS_NODES:
            self.visit_class(node, prefix, fn)
            return
        if t in FUNCTION_NODES:
            self.visit_function(node, prefix, fn, cls)
            return
        if t in ("lexical_declaration", "variable_declaration"):
            keyword = "var" if t == "variable_declaration" else text(node.children[0])
            top = _at_module_level(node)
            for decl in node.named_children:
                if decl.type == "variable_declarator":
                    self.visit_declarator(decl, keyword, fn, top)
            self.walk(node, prefix, fn, cls)
            return
        if t == "import_statement":
            self.visit_import(node)
            return
        if t == "internal_module":  # `namespace N { ... }`: its functions are `N.f`
            name = node.child_by_field_name("name")
            body = node.child_by_field_name("body")
            if name is not None and body is not None:
                self.walk(body, f"{prefix}.{text(name)}" if prefix else text(name), fn, cls)
            return
        if t == "export_statement":
            self.visit_export(node)
        self.walk(node, prefix, fn, cls)

    def visit_declarator(self, decl: Node, keyword: str, fn: TsFunction | None, top: bool = False) -> None:
        name = decl.child_by_field_name("name")
        if name is None or name.type != "identifier":
            return
        scope_node = _enclosing_function(decl) or self.m.parsed.root
        v = TsVar(decl, text(name), name, decl.child_by_field_name("type"), decl.child_by_field_name("value"),
                  keyword, fn, scope_node)
        self.m.variables.append(v)
        if top:
            self.m.top_level.setdefault(v.name, decl)

    def visit_class(self, node: Node, prefix: str, fn: TsFunction | None) -> None:
        name_node = node.child_by_field_name("name")
        name = text(name_node) if name_node is not None else (self._bound_name(node) or "<class>")
        qual = f"{prefix}.{name}" if prefix else name
        cls = TsClass(node, name, qual, function=fn)
        self.m.classes.append(cls)
        if name_node is not None and _at_module_level(node):
            self.m.top_level.setdefault(name, node)
        for child in node.named_children:
            if child.type == "class_heritage":
                for clause in child.named_children:
                    names = [_compact_expr(v.child_by_field_name("name") or v if v.type == "generic_type" else v)
                             for v in clause.named_children if v.type not in ("type_arguments", "comment")]
                    (cls.heritage if clause.type == "extends_clause" else cls.implements).extend(names)
                # `extends mixin(...)`, `extends Service()("Name", {make: ...})`: evaluated in the enclosing scope
                self.walk(child, prefix, fn, None)
            elif child.type == "decorator":
                self.walk(child, prefix, fn, None)
        body = node.child_by_field_name("body")
        if body is None:
            return
        for member in body.named_children:
            if member.type == "decorator":
                self.walk(member, prefix, fn, None)
            elif member.type == "method_definition":
                self.visit_function(member, qual, fn, cls)
            elif member.type == "public_field_definition":
                fname = member.child_by_field_name("name")
                if fname is None:
                    continue
                mark = next((c for c in member.children if not c.is_named and c.type in ("?", "!")), None)
                fld = TsField(member, _prop_name(fname), fname, member.child_by_field_name("type"),
                              member.child_by_field_name("value"), cls, _has_token(member, "static"), mark)
                cls.fields.append(fld)
                value = fld.value
                if value is not None:
                    self.visit(value, qual, fn, cls)
            elif member.type == "class_static_block":
                self.walk(member, qual, fn, cls)

    def visit_function(self, node: Node, prefix: str, parent: TsFunction | None, cls: TsClass | None) -> None:
        t = node.type
        if t == "method_definition":
            name = _prop_name(node.child_by_field_name("name"))
            obj = self._object_prefix(node)
            if obj is not None:
                prefix, cls = (f"{prefix}.{obj}" if prefix else obj), None
            elif node.parent is not None and node.parent.type == "object":
                name = ""  # a method of an anonymous object literal
            kind = "method"
            if _has_token(node, "get"):
                kind = "getter"
            elif _has_token(node, "set"):
                kind = "setter"
            elif name == "constructor" and cls is not None:
                kind = "constructor"
        else:
            name_node = node.child_by_field_name("name")
            name = text(name_node) if name_node is not None else (self._bound_name(node) or "")
            kind = "arrow" if t == "arrow_function" else "function"
            holder = _unparenthesized_parent(node)
            if name and holder is not None and holder.type == "pair":
                obj = self._object_prefix(holder)
                if obj is None:
                    name = ""  # a property of an anonymous object literal: contextually typed, like its methods
                else:
                    prefix = f"{prefix}.{obj}" if prefix else obj
        if not name:  # a callback or other anonymous function: its body belongs to the enclosing function
            self.walk(node, prefix, parent, cls)
            return
        qual = f"{prefix}.{name}" if prefix else name
        params_node = node.child_by_field_name("parameters") or node.child_by_field_name("parameter")
        info = TsFunction(node, name, qual, kind, params_node, _params(params_node),
                          node.child_by_field_name("return_type"), node.child_by_field_name("body"), cls, parent,
                          _has_token(node, "async"), _has_token(node, "*") or "generator" in t,
                          _has_token(node, "static"))
        self.m.functions.append(info)
        if cls is not None and t == "method_definition":
            cls.methods.setdefault(name, []).append(info)
        if t in ("function_declaration", "generator_function_declaration") and _at_module_level(node):
            self.m.top_level.setdefault(name, node)
        for p in info.params:  # defaults may hold callbacks with bodies
            if p.value is not None:
                self.visit(p.value, qual, parent, cls)
        if info.body is not None:
            self.visit(info.body, qual, info, None) if info.body.type != "statement_block" else \
                self.walk(info.body, qual, info, None)

    def visit_import(self, node: Node) -> None:
        source = node.child_by_field_name("source")
        src = text(source)[1:-1] if source is not None else ""
        for clause in node.named_children:
            if clause.type != "import_clause":
                continue
            for part in clause.named_children:
                if part.type == "identifier":
                    self.m.imports.append(TsImport(node, text(part), "default", src))
                elif part.type == "namespace_import":
                    ident = next((c for c in part.named_children if c.type == "identifier"), None)
                    if ident is not None:
                        self.m.imports.append(TsImport(node, text(ident), "*", src))
                elif part.type == "named_imports":
                    for spec in part.named_children:
                        if spec.type != "import_specifier":
                            continue
                        imported = spec.child_by_field_name("name")
                        alias = spec.child_by_field_name("alias") or imported
                        self.m.imports.append(TsImport(node, text(alias), text(imported), src))

    def visit_export(self, node: Node) -> None:
        source = node.child_by_field_name("source")
        src = text(source)[1:-1] if source is not None else None
        decl = node.child_by_field_name("declaration")
        if decl is not None:
            names = [text(decl.child_by_field_name("name"))] if decl.child_by_field_name("name") else [
                text(d.child_by_field_name("name")) for d in decl.named_children if d.type == "variable_declarator"]
            is_default = _has_token(node, "default")  # `export default function f() {}` exports only `default`
            for n in names:
                if n:
                    self.m.exports["default" if is_default else n] = n
            return
        value = node.child_by_field_name("value")
        if value is not None:
            if value.type == "identifier":
                self.m.exports["default"] = text(value)
            else:  # `export default function () {}`, `export default class {}`, `export default (x) => x`
                self.m.exports["default"] = "default"
                while value.type == "parenthesized_expression" and value.named_children:
                    value = value.named_children[0]
                self.m.top_level.setdefault("default", value)
            return
        if any(c.type == "namespace_export" for c in node.named_children):
            return  # `export * as ns from "./x"`: a namespace object, not resolved
        clause = next((c for c in node.named_children if c.type == "export_clause"), None)
        if clause is None:
            if src is not None:  # export * from "./x"
                self.m.reexports.append(("*", "*", src))
            return
        for spec in clause.named_children:
            if spec.type != "export_specifier":
                continue
            name = spec.child_by_field_name("name")
            alias = spec.child_by_field_name("alias") or name
            if src is None:
                self.m.exports[text(alias)] = text(name)
            else:
                self.m.reexports.append((text(alias), text(name), src))


_SPECIAL = CLASS_NODES | FUNCTION_NODES | _SKIPPED | frozenset({
    "lexical_declaration", "variable_declaration", "import_statement", "export_statement", "internal_module"})
_STRUCTURE_QUERY = "[{special}] @node\n[(call_expression) (new_expression)] @call"


def _unparenthesized_parent(node: Node) -> Node | None:
    parent = node.parent
    while parent is not None and parent.type == "parenthesized_expression":
        parent = parent.parent
    return parent


def _at_module_level(node: Node) -> bool:
    """A statement of the program itself (possibly exported), not of a block, function or namespace."""
    parent = node.parent
    if parent is not None and parent.type == "export_statement":
        parent = parent.parent
    return parent is not None and parent.type == "program"


def _enclosing_function(node: Node) -> Node | None:
    cur = node.parent
    while cur is not None:
        if cur.type in FUNCTION_NODES:
            return cur
        cur = cur.parent
    return None


def build_module(parsed: ParsedFile) -> TsModule:
    m = TsModule(parsed.source.relpath, parsed)
    _Walker(m).run()
    return m


# ------------------------------------------------------------------------------------------------ references

_PATTERN_PARENTS = frozenset({"object_pattern", "array_pattern", "rest_pattern", "pair_pattern", "assignment_pattern",
                              "object_assignment_pattern"})
_IDENTIFIERS_QUERY = """
[(identifier) (shorthand_property_identifier)] @ref
(shorthand_property_identifier_pattern) @pattern
(class_declaration name: (type_identifier) @class)
"""
_QUERIES: dict[str, ts.Query] = {}


@dataclass
class _Index:
    """One tree's identifiers by name (UTF-8; document order, with their start bytes for bisecting a scope) and,
    per name, the functions that bind it (computed on first use)."""

    root: Node
    refs: dict[bytes, tuple[list[Node], list[int]]]
    patterns: dict[bytes, list[Node]]  # `{a}` in a destructuring pattern binds `a`
    classes: dict[bytes, list[Node]]  # class declaration names (type_identifier nodes)
    binders: dict[bytes, list[tuple[int, int, int]]] = field(default_factory=dict)  # (start, end, id) of functions
    # every identifier of `refs` in document order: start bytes and names (to list those under a scope)
    starts: list[int] = field(default_factory=list)
    names: list[bytes] = field(default_factory=list)


_INDEX: dict[int, _Index] = {}


def _descendants(node: Node) -> Iterator[Node]:
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed(n.named_children))


def _query(grammar: str, source: str = _IDENTIFIERS_QUERY) -> ts.Query:
    q = _QUERIES.get(grammar + source)
    if q is None:
        language = parser_for(grammar).language
        assert language is not None
        special = " ".join(f"({t})" for t in sorted(_SPECIAL) if language.id_for_node_kind(t, True) is not None)
        q = _QUERIES[grammar + source] = ts.Query(language, source.replace("{special}", special))
    return q


def _group(nodes: list[Node]) -> dict[bytes, list[Node]]:
    out: dict[bytes, list[Node]] = {}
    for n in sorted(nodes, key=lambda n: n.start_byte):
        key = n.text
        if key is not None:
            out.setdefault(key, []).append(n)
    return out


def _grammar_of(root: Node) -> str | None:
    """Which TypeScript grammar parsed the tree (their `program` node kinds differ), or None."""
    for grammar in ("typescript", "tsx"):
        language = parser_for(grammar).language
        if language is not None and language.id_for_node_kind("program", True) == root.kind_id:
            return grammar
    return None


def _build_index(root: Node) -> _Index:
    grammar = _grammar_of(root)
    if grammar is not None:
        found = ts.QueryCursor(_query(grammar)).captures(root)
        refs_by_name = _group(found.get("ref", []))
        patterns, classes = _group(found.get("pattern", [])), _group(found.get("class", []))
    else:  # a subtree or another language: walk it
        kinds: dict[str, list[Node]] = {"ref": [], "pattern": [], "class": []}
        for n in _descendants(root):
            if n.type in ("identifier", "shorthand_property_identifier"):
                kinds["ref"].append(n)
            elif n.type == "shorthand_property_identifier_pattern":
                kinds["pattern"].append(n)
            elif n.type == "class_declaration":
                name = n.child_by_field_name("name")
                if name is not None:
                    kinds["class"].append(name)
        refs_by_name, patterns, classes = _group(kinds["ref"]), _group(kinds["pattern"]), _group(kinds["class"])
    refs = {name: (nodes, [n.start_byte for n in nodes]) for name, nodes in refs_by_name.items()}
    flat = sorted((start, name) for name, (_nodes, starts) in refs.items() for start in starts)
    return _Index(root, refs, patterns, classes, starts=[s for s, _ in flat], names=[n for _, n in flat])


def _index_of(node: Node) -> _Index:
    root = node
    while root.parent is not None:
        root = root.parent
    cached = _INDEX.get(root.id)
    if cached is None or cached.root != root:
        if len(_INDEX) > 64:
            _INDEX.clear()
        cached = _INDEX[root.id] = _build_index(root)
    return cached


def identifier_index(root: Node) -> dict[str, list[Node]]:
    """Every identifier (and shorthand property, which reads a variable) under `root`, by name, in order."""
    out: dict[str, list[Node]] = {}
    stack = [root]
    while stack:
        n = stack.pop()
        if n.type in ("identifier", "shorthand_property_identifier"):
            out.setdefault(text(n), []).append(n)
            continue
        stack.extend(reversed(n.named_children))
    return out


def _binding_function(n: Node) -> Node | None:
    """The function whose own scope the identifier `n` declares a name in, if `n` is such a declaration: a
    parameter (also inside a destructuring pattern, not in a default value or a type), or a `let`/`const`/`var`,
    function or class declaration that is a statement directly in the function's body."""
    child, cur = n, n.parent
    while cur is not None and cur.type in _PATTERN_PARENTS:  # up through destructuring, binding side only
        if cur.type in ("assignment_pattern", "object_assignment_pattern") and cur.child_by_field_name("left") != child:
            return None
        if cur.type == "pair_pattern" and cur.child_by_field_name("value") != child:
            return None
        child, cur = cur, cur.parent
    if cur is None:
        return None
    t = cur.type
    if t in PARAM_NODES:
        if cur.child_by_field_name("pattern") != child:
            return None
        params = cur.parent
        fn = params.parent if params is not None else None
        return fn if fn is not None and fn.type in FUNCTION_NODES else None
    if t == "arrow_function":  # `x => ...`
        return cur if cur.child_by_field_name("parameter") == child else None
    if t == "variable_declarator":
        if cur.child_by_field_name("name") != child:
            return None
        stmt = cur.parent
    elif t in ("function_declaration", "generator_function_declaration", "class_declaration"):
        if cur.child_by_field_name("name") != child:
            return None
        stmt = cur
    else:
        return None
    block = stmt.parent if stmt is not None else None
    fn = block.parent if block is not None and block.type == "statement_block" else None
    if fn is None or fn.type not in FUNCTION_NODES or fn.child_by_field_name("body") != block:
        return None
    return fn


def _binders(index: _Index, name: bytes) -> list[tuple[int, int, int]]:
    found = index.binders.get(name)
    if found is None:
        fns: dict[int, tuple[int, int, int]] = {}
        candidates = [*index.refs.get(name, ((), ()))[0], *index.patterns.get(name, ()), *index.classes.get(name, ())]
        for n in candidates:
            fn = _binding_function(n)
            if fn is not None:
                fns[fn.id] = (fn.start_byte, fn.end_byte, fn.id)
        found = index.binders[name] = sorted(fns.values())
    return found


def names_under(scope: Node) -> set[str]:
    """The names that occur as an identifier (a value use, never a type) under `scope` (in time proportional to
    the identifiers there, not to the tree's)."""
    index = _index_of(scope)
    lo, hi = bisect_left(index.starts, scope.start_byte), bisect_left(index.starts, scope.end_byte)
    return {name.decode("utf-8", "replace") for name in set(index.names[lo:hi])}


def occurring(scope: Node, names: Iterable[str]) -> list[str]:
    """Those of `names` that occur as an identifier (a value use, never a type) under `scope`, in the order given."""
    present = names_under(scope)
    return [name for name in names if name in present]


def references(scope: Node, name: str, exclude: Node | None = None, limit: int = 400) -> list[Node]:
    """Identifiers under `scope` that read or write the binding `name` (document order), skipping nested
    functions that rebind it and the declaring identifier `exclude`."""
    index = _index_of(scope)
    key = name.encode("utf-8")
    entry = index.refs.get(key)
    if entry is None:
        return []
    nodes, starts = entry
    lo, hi = bisect_left(starts, scope.start_byte), bisect_left(starts, scope.end_byte)
    if lo == hi:
        return []
    # functions strictly inside the scope that declare `name` themselves hide it: the union of their ranges, as
    # sorted disjoint ranges, walked along with the references (both sorted by start)
    binders = _binders(index, key)
    hiding: list[tuple[int, int]] = []
    for s, e, i in binders[bisect_left(binders, (scope.start_byte, -1, -1)):]:
        if s >= scope.end_byte:
            break
        if i == scope.id or e > scope.end_byte:
            continue
        if hiding and s < hiding[-1][1]:
            hiding[-1] = (hiding[-1][0], max(hiding[-1][1], e))
        else:
            hiding.append((s, e))
    out: list[Node] = []
    skip = exclude.start_byte if exclude is not None else -1
    j = 0
    for k in range(lo, hi):
        start = starts[k]
        while j < len(hiding) and hiding[j][1] <= start:
            j += 1
        if start == skip or (j < len(hiding) and hiding[j][0] <= start):
            continue
        out.append(nodes[k])
        if len(out) >= limit:
            break
    return out
