"""Stage 3a for Python, type slots: every place in a Python project where a type annotation can go.

Does: lists, per module, parameters (not the implicit self/cls), returns, local and module variables (at their
first annotated binding, else their first annotatable one: `x = v` or `x: T = v` with a single name target),
and instance/class attributes (`self.x = v` in a method, `x = v` / `x: T` in a class body), each with its
existing annotation and a stable id.
Does not: look at how slots are used (`slices`), or predict anything.

Slot ids are `{file}::{kind}::{scope}::{name}`: the scope is the qualified name of the function (for params and
returns; `@N` marks the N-th definition of the same name, e.g. overloads or a property setter), of the class
(attributes) or of the enclosing function or `<module>` (variables). Ids contain no line numbers, so they
survive annotations being inserted elsewhere in the file.
"""


from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from typetool.python.facts import AttrDef, ClassInfo, Def, FunctionInfo, ModuleFacts, ParamInfo, Scope
from typetool.slots import MODULE_SCOPE, Slot, SlotKind, position
from typetool.treesitter import text

if TYPE_CHECKING:
    from typetool.python.project import PythonProject


@dataclass(frozen=True, slots=True)
class SlotSite:
    """A slot together with the facts it came from (for slicing; not serialised)."""

    slot: Slot
    module: ModuleFacts
    function: FunctionInfo | None = None  # params and returns; for variables, the enclosing function if any
    param: ParamInfo | None = None
    definition: Def | None = None  # variables (and params: the parameter's binding)
    attribute: list[AttrDef] | None = None
    cls: ClassInfo | None = None


def annotatable(d: Def) -> bool:
    """`x = v` or `x: T [= v]` with `x` the only target (not chained, not unpacked, not a for/with target), in
    the scope that owns `x` (not through `global`/`nonlocal` in an inner function: annotating it there is a
    SyntaxError)."""
    if not _lexically_in_own_scope(d):
        return False
    if d.kind == "annassign":
        return True
    if d.kind != "assign" or d.stmt is None or d.node.parent is None:
        return False
    assign = d.node.parent
    return (assign.type == "assignment" and assign.parent is not None and assign.parent.type == "expression_statement"
            and assign.child_by_field_name("left") == d.node
            and (assign.child_by_field_name("right") is None
                 or assign.child_by_field_name("right").type != "assignment"))  # type: ignore[union-attr]


def _lexically_in_own_scope(d: Def) -> bool:
    return not d.redirected  # set by the walker: bound through `global`/`nonlocal` from an inner scope


def attr_annotatable(a: AttrDef) -> bool:
    if a.annotation is not None:
        return True
    parent = a.node.parent
    return (parent is not None and parent.type == "assignment" and parent.child_by_field_name("left") == a.node
            and parent.parent is not None and parent.parent.type == "expression_statement"
            and (parent.child_by_field_name("right") is None
                 or parent.child_by_field_name("right").type != "assignment"))  # type: ignore[union-attr]


def _pick(defs: list[Def]) -> Def | None:
    annotated = [d for d in defs if d.annotation is not None and annotatable(d)]
    if annotated:
        return annotated[0]
    candidates = [d for d in defs if annotatable(d)]
    return candidates[0] if candidates else None


def function_scope_name(fn: FunctionInfo) -> str:
    return fn.qualname


def extract_slots(m: ModuleFacts) -> Iterator[SlotSite]:
    """All slots of one module, in source order within each kind of owner."""
    file = m.relpath
    data = m.data
    for fn in m.functions:
        if fn.is_lambda:
            continue
        scope = function_scope_name(fn)
        for i, p in enumerate(fn.params):
            if i == 0 and fn.implicit_first:
                continue
            line, col = position(p.node, data)
            slot = Slot(Slot.make_id(file, SlotKind.PARAM, scope, p.name), file, SlotKind.PARAM, scope, p.name,
                        line, col, text(p.annotation) if p.annotation is not None else None)
            yield SlotSite(slot, m, fn, p, p.definition, cls=fn.cls)
        name_node = fn.node.child_by_field_name("name") or fn.node
        line, col = position(name_node, data)
        ann = fn.return_annotation
        slot = Slot(Slot.make_id(file, SlotKind.RETURN, scope, "return"), file, SlotKind.RETURN, scope, "return",
                    line, col, text(ann) if ann is not None else None)
        yield SlotSite(slot, m, fn, cls=fn.cls)
    yield from _variable_slots(m, m.scope, None)
    for cls in m.classes:
        for name, attrs in cls.attributes.items():
            ordered = sorted(attrs, key=lambda a: a.node.start_byte)
            if any(a.kind == "class" and a.function is None and _is_method_name(cls, name) for a in ordered):
                continue
            chosen = next((a for a in ordered if a.annotation is not None and attr_annotatable(a)), None) or \
                next((a for a in ordered if attr_annotatable(a)), None)
            if chosen is None:
                continue
            line, col = position(chosen.node, data)
            slot = Slot(Slot.make_id(file, SlotKind.ATTRIBUTE, cls.qualname, name), file, SlotKind.ATTRIBUTE,
                        cls.qualname, name, line, col,
                        text(chosen.annotation) if chosen.annotation is not None else None)
            yield SlotSite(slot, m, chosen.function, attribute=[chosen] + [a for a in ordered if a is not chosen],
                           cls=cls)


def _is_method_name(cls: ClassInfo, name: str) -> bool:
    return name in cls.methods


def _variable_slots(m: ModuleFacts, scope: Scope, fn: FunctionInfo | None) -> Iterator[SlotSite]:
    if scope.kind in ("module", "function"):
        scope_name = MODULE_SCOPE if scope.kind == "module" else scope.qualname
        params = {p.name for p in fn.params} if fn is not None else set()
        for name, defs in scope.bindings.items():
            if name in scope.global_names or name in scope.nonlocal_names or name in params:
                continue
            own = [d for d in defs if d.scope is scope]
            chosen = _pick(own)
            if chosen is None:
                continue
            line, col = position(chosen.node, m.data)
            slot = Slot(Slot.make_id(m.relpath, SlotKind.VARIABLE, scope_name, name), m.relpath,
                        SlotKind.VARIABLE, scope_name, name, line, col,
                        text(chosen.annotation) if chosen.annotation is not None else None)
            yield SlotSite(slot, m, fn, definition=chosen)
    for child in scope.children:
        if child.kind == "function" and child.function is not None:
            yield from _variable_slots(m, child, child.function)
        elif child.kind == "class":
            for grandchild in child.children:
                if grandchild.kind == "function" and grandchild.function is not None:
                    yield from _variable_slots(m, grandchild, grandchild.function)
                elif grandchild.kind == "class":
                    yield from _variable_slots(m, grandchild, None)


def iter_sites(project: PythonProject, kinds: frozenset[SlotKind] = frozenset(SlotKind),
               files: set[str] | None = None, skip_too_deep: bool = False) -> Iterator[SlotSite]:
    """The project's slot sites of `kinds` (in `files`, when given). `skip_too_deep`: a module nested too deep
    to walk is skipped (its slicing reports it) instead of raising RecursionError."""
    for relpath, module in project.modules.items():
        if files is not None and relpath not in files:
            continue
        try:
            sites = [site for site in extract_slots(module) if site.slot.kind in kinds]
        except RecursionError:
            if not skip_too_deep:
                raise
            continue
        yield from sites
