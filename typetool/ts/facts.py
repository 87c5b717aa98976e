"""Stage 2a for TypeScript, facts: one walk over a module's tree that records what slots and slices need.

Does: for one parsed .ts/.tsx module, records named functions (declarations, methods, getters/setters,
constructors, arrow functions and function expressions bound to a variable, class field, object property or
`export default`) with their qualified names, parameters (plain, optional, rest, destructured, parameter
properties, defaults) and return annotations; classes with heritage, fields and methods; `let`/`const`/`var`
declarators; imports (named, default, namespace) and exports (declarations, `export { a as b }`, re-exports);
and, for every binding, the identifiers that read it (lexical: a nested function that rebinds the name hides it).
Does not: look at other files (`ts.project` resolves imports), type-check, or follow control flow (TypeScript
narrowing is read by the slicer from the syntax around each use). Anonymous callbacks (functions passed as
arguments) are contextually typed by TypeScript: they own no slots, and their bodies count as their parent's.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import tree_sitter as ts

from typetool.parse import ParsedFile

Node = ts.Node

FUNCTION_NODES = frozenset({
    "function_declaration", "generator_function_declaration", "function_expression", "generator_function",
    "arrow_function", "method_definition", "function",
})
CLASS_NODES = frozenset({"class_declaration", "abstract_class_declaration", "class"})
PARAM_NODES = frozenset({"required_parameter", "optional_parameter"})
MODULE_SCOPE = "<module>"


def text(node: Node | None) -> str:
    if node is None or node.text is None:
        return ""
    return node.text.decode("utf-8", "replace")


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
    accessibility: str | None  # `private`/`public`/`protected`/`readonly`: a parameter property
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
    heritage: list[str] = field(default_factory=list)
    fields: list[TsField] = field(default_factory=list)
    methods: dict[str, list[TsFunction]] = field(default_factory=dict)
    function: TsFunction | None = None  # the function it is declared in, if any


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
    function: TsFunction | None
    scope_node: Node  # where references are looked for: the enclosing function (or the program)


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
    top_level: dict[str, Node] = field(default_factory=dict)  # module-scope declarations by name

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
        access = None
        for c in child.children:
            if c.type == "accessibility_modifier" or (not c.is_named and c.type in ("readonly", "override")):
                access = text(c)
        out.append(TsParam(child, pattern, name, len(out), child.child_by_field_name("type"),
                           child.child_by_field_name("value"), child.type == "optional_parameter", rest, access))
    return out


class _Walker:
    def __init__(self, module: TsModule) -> None:
        self.m = module

    def run(self) -> None:
        self.walk(self.m.parsed.root, "", None, None)

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
        """For a method/pair inside `const o = {...}`: `o` (object literal members are named `o.m`)."""
        obj = node.parent
        if obj is None or obj.type != "object":
            return None
        return self._bound_name(obj) if obj.parent is not None else None

    # the walk -----------------------------------------------------------------------------------------------
    def walk(self, node: Node, prefix: str, fn: TsFunction | None, cls: TsClass | None) -> None:
        for child in node.named_children:
            self.visit(child, prefix, fn, cls)

    def visit(self, node: Node, prefix: str, fn: TsFunction | None, cls: TsClass | None) -> None:
        t = node.type
        if t == "ERROR" or t == "ambient_declaration" or t in ("interface_declaration", "type_alias_declaration",
                                                                "enum_declaration", "function_signature"):
            if t == "enum_declaration" or t == "interface_declaration" or t == "type_alias_declaration":
                name = node.child_by_field_name("name")
                if fn is None and name is not None:
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
            for decl in node.named_children:
                if decl.type == "variable_declarator":
                    self.visit_declarator(decl, keyword, fn)
            self.walk(node, prefix, fn, cls)
            return
        if t == "import_statement":
            self.visit_import(node)
            return
        if t == "export_statement":
            self.visit_export(node)
        self.walk(node, prefix, fn, cls)

    def visit_declarator(self, decl: Node, keyword: str, fn: TsFunction | None) -> None:
        name = decl.child_by_field_name("name")
        if name is None or name.type != "identifier":
            return
        scope_node = fn.node if fn is not None else self.m.parsed.root
        v = TsVar(decl, text(name), name, decl.child_by_field_name("type"), decl.child_by_field_name("value"),
                  keyword, fn, scope_node)
        self.m.variables.append(v)
        if fn is None:
            self.m.top_level.setdefault(v.name, decl)

    def visit_class(self, node: Node, prefix: str, fn: TsFunction | None) -> None:
        name_node = node.child_by_field_name("name")
        name = text(name_node) if name_node is not None else (self._bound_name(node) or "<class>")
        qual = f"{prefix}.{name}" if prefix else name
        cls = TsClass(node, name, qual, function=fn)
        for child in node.named_children:
            if child.type == "class_heritage":
                for clause in child.named_children:
                    cls.heritage.extend(text(v) for v in clause.named_children if v.type != "type_arguments")
        self.m.classes.append(cls)
        if fn is None and name_node is not None:
            self.m.top_level.setdefault(name, node)
        body = node.child_by_field_name("body")
        if body is None:
            return
        for member in body.named_children:
            if member.type == "method_definition":
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
            parent_node = node.parent
            if name and parent_node is not None and parent_node.type == "pair":
                obj = self._object_prefix(parent_node)
                if obj is not None:
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
        if parent is None and cls is None and t == "function_declaration":
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
            for n in names:
                if n:
                    self.m.exports[n] = n
            return
        value = node.child_by_field_name("value")
        if value is not None:
            self.m.exports["default"] = text(value) if value.type == "identifier" else "default"
            return
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


def build_module(parsed: ParsedFile) -> TsModule:
    m = TsModule(parsed.source.relpath, parsed)
    _Walker(m).run()
    return m


# ------------------------------------------------------------------------------------------------ references

_SCOPE_BOUNDARY = FUNCTION_NODES | CLASS_NODES


def _binds(fn_node: Node, name: str) -> bool:
    """Does this nested function bind `name` itself (parameter, or a declaration directly in its body)?"""
    params = fn_node.child_by_field_name("parameters") or fn_node.child_by_field_name("parameter")
    if params is not None and any(n.type in ("identifier", "shorthand_property_identifier_pattern")
                                  and text(n) == name for n in _descendants(params)):
        return True
    body = fn_node.child_by_field_name("body")
    if body is None or body.type != "statement_block":
        return False
    for stmt in body.named_children:
        if stmt.type in ("lexical_declaration", "variable_declaration"):
            for d in stmt.named_children:
                n = d.child_by_field_name("name") if d.type == "variable_declarator" else None
                if n is not None and text(n) == name:
                    return True
        elif stmt.type in ("function_declaration", "class_declaration"):
            n = stmt.child_by_field_name("name")
            if n is not None and text(n) == name:
                return True
    return False


def _descendants(node: Node) -> Iterator[Node]:
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed(n.named_children))


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


_INDEX: dict[int, tuple[Node, dict[str, list[Node]]]] = {}
_BINDS: dict[tuple[int, str], bool] = {}


def references(scope: Node, name: str, exclude: Node | None = None, limit: int = 400) -> list[Node]:
    """Identifiers under `scope` that read or write the binding `name` (document order), skipping nested
    functions that rebind it and the declaring identifier `exclude`."""
    root = scope
    while root.parent is not None:
        root = root.parent
    cached = _INDEX.get(root.id)
    if cached is None or cached[0] != root:
        if len(_INDEX) > 64:
            _INDEX.clear()
            _BINDS.clear()
        cached = _INDEX[root.id] = (root, identifier_index(root))
    out: list[Node] = []
    for n in cached[1].get(name, ()):
        if not scope.start_byte <= n.start_byte < scope.end_byte:
            continue
        if exclude is not None and n.start_byte == exclude.start_byte:
            continue
        if _shadowed(n, scope, name):
            continue
        out.append(n)
        if len(out) >= limit:
            break
    return out


def _shadowed(n: Node, scope: Node, name: str) -> bool:
    cur = n.parent
    while cur is not None and cur.id != scope.id:
        if cur.type in _SCOPE_BOUNDARY and cur.type != "class":
            key = (cur.id, name)
            hit = _BINDS.get(key)
            if hit is None:
                hit = _BINDS[key] = _binds(cur, name)
            if hit:
                return True
        cur = cur.parent
    return False
