"""Stage 2b for Python, project: the code property graph of a whole project, resolved across its files.

Does: reads and parses every file (`sources`, `parse`), collects per-module facts (`python.facts`), gives each file
its dotted module name, resolves imports (absolute, relative, aliased, re-exported, wildcard), the class
hierarchy (bases and a linearised MRO), and call targets across files (functions, classes -> `__init__`,
`self.method()` through the hierarchy, `super().m()`, `module.func()`, methods on instances built by a
constructor call or returned by an annotated function), then exports everything as one networkx MultiDiGraph.
Does not: decide which slots exist (`slots`) or what a slot's usage is (`slices`).

Graph nodes carry `kind`, `label`, `file`, `line` (1-based), `col` (0-based); edges carry `kind`:
  AST       scope owner (module/class/function) -> what is defined or used directly in it
  CFG       statement -> statement that may run next (within one module or function body)
  REACHES   definition -> use it may reach (def-use)
  ARG       use -> call it is passed to (with `position` or `keyword`)
  CALLS     call -> function or class it resolves to
  INHERITS  class -> base class
  IMPORTS   module -> module it imports
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import networkx as nx

from typetool import messages as M
from typetool.diagnostics import Diagnostic, Severity
from typetool.python.facts import (
    CallInfo,
    ClassInfo,
    Def,
    FunctionInfo,
    ImportBinding,
    ModuleFacts,
    Node,
    collect_facts,
    iter_scopes,
)
from typetool.python.parse import parse_python
from typetool.sources import (
    DEFAULT_MAX_BYTES,
    PYTHON_SUFFIXES,
    SourceFile,
    discover,
    find_project_root,
    read_source,
)
from typetool.treesitter import text
from typetool.workspace import analysis_context


@dataclass(frozen=True, slots=True)
class Instance:
    """The value of an expression is an instance of `cls`."""

    cls: ClassInfo


Target = ModuleFacts | FunctionInfo | ClassInfo | Instance
MAX_DEPTH = 30


def module_name_for(path: Path) -> tuple[str, bool]:
    """Dotted module name of a file as Python would import it, and whether it is a package `__init__`."""
    root = find_project_root(path)
    rel = path.resolve().relative_to(root).with_suffix("")
    parts = list(rel.parts)
    is_package = parts[-1] == "__init__"
    if is_package:
        parts = parts[:-1]
    return ".".join(parts) or path.stem, is_package


@dataclass
class PythonProject:
    """All modules of a project with their cross-file resolution. Build with `PythonProject.load` or `from_sources`."""

    modules: dict[str, ModuleFacts] = field(default_factory=dict)  # by relpath, in load order
    by_name: dict[str, ModuleFacts] = field(default_factory=dict)  # by dotted module name
    diagnostics: list[Diagnostic] = field(default_factory=list)
    module_ids: dict[str, int] = field(default_factory=dict)
    _memo: dict[tuple[int, int], list[Target]] = field(default_factory=dict, repr=False)
    _exports: dict[str, frozenset[str] | None] = field(default_factory=dict, repr=False)

    # -- loading -----------------------------------------------------------------------------------------

    @classmethod
    def load(cls, paths: Sequence[Path], root: Path | None = None, max_bytes: int = DEFAULT_MAX_BYTES,
             suffixes: tuple[str, ...] = PYTHON_SUFFIXES) -> PythonProject:
        root = root if root is not None else Path.cwd()
        sources: list[SourceFile] = []
        diagnostics: list[Diagnostic] = []
        for item in discover(paths, suffixes):
            if isinstance(item, Diagnostic):
                diagnostics.append(item)
                continue
            src = read_source(item, root, max_bytes)
            if isinstance(src, Diagnostic):
                diagnostics.append(src)
                continue
            sources.append(src)
            if not src.text.strip() and item.name != "__init__.py":  # empty __init__.py files are the norm
                code, message = M.msg(M.EMPTY)
                diagnostics.append(Diagnostic(src.relpath, code, message, Severity.INFO))
        project = cls.from_sources(sources)
        project.diagnostics[:0] = diagnostics
        return project

    @classmethod
    def from_sources(cls, sources: Iterable[SourceFile]) -> PythonProject:
        project = cls()
        with analysis_context():
            for src in sources:
                parsed = parse_python(src)
                project.diagnostics.extend(parsed.errors)
                try:
                    modname, is_package = module_name_for(src.path)
                except (OSError, ValueError):
                    modname, is_package = Path(src.relpath).stem, False
                try:
                    facts = collect_facts(parsed, modname, is_package)
                except RecursionError:
                    code, message = M.msg(M.TOO_DEEP)
                    project.diagnostics.append(Diagnostic(src.relpath, code, message, Severity.WARNING))
                    continue
                project.modules[src.relpath] = facts
                project.by_name.setdefault(modname, facts)
                project.module_ids[src.relpath] = facts.module_id
            project._resolve()
        return project

    def _resolve(self) -> None:
        for m in self.modules.values():
            for c in m.classes:
                c.resolved_bases = [t for b in c.bases for t in self.resolve_expr(m, b) if isinstance(t, ClassInfo)]
        for m in self.modules.values():
            for call in m.calls.values():
                self._resolve_call(m, call)

    # -- name resolution ---------------------------------------------------------------------------------

    def absolute_module(self, m: ModuleFacts, module: str, level: int) -> str:
        if level == 0:
            return module
        package = m.modname if m.is_package else m.modname.rpartition(".")[0]
        parts = package.split(".") if package else []
        if level > 1:
            parts = parts[: len(parts) - (level - 1)] if level - 1 <= len(parts) else []
        base = ".".join(parts)
        return f"{base}.{module}" if base and module else (base or module)

    def resolve_import(self, m: ModuleFacts, b: ImportBinding, depth: int = 0) -> list[Target]:
        mod = self.absolute_module(m, b.module, b.level)
        if b.attr is None:
            # `import a.b.c as x` binds x to a.b.c (module "a.b.c"); `import a.b` binds a (module "a")
            target = self.by_name.get(mod)
            return [target] if target is not None else []
        sub = self.by_name.get(f"{mod}.{b.attr}" if mod else b.attr)
        if sub is not None:
            return [sub]
        target_mod = self.by_name.get(mod)
        if target_mod is None or depth > MAX_DEPTH:
            return []
        return self.lookup_member(target_mod, b.attr, depth + 1)

    def lookup_member(self, m: ModuleFacts, name: str, depth: int = 0) -> list[Target]:
        """What `m.name` refers to: a submodule, or the module-level binding (following re-exports)."""
        if depth > MAX_DEPTH:
            return []
        sub = self.by_name.get(f"{m.modname}.{name}")
        defs = [d for d in m.scope.bindings.get(name, ()) if d.kind != "annassign" or d.value is not None]
        if not defs:
            if sub is not None:
                return [sub]
            return self.from_wildcards(m, name, depth + 1)
        out: list[Target] = []
        for d in defs[-2:]:  # the last bindings win; two allow for `try: import x / except: x = ...`
            out.extend(self.targets_of_def(d, depth + 1))
        return out

    def from_wildcards(self, m: ModuleFacts, name: str, depth: int = 0) -> list[Target]:
        """What `name` is in `m` if it comes from one of its `from x import *` (honouring `x.__all__`)."""
        if depth > MAX_DEPTH:
            return []
        for w in m.wildcard_imports:
            wm = self.by_name.get(self.absolute_module(m, w.module, w.level))
            if wm is None or wm is m:
                continue
            exported = self.exports(wm)
            if (name not in exported) if exported is not None else name.startswith("_"):
                continue
            found = self.lookup_member(wm, name, depth + 1)
            if found:
                return found
        return []

    def exports(self, m: ModuleFacts) -> frozenset[str] | None:
        """The names in `m.__all__` when it is a literal list or tuple of strings (with `+=` extensions)."""
        if m.relpath in self._exports:
            return self._exports[m.relpath]
        names: set[str] | None = None
        for d in m.scope.bindings.get("__all__", ()):
            value = d.value
            if value is None or value.type not in ("list", "tuple"):
                continue
            items = {_string_value(c) for c in value.named_children}
            if d.kind in ("assign", "annassign"):
                names = set()
            if names is not None:
                names.update(i for i in items if i)
        result = frozenset(names) if names is not None else None
        self._exports[m.relpath] = result
        return result

    def targets_of_def(self, d: Def, depth: int = 0) -> list[Target]:
        if depth > MAX_DEPTH:
            return []
        target = d.target
        if isinstance(target, (FunctionInfo, ClassInfo)):
            return [target]
        if isinstance(target, ImportBinding):
            return self.resolve_import(self._module_of_scope(d), target, depth + 1)
        if d.kind == "param":
            fn = getattr(target, "function", None)
            if isinstance(fn, FunctionInfo) and fn.implicit_first and getattr(target, "index", -1) == 0:
                assert fn.cls is not None
                if any(n.endswith("classmethod") for n in fn.decorator_names) or fn.name == "__new__":
                    return [fn.cls]
                return [Instance(fn.cls)]
            if d.annotation is not None and isinstance(fn, FunctionInfo):
                return self.instances_of_annotation(fn.module, d.annotation, depth + 1, fn.cls)
            return []
        if d.annotation is not None:
            found = self.instances_of_annotation(self._module_of_scope(d), d.annotation, depth + 1)
            if found:
                return found
        if d.kind in ("assign", "annassign", "walrus", "with") and d.value is not None:
            value = d.value
            if value.type in ("identifier", "attribute", "call"):
                return self.resolve_expr(self._module_of_scope(d), value, depth + 1)
        return []

    def _module_of_scope(self, d: Def) -> ModuleFacts:
        scope = d.scope
        while scope.parent is not None:
            scope = scope.parent
        return self._scope_module[id(scope)]

    @functools.cached_property
    def _scope_module(self) -> dict[int, ModuleFacts]:
        return {id(m.scope): m for m in self.modules.values()}

    def resolve_expr(self, m: ModuleFacts, node: Node | None, depth: int = 0) -> list[Target]:
        """What an expression may evaluate to, as far as the project's own code tells (memoised; a cycle
        through aliases or re-exports resolves to nothing)."""
        if node is None or depth > MAX_DEPTH:
            return []
        key = (id(m), node.id)
        cached = self._memo.get(key)
        if cached is not None:
            return cached
        self._memo[key] = []  # in progress: a cycle back to here finds nothing
        result = self._resolve_expr(m, node, depth)
        self._memo[key] = result
        return result

    def _resolve_expr(self, m: ModuleFacts, node: Node, depth: int) -> list[Target]:
        t = node.type
        if t == "identifier":
            use = m.uses.get(node.id)
            if use is None:
                return []
            if not use.defs:
                # a free name bound nowhere in this module may come from a `from x import *`
                if m.wildcard_imports and use.name not in m.scope.bindings and use.name not in use.scope.bindings:
                    return self.from_wildcards(m, use.name, depth + 1)
                return []
            out: list[Target] = []
            for d in use.defs[:4]:
                out.extend(self.targets_of_def(d, depth + 1))
            return _dedupe(out)
        if t == "attribute":
            obj = node.child_by_field_name("object")
            attr = text(node.child_by_field_name("attribute"))
            out = []
            for base in self.resolve_expr(m, obj, depth + 1):
                out.extend(self.member_of(base, attr, depth + 1))
            return _dedupe(out)
        if t == "call":
            func = node.child_by_field_name("function")
            if func is not None and func.type == "identifier" and text(func) == "super":
                cls = _enclosing_class(m, node)
                return [Instance(cls)] if cls is not None else []  # member_of skips cls itself for super
            out = []
            for callee in self.resolve_expr(m, func, depth + 1):
                if isinstance(callee, ClassInfo):
                    out.append(Instance(callee))
                elif isinstance(callee, FunctionInfo):
                    out.extend(self.returned_instances(callee, depth + 1))
            return _dedupe(out)
        if t == "parenthesized_expression" and node.named_child_count == 1:
            return self.resolve_expr(m, node.named_children[0], depth + 1)
        if t == "await" and node.named_child_count == 1:
            return self.resolve_expr(m, node.named_children[0], depth + 1)
        return []

    def returned_instances(self, fn: FunctionInfo, depth: int) -> list[Target]:
        if fn.return_annotation is None:
            return []
        return self.instances_of_annotation(fn.module, fn.return_annotation, depth, fn.cls)

    def instances_of_annotation(self, m: ModuleFacts, ann: Node, depth: int,
                                self_cls: ClassInfo | None = None) -> list[Target]:
        """Instances of the project's classes that an annotation names: `C`, `mod.C`, `"C"` (a forward
        reference), `Self`, and `C | None`, `Optional[C]`, `Union[C, D]` of those."""
        if depth > MAX_DEPTH:
            return []
        node = ann
        while node.type in ("type", "parenthesized_expression") and node.named_child_count == 1:
            node = node.named_children[0]
        t = node.type
        if t in ("identifier", "attribute"):
            if t == "identifier" and text(node) == "Self":
                return [Instance(self_cls)] if self_cls is not None else []
            return [Instance(c) for c in self.resolve_expr(m, node, depth + 1) if isinstance(c, ClassInfo)]
        if t == "string":
            return [Instance(c) for c in self.resolve_dotted(m, _string_value(node) or "", depth + 1)
                    if isinstance(c, ClassInfo)]
        if t == "binary_operator" and text(node.child_by_field_name("operator")) == "|":
            out: list[Target] = []
            for side in (node.child_by_field_name("left"), node.child_by_field_name("right")):
                if side is not None:
                    out.extend(self.instances_of_annotation(m, side, depth + 1, self_cls))
            return _dedupe(out)
        if t == "generic_type" or t == "subscript":
            head = node.named_children[0] if node.named_children else None
            name = text(head).rsplit(".", 1)[-1]
            if name in ("Optional", "Union", "Annotated"):
                args = node.named_children[1:] if t == "generic_type" else node.children_by_field_name("subscript")
                if t == "generic_type" and args and args[0].type == "type_parameter":
                    args = args[0].named_children
                items = args[:1] if name == "Annotated" else args
                out = []
                for item in items:
                    out.extend(self.instances_of_annotation(m, item, depth + 1, self_cls))
                return _dedupe(out)
        return []

    def resolve_dotted(self, m: ModuleFacts, dotted: str, depth: int = 0) -> list[Target]:
        """What a dotted name (`C`, `mod.C`) written in a string annotation refers to at `m`'s top level."""
        parts = dotted.strip().split(".")
        if not parts or not all(p.isidentifier() for p in parts):
            return []
        targets = self.lookup_member(m, parts[0], depth + 1)
        for part in parts[1:]:
            targets = [x for t in targets for x in self.member_of(t, part, depth + 1)]
        return targets

    def member_of(self, base: Target, attr: str, depth: int = 0) -> list[Target]:
        """`base.attr`: a module member, or a method, nested class or attribute (with a known class) found
        along the class hierarchy."""
        if depth > MAX_DEPTH:
            return []
        if isinstance(base, ModuleFacts):
            return self.lookup_member(base, attr, depth + 1)
        if isinstance(base, (ClassInfo, Instance)):
            cls = base if isinstance(base, ClassInfo) else base.cls
            for k in self.mro(cls):
                fn = k.methods.get(attr)
                if fn is not None:
                    if any(n.endswith("property") for n in fn.decorator_names):  # property, cached_property
                        return self.returned_instances(fn, depth + 1)
                    return [fn]
                if k.scope is not None and attr in k.scope.bindings:
                    for d in k.scope.bindings[attr][-1:]:
                        if isinstance(d.target, ClassInfo):
                            return [d.target]
                attrs = k.attributes.get(attr)
                if attrs:
                    out: list[Target] = []
                    for a in attrs[:4]:
                        if a.annotation is not None:
                            out.extend(self.instances_of_annotation(k.module, a.annotation, depth + 1, k))
                        elif a.value is not None and a.value.type in ("call", "identifier", "attribute"):
                            out.extend(t for t in self.resolve_expr(k.module, a.value, depth + 1)
                                       if isinstance(t, Instance))
                    return _dedupe(out)
            return []
        return []

    def mro(self, cls: ClassInfo) -> list[ClassInfo]:
        """A depth-first, duplicate-free linearisation (C3 is not needed to find the first definition)."""
        out: list[ClassInfo] = []
        stack = [cls]
        while stack and len(out) < 64:
            c = stack.pop(0)
            if c in out:
                continue
            out.append(c)
            stack[0:0] = c.resolved_bases
        return out

    def _resolve_call(self, m: ModuleFacts, call: CallInfo) -> None:
        func = call.func
        targets: list[Target]
        if func.type == "attribute":
            obj = func.child_by_field_name("object")
            attr = text(func.child_by_field_name("attribute"))
            if obj is not None and obj.type == "call" and text(obj.child_by_field_name("function")) == "super":
                cls = _enclosing_class(m, call.node)
                targets = []
                if cls is not None:
                    for base in cls.resolved_bases:
                        targets = self.member_of(base, attr)
                        if targets:
                            break
            else:
                targets = self.resolve_expr(m, func)
        else:
            targets = self.resolve_expr(m, func)
        for t in targets:
            if isinstance(t, FunctionInfo):
                call.targets.append(t)
                t.callers.append(call)
            elif isinstance(t, ClassInfo):
                call.targets.append(t)
                for k in self.mro(t):
                    init = k.methods.get("__init__")
                    if init is not None:
                        call.targets.append(init)
                        init.callers.append(call)
                        break

    # -- queries -----------------------------------------------------------------------------------------

    def module_for_path(self, relpath: str) -> ModuleFacts | None:
        return self.modules.get(relpath)

    def classes_by_name(self) -> dict[str, list[ClassInfo]]:
        out: dict[str, list[ClassInfo]] = {}
        for m in self.modules.values():
            for c in m.classes:
                out.setdefault(c.name, []).append(c)
        return out

    @property
    def line_count(self) -> int:
        return sum(m.parsed.source.line_count for m in self.modules.values())

    def source_files(self) -> dict[str, SourceFile]:
        """Every analysed file, by relpath."""
        return {rel: m.parsed.source for rel, m in self.modules.items()}

    # -- graph export ------------------------------------------------------------------------------------

    def graph(self, only: Iterable[str] | None = None) -> nx.MultiDiGraph:
        """The code property graph (all modules, or the given relpaths and the edges leaving them)."""
        return build_graph(self, set(only) if only is not None else None)


def _dedupe(items: list[Target]) -> list[Target]:
    seen: set[int] = set()
    out: list[Target] = []
    for t in items:
        key = id(t.cls) * 2 + 1 if isinstance(t, Instance) else id(t) * 2
        if key not in seen:
            seen.add(key)
            out.append(t)
    return out


def _string_value(node: Node) -> str | None:
    """The value of a plain string literal (no prefix, no interpolation), else None."""
    if node.type != "string" or text(node)[:1] not in ("'", '"'):
        return None
    parts = [c for c in node.named_children if c.type not in ("string_start", "string_end")]
    if any(c.type != "string_content" for c in parts):
        return None
    return "".join(text(c) for c in parts)


def _enclosing_class(m: ModuleFacts, node: Node) -> ClassInfo | None:
    cur: Node | None = node.parent
    while cur is not None:
        if cur.type == "class_definition":
            for c in m.classes:
                if c.node.id == cur.id:
                    return c
            return None
        cur = cur.parent
    return None


def _pos(node: Node, data: bytes) -> tuple[int, int]:
    row, col_bytes = node.start_point
    if col_bytes == 0:
        return row + 1, 0
    start = node.start_byte - col_bytes
    return row + 1, len(data[start : node.start_byte].decode("utf-8", "replace"))


def build_graph(project: PythonProject, only: set[str] | None) -> nx.MultiDiGraph:
    g = nx.MultiDiGraph()
    nodes: list[tuple[int, dict[str, object]]] = []
    edges: list[tuple[int, int, dict[str, object]]] = []

    def add(nid: int, kind: str, label: str, m: ModuleFacts, node: Node) -> None:
        line, col = _pos(node, m.data)
        if "\n" in label or "\r" in label or "\t" in label:
            label = " ".join(label.split())
        nodes.append((nid, {"kind": kind, "label": label, "file": m.relpath, "line": line, "col": col}))

    for relpath, m in project.modules.items():
        if only is not None and relpath not in only:
            continue
        mid = project.module_ids[relpath]
        nodes.append((mid, {"kind": "module", "label": m.modname, "file": relpath, "line": 1, "col": 0}))
        owner_of_scope: dict[int, int] = {}
        for scope in iter_scopes(m.scope):
            if scope.kind == "module":
                owner_of_scope[id(scope)] = mid
            elif scope.kind == "class" and scope.cls is not None:
                owner_of_scope[id(scope)] = scope.cls.id
            elif scope.function is not None:
                owner_of_scope[id(scope)] = scope.function.id
            else:  # comprehension: owned by the enclosing owner
                parent = scope.parent
                while parent is not None and id(parent) not in owner_of_scope:
                    parent = parent.parent
                owner_of_scope[id(scope)] = owner_of_scope[id(parent)] if parent is not None else mid
        for c in m.classes:
            add(c.id, "class", c.qualname, m, c.node)
            for base in c.resolved_bases:
                edges.append((c.id, base.id, {"kind": "INHERITS"}))
            for name, attr_defs in c.attributes.items():
                for a in attr_defs:
                    add(a.id, "attribute", f"{c.qualname}.{name} ({a.kind})", m, a.node)
                    edges.append((a.function.id if a.function is not None else c.id, a.id, {"kind": "AST"}))
        for f in m.functions:
            add(f.id, "function", f.qualname, m, f.node)
        for d in m.defs.values():
            kind = "parameter" if d.kind == "param" else "def"
            add(d.id, kind, f"{d.name} ({d.kind})" if kind == "def" else d.name, m, d.node)
            edges.append((owner_of_scope[id(d.scope)], d.id, {"kind": "AST"}))
            if isinstance(d.target, (FunctionInfo, ClassInfo)):
                edges.append((d.id, d.target.id, {"kind": "AST"}))
            for u in d.uses:
                edges.append((d.id, u.id, {"kind": "REACHES"}))
        for u in m.uses.values():
            add(u.id, "use", u.name, m, u.node)
            edges.append((owner_of_scope[id(u.scope)], u.id, {"kind": "AST"}))
        for call in m.calls.values():
            add(call.id, "call", text(call.func)[:60], m, call.node)
            edges.append((owner_of_scope[id(call.scope)], call.id, {"kind": "AST"}))
            for pos, kw, arg in call.args:
                use = m.uses.get(arg.id)
                if use is not None:
                    attrs: dict[str, object] = {"kind": "ARG"}
                    if pos is not None:
                        attrs["position"] = pos
                    else:
                        attrs["keyword"] = kw
                    edges.append((use.id, call.id, attrs))
            for t in call.targets:
                edges.append((call.id, t.id, {"kind": "CALLS"}))
        for sid, node in m.stmt_nodes.items():
            add(sid, "statement", _statement_label(node), m, node)
        for src, dst in m.cfg_edges:
            edges.append((src, dst, {"kind": "CFG"}))
        for binding in m.imported:
            name = project.absolute_module(m, binding.module, binding.level)
            names = [name]
            if binding.attr is not None and binding.attr != "*":
                names.append(f"{name}.{binding.attr}" if name else binding.attr)  # `from pkg import submodule`
            for imported_name in names:
                imported = project.by_name.get(imported_name)
                if imported is not None and imported is not m:
                    edges.append((mid, project.module_ids[imported.relpath], {"kind": "IMPORTS"}))
    if only is not None:
        # nodes in other files that the edges point at (call targets, base classes, imported modules) carry
        # their attributes too, so a single file's graph can be read on its own
        present = {nid for nid, _ in nodes}
        wanted = {b for _, b, _ in edges if b not in present}
        if wanted:
            for relpath, m in project.modules.items():
                if relpath in only:
                    continue
                mid = project.module_ids[relpath]
                if mid in wanted:
                    nodes.append((mid, {"kind": "module", "label": m.modname, "file": relpath, "line": 1, "col": 0}))
                for c in m.classes:
                    if c.id in wanted:
                        add(c.id, "class", c.qualname, m, c.node)
                for f in m.functions:
                    if f.id in wanted:
                        add(f.id, "function", f.qualname, m, f.node)
    g.add_nodes_from(nodes)
    g.add_edges_from(edges)
    return g


def _statement_label(node: Node) -> str:
    """The statement's type, or for an expression statement what it does (assignment, call, ...)."""
    if node.type == "expression_statement" and node.named_child_count == 1:
        inner = node.named_children[0].type
        if inner in ("assignment", "augmented_assignment", "call", "await", "yield", "string"):
            return inner
    return node.type
