"""Stage 2b for TypeScript, project: all .ts/.tsx modules of a project, imports and calls resolved across files.

Does: loads TypeScript sources (skipping `.d.ts` and `node_modules`), parses them and collects their facts;
resolves relative module specifiers (`./x`, `../y/index`, ESM-style `./x.js` naming `x.ts`), named, default and
namespace imports, `export { a as b }` and `export * from` chains to the declaration they name; resolves calls
(`f()`, `ns.f()`, `C.staticMethod()`, `o.m()` for a module-level object literal `o`, `new C()` and `super()` to
the constructor, `this.m()` and `super.m()` through the `extends` chain) to the project's functions, so slices
can follow one hop across calls; and exports the code property graph as networkx (`graph()`).
Does not: read tsconfig `paths`, resolve packages in node_modules, or infer types of expressions (`obj.m()` on
an arbitrary object is not resolved).
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import networkx as nx

from typetool import messages as M
from typetool.diagnostics import Diagnostic, Severity
from typetool.slots import position
from typetool.sources import DEFAULT_MAX_BYTES, SKIP_DIRS, SourceFile, discover, read_source
from typetool.treesitter import text
from typetool.ts.facts import FUNCTION_NODES, Node, TsClass, TsFunction, TsModule, build_module
from typetool.ts.parse import DECLARATION_SUFFIXES, TS_SUFFIXES, parse_typescript

Target = TsFunction | TsClass
_RESOLVE_SUFFIXES = (".ts", ".tsx", ".mts", ".cts", "/index.ts", "/index.tsx")
MAX_DEPTH = 8


@dataclass
class TsProject:
    """All TypeScript modules of a project, by relpath, with imports and calls resolved."""

    modules: dict[str, TsModule] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    callers: dict[int, list[tuple[TsModule, Node]]] = field(default_factory=dict)  # id(TsFunction) -> calls
    # (relpath, call start) -> target; two calls can start at the same byte (`f(x).g()`): `target_of_call` is exact
    call_targets: dict[tuple[str, int], Target] = field(default_factory=dict)
    _fn_by_node: dict[tuple[str, int], TsFunction] = field(default_factory=dict, repr=False)
    _classes_by_name: dict[str, list[TsClass]] = field(default_factory=dict, repr=False)
    _targets: dict[tuple[str, int, int], Target] = field(default_factory=dict, repr=False)  # by call start and end
    _module_of: dict[int, TsModule] = field(default_factory=dict, repr=False)  # id(function or class) -> module
    _fn_by_qualname: dict[tuple[str, str], TsFunction] = field(default_factory=dict, repr=False)
    _modules_by_spec: dict[tuple[str, str], TsModule | None] = field(default_factory=dict, repr=False)
    # id(module) -> (the module, its classes by declaration node id: the first of each)
    _class_by_node: dict[int, tuple[TsModule, dict[int, TsClass]]] = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, paths: Sequence[Path], root: Path | None = None, max_bytes: int = DEFAULT_MAX_BYTES) -> TsProject:
        root = root if root is not None else Path.cwd()
        sources: list[SourceFile] = []
        diagnostics: list[Diagnostic] = []
        for item in discover(paths, TS_SUFFIXES, SKIP_DIRS | {"node_modules"}):
            if isinstance(item, Diagnostic):
                diagnostics.append(item)
                continue
            if item.name.endswith(DECLARATION_SUFFIXES):
                continue  # declaration files are never analysed or written
            src = read_source(item, root, max_bytes)
            if isinstance(src, Diagnostic):
                diagnostics.append(src)
                continue
            sources.append(src)
        project = cls.from_sources(sources)
        project.diagnostics[:0] = diagnostics
        return project

    @classmethod
    def from_sources(cls, sources: Sequence[SourceFile]) -> TsProject:
        project = cls()
        for src in sources:
            parsed = parse_typescript(src)
            project.diagnostics.extend(parsed.errors)
            try:
                module = build_module(parsed)
            except RecursionError:
                code, message = M.msg(M.TOO_DEEP)
                project.diagnostics.append(Diagnostic(src.relpath, code, message, Severity.WARNING))
                continue
            project.modules[src.relpath] = module
        project._index()
        project._resolve_calls()
        return project

    def _index(self) -> None:
        for m in self.modules.values():
            for fn in m.functions:
                self._fn_by_node[(m.relpath, fn.node.id)] = fn
                self._fn_by_qualname.setdefault((m.relpath, fn.qualname), fn)
                self._module_of[id(fn)] = m
            for c in m.classes:
                self._classes_by_name.setdefault(c.name, []).append(c)
                self._module_of[id(c)] = m

    def module_of(self, target: Target) -> TsModule:
        """The module a function or class of this project is declared in."""
        return self._module_of[id(target)]

    # -- modules and names -------------------------------------------------------------------------------

    def resolve_module(self, m: TsModule, spec: str) -> TsModule | None:
        key = (m.relpath, spec)
        if key not in self._modules_by_spec:
            self._modules_by_spec[key] = self._resolve_module(m, spec)
        return self._modules_by_spec[key]

    def _resolve_module(self, m: TsModule, spec: str) -> TsModule | None:
        if not spec.startswith("."):
            return None
        base = posixpath.normpath(posixpath.join(posixpath.dirname(m.relpath), spec))
        stem = base
        for js, tsx in ((".js", ""), (".mjs", ""), (".cjs", ""), (".jsx", "")):
            if base.endswith(js):
                stem = base[: -len(js)] + tsx
        for cand in (base, *(stem + s for s in _RESOLVE_SUFFIXES)):
            found = self.modules.get(cand)
            if found is not None:
                return found
        return None

    def resolve_export(self, m: TsModule, name: str, depth: int = 0) -> tuple[TsModule, Node] | None:
        """The declaration module `m` exports as `name` (following re-exports)."""
        if depth > MAX_DEPTH:
            return None
        local = m.exports.get(name)
        if local is not None:
            return self.resolve_local(m, local, depth + 1)
        for exported, imported, src in m.reexports:
            if exported == name or exported == "*":
                target = self.resolve_module(m, src)
                if target is None:
                    continue
                found = self.resolve_export(target, name if exported == "*" else imported, depth + 1)
                if found is not None:
                    return found
        return None

    def resolve_local(self, m: TsModule, name: str, depth: int = 0) -> tuple[TsModule, Node] | None:
        """The declaration a module-level `name` in `m` refers to: its own, or what an import names."""
        node = m.top_level.get(name)
        if node is not None:
            return m, node
        for imp in m.imports:
            if imp.local == name and imp.imported != "*":
                target = self.resolve_module(m, imp.source)
                return self.resolve_export(target, imp.imported, depth + 1) if target is not None else None
        return None

    def namespace(self, m: TsModule, name: str) -> TsModule | None:
        for imp in m.imports:
            if imp.local == name and imp.imported == "*":
                return self.resolve_module(m, imp.source)
        return None

    def target_of_declaration(self, m: TsModule, node: Node) -> Target | None:
        if node.type in FUNCTION_NODES:
            return self._fn_by_node.get((m.relpath, node.id))
        if node.type == "variable_declarator":
            value = node.child_by_field_name("value")
            if value is not None and value.type in FUNCTION_NODES:
                return self._fn_by_node.get((m.relpath, value.id))
            return None
        classes = self._class_by_node.get(id(m))
        if classes is None or classes[0] is not m:  # one walk per module, not one per declaration
            by_node: dict[int, TsClass] = {}
            for c in m.classes:
                by_node.setdefault(c.node.id, c)
            classes = self._class_by_node[id(m)] = (m, by_node)
        return classes[1].get(node.id)

    def function_of(self, m: TsModule, node: Node) -> TsFunction | None:
        """The named function whose body holds `node` (anonymous callbacks belong to their parent)."""
        cur = node.parent
        while cur is not None:
            if cur.type in FUNCTION_NODES:
                fn = self._fn_by_node.get((m.relpath, cur.id))
                if fn is not None:
                    return fn
            cur = cur.parent
        return None

    def class_named(self, name: str) -> TsClass | None:
        found = self._classes_by_name.get(name.rsplit(".", 1)[-1])
        return found[0] if found else None

    def method(self, cls: TsClass, name: str, depth: int = 0) -> TsFunction | None:
        """`name` looked up in `cls` and then along its `extends` chain within the project."""
        found = cls.methods.get(name)
        if found:
            return found[-1]  # the implementation follows its overload signatures
        if depth > MAX_DEPTH:
            return None
        for base in cls.heritage[:1]:
            parent = self.class_named(base)
            if parent is not None and parent is not cls:
                return self.method(parent, name, depth + 1)
        return None

    # -- calls -------------------------------------------------------------------------------------------

    def callee(self, m: TsModule, call: Node) -> Target | None:
        func = call.child_by_field_name("function") or call.child_by_field_name("constructor")
        if func is None:
            return None
        target: Target | None = None
        if func.type == "identifier":
            found = self.resolve_local(m, text(func))
            if found is not None:
                target = self.target_of_declaration(*found)
        elif func.type == "super":  # `super(...)` in a constructor: the parent class's constructor
            fn = self.function_of(m, call)
            cls = fn.cls if fn is not None else None
            parent = self.class_named(cls.heritage[0]) if cls is not None and cls.heritage else None
            if parent is not None and parent is not cls:
                return self.method(parent, "constructor") or parent
        elif func.type == "member_expression":
            obj, prop = func.child_by_field_name("object"), text(func.child_by_field_name("property"))
            if obj is not None and obj.type in ("this", "super"):
                fn = self.function_of(m, call)
                while fn is not None and fn.cls is None and fn.kind == "arrow":  # arrows see the method's `this`
                    fn = fn.parent
                cls = fn.cls if fn is not None else None
                if cls is not None:
                    if obj.type == "super":
                        parent = self.class_named(cls.heritage[0]) if cls.heritage else None
                        target = self.method(parent, prop) if parent is not None else None
                    else:
                        target = self.method(cls, prop)
            elif obj is not None and obj.type == "identifier":
                ns = self.namespace(m, text(obj))
                if ns is not None:
                    found = self.resolve_export(ns, prop)
                    if found is not None:
                        target = self.target_of_declaration(*found)
                else:
                    found = self.resolve_local(m, text(obj))
                    cls_target = self.target_of_declaration(*found) if found is not None else None
                    if isinstance(cls_target, TsClass):  # a static method
                        target = self.method(cls_target, prop)
                    elif found is not None and found[1].type == "variable_declarator":  # `const o = {m() {}}`
                        value = found[1].child_by_field_name("value")
                        if value is not None and value.type == "object":
                            name = text(found[1].child_by_field_name("name"))
                            target = self._fn_by_qualname.get((found[0].relpath, f"{name}.{prop}"))
        if isinstance(target, TsClass) and call.type == "new_expression":
            return self.method(target, "constructor") or target
        return target

    def _resolve_calls(self) -> None:
        for m in self.modules.values():
            for call in m.calls:
                target = self.callee(m, call)
                if target is None:
                    continue
                self.call_targets[(m.relpath, call.start_byte)] = target
                self._targets[(m.relpath, call.start_byte, call.end_byte)] = target
                if isinstance(target, TsFunction):
                    self.callers.setdefault(id(target), []).append((m, call))

    def target_of_call(self, m: TsModule, call: Node) -> Target | None:
        """What a call or `new` expression of module `m` was resolved to (None if nothing in the project)."""
        return self._targets.get((m.relpath, call.start_byte, call.end_byte))

    def callers_of(self, fn: TsFunction) -> list[tuple[TsModule, Node]]:
        return self.callers.get(id(fn), [])

    def line_count(self) -> int:
        return sum(m.parsed.source.line_count for m in self.modules.values())

    def source_files(self) -> dict[str, SourceFile]:
        """Every analysed file, by relpath."""
        return {rel: m.parsed.source for rel, m in self.modules.items()}

    # -- graph export ------------------------------------------------------------------------------------

    def graph(self, only: Sequence[str] | None = None) -> nx.MultiDiGraph:
        return build_graph(self, set(only) if only is not None else None)


def build_graph(project: TsProject, only: set[str] | None) -> nx.MultiDiGraph:
    """Nodes: module, class, function, parameter, variable, field, call; edges: AST (ownership), IMPORTS,
    INHERITS, CALLS, ARG (a parameter or variable flowing into a call, with its position), REACHES (a binding
    to each identifier that reads it)."""
    from typetool.ts.facts import references

    g = nx.MultiDiGraph()

    def nid(m: TsModule, node: Node, kind: str) -> str:
        return f"{m.relpath}:{node.start_byte}:{node.end_byte}:{kind}"

    def add(m: TsModule, node: Node, kind: str, label: str) -> str:
        key = nid(m, node, kind)
        line, col = position(node, m.data)
        g.add_node(key, kind=kind, label=" ".join(label.split())[:80], file=m.relpath, line=line, col=col)
        return key

    def owner(m: TsModule, fn: TsFunction | None, cls: TsClass | None, mod: str) -> str:
        if fn is not None:
            return nid(m, fn.node, "function")
        return nid(m, cls.node, "class") if cls is not None else mod

    for relpath, m in project.modules.items():
        if only is not None and relpath not in only:
            continue
        mod = add(m, m.parsed.root, "module", relpath)
        for imp in sorted({i.source for i in m.imports} | {r[2] for r in m.reexports}):
            imported = project.resolve_module(m, imp)
            if imported is not None:
                g.add_edge(mod, add(imported, imported.parsed.root, "module", imported.relpath), kind="IMPORTS")
        for c in m.classes:
            key = add(m, c.node, "class", c.qualname)
            g.add_edge(owner(m, c.function, None, mod), key, kind="AST")
            for base in c.heritage[:1]:
                parent = project.class_named(base)
                if parent is not None and parent is not c:
                    pm = project.module_of(parent)
                    g.add_edge(key, add(pm, parent.node, "class", parent.qualname), kind="INHERITS")
            for f in c.fields:
                g.add_edge(key, add(m, f.node, "field", f"{c.qualname}.{f.name}"), kind="AST")
        for fn in m.functions:
            key = add(m, fn.node, "function", fn.qualname)
            g.add_edge(owner(m, fn.parent, fn.cls, mod), key, kind="AST")
            for p in fn.params:
                pk = add(m, p.node, "parameter", p.name)
                g.add_edge(key, pk, kind="AST")
                if p.identifier is not None and fn.body is not None:
                    for ref in references(fn.body, p.identifier):
                        _flow(g, m, project, pk, ref, add)
        for v in m.variables:
            vk = add(m, v.node, "variable", v.name)
            g.add_edge(owner(m, v.function, None, mod), vk, kind="AST")
            for ref in references(v.scope_node, v.name, exclude=v.name_node):
                _flow(g, m, project, vk, ref, add)
        for call in m.calls:
            target = project.target_of_call(m, call)
            if target is None:
                continue
            ck = add(m, call, "call", text(call.child_by_field_name("function")
                                            or call.child_by_field_name("constructor"))[:60])
            fn_owner = project.function_of(m, call)
            g.add_edge(owner(m, fn_owner, None, mod), ck, kind="AST")
            tm = project.module_of(target)
            kind = "function" if isinstance(target, TsFunction) else "class"
            g.add_edge(ck, add(tm, target.node, kind, target.qualname), kind="CALLS")
    return g


def _flow(g: nx.MultiDiGraph, m: TsModule, project: TsProject, binding: str, ref: Node, add: object) -> None:
    """REACHES from a binding to a use; ARG from the binding to a resolved call it is passed to."""
    assert callable(add)
    use = add(m, ref, "use", text(ref))
    g.add_edge(binding, use, kind="REACHES")
    parent = ref.parent
    if parent is not None and parent.type == "arguments" and parent.parent is not None:
        call = parent.parent
        if project.target_of_call(m, call) is not None:
            pos = [c.id for c in parent.named_children if c.type != "comment"].index(ref.id)
            ck = add(m, call, "call", text(call.child_by_field_name("function")
                                           or call.child_by_field_name("constructor"))[:60])
            g.add_edge(use, ck, kind="ARG", position=pos)
