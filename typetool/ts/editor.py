"""The editor's TypeScript adapter (`typetool.ide.LanguageAdapter`): one TypeScript buffer in, its slots and safe
edits out.

Does: analyses a buffer (.ts, .tsx, .mts, .cts) with the wing's stages (`ts.project`, `ts.slots`, `ts.slices`;
a `.d.ts` declaration file gets a diagnostic and no slots), says where the editor shows each unannotated slot
(after the name, after `)` for returns, after `x` of a bare arrow parameter) and which function it belongs to,
shows types as TypeScript (`ts.typeexpr.to_ts`: `string[]`, holes `?`, written as `any`), and makes the edits
that write types with `ts.writeback.apply_ts_types`, proven by `verify_ts_rewrite` and a second application
that must change nothing, as the write-back stage's own insertions (not a diff).
Does not: import the Python wing, speak LSP, predict, cache, or write files (`typetool.ide` and
`typetool.lsp_server` do the rest).
"""

from __future__ import annotations

import codecs
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from typetool import messages as M
from typetool.diagnostics import Diagnostic, Severity
from typetool.ide import (
    DocumentAnalysis,
    EditError,
    EditorSettings,
    EditPlan,
    Engine,
    LanguageAdapter,
    LineIndex,
    SlotView,
    TextEdit,
    apply_text_edits,
    buffer_source,
    collect_slots,
    document_language,
    plan_edits,
)
from typetool.slices import UsageSlice
from typetool.slots import SlotKind
from typetool.sources import SourceFile

if TYPE_CHECKING:
    from typetool.ts.facts import Node, TsFunction
    from typetool.ts.slots import TsSlotSite
    from typetool.ts.writeback import TsEdit


def _ts_name_node(fn: TsFunction) -> Node:
    """What a hover on a TypeScript function's return slot targets: its name, else the name it is bound to
    (`const f = () => ...`, `f: () => ...` in an object or class), else its parameter list."""
    named = fn.node.child_by_field_name("name")
    if named is not None:
        return named
    parent = fn.node.parent
    if parent is not None and parent.type in ("variable_declarator", "public_field_definition", "pair"):
        bound = parent.child_by_field_name("name") or parent.child_by_field_name("key")
        if bound is not None:
            return bound
    return fn.params_node or fn.node


def _ts_function_span(fn: TsFunction) -> tuple[int, int]:
    """A TypeScript function's text with what binds it (`const f = ...`, `export`)."""
    node = fn.node
    parent = node.parent
    if parent is not None and parent.type in ("variable_declarator", "public_field_definition", "pair"):
        node = parent
        if parent.type == "variable_declarator" and parent.parent is not None \
                and parent.parent.named_child_count == 1:
            node = parent.parent  # `const f = ...;`
    if node.parent is not None and node.parent.type == "export_statement":
        node = node.parent
    return node.start_byte, node.end_byte


def _ts_view(site: TsSlotSite, index: LineIndex) -> SlotView | None:
    slot = site.slot
    node: Node | None = None
    if slot.kind == SlotKind.PARAM and site.param is not None:
        node = site.param.pattern
    elif slot.kind == SlotKind.RETURN and site.function is not None:
        node = _ts_name_node(site.function)
    elif slot.kind == SlotKind.VARIABLE and site.variable is not None:
        node = site.variable.name_node
    elif slot.kind == SlotKind.ATTRIBUTE and site.field is not None:
        node = site.field.name_node
    if node is None:
        return None
    # the hint goes where write-back inserts `: T`: after the name (and a `?` or `!`), after `)` for returns,
    # after `x` of a bare arrow parameter `x => ...` (the parentheses are added only when written)
    owner = slot.scope if site.function is not None else None
    return SlotView(site, index.byte_to_offset(site.insert_at),
                    (index.byte_to_offset(node.start_byte), index.byte_to_offset(node.end_byte)), owner)


class TypeScriptAdapter(LanguageAdapter):
    name = "ts"
    hole_text = "any"

    def analyse(self, analysis: DocumentAnalysis, context: Iterable[SourceFile]) -> None:
        from typetool.ts.parse import is_declaration_file
        from typetool.ts.project import TsProject
        from typetool.ts.slices import TsSlicer
        from typetool.ts.slots import extract_ts_slots

        relpath = analysis.relpath
        if is_declaration_file(relpath):
            code, message = M.msg(M.DECLARATION_FILE)
            analysis.diagnostics.append(Diagnostic(relpath, code, message, Severity.INFO))
            return
        src = buffer_source(analysis.text, analysis.path, relpath, coding_cookie=False)
        if isinstance(src, Diagnostic):
            analysis.diagnostics.append(src)
            return
        analysis.source = src
        others = [c for c in context if document_language(c.relpath) == "ts" and not is_declaration_file(c.relpath)]
        project = TsProject.from_sources([src, *others])
        analysis.diagnostics.extend(d for d in project.diagnostics if d.path == relpath)
        module = project.modules.get(relpath)
        if module is None:
            return
        analysis.slicer = TsSlicer(project)
        collect_slots(analysis, lambda: extract_ts_slots(module), _ts_view, _ts_function_span)

    def slice(self, analysis: DocumentAnalysis, view: SlotView) -> UsageSlice:
        from typetool.ts.slices import TsSlicer
        from typetool.ts.slots import TsSlotSite

        assert isinstance(analysis.slicer, TsSlicer) and isinstance(view.site, TsSlotSite)
        return analysis.slicer.slice(view.site)

    def show(self, type_: str, hole: str = "?") -> str:
        from typetool.ts.typeexpr import to_ts
        from typetool.typeexpr import parse_type

        try:
            return to_ts(parse_type(type_), hole=hole)
        except ValueError:
            return type_

    def hint_label(self, view: SlotView, shown: str) -> tuple[str, bool]:
        return f": {shown}", False  # `x: T`, `f(x): T`, `(x): T =>`

    def annotation_text(self, view: SlotView, shown: str) -> str:
        if view.kind == SlotKind.RETURN:
            return f"{view.site.slot.scope.rsplit('.', 1)[-1].split('@')[0]}(): {shown}"
        return f"{view.site.slot.name}: {shown}"

    def edit_plan(self, engine: Engine, analysis: DocumentAnalysis, types: Mapping[str, str],
                  settings: EditorSettings, overwrite: bool) -> EditPlan:
        """`ts.writeback.apply_ts_types` on the buffer's bytes (holes written as `any`; existing annotations
        are never changed, so `overwrite` does not apply), proven by `verify_ts_rewrite` and a second
        application that must change nothing."""
        from typetool.ts.writeback import TsRefused, apply_ts_types, verify_ts_rewrite
        from typetool.writeback import SlotStatus, UnsafeRewrite

        relpath = analysis.relpath
        try:
            data = analysis.text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise EditError(f"the text is not valid Unicode ({exc.reason}); no edits are made") from exc
        try:
            rewrite = apply_ts_types(data, relpath, dict(types))
        except TsRefused as exc:
            raise EditError(str(exc)) from exc
        if rewrite.changed:
            try:
                verify_ts_rewrite(rewrite, relpath)
                again = apply_ts_types(rewrite.new, relpath, dict(types))
                if again.new != rewrite.new or any(s.status == SlotStatus.WRITTEN for s in again.slots):
                    raise UnsafeRewrite("a second application would change the file again")
            except (UnsafeRewrite, TsRefused) as exc:
                raise EditError(f"typetool refused its own rewrite (a bug; please report it): {exc}") from exc
        new_text = rewrite.new.decode("utf-8")
        edits = _ts_text_edits(analysis, rewrite.edits, data.startswith(codecs.BOM_UTF8))
        if apply_text_edits(analysis.text, edits, analysis.index.encoding) != new_text:  # never expected
            return plan_edits(analysis, new_text, rewrite.slots)
        return plan_edits(analysis, new_text, rewrite.slots, edits)


def _ts_text_edits(analysis: DocumentAnalysis, planned: Sequence[TsEdit], bom: bool) -> list[TextEdit]:
    """Write-back's own byte-range edits as editor edits (not a diff, which may put `: string` after `greet` of
    `greeting` as `ing: str`): each insertion exactly where write-back makes it, insertions at one point (a bare
    arrow parameter's `: A`, its `)` and the return's `: R`) merged into one, in document order."""
    shift = len(codecs.BOM_UTF8) if bom else 0  # the edits count bytes after a BOM
    index = analysis.index
    spans: list[tuple[int, int, str]] = []
    for e in sorted(planned, key=lambda e: e.key):
        start, end = index.byte_to_offset(e.start + shift), index.byte_to_offset(e.end + shift)
        text = e.text.decode("utf-8")
        if spans and spans[-1][0] == spans[-1][1] == start == end:
            spans[-1] = (start, end, spans[-1][2] + text)
        else:
            spans.append((start, end, text))
    return [TextEdit(index.range(start, end), text) for start, end, text in spans]


ADAPTER = TypeScriptAdapter()
