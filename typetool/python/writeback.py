"""Python's writer (the Python wing of write-back): put predicted types into source files, or take annotations out, safely.

Does: finds every slot of a file in its libcst tree under the slot ids of `typetool.slots` (a libcst locator that
mirrors `extract_slots`; a test checks they agree on real packages); writes a type given as a `TypeNode` or a
type string as a parameter, return, variable or attribute annotation (`x = v` becomes `x: T = v`), spelled for
the target Python (`list[int] | None` from 3.10, `Optional[List[int]]` before), with holes as `Any` and an
all-hole type not written; adds the imports the type needs; removes annotations (`strip`); and proves each
rewrite before it is written: the result is re-parsed with `ast` and must equal the input with annotations (and
the imports it added) removed from both, keep every comment, keep which names are local to each function
(`symtable`), and a second application on the result must change nothing. A file is either fully rewritten
(temp file in the same directory, fsync, rename; mode and owner kept; encoding, BOM and line endings kept, as
libcst keeps every byte it was not asked to change) or left untouched.

Policies (see also the `WriteOptions` fields):
- Existing annotations and `# type:` comments are kept unless `overwrite` is set.
- Imports. `typing` / `collections.abc` names are imported at run time (merged into a one-line
  `from typing import ...` of the leading import block when there is one, else a new line after that block).
  Every other import we add (other project modules, third-party and standard-library classes) goes under
  `if TYPE_CHECKING:`: it can never create an import cycle or run import-time code. An annotation that
  Python evaluates (parameters and returns, module and class variables; not local variables or `self.x`)
  and that uses a name not bound at run time at that point (a TYPE_CHECKING import, a class defined further
  down, the enclosing class itself) is written as a string. We never add `from __future__ import
  annotations`: it would change how the file's existing annotations behave at run time (dataclasses,
  pydantic, typer and `get_type_hints` users); a file that already has it gets no quotes.
- Class bodies. Annotating `x = 1` in a class body makes `x` a field for dataclasses, attrs, pydantic,
  NamedTuple, TypedDict or any `__init_subclass__`/metaclass that reads `__annotations__`, and removing an
  annotation there removes the field. So class-body annotations are only written (or stripped) in classes
  that cannot do that: no decorator, no class keywords, and bases that are `object`, builtin exceptions,
  `ABC`, `Generic[...]` or such plain classes of the same module. `unsafe_fixes` lifts this.
- Names in a predicted type: names visible where the annotation is evaluated (the file's, a class body's for
  a signature in it, a function's for its locals) are used as they are; builtins need nothing; `typing` names
  are imported; a dotted name `pkg.mod.Name` is imported as `from pkg.mod import Name` (or `import pkg.mod`
  when `Name` is taken); a bare name not in the file is looked up in a small standard-library table and then
  among the classes of the project (the caller passes a `NameIndex`; a project class wins over typing's
  deprecated aliases such as `Text`); anything else, or a builtin or typing name that a local value shadows
  (`str = "x"` in a class body), is not written and is reported.

The language-neutral parts (the commands, outcomes, the predictions file, atomic I/O) are `typetool.writeback`,
`typetool.outcomes`, `typetool.predfile` and `typetool.fileio`; `apply_file` and `strip_file` are what the
`PythonLanguage` hands them.

Does not: predict anything, decide which slots exist (that is `typetool.slots`; the locator only finds them),
follow walrus bindings inside expressions when checking for shadowed names, or preserve hard links (a rename
replaces the file). Code that reads annotations at run time (typer, pydantic `validate_call`,
`functools.singledispatch`) may behave differently once parameters are annotated: that is the change asked for.
"""

from __future__ import annotations

import ast
import builtins
import re
import symtable
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeAlias

import libcst as cst

from typetool.diagnostics import Diagnostic
from typetool.fileio import write_result
from typetool.messages import (
    AMBIGUOUS_NAME,
    CANNOT_ENCODE_TYPE,
    INVALID_TYPE,
    NOT_EXACT,
    SHADOWED,
    SYNTAX,
    TOO_DEEP_TO_WRITE,
    UNKNOWN_NAME,
    UNSAFE,
)
from typetool.outcomes import (
    FileOutcome,
    FileStatus,
    Refused,
    SlotOutcome,
    SlotStatus,
    UnsafeRewrite,
    WriteMode,
    WriteOptions,
    diag,
    diag_of,
    outcome,
    slot_diags,
    slot_type,
)
from typetool.slots import MODULE_SCOPE, Slot, SlotKind
from typetool.sources import (
    SourceFile,
    discover,
    read_source,
)
from typetool.typeexpr import TypeNode, TypeParseError, names, parse_type, to_str

# -------------------------------------------------------------------------------------------- locator (libcst)
# A walk over statements only (expressions are not traversed: annotations, targets and names are all at
# statement level), mirroring how `typetool.python.facts` + `typetool.python.slots` number and pick slots.

Line: TypeAlias = cst.SimpleStatementLine | cst.SimpleStatementSuite


@dataclass(eq=False, slots=True)
class _Binding:
    name: str
    avail: int  # bound once the statement with this sequence number has run
    runtime: bool  # False under `if TYPE_CHECKING:` and for bare declarations (`x: int`)
    kind: str  # import, from, class, def, assign, declare, param, for, with, except, match, del, alias
    origin: tuple[str, str | None] | None = None  # imports: (module, imported name or None)
    top_block: bool = False  # an import of the leading import block
    redirected: bool = False  # made in an inner scope through `global` / `nonlocal`


class _Scope:
    __slots__ = ("attr_cands", "bare_decls", "class_first", "declared", "first_param", "global_names",
                 "is_method", "is_static", "kind", "methods", "names", "node", "params", "parent", "qualname",
                 "var_cands")

    def __init__(self, kind: str, qualname: str, parent: _Scope | None, node: cst.CSTNode | None) -> None:
        self.kind = kind  # module | class | function
        self.qualname = qualname
        self.parent = parent
        self.node = node
        self.names: dict[str, list[_Binding]] = {}
        self.declared: set[str] = set()  # global / nonlocal
        self.global_names: set[str] = set()
        self.params: list[str] = []
        self.first_param: str | None = None
        self.is_method = False
        self.is_static = False
        self.var_cands: dict[str, list[_Cand]] = {}
        self.class_first: dict[str, _Cand] = {}
        self.attr_cands: dict[str, list[_Cand]] = {}
        self.methods: set[str] = set()
        self.bare_decls: list[tuple[str, int]] = []  # (name, id of the AnnAssign) of `x: T` in a function

    def bind(self, b: _Binding) -> None:
        self.names.setdefault(b.name, []).append(b)

    def chain(self) -> tuple[_Scope, ...]:
        """Scopes searched for a name used here: this one, then enclosing functions, then the module."""
        out = [self]
        s = self.parent
        while s is not None:
            if s.kind != "class":
                out.append(s)
            s = s.parent
        return tuple(out)

    @property
    def late(self) -> bool:
        """Code here runs inside a function call (so the module has finished running)."""
        s: _Scope | None = self
        while s is not None:
            if s.kind == "function":
                return True
            s = s.parent
        return False


@dataclass(frozen=True, slots=True)
class _EvalPoint:
    """Where and whether Python evaluates an annotation written at a slot."""

    evaluated: bool
    seq: int
    chain: tuple[_Scope, ...]
    late: bool


@dataclass(eq=False, slots=True)
class _Cand:
    order: tuple[int, int]
    annotatable: bool
    annotated: bool
    stmt: cst.Assign | cst.AnnAssign | cst.AugAssign | None
    line: Line | None
    index: int  # position of `stmt` in `line.body`
    path: tuple[int, ...]
    point: _EvalPoint | None
    cls: cst.ClassDef | None = None  # class-body candidates: the class


@dataclass(frozen=True, slots=True)
class LocatedSlot:
    """A slot found in a libcst tree. `annotation` is the existing annotation's code (quotes included), if any."""

    id: str
    kind: SlotKind
    scope: str
    name: str
    annotation: str | None
    type_comment: bool  # a `# type:` comment stands for the annotation
    node: cst.CSTNode  # Param, FunctionDef (returns), or the Assign/AnnAssign statement
    function: cst.FunctionDef | None
    line: Line | None
    index: int
    path: tuple[int, ...]  # ids of the nodes from the module down to (not including) the edited node
    point: _EvalPoint
    field_guard: bool  # a class-body binding in a class that may collect annotations as fields


def _is_type_checking(test: cst.BaseExpression) -> bool:
    return (isinstance(test, cst.Name) and test.value == "TYPE_CHECKING") or \
        (isinstance(test, cst.Attribute) and test.attr.value == "TYPE_CHECKING")


def _dotted(node: cst.CSTNode) -> str | None:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        base = _dotted(node.value)
        return None if base is None else f"{base}.{node.attr.value}"
    return None


def _target_names(target: cst.BaseExpression) -> Iterator[cst.Name]:
    """Names bound by an assignment target (through tuples, lists, stars and parentheses)."""
    if isinstance(target, cst.Name):
        yield target
    elif isinstance(target, (cst.Tuple, cst.List)):
        for el in target.elements:
            yield from _target_names(el.value)
    elif isinstance(target, cst.StarredElement):
        yield from _target_names(target.value)


def _pattern_names(pattern: cst.CSTNode) -> Iterator[str]:
    if isinstance(pattern, (cst.MatchAs, cst.MatchStar)) and pattern.name is not None:
        yield pattern.name.value
    elif isinstance(pattern, cst.MatchMapping) and pattern.rest is not None:
        yield pattern.rest.value
    for child in pattern.children:
        if isinstance(child, (cst.MatchPattern, cst.MatchSequenceElement, cst.MatchMappingElement,
                              cst.MatchClass, cst.MatchKeywordElement, cst.MatchOrElement)):
            yield from _pattern_names(child)


def _unparenthesized(node: cst.BaseExpression) -> bool:
    return not getattr(node, "lpar", ())


def _type_comment(tw: cst.TrailingWhitespace | None) -> bool:
    if tw is None or tw.comment is None:
        return False
    text = tw.comment.value[1:].strip()
    return text.startswith("type:") and not text[5:].strip().startswith("ignore")


def _function_type_comment(fn: cst.FunctionDef) -> bool:
    """A PEP 484 signature comment: `# type: (int) -> str` on the `def` line or the first line of the body."""
    body = fn.body
    if isinstance(body, cst.SimpleStatementSuite):
        return _type_comment(body.trailing_whitespace)
    if not isinstance(body, cst.IndentedBlock):
        return False
    if _type_comment(body.header):
        return True
    first = body.body[0] if body.body else None
    lines: Sequence[cst.EmptyLine] = first.leading_lines if isinstance(
        first, (cst.SimpleStatementLine, cst.BaseCompoundStatement)) else ()
    comments = [e.comment for e in lines if e.comment is not None]
    return bool(comments) and _type_comment(cst.TrailingWhitespace(comment=comments[0]))


SAFE_BASES = frozenset({"object", "ABC", "abc.ABC", "Generic", "typing.Generic", "builtins.object"}) | frozenset(
    n for n in dir(builtins) if isinstance(getattr(builtins, n), type) and issubclass(getattr(builtins, n),
                                                                                    BaseException))


class _Walker:
    """One pass over a module: slots (mirroring `typetool.slots`), bindings per scope, and strip targets."""

    def __init__(self, module: cst.Module, relpath: str) -> None:
        self.module = module
        self.relpath = relpath
        self.seq = 0
        self.counts: dict[str, int] = {}
        self.path: list[int] = []
        self.root = _Scope("module", "", None, module)
        self.slots: dict[str, LocatedSlot] = {}
        self.stub = relpath.endswith(".pyi")  # nothing in a stub runs: no quotes, plain imports, no field guard
        self.future_annotations = self.stub
        self.star_import = False
        self.tc_depth = 0
        self.top_tc_block: cst.If | None = None  # first module-level `if TYPE_CHECKING:` with an indented body
        self.import_at = 0  # index in module.body after the docstring and the leading imports
        self.top_from_lines: dict[str, cst.SimpleStatementLine] = {}  # one-line `from M import a, b` there
        self.classes: dict[str, list[cst.ClassDef]] = {}
        self._plain: dict[int, bool] = {}
        # strip targets
        self.annotated_functions: list[tuple[cst.FunctionDef, tuple[int, ...], bool]] = []  # (fn, path, tc)
        self.annassigns: list[tuple[Line, int, cst.AnnAssign, tuple[int, ...], _Scope, cst.ClassDef | None]] = []
        self._class_stack: list[cst.ClassDef] = []

    # -- driver -------------------------------------------------------------------------------------------

    def run(self) -> _Walker:
        body = self.module.body
        start = 1 if body and self._is_docstring(body[0]) else 0
        i = start
        while i < len(body) and isinstance(body[i], cst.SimpleStatementLine) and all(
                isinstance(s, (cst.Import, cst.ImportFrom)) for s in body[i].body):  # type: ignore[union-attr]
            line = body[i]
            assert isinstance(line, cst.SimpleStatementLine)
            if len(line.body) == 1 and isinstance(line.body[0], cst.ImportFrom):
                imp = line.body[0]
                if not imp.relative and not isinstance(imp.names, cst.ImportStar) and imp.lpar is None \
                        and imp.module is not None and line.trailing_whitespace.comment is None:
                    mod = _dotted(imp.module)
                    if mod is not None and mod != "__future__":
                        self.top_from_lines.setdefault(mod, line)
            i += 1
        self.import_at = i
        self.path.append(id(self.module))
        for k, stmt in enumerate(body):
            self.statement(stmt, self.root, top_block=start <= k < self.import_at)
        self._variables(self.root)
        return self

    @staticmethod
    def _is_docstring(stmt: cst.CSTNode) -> bool:
        return isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 and \
            isinstance(stmt.body[0], cst.Expr) and isinstance(stmt.body[0].value, (cst.SimpleString,
                                                                                 cst.ConcatenatedString))

    def suite(self, suite: cst.BaseSuite, scope: _Scope) -> None:
        self.path.append(id(suite))
        if isinstance(suite, cst.IndentedBlock):
            for stmt in suite.body:
                self.statement(stmt, scope)
        elif isinstance(suite, cst.SimpleStatementSuite):
            self.seq += 1
            for i, small in enumerate(suite.body):
                self.small(small, suite, i, scope)
        self.path.pop()

    def statement(self, stmt: cst.CSTNode, scope: _Scope, top_block: bool = False) -> None:
        self.path.append(id(stmt))
        self.seq += 1
        if isinstance(stmt, cst.SimpleStatementLine):
            for i, small in enumerate(stmt.body):
                self.small(small, stmt, i, scope, top_block)
        elif isinstance(stmt, cst.FunctionDef):
            self.function(stmt, scope)
        elif isinstance(stmt, cst.ClassDef):
            self.klass(stmt, scope)
        elif isinstance(stmt, cst.If):
            self.if_(stmt, scope)
        elif isinstance(stmt, (cst.For, cst.While)):
            if isinstance(stmt, cst.For):
                for n in _target_names(stmt.target):
                    self.bind(scope, n.value, "for")
            self.suite(stmt.body, scope)
            if stmt.orelse is not None:
                self.else_(stmt.orelse, scope)
        elif isinstance(stmt, (cst.Try, cst.TryStar)):
            self.suite(stmt.body, scope)
            for h in stmt.handlers:
                self.path.append(id(h))
                if h.name is not None and isinstance(h.name.name, cst.Name):
                    self.bind(scope, h.name.name.value, "except")
                self.suite(h.body, scope)
                self.path.pop()
            if stmt.orelse is not None:
                self.else_(stmt.orelse, scope)
            if stmt.finalbody is not None:
                self.path.append(id(stmt.finalbody))
                self.suite(stmt.finalbody.body, scope)
                self.path.pop()
        elif isinstance(stmt, cst.With):
            for item in stmt.items:
                if item.asname is not None:
                    for n in _target_names(item.asname.name):
                        self.bind(scope, n.value, "with")
            self.suite(stmt.body, scope)
        elif isinstance(stmt, cst.Match):
            for case in stmt.cases:
                self.path.append(id(case))
                for name in _pattern_names(case.pattern):
                    self.bind(scope, name, "match")
                self.suite(case.body, scope)
                self.path.pop()
        self.path.pop()

    def else_(self, orelse: cst.Else, scope: _Scope) -> None:
        self.path.append(id(orelse))
        self.suite(orelse.body, scope)
        self.path.pop()

    def if_(self, stmt: cst.If, scope: _Scope) -> None:
        tc = _is_type_checking(stmt.test)
        if tc and scope is self.root and self.top_tc_block is None and len(self.path) == 2 \
                and isinstance(stmt.body, cst.IndentedBlock):
            self.top_tc_block = stmt
        self.tc_depth += tc
        self.suite(stmt.body, scope)
        self.tc_depth -= tc
        if isinstance(stmt.orelse, cst.If):
            self.path.append(id(stmt.orelse))
            self.seq += 1
            self.if_(stmt.orelse, scope)
            self.path.pop()
        elif isinstance(stmt.orelse, cst.Else):
            self.else_(stmt.orelse, scope)

    # -- bindings -----------------------------------------------------------------------------------------

    def bind(self, scope: _Scope, name: str, kind: str, origin: tuple[str, str | None] | None = None,
             avail: int | None = None, runtime: bool = True, top_block: bool = False) -> None:
        redirected = name in scope.declared and scope is not self.root
        if redirected:
            target: _Scope | None = self.root
            if name not in scope.global_names:  # nonlocal: the nearest enclosing function
                target = scope.parent
                while target is not None and target.kind != "function":
                    target = target.parent
            scope = target or self.root
        scope.bind(_Binding(name, self.seq if avail is None else avail, runtime and not self.tc_depth, kind,
                            origin, top_block, redirected))

    # -- small statements ---------------------------------------------------------------------------------

    def small(self, small: cst.BaseSmallStatement, line: Line, index: int, scope: _Scope,
              top_block: bool = False) -> None:
        if isinstance(small, cst.Assign):
            single = len(small.targets) == 1
            for k, t in enumerate(small.targets):
                target = t.target
                for n in _target_names(target):
                    self.bind(scope, n.value, "assign")
                    if scope.kind == "class":
                        self._class_binding(scope, n.value, single and target is n and _unparenthesized(n),
                                            False, small, line, index, k)
                if isinstance(target, cst.Name) and single and _unparenthesized(target):
                    self._candidate(scope, target.value, False, small, line, index)
                elif isinstance(target, cst.Attribute):
                    self._attribute(scope, target, single and _unparenthesized(target), False, small, line,
                                    index)
        elif isinstance(small, cst.AnnAssign):
            target = small.target
            if small.value is None and isinstance(target, cst.Name):
                self.bind(scope, target.value, "declare", runtime=False)
            else:
                for n in _target_names(target):
                    self.bind(scope, n.value, "assign")
            owner = self._class_stack[-1] if scope.kind == "class" else None
            self.annassigns.append((line, index, small, self._path_tuple(), scope, owner))
            if small.value is None and isinstance(target, cst.Name) and scope.kind == "function" \
                    and target.value not in scope.declared:
                scope.bare_decls.append((target.value, id(small)))
            if isinstance(target, cst.Name):
                if scope.kind == "class":
                    self._class_binding(scope, target.value, True, _unparenthesized(target), small, line, index)
                else:
                    self._candidate(scope, target.value, _unparenthesized(target), small, line, index)
            elif isinstance(target, cst.Attribute):
                self._attribute(scope, target, _unparenthesized(target), _unparenthesized(target), small, line,
                                index)
        elif isinstance(small, cst.AugAssign):
            if isinstance(small.target, cst.Name):
                self.bind(scope, small.target.value, "assign")
                if scope.kind == "class":
                    self._class_binding(scope, small.target.value, False, False, small, line, index)
        elif isinstance(small, cst.Import):
            for alias in small.names:
                mod = _dotted(alias.name) or ""
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                    self.bind(scope, alias.asname.name.value, "import", (mod, None), top_block=top_block)
                else:
                    self.bind(scope, mod.split(".")[0], "import", (mod.split(".")[0], None), top_block=top_block)
        elif isinstance(small, cst.ImportFrom):
            mod = ("." * len(small.relative)) + (_dotted(small.module) or "" if small.module is not None else "")
            if mod == "__future__" and not isinstance(small.names, cst.ImportStar) and any(
                    isinstance(a.name, cst.Name) and a.name.value == "annotations" for a in small.names):
                self.future_annotations = True
            if isinstance(small.names, cst.ImportStar):
                if scope is self.root:
                    self.star_import = True
            else:
                for alias in small.names:
                    orig = _dotted(alias.name) or ""
                    local = alias.asname.name.value if alias.asname is not None and isinstance(
                        alias.asname.name, cst.Name) else orig
                    self.bind(scope, local, "from", (mod, orig), top_block=top_block)
        elif isinstance(small, (cst.Global, cst.Nonlocal)):
            names_ = [n.name.value for n in small.names]
            scope.declared.update(names_)
            if isinstance(small, cst.Global):
                scope.global_names.update(names_)
        elif isinstance(small, cst.Del):
            for n in _target_names(small.target):
                self.bind(scope, n.value, "del")
        elif type(small).__name__ == "TypeAlias":  # `type X = ...` (3.12)
            name = getattr(small, "name", None)
            if isinstance(name, cst.Name):
                self.bind(scope, name.value, "alias")

    def _path_tuple(self) -> tuple[int, ...]:
        return tuple(self.path)

    def _point_here(self, scope: _Scope, evaluated: bool) -> _EvalPoint:
        return _EvalPoint(evaluated and not self.future_annotations, self.seq, scope.chain(), scope.late)

    def _candidate(self, scope: _Scope, name: str, annotated: bool, stmt: cst.Assign | cst.AnnAssign,
                   line: Line, index: int) -> None:
        if scope.kind not in ("module", "function") or name in scope.declared:
            return
        point = self._point_here(scope, evaluated=scope.kind == "module")
        scope.var_cands.setdefault(name, []).append(
            _Cand((self.seq, index), True, annotated, stmt, line, index, self._path_tuple(), point))

    def _class_binding(self, scope: _Scope, name: str, annotatable: bool, annotated: bool,
                       stmt: cst.Assign | cst.AnnAssign | cst.AugAssign, line: Line, index: int,
                       sub: int = 0) -> None:
        if name in scope.declared or name in scope.class_first:
            return
        point = self._point_here(scope, evaluated=True)
        scope.class_first[name] = _Cand((self.seq, index * 100 + sub), annotatable, annotated, stmt, line, index,
                                        self._path_tuple(), point, self._class_stack[-1])

    def _attribute(self, scope: _Scope, target: cst.Attribute, annotatable: bool, annotated: bool,
                   stmt: cst.Assign | cst.AnnAssign, line: Line, index: int) -> None:
        if scope.kind != "function" or not scope.is_method or scope.is_static or scope.first_param is None:
            return
        obj = target.value
        if not isinstance(obj, cst.Name) or obj.value != scope.first_param or not annotatable:
            return
        cls_scope = scope.parent
        assert cls_scope is not None and cls_scope.kind == "class"
        point = self._point_here(scope, evaluated=False)
        cls_scope.attr_cands.setdefault(target.attr.value, []).append(
            _Cand((self.seq, index * 100), True, annotated, stmt, line, index, self._path_tuple(), point))

    # -- definitions --------------------------------------------------------------------------------------

    def _qualname(self, scope: _Scope, name: str) -> str:
        base = f"{scope.qualname}.{name}" if scope.qualname else name
        n = self.counts[base] = self.counts.get(base, 0) + 1
        return base if n == 1 else f"{base}@{n}"

    def function(self, fn: cst.FunctionDef, scope: _Scope) -> None:
        name = fn.name.value
        qualname = self._qualname(scope, name)
        start = self.seq
        params = fn.params
        ordered: list[tuple[cst.Param, str]] = [(p, "posonly") for p in params.posonly_params]
        ordered += [(p, "positional") for p in params.params]
        if isinstance(params.star_arg, cst.Param):
            ordered.append((params.star_arg, "star"))
        ordered += [(p, "kwonly") for p in params.kwonly_params]
        if isinstance(params.star_kwarg, cst.Param):
            ordered.append((params.star_kwarg, "starstar"))
        method = scope.kind == "class"
        static = any(self._decorator_name(d).endswith("staticmethod") for d in fn.decorators)
        implicit = method and not static and bool(ordered) and ordered[0][1] in ("posonly", "positional")
        if method:
            scope.methods.add(name)
        point = _EvalPoint(not self.future_annotations, start, scope.chain(), scope.late)
        path = self._path_tuple()[:-1]  # up to the FunctionDef's parent; the FunctionDef is the edited node
        tc = _function_type_comment(fn)
        for i, (p, _) in enumerate(ordered):
            if i == 0 and implicit:
                continue
            sid = Slot.make_id(self.relpath, SlotKind.PARAM, qualname, p.name.value)
            ann = self.module.code_for_node(p.annotation.annotation) if p.annotation is not None else None
            self.slots.setdefault(sid, LocatedSlot(sid, SlotKind.PARAM, qualname, p.name.value, ann, tc, p, fn, None,
                                                   0, path, point, False))
        sid = Slot.make_id(self.relpath, SlotKind.RETURN, qualname, "return")
        ann = self.module.code_for_node(fn.returns.annotation) if fn.returns is not None else None
        self.slots.setdefault(sid, LocatedSlot(sid, SlotKind.RETURN, qualname, "return", ann, tc, fn, fn, None, 0,
                                               path, point, False))
        if fn.returns is not None or any(p.annotation is not None for p, _ in ordered):
            self.annotated_functions.append((fn, path, self.tc_depth > 0))
        inner = _Scope("function", qualname, scope, fn)
        inner.params = [p.name.value for p, _ in ordered]
        inner.first_param = ordered[0][0].name.value if ordered else None
        inner.is_method = method
        inner.is_static = static
        for pname in inner.params:
            inner.bind(_Binding(pname, start, True, "param"))
        self._prescan(fn.body, inner)
        self.suite(fn.body, inner)
        self._variables(inner)
        self.bind(scope, name, "def", avail=self.seq)

    def _prescan(self, suite: cst.BaseSuite, scope: _Scope) -> None:
        """`global`/`nonlocal` apply to the whole function body (Python rejects a use before them)."""
        for small in _small_statements(suite):
            if isinstance(small, (cst.Global, cst.Nonlocal)):
                names_ = [n.name.value for n in small.names]
                scope.declared.update(names_)
                if isinstance(small, cst.Global):
                    scope.global_names.update(names_)

    def _decorator_name(self, d: cst.Decorator) -> str:
        expr = d.decorator
        if isinstance(expr, cst.Call):
            expr = expr.func
        return _dotted(expr) or self.module.code_for_node(expr)

    def klass(self, node: cst.ClassDef, scope: _Scope) -> None:
        name = node.name.value
        qualname = self._qualname(scope, name)
        self.classes.setdefault(name, []).append(node)
        inner = _Scope("class", qualname, scope, node)
        self._class_stack.append(node)
        self.suite(node.body, inner)
        self._class_stack.pop()
        self._attributes(inner, node)
        self.bind(scope, name, "class", avail=self.seq)

    # -- picking slots (as `typetool.slots`) --------------------------------------------------------------

    def _variables(self, scope: _Scope) -> None:
        scope_name = MODULE_SCOPE if scope.kind == "module" else scope.qualname
        for name, cands in scope.var_cands.items():
            if name in scope.declared or name in scope.params:
                continue
            chosen = next((c for c in cands if c.annotated), None) or cands[0]
            self._add_var_slot(SlotKind.VARIABLE, scope_name, name, chosen, False)

    def _attributes(self, scope: _Scope, node: cst.ClassDef) -> None:
        names_ = list(scope.attr_cands) + [n for n in scope.class_first if n not in scope.attr_cands]
        for name in names_:
            first = scope.class_first.get(name)
            if first is not None and name in scope.methods:
                continue
            cands = sorted([*([first] if first is not None else []), *scope.attr_cands.get(name, [])],
                           key=lambda c: c.order)
            chosen = next((c for c in cands if c.annotated and c.annotatable), None) or \
                next((c for c in cands if c.annotatable), None)
            if chosen is None:
                continue
            guard = chosen.cls is not None and not self.stub and not self.plain_class(chosen.cls)
            self._add_var_slot(SlotKind.ATTRIBUTE, scope.qualname, name, chosen, guard)

    def _add_var_slot(self, kind: SlotKind, scope_name: str, name: str, c: _Cand, guard: bool) -> None:
        assert c.stmt is not None and c.line is not None and c.point is not None
        sid = Slot.make_id(self.relpath, kind, scope_name, name)
        ann = None
        if isinstance(c.stmt, cst.AnnAssign) and c.annotated:
            ann = self.module.code_for_node(c.stmt.annotation.annotation)
        tc = _type_comment(c.line.trailing_whitespace)
        self.slots.setdefault(sid, LocatedSlot(sid, kind, scope_name, name, ann, tc, c.stmt, None, c.line, c.index,
                                               c.path, c.point, guard))

    # -- classes that may collect annotations -------------------------------------------------------------

    def plain_class(self, node: cst.ClassDef, seen: frozenset[int] = frozenset()) -> bool:
        """No decorator, no keywords, plain bases, no `__init_subclass__`: annotations in its body are inert."""
        key = id(node)
        if key in self._plain:
            return self._plain[key]
        if key in seen:
            return False
        ok = not node.decorators and not node.keywords and not self._defines_init_subclass(node)
        for arg in node.bases:
            if not ok:
                break
            if arg.star or arg.keyword is not None:
                ok = False
                break
            value = arg.value
            if isinstance(value, cst.Subscript):
                ok = _dotted(value.value) in ("Generic", "typing.Generic")
                continue
            name = _dotted(value)
            if name in SAFE_BASES:
                continue
            local = self.classes.get(name or "", []) if name is not None and "." not in name else []
            ok = bool(local) and all(self.plain_class(c, seen | {key}) for c in local)
        self._plain[key] = ok
        return ok

    @staticmethod
    def _defines_init_subclass(node: cst.ClassDef) -> bool:
        body = node.body.body if isinstance(node.body, cst.IndentedBlock) else ()
        return any(isinstance(s, cst.FunctionDef) and s.name.value in ("__init_subclass__", "__set_name__")
                   for s in body)


def _small_statements(suite: cst.BaseSuite) -> Iterator[cst.BaseSmallStatement]:
    """The small statements of a suite and its nested blocks, not those of nested functions or classes."""
    stack: list[cst.BaseSuite] = [suite]
    while stack:
        s = stack.pop()
        if isinstance(s, cst.SimpleStatementSuite):
            yield from s.body
            continue
        assert isinstance(s, cst.IndentedBlock)
        for stmt in s.body:
            if isinstance(stmt, cst.SimpleStatementLine):
                yield from stmt.body
            elif isinstance(stmt, cst.BaseCompoundStatement) and not isinstance(stmt, (cst.FunctionDef,
                                                                                      cst.ClassDef)):
                stack.extend(_suites_of(stmt))


def _suites_of(stmt: cst.BaseCompoundStatement) -> Iterator[cst.BaseSuite]:
    if isinstance(stmt, cst.If):
        yield stmt.body
        if stmt.orelse is not None:
            yield from _suites_of(stmt.orelse) if isinstance(stmt.orelse, cst.If) else (stmt.orelse.body,)
    elif isinstance(stmt, (cst.For, cst.While)):
        yield stmt.body
        if stmt.orelse is not None:
            yield stmt.orelse.body
    elif isinstance(stmt, (cst.Try, cst.TryStar)):
        yield stmt.body
        yield from (h.body for h in stmt.handlers)
        if stmt.orelse is not None:
            yield stmt.orelse.body
        if stmt.finalbody is not None:
            yield stmt.finalbody.body
    elif isinstance(stmt, cst.With):
        yield stmt.body
    elif isinstance(stmt, cst.Match):
        yield from (c.body for c in stmt.cases)


# What libcst is given. Its native parser recurses on the thread's stack, up to ~7 KB per nested bracket (it
# crashed the process at ~1,400 nested lists on an 8 MB stack, ~150 on 1 MB; operator and attribute chains cost
# 1-2.5 KB a level), and its code generator and visitors recurse in Python (2-6 frames a level). So a file is first
# measured on its tree-sitter tree (`typetool.python.parse.too_deep`; milliseconds) and refused beyond these limits,
# and what passes runs in a thread with a large stack and a raised recursion limit (`isolated`):
# `benchmarks/libcst_limits.py` prints the figures behind them.
MAX_DEPTH = 1_200  # tree levels; the deepest of 11,535 files of real packages measured 571 (generated sympy)
MAX_BRACKETS = 200  # brackets open at once: CPython's own limit (its tokenizer refuses more)


def _nesting_problem(text: str) -> tuple[str, int] | None:
    """Why `text` is nested too deeply for libcst (and the line), or None."""
    import tree_sitter as ts

    from typetool.python.parse import python_language, too_deep

    tree = ts.Parser(python_language()).parse(text.encode("utf-8", "surrogatepass"))
    deep = too_deep(tree.root_node, MAX_DEPTH, MAX_BRACKETS)
    if deep is None:
        return None
    if deep.brackets > MAX_BRACKETS:
        return f"more than {MAX_BRACKETS} brackets open at once at line {deep.line}, which Python refuses", deep.line
    return f"more than {MAX_DEPTH:,} levels at line {deep.line}", deep.line


def _parse_module(text: str) -> cst.Module:
    """libcst's tree of `text`, which must be reproduced byte for byte and parse with `ast` too; raises `Refused`
    (syntax error, too deep, not reproducible)."""
    problem = _nesting_problem(text)
    if problem is not None:
        raise Refused(TOO_DEEP_TO_WRITE, line=problem[1], what=problem[0])
    try:
        module = cst.parse_module(text)
    except cst.ParserSyntaxError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "syntax error"
        raise Refused(SYNTAX, line=exc.raw_line, reason=f"line {exc.raw_line}: {first}") from exc
    except (RecursionError, MemoryError) as exc:
        raise Refused(TOO_DEEP_TO_WRITE, what=f"libcst's parser: {type(exc).__name__}") from exc
    try:
        same = module.code == text
    except RecursionError as exc:
        raise Refused(TOO_DEEP_TO_WRITE, what="libcst's code generator: RecursionError") from exc
    if not same:
        reason = "old Mac line endings (\\r)" if "\r" in text.replace("\r\n", "") else "unsupported layout"
        raise Refused(NOT_EXACT, reason=reason)
    try:
        ast.parse(text)
    except (RecursionError, MemoryError) as exc:  # ("too complex", "maximum recursion depth ... compilation")
        raise Refused(TOO_DEEP_TO_WRITE, what=f"Python's parser: {type(exc).__name__}: {exc}") from exc
    except (SyntaxError, ValueError) as exc:
        line = getattr(exc, "lineno", None)
        raise Refused(SYNTAX, line=line, reason=f"line {line}: {getattr(exc, 'msg', exc)} "
                                                  "(for the Python running typetool)") from exc
    return module


def locate_slots(text_or_module: str | cst.Module, relpath: str) -> dict[str, LocatedSlot]:
    """Every slot of a file, by slot id, found in its libcst tree (the same ids as `typetool.slots`)."""
    module = _parse_module(text_or_module) if isinstance(text_or_module, str) else text_or_module
    return _Walker(module, relpath).run().slots


# ------------------------------------------------------------------------------------------ names and imports


NameIndex: TypeAlias = Callable[[str], Sequence[str]]
"""Bare class name -> dotted modules of the project that define it at module level."""

TYPING_MODULES = frozenset({"typing", "collections.abc", "typing_extensions"})
ABC_NAMES = frozenset([
    "AsyncGenerator", "AsyncIterable", "AsyncIterator", "Awaitable", "Callable", "Collection", "Container",
    "Coroutine", "Generator", "Hashable", "ItemsView", "Iterable", "Iterator", "KeysView", "Mapping", "MappingView",
    "MutableMapping", "MutableSequence", "MutableSet", "Reversible", "Sequence", "Sized", "ValuesView",
])
TYPING_NAMES = ABC_NAMES | frozenset([
    "Any", "AnyStr", "Annotated", "AbstractSet", "AsyncContextManager", "BinaryIO", "ByteString", "ChainMap",
    "ClassVar", "Concatenate", "ContextManager", "Counter", "DefaultDict", "Deque", "Dict", "Final", "ForwardRef",
    "FrozenSet", "Generic", "IO", "List", "Literal", "LiteralString", "Match", "NamedTuple", "Never", "NewType",
    "NoReturn", "NotRequired", "Optional", "OrderedDict", "ParamSpec", "ParamSpecArgs", "ParamSpecKwargs",
    "Pattern", "Protocol", "ReadOnly", "Required", "Self", "Set", "SupportsAbs", "SupportsBytes",
    "SupportsComplex", "SupportsFloat", "SupportsIndex", "SupportsInt", "SupportsRound", "Text", "TextIO",
    "Tuple", "Type", "TypeAlias", "TypeGuard", "TypeIs", "TypeVar", "TypeVarTuple", "TypedDict", "Union", "Unpack",
])
# typing's deprecated aliases (`Text` is `str`, `List` is `list`, ...): predictions spell these with builtins, so
# a bare `Text` or `Counter` more likely names a class of the project when there is one.
DEPRECATED_ALIASES = frozenset({"Text", "List", "Dict", "Set", "FrozenSet", "Tuple", "Type", "Deque", "DefaultDict",
                                "OrderedDict", "Counter", "ChainMap", "Pattern", "Match", "ByteString"})
TYPING_SINCE = {
    "Literal": (3, 8), "Final": (3, 8), "Protocol": (3, 8), "TypedDict": (3, 8), "Annotated": (3, 9),
    "ParamSpec": (3, 10), "Concatenate": (3, 10), "TypeAlias": (3, 10), "TypeGuard": (3, 10),
    "ParamSpecArgs": (3, 10), "ParamSpecKwargs": (3, 10), "Self": (3, 11), "Never": (3, 11),
    "LiteralString": (3, 11), "TypeVarTuple": (3, 11), "Unpack": (3, 11), "Required": (3, 11),
    "NotRequired": (3, 11), "ReadOnly": (3, 13), "TypeIs": (3, 13),
}
STDLIB_NAMES = {
    **dict.fromkeys(["Path", "PurePath", "PosixPath", "WindowsPath", "PurePosixPath", "PureWindowsPath"], "pathlib"),
    **dict.fromkeys(["datetime", "date", "time", "timedelta", "timezone", "tzinfo"], "datetime"),
    **dict.fromkeys(["defaultdict", "deque"], "collections"),
    **dict.fromkeys(["Enum", "IntEnum", "Flag", "IntFlag", "StrEnum"], "enum"),
    **dict.fromkeys(["ModuleType", "TracebackType", "FunctionType", "MethodType", "FrameType", "CodeType",
                     "SimpleNamespace"], "types"),
    **dict.fromkeys(["StringIO", "BytesIO", "TextIOWrapper", "BufferedReader", "BufferedWriter"], "io"),
    **dict.fromkeys(["ArgumentParser", "Namespace"], "argparse"),
    **dict.fromkeys(["Popen", "CompletedProcess"], "subprocess"),
    **dict.fromkeys(["Executor", "ThreadPoolExecutor", "ProcessPoolExecutor"], "concurrent.futures"),
    "Decimal": "decimal", "Fraction": "fractions", "UUID": "uuid", "Logger": "logging", "PathLike": "os",
    "partial": "functools", "Random": "random", "ZipFile": "zipfile", "TarFile": "tarfile",
    "AbstractEventLoop": "asyncio", "ElementTree": "xml.etree.ElementTree", "Thread": "threading",
    "ConfigParser": "configparser", "Message": "email.message", "HTTPStatus": "http",
}
BUILTIN_NAMES = frozenset(n for n in dir(builtins) if not n.startswith("_"))


@dataclass(frozen=True, slots=True)
class _Need:
    module: str
    name: str | None  # None: `import module`
    runtime: bool


@dataclass(frozen=True, slots=True)
class _Resolved:
    spelling: str  # how the name is written
    need: _Need | None
    available: bool  # bound at run time where the annotation is evaluated


class _Skip(Exception):
    def __init__(self, status: SlotStatus, entry: tuple[str, str], **kw: object) -> None:
        super().__init__(entry[1].format(**kw))
        self.status = status
        self.entry = entry
        self.kw = kw


def _quote(text: str) -> str:
    """`text` as a string literal (a forward reference): double quotes unless it contains some."""
    quote = "'" if '"' in text and "'" not in text else '"'
    return quote + text.replace("\\", "\\\\").replace(quote, "\\" + quote) + quote


def _rename(t: TypeNode, mapping: Mapping[str, str]) -> TypeNode:
    """`t` with type names renamed (not Literal values or Annotated metadata)."""
    last = t.name.rsplit(".", 1)[-1]
    args: list[TypeNode] = []
    for i, a in enumerate(t.args):
        value = (last == "Literal" and not a.args) or (last == "Annotated" and i > 0)
        args.append(a if value else _rename(a, mapping))
    return TypeNode(mapping.get(t.name, t.name), tuple(args))


class _Planner:
    """Decides, per slot, the annotation text and the imports it needs; collects the imports of a file."""

    def __init__(self, walker: _Walker, options: WriteOptions, module_name: str | None,
                 index: NameIndex | None, encoding: str = "utf-8") -> None:
        self.w = walker
        self.encoding = encoding
        self.options = options
        self.module_name = module_name
        self.index = index
        self.needs: dict[_Need, None] = {}
        self.claimed: dict[str, _Need] = {}  # local names our imports bind

    def lookup(self, name: str, chain: tuple[_Scope, ...]) -> tuple[_Scope, list[_Binding]] | None:
        for scope in chain:
            if name in scope.declared and scope.kind != "module":
                continue
            binds = scope.names.get(name)
            if binds:
                return scope, binds
        return None

    def available(self, scope: _Scope, binds: list[_Binding], point: _EvalPoint) -> bool:
        late = point.late and scope.kind == "module"
        return any(b.runtime and (late or b.avail < point.seq) for b in binds)

    def render(self, slot: LocatedSlot, t: TypeNode, shown: str) -> str:
        """The annotation's code for `t` at `slot` (quoted if needed); records imports. Raises `_Skip`."""
        style = self.options.style
        printed = to_str(t, style, hole="Any")
        try:
            tree = parse_type(printed)
        except TypeParseError as exc:  # pragma: no cover - to_str output always parses
            raise _Skip(SlotStatus.ERROR, INVALID_TYPE, slot_id=slot.id, type=shown, reason=str(exc)) from exc
        point = slot.point
        renames: dict[str, str] = {}
        needs: list[_Need] = []
        available = True
        type_names = names(tree)
        for n in sorted(type_names):
            r = self.resolve(n, point, slot.id, shown)
            if r.spelling != n:
                renames[n] = r.spelling
            if r.need is not None:
                needs.append(r.need)
            available &= r.available
        for head in sorted(self.value_heads(printed) - {n.split(".")[0] for n in type_names}):
            found = self.lookup(head, point.chain)
            if found is None:
                if head in BUILTIN_NAMES:
                    continue
                raise _Skip(SlotStatus.WARNING, UNKNOWN_NAME, slot_id=slot.id, type=shown, name=head)
            available &= self.available(found[0], found[1], point)
        text = to_str(_rename(tree, renames), style, hole="Any") if renames else printed
        if point.evaluated and not available:
            text = _quote(text)
        try:
            text.encode(self.encoding)
        except (UnicodeEncodeError, LookupError) as exc:
            raise _Skip(SlotStatus.WARNING, CANNOT_ENCODE_TYPE, slot_id=slot.id, type=shown,
                        encoding=self.encoding) from exc
        for need in needs:
            self.needs.setdefault(need)
            if need.name is not None:
                self.claimed.setdefault(need.name, need)
            else:
                self.claimed.setdefault(need.module.split(".")[0], need)
        return text

    @staticmethod
    def value_heads(printed: str) -> set[str]:
        out: set[str] = set()
        for node in ast.walk(ast.parse(printed, mode="eval")):
            if isinstance(node, ast.Name):
                out.add(node.id)
        return out

    def typing_module(self, name: str) -> tuple[str, bool] | None:
        if name not in TYPING_NAMES:
            return None
        if self.options.target_version < TYPING_SINCE.get(name, (3, 0)):
            return "typing_extensions", self.w.stub  # may not be installed at run time: TYPE_CHECKING only
        if name in ABC_NAMES and self.options.target_version >= (3, 9):
            return "collections.abc", not self.w.star_import
        return "typing", not self.w.star_import

    def resolve(self, n: str, point: _EvalPoint, slot_id: str, shown: str) -> _Resolved:
        head, _, rest = n.partition(".")
        found = self.lookup(head, point.chain)
        while found is not None and found[0].kind == "class" and not rest and \
                (head in BUILTIN_NAMES or head in TYPING_NAMES) and not any(b.avail < point.seq for b in found[1]):
            # a class body binds it further down (`def str(self)` after this method): not visible here yet
            found = self.lookup(head, point.chain[point.chain.index(found[0]) + 1:])
        if found is not None:
            scope, binds = found
            local_import = all(b.kind in ("import", "from") for b in binds)
            if scope.kind != "module" and not rest and (head in BUILTIN_NAMES or head in TYPING_NAMES) \
                    and not local_import:  # `str = "x"` in a class body: `str` is not the type there
                raise _Skip(SlotStatus.WARNING, SHADOWED, slot_id=slot_id, type=shown, name=head)
            if head in BUILTIN_NAMES and all(b.kind == "def" for b in binds):
                raise _Skip(SlotStatus.WARNING, SHADOWED, slot_id=slot_id, type=shown, name=head)
            return _Resolved(n, None, self.available(scope, binds, point))
        claimed = self.claimed.get(head)
        if not rest:
            if head in BUILTIN_NAMES:
                return _Resolved(n, None, True)
            if claimed is not None:
                return _Resolved(n, None, claimed.runtime)
            modules = sorted({m for m in (self.index(head) if self.index is not None else ()) if m != self.module_name})
            if len(modules) == 1 and head in DEPRECATED_ALIASES:
                return _Resolved(n, _Need(modules[0], head, self.w.stub), self.w.stub)
            typing_mod = self.typing_module(head)
            if typing_mod is not None:
                return _Resolved(n, _Need(typing_mod[0], head, typing_mod[1]), typing_mod[1])
            if head in STDLIB_NAMES:
                return _Resolved(n, _Need(STDLIB_NAMES[head], head, self.w.stub), self.w.stub)
            if len(modules) == 1:
                return _Resolved(n, _Need(modules[0], head, self.w.stub), self.w.stub)
            if modules:
                raise _Skip(SlotStatus.WARNING, AMBIGUOUS_NAME, slot_id=slot_id, type=shown, name=head,
                            modules=", ".join(modules))
            raise _Skip(SlotStatus.WARNING, UNKNOWN_NAME, slot_id=slot_id, type=shown, name=head)
        module, _, attr = n.rpartition(".")
        runtime = self.w.stub or (module in ("typing", "collections.abc") and not self.w.star_import)
        if module == self.module_name:
            local = self.lookup(attr, point.chain)
            if local is None:
                raise _Skip(SlotStatus.WARNING, UNKNOWN_NAME, slot_id=slot_id, type=shown, name=n)
            return _Resolved(attr, None, self.available(local[0], local[1], point))
        local = self.lookup(attr, point.chain)
        if local is not None and local[0].kind == "module" and \
                any(b.origin == (module, attr) for b in local[1]):  # already imported from there
            return _Resolved(attr, None, self.available(local[0], local[1], point))
        free = local is None and attr not in BUILTIN_NAMES
        need = _Need(module, attr, runtime)
        if free and self.claimed.get(attr, need) == need:
            return _Resolved(attr, need, runtime)
        if claimed is None or claimed == _Need(module, None, runtime):
            return _Resolved(n, _Need(module, None, runtime), runtime)
        raise _Skip(SlotStatus.WARNING, SHADOWED, slot_id=slot_id, type=shown, name=head)


# ------------------------------------------------------------------------------------------------- rewriting

@dataclass(frozen=True, slots=True)
class Rewrite:
    """The result of rewriting one file's text (nothing written yet)."""

    old: str
    new: str
    slots: tuple[SlotOutcome, ...]
    added_imports: frozenset[tuple[str, str | None]]  # (module, name or None for `import module`)
    module: cst.Module  # the rewritten tree (for the stability check)
    removed_comments: tuple[str, ...] = ()  # comments inside the annotations that were removed or replaced

    @property
    def changed(self) -> bool:
        return self.new != self.old


@dataclass(eq=False, slots=True)
class _Edits:
    """Planned edits keyed by `id()` of original nodes."""

    params: dict[int, cst.BaseExpression | None] = field(default_factory=dict)  # Param -> annotation or None
    returns: dict[int, cst.BaseExpression | None] = field(default_factory=dict)  # FunctionDef -> ...
    lines: dict[int, dict[int, cst.BaseExpression | None]] = field(default_factory=dict)  # line -> index -> ann
    functions: set[int] = field(default_factory=set)  # FunctionDefs whose params change
    keep: set[int] = field(default_factory=set)  # ancestors to descend into
    deleted_lines: set[int] = field(default_factory=set)  # lines that disappear (strip of bare `x: T`)
    blocks: set[int] = field(default_factory=set)  # blocks that lose a line

    def visit(self, path: Iterable[int]) -> None:
        self.keep.update(path)


class _Rewriter(cst.CSTTransformer):
    """Applies `_Edits`, descending only into the ancestors of edited nodes."""

    def __init__(self, edits: _Edits) -> None:
        super().__init__()
        self.e = edits

    def on_visit(self, node: cst.CSTNode) -> bool:
        return id(node) in self.e.keep

    def on_leave(self, original_node: cst.CSTNode, updated_node: cst.CSTNode) -> cst.CSTNode:  # type: ignore[override]
        key = id(original_node)
        if key in self.e.functions or key in self.e.returns:
            assert isinstance(updated_node, cst.FunctionDef)
            updated_node = self.function(updated_node, key)
        elif key in self.e.lines:
            assert isinstance(updated_node, (cst.SimpleStatementLine, cst.SimpleStatementSuite))
            updated_node = self.line(updated_node, self.e.lines[key])
        if key in self.e.blocks:
            assert isinstance(original_node, (cst.IndentedBlock, cst.Module))
            assert isinstance(updated_node, (cst.IndentedBlock, cst.Module))
            updated_node = self.drop_lines(original_node, updated_node)
        return updated_node

    def function(self, fn: cst.FunctionDef, key: int) -> cst.FunctionDef:
        changes: dict[str, object] = {}
        if key in self.e.returns:
            ann = self.e.returns[key]
            changes["returns"] = None if ann is None else (
                fn.returns.with_changes(annotation=ann) if fn.returns is not None else cst.Annotation(ann))
        if key in self.e.functions:
            p = fn.params

            def edit(param: cst.Param) -> cst.Param:
                if id(param) not in self.e.params:
                    return param
                return _annotate_param(param, self.e.params[id(param)])

            star = p.star_arg
            changes["params"] = p.with_changes(
                posonly_params=[edit(x) for x in p.posonly_params], params=[edit(x) for x in p.params],
                kwonly_params=[edit(x) for x in p.kwonly_params],
                star_arg=edit(star) if isinstance(star, cst.Param) else star,
                star_kwarg=edit(p.star_kwarg) if isinstance(p.star_kwarg, cst.Param) else p.star_kwarg)
        return fn.with_changes(**changes)

    @staticmethod
    def line(line: Line, edits: Mapping[int, cst.BaseExpression | None]) -> Line:
        body: list[cst.BaseSmallStatement] = []
        for i, small in enumerate(line.body):
            if i not in edits:
                body.append(small)
                continue
            ann = edits[i]
            if isinstance(small, cst.Assign):
                assert ann is not None
                target = small.targets[0]
                equal = cst.AssignEqual(whitespace_before=target.whitespace_before_equal,
                                        whitespace_after=target.whitespace_after_equal)
                body.append(cst.AnnAssign(target=target.target, annotation=cst.Annotation(ann), value=small.value,
                                          equal=equal, semicolon=small.semicolon))
            elif isinstance(small, cst.AnnAssign) and ann is not None:
                body.append(small.with_changes(annotation=small.annotation.with_changes(annotation=ann)))
            elif isinstance(small, cst.AnnAssign) and small.value is not None:
                eq = small.equal
                target = cst.AssignTarget(small.target) if not isinstance(eq, cst.AssignEqual) else \
                    cst.AssignTarget(small.target, whitespace_before_equal=eq.whitespace_before,  # type: ignore[arg-type]
                                     whitespace_after_equal=eq.whitespace_after)  # type: ignore[arg-type]
                body.append(cst.Assign(targets=[target], value=small.value, semicolon=small.semicolon))
            # else: a bare `x: T` is dropped
        if not body:
            if isinstance(line, cst.SimpleStatementSuite):
                return line.with_changes(body=[cst.Pass()])
            return line  # the whole line goes: `drop_lines` on the block moves its comments
        if len(body) < len(line.body) and isinstance(body[-1].semicolon, cst.Semicolon) and \
                not isinstance(line.body[-1].semicolon, cst.Semicolon):
            body[-1] = body[-1].with_changes(semicolon=cst.MaybeSentinel.DEFAULT)
        return line.with_changes(body=body)

    def drop_lines(self, original: cst.IndentedBlock | cst.Module,
                   updated: cst.IndentedBlock | cst.Module) -> cst.IndentedBlock | cst.Module:
        """Remove deleted lines, moving their comments to the next statement (or a `pass`, or the footer)."""
        kept: list[cst.BaseStatement] = []
        pending: list[cst.EmptyLine] = []
        for orig, new in zip(original.body, updated.body, strict=True):
            if id(orig) in self.e.deleted_lines:
                assert isinstance(orig, cst.SimpleStatementLine)
                pending.extend(orig.leading_lines)
                tw = orig.trailing_whitespace
                if tw.comment is not None:
                    pending.append(cst.EmptyLine(indent=True, whitespace=cst.SimpleWhitespace(""), comment=tw.comment,
                                                 newline=tw.newline))
                continue
            if pending and any(e.comment is not None for e in pending):
                assert isinstance(new, (cst.SimpleStatementLine, cst.BaseCompoundStatement))
                new = new.with_changes(leading_lines=[*pending, *new.leading_lines])
            pending = []
            kept.append(new)
        keep_comments = [e for e in pending if e.comment is not None]
        if isinstance(updated, cst.IndentedBlock):
            if not kept:
                kept.append(cst.SimpleStatementLine([cst.Pass()], leading_lines=keep_comments))
                keep_comments = []
            return updated.with_changes(body=kept, footer=[*keep_comments, *updated.footer])
        return updated.with_changes(body=kept, footer=[*keep_comments, *updated.footer])


def _annotate_param(param: cst.Param, ann: cst.BaseExpression | None) -> cst.Param:
    if ann is None:  # strip
        if param.annotation is None:
            return param
        equal = param.equal
        if param.default is not None and isinstance(equal, cst.AssignEqual) and _is_ws(equal.whitespace_before, " ") \
                and _is_ws(equal.whitespace_after, " "):
            equal = equal.with_changes(whitespace_before=cst.SimpleWhitespace(""),
                                       whitespace_after=cst.SimpleWhitespace(""))
        return param.with_changes(annotation=None, equal=equal)
    if param.annotation is not None:
        return param.with_changes(annotation=param.annotation.with_changes(annotation=ann))
    equal = param.equal
    if param.default is not None and isinstance(equal, cst.AssignEqual) and _is_ws(equal.whitespace_before, "") \
            and _is_ws(equal.whitespace_after, ""):
        equal = equal.with_changes(whitespace_before=cst.SimpleWhitespace(" "),
                                   whitespace_after=cst.SimpleWhitespace(" "))
    return param.with_changes(annotation=cst.Annotation(ann), equal=equal)


def _is_ws(ws: cst.BaseParenthesizableWhitespace, value: str) -> bool:
    return isinstance(ws, cst.SimpleWhitespace) and ws.value == value


def _insert_imports(module: cst.Module, w: _Walker,
                    needs: Iterable[_Need]) -> tuple[cst.Module, frozenset[tuple[str, str | None]]]:
    """Add runtime imports after the leading import block (merging into a one-line `from M import ...` there)
    and TYPE_CHECKING imports into the first module-level `if TYPE_CHECKING:` block, or a new one."""
    runtime: dict[str, list[str]] = {}
    runtime_modules: list[str] = []
    checking: dict[str, list[str]] = {}
    checking_modules: list[str] = []
    for need in needs:
        if need.runtime:
            if need.name is None:
                runtime_modules.append(need.module)
            else:
                runtime.setdefault(need.module, []).append(need.name)
        elif need.name is None:
            checking_modules.append(need.module)
        else:
            checking.setdefault(need.module, []).append(need.name)
    if not (runtime or runtime_modules or checking or checking_modules):
        return module, frozenset()
    config = module.config_for_parsing
    tc_test = "TYPE_CHECKING"
    if (checking or checking_modules) and w.top_tc_block is None:
        have = w.root.names.get("TYPE_CHECKING", [])
        if not any(b.top_block and b.runtime for b in have):
            runtime.setdefault("typing", []).append("TYPE_CHECKING")
    body: list[cst.SimpleStatementLine | cst.BaseCompoundStatement] = list(module.body)
    merged: dict[int, cst.SimpleStatementLine] = {}
    new_lines: list[cst.SimpleStatementLine] = []
    for mod in sorted(runtime, key=lambda m: (m not in TYPING_MODULES, m)):
        wanted = sorted(set(runtime[mod]))
        line = w.top_from_lines.get(mod)
        if line is not None:
            k = body.index(line)
            line = merged.get(k, line)
            imp = line.body[0]
            assert isinstance(imp, cst.ImportFrom) and not isinstance(imp.names, cst.ImportStar)
            aliases = list(imp.names)
            last = aliases[-1]
            aliases[-1] = last.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
            aliases += [cst.ImportAlias(name=cst.Name(n)) for n in wanted]
            merged[k] = line.with_changes(body=[imp.with_changes(names=aliases)])
        else:
            new_lines.append(_line_of(cst.parse_statement(f"from {mod} import {', '.join(wanted)}\n", config)))
    for mod in sorted(set(runtime_modules)):
        new_lines.append(_line_of(cst.parse_statement(f"import {mod}\n", config)))
    for k, line in merged.items():
        body[k] = line
    tc_lines: list[cst.SimpleStatementLine] = []
    for mod in sorted(checking):
        tc_lines.append(_line_of(cst.parse_statement(f"from {mod} import {', '.join(sorted(set(checking[mod])))}\n",
                                                      config)))
    for mod in sorted(set(checking_modules)):
        tc_lines.append(_line_of(cst.parse_statement(f"import {mod}\n", config)))
    insert: list[cst.SimpleStatementLine | cst.BaseCompoundStatement] = list(new_lines)
    if tc_lines:
        if w.top_tc_block is not None:
            # found in the original tree: the rewrite may have replaced the block (a variable annotated in it),
            # but it keeps the module's statements in place
            k = w.module.body.index(w.top_tc_block)
            block = body[k]
            assert isinstance(block, cst.If) and isinstance(block.body, cst.IndentedBlock)
            body[k] = block.with_changes(body=block.body.with_changes(body=[*block.body.body, *tc_lines]))
        else:
            stmt = cst.parse_statement(f"if {tc_test}:\n{module.default_indent}pass\n", config)
            assert isinstance(stmt, cst.If) and isinstance(stmt.body, cst.IndentedBlock)
            stmt = stmt.with_changes(body=stmt.body.with_changes(body=tc_lines),
                                     leading_lines=[cst.EmptyLine()] if w.import_at > 0 or new_lines else [])
            insert.append(stmt)
    added = frozenset({*((m, n) for m, ns in runtime.items() for n in ns), *((m, None) for m in runtime_modules),
                       *((m, n) for m, ns in checking.items() for n in ns), *((m, None) for m in checking_modules)})
    if insert:
        at = w.import_at
        if at < len(body):
            nxt = body[at]
            assert isinstance(nxt, (cst.SimpleStatementLine, cst.BaseCompoundStatement))
            if not nxt.leading_lines and not (isinstance(nxt, cst.SimpleStatementLine) and all(
                    isinstance(s, (cst.Import, cst.ImportFrom)) for s in nxt.body)):
                body[at] = nxt.with_changes(leading_lines=[cst.EmptyLine()])
        body[at:at] = insert
    return module.with_changes(body=body), added


def _line_of(stmt: cst.BaseStatement) -> cst.SimpleStatementLine:
    assert isinstance(stmt, cst.SimpleStatementLine)
    return stmt


class _CommentCollector(cst.CSTVisitor):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def visit_Comment(self, node: cst.Comment) -> None:
        self.found.append(node.value.rstrip())


def _comments_in(nodes: Iterable[cst.CSTNode | None]) -> tuple[str, ...]:
    """Comments inside annotations that a rewrite removes or replaces (they go with them)."""
    collector = _CommentCollector()
    for node in nodes:
        if node is not None:
            node.visit(collector)
    return tuple(collector.found)


def apply_types(text: str | cst.Module, relpath: str, types: Mapping[str, TypeNode | str],
                options: WriteOptions = WriteOptions(), *, module_name: str | None = None,
                index: NameIndex | None = None, encoding: str = "utf-8") -> Rewrite:
    """Write `types` (slot id -> type tree or type string with `?` holes) into one file's text.

    `module_name` (the file's dotted name) and `index` (project classes) serve name resolution; `encoding` is
    the file's, so that a type it cannot encode is skipped. Raises `Refused` for files that cannot be parsed;
    slot-level problems become `SlotOutcome`s. Does not verify; see `verify_rewrite`.
    """
    module = _parse_module(text) if isinstance(text, str) else text
    old = text if isinstance(text, str) else module.code
    w = _Walker(module, relpath).run()
    planner = _Planner(w, options, module_name, index, encoding)
    edits = _Edits()
    outcomes: list[SlotOutcome] = []
    replaced: list[cst.Annotation | None] = []
    for slot_id in sorted(types, key=_slot_order(w)):
        slot = w.slots.get(slot_id)
        checked = slot_type(slot_id, types[slot_id], slot is not None)
        if isinstance(checked, SlotOutcome):
            outcomes.append(checked)
            continue
        assert slot is not None  # slot_type refused unknown slots
        t, shown = checked
        if slot.type_comment:
            outcomes.append(SlotOutcome(slot_id, SlotStatus.SKIPPED, reason="has a `# type:` comment"))
            continue
        if slot.annotation is not None and not options.overwrite:
            outcomes.append(SlotOutcome(slot_id, SlotStatus.SKIPPED, slot.annotation,
                                        "already annotated (use --overwrite to replace)"))
            continue
        if slot.field_guard and not options.unsafe_fixes:
            outcomes.append(SlotOutcome(slot_id, SlotStatus.SKIPPED, reason=(
                "class-body annotation in a class that may turn annotations into fields (decorated, keywords "
                "or bases not known to be plain); use --unsafe-fixes to write it")))
            continue
        try:
            code = planner.render(slot, t, shown)
        except _Skip as skip:
            outcomes.append(outcome(slot_id, skip.status, skip.entry, **skip.kw))
            continue
        if code == slot.annotation:
            outcomes.append(SlotOutcome(slot_id, SlotStatus.UNCHANGED, code))
            continue
        _plan_annotation(edits, slot, cst.parse_expression(code))
        if slot.annotation is not None:
            replaced.append(_annotation_node(slot))
        outcomes.append(SlotOutcome(slot_id, SlotStatus.WRITTEN, code))
    needs = list(planner.needs)
    new_module = module
    if edits.keep:
        edits.keep.add(id(module))
        new_module = module.visit(_Rewriter(edits))
    new_module, added = _insert_imports(new_module, w, needs)
    new = new_module.code if new_module is not module else old
    return Rewrite(old, new, tuple(outcomes), added, new_module, _comments_in(replaced))


def _annotation_node(slot: LocatedSlot) -> cst.Annotation | None:
    node = slot.node
    if isinstance(node, cst.Param):
        return node.annotation
    if isinstance(node, cst.FunctionDef):
        return node.returns
    return node.annotation if isinstance(node, cst.AnnAssign) else None


def _slot_order(w: _Walker) -> Callable[[str], tuple[int, str]]:
    order = {sid: i for i, sid in enumerate(w.slots)}
    return lambda sid: (order.get(sid, len(order)), sid)


def _plan_annotation(edits: _Edits, slot: LocatedSlot, ann: cst.BaseExpression | None) -> None:
    if slot.kind == SlotKind.PARAM:
        assert slot.function is not None
        edits.params[id(slot.node)] = ann
        edits.functions.add(id(slot.function))
        edits.visit(slot.path)
    elif slot.kind == SlotKind.RETURN:
        edits.returns[id(slot.node)] = ann
        edits.visit(slot.path)
    else:
        assert slot.line is not None
        edits.lines.setdefault(id(slot.line), {})[slot.index] = ann
        edits.visit(slot.path[:-1])  # the path ends with the line itself


def strip_annotations(text: str | cst.Module, relpath: str, options: WriteOptions = WriteOptions()) -> Rewrite:
    """Remove every annotation: parameters, returns, `x: T = v` (to `x = v`) and bare `x: T` declarations.

    Kept: class-body annotations of classes that may collect them (unless `options.unsafe_fixes`), and bare
    declarations that are a function's only binding of a name (removing them would change which names are
    local). Comments of removed lines move to the next line.
    """
    module = _parse_module(text) if isinstance(text, str) else text
    old = text if isinstance(text, str) else module.code
    w = _Walker(module, relpath).run()
    edits = _Edits()
    outcomes: list[SlotOutcome] = []
    gone: list[cst.Annotation | None] = []  # removed annotations (their comments go with them)
    for fn, path, _ in w.annotated_functions:
        p = fn.params
        params = [*p.posonly_params, *p.params, *p.kwonly_params,
                  *(x for x in (p.star_arg, p.star_kwarg) if isinstance(x, cst.Param))]
        for param in params:
            if param.annotation is not None:
                edits.params[id(param)] = None
                edits.functions.add(id(fn))
                gone.append(param.annotation)
        if fn.returns is not None:
            edits.returns[id(fn)] = None
            gone.append(fn.returns)
        edits.visit(path)
    keep_bare: set[int] = set()
    for scope in _iter_function_scopes(w):
        for name, key in scope.bare_decls:
            if not any(b.kind != "declare" and not b.redirected for b in scope.names.get(name, [])):
                keep_bare.add(key)
    lines_by_id: dict[int, tuple[Line, tuple[int, ...]]] = {}
    for line, index, small, path, scope, owner in w.annassigns:
        if owner is not None and scope.kind == "class" and not options.unsafe_fixes and not w.plain_class(owner):
            outcomes.append(SlotOutcome(f"{relpath}:{_dotted(small.target) or '?'}", SlotStatus.SKIPPED,
                                        reason="class-body annotation in a class that may collect annotations"))
            continue
        if id(small) in keep_bare:
            continue
        gone.append(small.annotation)
        edits.lines.setdefault(id(line), {})[index] = None
        lines_by_id[id(line)] = (line, path)
        edits.visit(path[:-1])
    for key, (line, path) in lines_by_id.items():
        if isinstance(line, cst.SimpleStatementLine):
            removed = edits.lines[key]
            if all(i in removed and isinstance(s, cst.AnnAssign) and s.value is None
                   for i, s in enumerate(line.body)):
                edits.deleted_lines.add(key)
                edits.blocks.add(path[-2])
                edits.keep.add(path[-2])
    for slot in w.slots.values():
        if slot.annotation is None:
            continue
        if slot.kind in (SlotKind.PARAM, SlotKind.RETURN) or (
                slot.line is not None and slot.index in edits.lines.get(id(slot.line), {})):
            outcomes.append(SlotOutcome(slot.id, SlotStatus.WRITTEN, slot.annotation))
    new_module = module
    if edits.keep:
        edits.keep.add(id(module))
        new_module = module.visit(_Rewriter(edits))
    new = new_module.code if new_module is not module else old
    return Rewrite(old, new, tuple(outcomes), frozenset(), new_module, _comments_in(gone))


def _iter_function_scopes(w: _Walker) -> Iterator[_Scope]:
    seen: set[int] = set()
    for slot in w.slots.values():
        for scope in slot.point.chain:
            if scope.kind == "function" and id(scope) not in seen:
                seen.add(id(scope))
                yield scope
    for _, _, _, _, scope, _ in w.annassigns:
        if scope.kind == "function" and id(scope) not in seen:
            seen.add(id(scope))
            yield scope


# ---------------------------------------------------------------------------------------------- verification

def _is_tc_test(node: ast.expr) -> bool:
    return (isinstance(node, ast.Name) and node.id == "TYPE_CHECKING") or \
        (isinstance(node, ast.Attribute) and node.attr == "TYPE_CHECKING")


class _Normalizer:
    """The input's and output's `ast` with annotations, `pass` and the imports we added removed."""

    def __init__(self, added: frozenset[tuple[str, str | None]]) -> None:
        self.added = added

    def module(self, tree: ast.Module) -> ast.Module:
        tree.body = self.block(tree.body, top=True)
        return tree

    def block(self, stmts: list[ast.stmt], top: bool = False) -> list[ast.stmt]:
        out: list[ast.stmt] = []
        for s in stmts:
            s2 = self.stmt(s, top)
            if s2 is not None:
                out.append(s2)
        if stmts and not out:
            out = [ast.Pass()]
        return out

    def stmt(self, s: ast.stmt, top: bool) -> ast.stmt | None:
        if isinstance(s, ast.Pass):
            return None
        if isinstance(s, ast.AnnAssign):
            if s.value is None:
                return None
            return ast.Assign(targets=[s.target], value=s.value, type_comment=None)
        if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)):
            s.returns = None
            s.type_comment = None
            a = s.args
            for arg in [*a.posonlyargs, *a.args, *a.kwonlyargs, *(x for x in (a.vararg, a.kwarg) if x)]:
                arg.annotation = None
                arg.type_comment = None
        if top and self.added and isinstance(s, ast.ImportFrom) and s.level == 0:
            s.names = [n for n in s.names if n.asname is not None or (s.module, n.name) not in self.added]
            return s if s.names else None
        if top and self.added and isinstance(s, ast.Import):
            s.names = [n for n in s.names if n.asname is not None or (n.name, None) not in self.added]
            return s if s.names else None
        for name in ("body", "orelse", "finalbody"):
            value = getattr(s, name, None)
            if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
                setattr(s, name, self.block(value, top=top and isinstance(s, ast.If) and _is_tc_test(s.test)))
        for h in getattr(s, "handlers", ()) or ():
            h.body = self.block(h.body)
        for case in getattr(s, "cases", ()) or ():
            case.body = self.block(case.body)
        if top and isinstance(s, ast.If) and _is_tc_test(s.test) and not s.orelse and \
                all(isinstance(x, ast.Pass) for x in s.body):
            return None
        return s


_COMMENT_RE = re.compile(r"#[^\r\n]*")


def _comment_suffixes(text: str) -> Counter[str]:
    return Counter(m.group(0).rstrip() for m in _COMMENT_RE.finditer(text))


def _comments(text: str) -> list[str]:
    import io
    import tokenize

    return [tok.string.rstrip() for tok in tokenize.generate_tokens(io.StringIO(text).readline)
            if tok.type == tokenize.COMMENT]


def _scope_signature(text: str, filename: str) -> list[tuple[object, ...]]:
    """What each function scope binds: annotations must not change which names are local."""
    out: list[tuple[object, ...]] = []

    def walk(t: symtable.SymbolTable, path: tuple[str, ...]) -> None:
        here = (*path, f"{t.get_type()}:{t.get_name()}")
        if t.get_type() == "function":
            syms = sorted((s.get_name(), s.is_parameter(), s.is_assigned(), s.is_imported(),
                           s.is_declared_global(), s.is_nonlocal()) for s in t.get_symbols()
                          if s.is_parameter() or s.is_assigned() or s.is_imported() or s.is_declared_global()
                          or s.is_nonlocal())
            out.append((here, tuple(syms)))
        for c in t.get_children():
            walk(c, here)

    walk(symtable.symtable(text, filename, "exec"), ())
    return out


def verify_rewrite(old: str, new: str, added_imports: frozenset[tuple[str, str | None]] = frozenset(),
                   filename: str = "<file>", removed_comments: Sequence[str] = ()) -> None:
    """Prove that `new` differs from `old` only in annotations and the imports in `added_imports`.

    Checks: `new` parses; its `ast` equals `old`'s with annotations, `pass` statements and those imports
    removed from both; every comment is kept (but `removed_comments`, those inside removed annotations); each
    function binds the same local names. Raises `UnsafeRewrite` with what differs; a RecursionError or
    MemoryError (code too deep for Python's own parser and compiler, as `_parse_module` measures it) is not a
    difference and propagates: `isolated` refuses the file.
    """
    try:
        new_tree = ast.parse(new)
    except (SyntaxError, ValueError) as exc:
        raise UnsafeRewrite(f"the result does not parse: {exc}") from exc
    old_tree = ast.parse(old)
    norm = _Normalizer(added_imports)
    a = ast.dump(norm.module(old_tree))
    b = ast.dump(norm.module(new_tree))
    if a != b:
        raise UnsafeRewrite(f"the syntax trees differ beyond annotations and imports: {_first_difference(a, b)}")
    if removed_comments or _comment_suffixes(old) != _comment_suffixes(new):
        expected = Counter(_comments(old))
        expected.subtract(Counter(removed_comments))
        if +expected != Counter(_comments(new)) or any(v < 0 for v in expected.values()):
            raise UnsafeRewrite("comments differ")
    try:
        old_scopes = _scope_signature(old, filename)
    except SyntaxError:
        return  # the input itself fails Python's scope checks: nothing to compare with
    try:
        new_scopes = _scope_signature(new, filename)
    except SyntaxError as exc:
        raise UnsafeRewrite(f"the result fails Python's scope checks: {exc}") from exc
    if old_scopes != new_scopes:
        diff = next((x, y) for x, y in zip(old_scopes + [((), ())], new_scopes + [((), ())]) if x != y)
        raise UnsafeRewrite(f"a function would bind different local names: {diff[0][0]}")


def _first_difference(a: str, b: str) -> str:
    i = next((k for k, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    return f"...{a[max(0, i - 60):i + 60]}... vs ...{b[max(0, i - 60):i + 60]}..."


def _check_stable(rewrite: Rewrite, redo: Callable[[cst.Module], Rewrite]) -> None:
    again = redo(rewrite.module)
    if again.new != rewrite.new or any(s.status == SlotStatus.WRITTEN for s in again.slots):
        raise UnsafeRewrite("a second application would change the file again")


# ----------------------------------------------------------------------------------------------- the commands

class ProjectNameIndex:
    """Classes defined at module level in the packages of some files, by name (a `NameIndex`).

    Read lazily, once per process, with a regular expression (`^class Name`): cheap, and enough to find where a
    project class lives. Picklable, so that worker processes can build their own.
    """

    _CLASS = re.compile(rb"^class\s+([A-Za-z_]\w*)", re.MULTILINE)

    def __init__(self, files: Iterable[Path]) -> None:
        from typetool.sources import find_project_root

        roots: set[tuple[Path, bool]] = set()  # (directory, recursively)
        for f in files:
            try:
                root = find_project_root(f)
                rel = f.resolve().relative_to(root)
            except (OSError, ValueError):
                continue
            # a package: all of it; a top-level module: the modules beside it
            roots.add((root / rel.parts[0], True) if len(rel.parts) > 1 else (root, False))
        self.roots = tuple(sorted(roots))
        self._table: dict[str, list[str]] | None = None
        self._digest: str | None = None  # of the table, for `fingerprint`

    def __getstate__(self) -> dict[str, object]:
        return {"roots": self.roots, "_table": None, "_digest": None}

    def __call__(self, name: str) -> Sequence[str]:
        if self._table is None:
            self._table = self._build()
        return self._table.get(name, [])

    def fingerprint(self, path: Path) -> str:
        """A digest of what `apply_file` reads for the file at `path` besides the file itself and its arguments:
        the file's module name and this index's table (the modules of each class name, in order: all a lookup
        returns), for a store of proven rewrites (`writeback.ProofMemo`)."""
        import hashlib
        import json

        if self._digest is None:
            if self._table is None:
                self._table = self._build()
            table = json.dumps(sorted(self._table.items())).encode("utf-8", "surrogatepass")
            self._digest = hashlib.sha256(table).hexdigest()
        return hashlib.sha256(json.dumps([_module_name(path), self._digest]).encode("utf-8", "surrogatepass")
                              ).hexdigest()

    def _build(self) -> dict[str, list[str]]:
        from typetool.python.project import module_name_for

        out: dict[str, list[str]] = {}
        for root, recursive in self.roots:
            found = discover([root], suffixes=(".py",)) if recursive else \
                (p for p in sorted(root.glob("*.py")) if p.is_file())
            for item in found:
                if isinstance(item, Diagnostic):
                    continue
                try:
                    data = item.read_bytes()
                    modname, _ = module_name_for(item)
                except (OSError, ValueError):
                    continue
                for m in self._CLASS.finditer(data):
                    out.setdefault(m.group(1).decode(), []).append(modname)
        return out


def _module_name(path: Path) -> str | None:
    from typetool.python.project import module_name_for

    try:
        return module_name_for(path)[0]
    except (OSError, ValueError):
        return None


def _finish(src: SourceFile, shown: str, rewrite: Rewrite, mode: WriteMode, redo: Callable[[cst.Module], Rewrite],
            options: WriteOptions, diags: list[Diagnostic]) -> FileOutcome:
    slots = rewrite.slots
    if not rewrite.changed:
        return FileOutcome(shown, FileStatus.UNCHANGED, slots=slots, diagnostics=tuple(diags))
    try:
        if options.verify:
            verify_rewrite(rewrite.old, rewrite.new, rewrite.added_imports, shown, rewrite.removed_comments)
            _check_stable(rewrite, redo)
    except UnsafeRewrite as exc:
        diags.append(diag(shown, UNSAFE, detail=str(exc)))
        return FileOutcome(shown, FileStatus.FAILED, slots=slots, diagnostics=tuple(diags))

    def decodes_back(back: SourceFile) -> bool:
        return back.text == rewrite.new and back.encoding == src.encoding and back.bom == src.bom

    return write_result(src, shown, rewrite.old, rewrite.new, slots, diags, mode,
                        decodes_back if options.verify else None)

# ------------------------------------------------------------------------------------- what the core calls

def apply_file(src: SourceFile, shown: str, rel: str, types: Mapping[str, str], bad: Sequence[SlotOutcome],
               mode: WriteMode, options: WriteOptions, index: NameIndex | None) -> FileOutcome:
    """Write `types` (slot id -> type string) into one Python file read and hash-checked by the core
    (`bad`: the outcomes of records the core already refused, reported with this file's). The core runs it
    isolated (`typetool.fileio.isolated`). Besides its arguments it reads the file's module name (from the
    packages around it on disk) and the index: `ProjectNameIndex.fingerprint` covers both."""
    module_name = _module_name(src.path)

    def run(text: str | cst.Module) -> Rewrite:
        return apply_types(text, rel, types, options, module_name=module_name, index=index,
                           encoding=src.encoding)

    def work() -> FileOutcome:
        try:
            rewrite = run(src.text)
        except Refused as exc:
            return FileOutcome(shown, FileStatus.REFUSED, diagnostics=(diag_of(shown, exc),))
        slots = tuple(bad) + rewrite.slots
        rewrite = Rewrite(rewrite.old, rewrite.new, slots, rewrite.added_imports, rewrite.module,
                          rewrite.removed_comments)
        return _finish(src, shown, rewrite, mode, lambda m: run(m), options, slot_diags(shown, slots))

    return work()


def strip_file(path: Path, shown: str, mode: WriteMode, cwd: Path, options: WriteOptions) -> FileOutcome:
    """Remove the annotations of one Python file."""
    src = read_source(path, cwd, options.max_bytes)
    if isinstance(src, Diagnostic):
        return FileOutcome(shown, FileStatus.REFUSED, diagnostics=(src,))

    def run(text: str | cst.Module) -> Rewrite:
        return strip_annotations(text, src.relpath, options)

    def work() -> FileOutcome:
        try:
            rewrite = run(src.text)
        except Refused as exc:
            return FileOutcome(shown, FileStatus.REFUSED, diagnostics=(diag_of(shown, exc),))
        return _finish(src, shown, rewrite, mode, run, options, [])

    return work()
