"""The editor's Python adapter (`typetool.ide.LanguageAdapter`): one Python buffer in, its slots and safe edits
out.

Does: analyses a buffer with the wing's stages (`python.project`, `python.slots`, `python.slices`; the encoding
its `# coding:` line declares is kept for write-back), says where the editor shows each unannotated slot (after
the name, after `)` for returns) and which function it belongs to, and makes the edits that write types with
`python.writeback.apply_types` on the buffer's libcst tree (parsed once per version; refused, as the CLI's
write-back refuses it, when the file is nested too deeply for libcst), proven by `verify_rewrite` and a second
application that must change nothing. The project's class names are indexed once per project
(`ProjectNameIndex`, held by the `Engine` until a file is saved).
Does not: import the TypeScript wing, speak LSP, predict, cache predictions, or write files (`typetool.ide` and
`typetool.lsp_server` do the rest).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from typetool.diagnostics import Diagnostic
from typetool.ide import (
    DocumentAnalysis,
    EditError,
    EditorSettings,
    EditPlan,
    Engine,
    LanguageAdapter,
    LineIndex,
    SlotView,
    buffer_source,
    collect_slots,
    document_language,
    plan_edits,
)
from typetool.python.facts import FunctionInfo, Node
from typetool.python.slices import Slicer
from typetool.python.slots import SlotSite, extract_slots
from typetool.slices import UsageSlice
from typetool.slots import SlotKind
from typetool.sources import SourceFile

if TYPE_CHECKING:
    import libcst as cst

    from typetool.python.writeback import NameIndex


def _name_node(node: Node, name: str) -> Node:
    """The identifier `name` inside a parameter node (`x`, `x=1`, `*args`, `**kw`)."""
    if node.type == "identifier":
        return node
    named = node.child_by_field_name("name")
    if named is not None and named.type == "identifier":
        return named
    for child in node.named_children:
        if child.type == "identifier" and child.text is not None and child.text.decode("utf-8", "replace") == name:
            return child
    return node


def _function_span(fn: FunctionInfo) -> tuple[int, int]:
    node = fn.node
    parent = node.parent
    if parent is not None and parent.type == "decorated_definition":
        node = parent
    return node.start_byte, node.end_byte


def _view(site: SlotSite, index: LineIndex) -> SlotView | None:
    slot = site.slot
    fn = site.function
    node: Node | None
    if slot.kind == SlotKind.PARAM and site.param is not None:
        node = _name_node(site.param.node, slot.name)
        anchor = node.end_byte
    elif slot.kind == SlotKind.RETURN and fn is not None:
        params = fn.node.child_by_field_name("parameters")
        if params is None:
            return None
        node = fn.node.child_by_field_name("name") or fn.node
        anchor = params.end_byte
    elif slot.kind == SlotKind.VARIABLE and site.definition is not None:
        node = site.definition.node
        anchor = node.end_byte
    elif slot.kind == SlotKind.ATTRIBUTE and site.attribute:
        node = site.attribute[0].node
        anchor = node.end_byte
    else:
        return None
    owner = fn.qualname if fn is not None and not fn.is_lambda else None
    return SlotView(site, index.byte_to_offset(anchor),
                    (index.byte_to_offset(node.start_byte), index.byte_to_offset(node.end_byte)), owner)


def _cst_module(analysis: DocumentAnalysis) -> cst.Module:
    """The document's libcst tree, parsed once per version (kept in `analysis.edit_tree`); `EditError` when
    write-back cannot work on it."""
    import libcst as cst

    if analysis.edit_tree is None:
        from typetool.python.writeback import _nesting_problem

        deep = _nesting_problem(analysis.text)  # before libcst's native parser, as the CLI's write-back does
        if deep is not None:
            analysis.edit_tree = EditError(f"the file is nested too deeply to edit safely ({deep[0]}); "
                                           f"no edits are made")
            raise analysis.edit_tree
        try:
            module = cst.parse_module(analysis.text)
            if module.code != analysis.text:
                analysis.edit_tree = EditError("libcst cannot reproduce this file byte for byte; no edits are made")
            else:
                analysis.edit_tree = module
        except (cst.ParserSyntaxError, RecursionError, ValueError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            analysis.edit_tree = EditError(f"the file does not parse ({first}); fix the syntax error first")
    if isinstance(analysis.edit_tree, EditError):
        raise analysis.edit_tree
    assert isinstance(analysis.edit_tree, cst.Module)
    return analysis.edit_tree


def name_index(engine: Engine, path: Path) -> NameIndex | None:
    """The class names of the project holding `path` (None for a buffer not saved to a file), built once per
    project and held by `engine` until `Engine.forget_indexes`."""
    from typetool.python.writeback import ProjectNameIndex

    if not path.is_file():
        return None
    index = ProjectNameIndex([path])
    return engine.cached(("py", "names", index.roots), lambda: index)


class PythonAdapter(LanguageAdapter):
    name = "py"
    hole_text = "Any"

    def analyse(self, analysis: DocumentAnalysis, context: Iterable[SourceFile]) -> None:
        from typetool.python.project import PythonProject

        src = buffer_source(analysis.text, analysis.path, analysis.relpath, coding_cookie=True)
        if isinstance(src, Diagnostic):
            analysis.diagnostics.append(src)
            return
        analysis.source = src
        project = PythonProject.from_sources([src, *(c for c in context if document_language(c.relpath) == "py")])
        analysis.diagnostics.extend(d for d in project.diagnostics if d.path == analysis.relpath)
        module = project.modules.get(analysis.relpath)
        if module is None:
            return
        analysis.slicer = Slicer(project)
        collect_slots(analysis, lambda: extract_slots(module), _view, _function_span)

    def slice(self, analysis: DocumentAnalysis, view: SlotView) -> UsageSlice:
        assert isinstance(analysis.slicer, Slicer) and isinstance(view.site, SlotSite)
        return analysis.slicer.slice(view.site)

    def hint_label(self, view: SlotView, shown: str) -> tuple[str, bool]:
        if view.kind == SlotKind.RETURN:
            return f"-> {shown}", True
        return f": {shown}", False

    def annotation_text(self, view: SlotView, shown: str) -> str:
        if view.kind == SlotKind.RETURN:
            return f"return -> {shown}"
        return f"{view.site.slot.name}: {shown}"

    def edit_plan(self, engine: Engine, analysis: DocumentAnalysis, types: Mapping[str, str],
                  settings: EditorSettings, overwrite: bool) -> EditPlan:
        from typetool.python.project import module_name_for
        from typetool.python.writeback import apply_types, verify_rewrite
        from typetool.writeback import SlotStatus, UnsafeRewrite, WriteOptions, parse_target_version

        module = _cst_module(analysis)
        try:
            target = parse_target_version(settings.settings.target_version)
        except ValueError:
            target = (3, 10)
        options = WriteOptions(target_version=target, overwrite=overwrite)
        try:
            module_name: str | None = module_name_for(analysis.path)[0] if analysis.path.is_file() else None
        except (OSError, ValueError):
            module_name = None
        encoding = analysis.source.encoding if analysis.source is not None else "utf-8"
        index = name_index(engine, analysis.path)

        def run(tree: cst.Module) -> Any:
            return apply_types(tree, analysis.relpath, dict(types), options, module_name=module_name, index=index,
                               encoding=encoding)

        rewrite = run(module)
        if rewrite.changed:
            try:
                verify_rewrite(rewrite.old, rewrite.new, rewrite.added_imports, analysis.relpath,
                               rewrite.removed_comments)
                again = run(rewrite.module)
                if again.new != rewrite.new or any(s.status == SlotStatus.WRITTEN for s in again.slots):
                    raise UnsafeRewrite("a second application would change the file again")
            except UnsafeRewrite as exc:
                raise EditError(f"typetool refused its own rewrite (a bug; please report it): {exc}") from exc
        return plan_edits(analysis, rewrite.new, rewrite.slots)


ADAPTER = PythonAdapter()
