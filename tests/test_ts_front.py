"""The TypeScript front half (`typetool.ts.facts`, `.slots`, `.project`, `.slices`): golden files for the bundled
example project tests/data/ts_projects/shop (graph per file, slots with their insertion points, rendered slices,
also blind), and one test per rule on small snippets.

`pytest --update-golden` rewrites tests/data/ts_projects/golden/*.txt. Paths in the outputs are relative to
tests/data/ts_projects (the golden tests run there), so the goldens do not depend on where the repository is.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable
from pathlib import Path

import pytest
from conftest import DATA, check_golden

from typetool.cpg import dump_graph
from typetool.slices import render_slice
from typetool.slots import SlotKind
from typetool.sources import SourceFile, decode_source
from typetool.ts.facts import Node, TsModule, references
from typetool.ts.parse import parse_bytes
from typetool.ts.project import TsProject
from typetool.ts.slices import TsSlicer, untyped
from typetool.ts.slots import TsSlotSite, extract_ts_slots

TS = DATA / "ts_projects"
GOLDEN = TS / "golden"
PROGRAMS = {"shop": ["shop"]}  # name -> paths given to TsProject.load (relative to TS)


# -- helpers ---------------------------------------------------------------------------------------------------


def sources(files: dict[str, str]) -> list[SourceFile]:
    out = []
    for rel, code in files.items():
        src = decode_source(textwrap.dedent(code).lstrip("\n").encode("utf-8"), Path(rel), rel)
        assert isinstance(src, SourceFile)
        out.append(src)
    return out


def project(files: dict[str, str]) -> TsProject:
    return TsProject.from_sources(sources(files))


def module(code: str, path: str = "m.ts") -> TsModule:
    return project({path: code}).modules[path]


def sites(code: str, path: str = "m.ts") -> dict[str, TsSlotSite]:
    """Slots of one snippet by id without the file part: `kind::scope::name`."""
    out = {}
    for site in extract_ts_slots(module(code, path)):
        key = site.slot.id.split("::", 1)[1]
        assert key not in out, f"duplicate slot id {site.slot.id}"
        out[key] = site
    return out


def load_shop(name: str = "shop") -> TsProject:
    proj = TsProject.load([Path(p) for p in PROGRAMS[name]], root=Path("."))
    assert proj.modules, "nothing was analysed"
    return proj


def around(data: bytes, at: int, width: int = 14) -> str:
    """The text around a byte offset, `‸` marking it, on one line."""
    before = data[max(0, at - width):at].decode("utf-8", "replace")
    after = data[at:at + width].decode("utf-8", "replace")
    return (before + "‸" + after).replace("\n", "⏎")


def annotate(data: bytes, todo: Iterable[tuple[TsSlotSite, str]]) -> bytes:
    """Insert `: T` for each (site, T) at the site's insertion point, wrapping bare arrow parameters, or replace the
    existing annotation; the way write-back uses the offsets."""
    edits: list[tuple[int, int, int, bytes]] = []  # (start, rank, end, text)
    wrapped: set[tuple[int, int]] = set()
    for site, t in todo:
        own = _own_annotation(site)
        if own is not None:
            edits.append((own.start_byte, 1, own.end_byte, f": {t}".encode()))
            continue
        rank = 3 if site.slot.kind == SlotKind.RETURN else 1  # `(x: P): R =>`
        edits.append((site.insert_at, rank, site.insert_at, f": {t}".encode()))
        if site.wrap is not None and site.wrap not in wrapped:
            wrapped.add(site.wrap)
            edits.append((site.wrap[0], 0, site.wrap[0], b"("))
            edits.append((site.wrap[1], 2, site.wrap[1], b")"))
    out, at = [], 0
    for start, _rank, end, new in sorted(edits):
        assert start >= at, "edits overlap"
        out += [data[at:start], new]
        at = end
    out.append(data[at:])
    return b"".join(out)


def _own_annotation(site: TsSlotSite) -> Node | None:
    kind = site.slot.kind
    if kind == SlotKind.PARAM:
        return site.param.type if site.param is not None else None
    if kind == SlotKind.RETURN:
        return site.function.return_type if site.function is not None else None
    if kind == SlotKind.VARIABLE:
        return site.variable.type if site.variable is not None else None
    return site.field.type if site.field is not None else None


def with_file(proj: TsProject, rel: str, data: bytes) -> TsProject:
    """The project with one file's bytes replaced."""
    srcs = []
    for r, m in proj.modules.items():
        src = decode_source(data if r == rel else m.data, Path(r), r)
        assert isinstance(src, SourceFile)
        srcs.append(src)
    return TsProject.from_sources(srcs)


# -- goldens ---------------------------------------------------------------------------------------------------


def render_graph(proj: TsProject) -> str:
    parts = []
    for rel in sorted(proj.modules):
        parts.append(f"## {rel}\n" + dump_graph(proj.graph(only=[rel]), rel))
    return "\n".join(parts)


def render_slots(proj: TsProject) -> str:
    """One line per slot: position, id, existing annotation, where `: T` is inserted (and the bare parameter to
    wrap in parentheses)."""
    lines = []
    for rel in sorted(proj.modules):
        m = proj.modules[rel]
        lines.append(f"## {rel}")
        for site in extract_ts_slots(m):
            s = site.slot
            ann = f"  annotated: {s.annotation}" if s.annotation else ""
            wrap = f"  wrap: {m.data[site.wrap[0]:site.wrap[1]].decode()}" if site.wrap else ""
            lines.append(f"{s.line}:{s.column + 1} {s.id}  insert: {around(m.data, site.insert_at)}{wrap}{ann}")
    return "\n".join(lines) + "\n"


def render_slices(proj: TsProject, blind: bool = False) -> str:
    slicer = TsSlicer(proj, blind=blind)
    lines = [f"! {d.format()}" for d in proj.diagnostics]
    for rel in sorted(proj.modules):
        for site in extract_ts_slots(proj.modules[rel]):
            s = slicer.slice(site)
            ann = f"  (annotated: {s.slot.annotation})" if s.slot.annotation else ""
            lines.append(f"# {s.slot.file}:{s.slot.line}:{s.slot.column + 1} {s.slot.id}{ann}")
            lines.append(render_slice(s))
            lines.append("")
    return "\n".join(lines) + "\n"


@pytest.fixture
def in_ts(monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(TS)
    return TS


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_graph_golden(name: str, in_ts: Path, update_golden: bool) -> None:
    proj = load_shop(name)
    full = proj.graph()
    kinds = {k for _, _, k in full.edges(data="kind")}
    assert kinds == {"AST", "REACHES", "ARG", "CALLS", "INHERITS", "IMPORTS"}
    node_kinds = {a["kind"] for _, a in full.nodes(data=True)}
    assert node_kinds == {"module", "class", "function", "parameter", "variable", "field", "use", "call"}
    out = render_graph(proj)
    assert str(TS) not in out, "outputs must not depend on where the repository is"
    check_golden(GOLDEN / f"{name}.graph.txt", out, update_golden)


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_slots_golden(name: str, in_ts: Path, update_golden: bool) -> None:
    check_golden(GOLDEN / f"{name}.slots.txt", render_slots(load_shop(name)), update_golden)


@pytest.mark.parametrize("blind", [False, True], ids=["slices", "blind"])
@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_slices_golden(name: str, blind: bool, in_ts: Path, update_golden: bool) -> None:
    out = render_slices(load_shop(name), blind)
    assert str(TS) not in out
    headers = [ln for ln in out.splitlines() if ln.startswith("# ")]
    assert headers and all(nxt.startswith("<ts> ") for ln, nxt in zip(out.splitlines(), out.splitlines()[1:])
                           if ln.startswith("# "))
    check_golden(GOLDEN / f"{name}.{'blind.' if blind else ''}slices.txt", out, update_golden)


def test_the_example_covers_every_slot_kind_and_file(in_ts: Path) -> None:
    proj = load_shop()
    assert sorted(proj.modules) == ["shop/api.ts", "shop/components/CartView.tsx", "shop/models/cart.ts",
                                    "shop/models/index.ts", "shop/models/product.ts", "shop/pricing.ts"]
    assert not proj.diagnostics
    all_sites = [s for m in proj.modules.values() for s in extract_ts_slots(m)]
    assert {s.slot.kind for s in all_sites} == set(SlotKind)
    annotated = [s for s in all_sites if s.slot.annotation]
    assert 10 <= len(annotated) <= len(all_sites) // 3, "mostly unannotated, with some annotations"


# -- slots: which constructs get slots ---------------------------------------------------------------------------


def test_callbacks_passed_as_arguments_get_no_slots() -> None:
    found = sites("""
        export function total(items) {
          items.forEach((item) => console.log(item));
          const names = items.map(function (x) { const label = x.name; return label; });
          register({ onClick: (event) => event, handle(event) { return event; } });
          return names;
        }
    """)
    assert set(found) == {"param::total::items", "return::total::return", "variable::total::names",
                          "variable::total::label"}  # a callback's body belongs to the enclosing function


def test_for_heads_and_destructured_variables_get_no_slots() -> None:
    found = sites("""
        export function walk(xs, o) {
          for (const x of xs) { console.log(x); }
          for (let k in o) { console.log(k); }
          for (let i = 0; i < 3; i++) { console.log(i); }
          const { a, b } = o;
          const [first] = xs;
          return a + b + first;
        }
    """)
    variables = {k for k in found if k.startswith("variable::")}
    assert variables == {"variable::walk::i"}


def test_declarations_without_bodies_get_no_slots() -> None:
    found = sites("""
        declare const VERSION: string;
        declare function external(x: number): void;
        declare module "plugin" {
          export function hook(y): void;
        }
        declare global {
          interface Window { app(z: number): void }
        }
        export interface Shape {
          area(scale: number): number;
          name: string;
        }
        export type Handler = (event: Event, retry: number) => void;
        export enum Color { Red = 1 }
        export abstract class Base {
          abstract render(target): void;
          size = 1;
        }
        export function parse(input: string): number;
        export function parse(input: number): number;
        export function parse(input) {
          return Number(input);
        }
    """)
    assert set(found) == {"attribute::Base::size", "param::parse::input", "return::parse::return"}
    assert found["param::parse::input"].slot.annotation is None, "the implementation, not an overload signature"


def test_setters_constructors_and_this_parameters() -> None:
    found = sites("""
        export class Counter {
          constructor(start) {}
          get value() { return 1; }
          set value(next) {}
          bump(this: Counter, by) { return by; }
          static of(this: void, n) { return new Counter(n); }
        }
    """)
    assert set(found) == {
        "param::Counter.constructor::start", "return::Counter.value::return", "param::Counter.value@2::next",
        "param::Counter.bump::by", "return::Counter.bump::return", "param::Counter.of::n", "return::Counter.of::return",
    }


def test_functions_inside_error_regions_get_no_slots() -> None:
    # tree-sitter-typescript 0.23 cannot parse generic call signatures on consecutive lines without `;`; with an
    # unfinished statement after them (a file being edited) the whole file before it becomes one ERROR node
    code = """
        export function label(item) {
          return `${item.name}`;
        }

        export interface Factory extends Annotation, Decorator {
          <T extends Function | undefined | null>(fn: T): T
          <T extends Function | undefined | null>(name: string, fn: T): T
          register(options, {
    """
    m = module(code)
    assert m.parsed.errors, "the snippet must have a syntax error"
    root = m.parsed.root
    label = root.descendant_for_byte_range(m.data.index(b"label"), m.data.index(b"label") + 5)
    assert label is not None and label.parent is not None and label.parent.type == "function_declaration"
    cur: Node | None = label
    while cur is not None and cur.type != "ERROR":
        cur = cur.parent
    assert cur is not None, "the function must lie inside an ERROR node"
    assert list(extract_ts_slots(m)) == []
    # the same function in a file without the damage has its slots
    assert set(sites(code.split("export interface")[0])) == {"param::label::item", "return::label::return"}


def test_annotated_function_valued_variables_and_fields_are_slots() -> None:
    found = sites("""
        export const plain = (a) => a;
        export const typed: Handler = (event, retry) => retry;
        export class Widget {
          onClick = (e) => e;
          onKey: KeyHandler = (e) => e;
        }
    """)
    assert "variable::<module>::plain" not in found and "attribute::Widget::onClick" not in found
    assert found["variable::<module>::typed"].slot.annotation == "Handler"
    assert found["attribute::Widget::onKey"].slot.annotation == "KeyHandler"
    assert "param::typed::event" in found and "param::Widget.onClick::e" in found  # the functions keep theirs


# -- slots: names --------------------------------------------------------------------------------------------------


def test_scope_names() -> None:
    found = sites("""
        export class Cart {
          total(tax) { return tax; }
          static empty(owner) { return new Cart(); }
          onChange = (next) => next;
        }
        export const api = {
          get(url) { return url; },
          post: (url, body) => body,
          nested: { put(key) { return key; } },
        };
        export function outer(a) {
          const inner = (b) => b;
          function helper(c) { return c; }
          return inner(helper(a));
        }
        export namespace util {
          export function assert(cond) { return cond; }
        }
        export default function (options) { return options; }
    """)
    for key in ["param::Cart.total::tax", "param::Cart.empty::owner", "param::Cart.onChange::next",
                "param::api.get::url", "param::api.post::body", "param::api.nested.put::key",
                "param::outer.inner::b", "param::outer.helper::c", "param::util.assert::cond",
                "param::default::options"]:
        assert key in found, key
    assert "variable::outer::inner" not in found, "a function-valued const: the function's slots cover it"


def test_default_exported_class_and_object() -> None:
    assert {"param::default.render::props", "attribute::default::state"} <= set(sites("""
        export default class {
          state = 0;
          render(props) { return props; }
        }
    """, "a.ts"))
    assert "param::default.setup::props" in sites("export default { setup(props) { return props; } };", "b.ts")


def test_ordinals_for_same_names_in_one_scope() -> None:
    found = sites("""
        export function pick(flag) {
          if (flag) {
            function choose(a) { return a; }
            let result = choose(1);
            return result;
          } else {
            function choose(a) { return -a; }
            let result = choose(2);
            return result;
          }
        }
        export function f(
          { alpha, beta, gamma, delta, epsilon, zeta, theta, iota },
          { alpha, beta, gamma, delta, epsilon, zeta, theta, kappa },
        ) {
          return alpha;
        }
        export const make = () => {
          [1].forEach(() => { class Box { size = 1; } });
          [2].forEach(() => { class Box { size = 2; } });
        };
    """)
    assert {"param::pick.choose::a", "param::pick.choose@2::a", "variable::pick::result",
            "variable::pick::result@2", "attribute::make.Box::size", "attribute::make.Box@2::size"} <= set(found)
    params_of_f = sorted(k for k in found if k.startswith("param::f::"))
    assert len(params_of_f) == 2 and params_of_f[1] == params_of_f[0] + "@2", "truncated patterns collide: @2"


def test_slot_ids_survive_annotations_inserted_elsewhere(in_ts: Path) -> None:
    proj = load_shop()
    for rel, m in proj.modules.items():
        todo = [(s, f"T{i}") for i, s in enumerate(extract_ts_slots(m)) if s.slot.annotation is None]
        annotated = with_file(proj, rel, annotate(m.data, todo))
        assert {s.slot.id for s in extract_ts_slots(annotated.modules[rel])} == \
            {s.slot.id for s in extract_ts_slots(m)}, rel


# -- slots: insertion offsets ----------------------------------------------------------------------------------------


def test_insertion_points() -> None:
    code = """
        export class Account {
          owner?;
          balance!: number;
          constructor(private readonly bank, public id = 0) {}
          deposit(amount?, ...notes) { return amount; }
        }
        let total!: number;
        export const inc = n => n + 1;
        export const twice = async x => x * 2;
        export const add = ({ a, b }, [c] = [0]) => a + b + c;
        export function* ids(start) { yield start; }
    """
    m = module(code)
    found = {s.slot.id.split("::", 1)[1]: s for s in extract_ts_slots(m)}
    at = {k: around(m.data, s.insert_at, 6) for k, s in found.items()}
    assert at["attribute::Account::owner"] == "owner?‸;⏎  ba"
    assert at["attribute::Account::balance"] == "lance!‸: numb"
    assert at["param::Account.constructor::bank"] == "y bank‸, publ"
    assert at["param::Account.constructor::id"] == "lic id‸ = 0) "
    assert at["param::Account.deposit::amount"] == "mount?‸, ...n"
    assert at["param::Account.deposit::notes"] == ".notes‸) { re"
    assert at["return::Account.deposit::return"] == "notes)‸ { ret"
    assert at["variable::<module>::total"] == "total!‸: numb"
    assert at["param::add::{a,b}"] == "a, b }‸, [c] "
    assert at["param::add::[c]"] == "}, [c]‸ = [0]"
    assert at["return::add::return"] == "= [0])‸ => a "
    assert at["return::ids::return"] == "start)‸ { yie"
    inc_param, inc_return = found["param::inc::n"], found["return::inc::return"]
    assert inc_param.wrap == inc_return.wrap and inc_param.wrap is not None
    assert m.data[inc_param.wrap[0]:inc_param.wrap[1]] == b"n"
    assert inc_param.insert_at == inc_return.insert_at == inc_param.wrap[1]
    assert found["param::twice::x"].wrap is not None and found["param::Account.deposit::amount"].wrap is None


def test_inserting_at_every_slot_gives_valid_annotated_code() -> None:
    code = """
        export class Account {
          owner?;
          static count = 0;
          #secret = "";
          constructor(private readonly bank, public id = 0) {}
          get name() { return this.owner; }
          deposit(amount?, ...notes) { return amount; }
        }
        export const inc = n => n + 1;
        export const twice = async x => x * 2;
        export const add = ({ a, b }, [c] = [0]) => a + b + c;
        export const id = <T,>(value) => value;
        export function* ids(start) { yield start; }
        export default function (options = {}) { let seen = false; return seen || options; }
    """
    for path in ("m.ts", "m.tsx"):
        m = module(code, path)
        todo = [(s, f"T{i}") for i, s in enumerate(extract_ts_slots(m))]
        assert all(s.slot.annotation is None for s, _ in todo)
        new = annotate(m.data, todo)
        assert not parse_bytes(new, path).root_node.has_error, new.decode()
        again = {s.slot.id: s.slot.annotation for s in extract_ts_slots(module(new.decode(), path))}
        assert again == {s.slot.id: t for s, t in todo}, new.decode()


# -- references --------------------------------------------------------------------------------------------------


def _refs(code: str, fn_name: str, name: str) -> list[int]:
    """Lines (1-based, within the snippet) of the references to `name` in the body of function `fn_name`."""
    m = module(code)
    fn = m.function_named(fn_name)
    assert fn is not None and fn.body is not None
    return [r.start_point[0] + 1 for r in references(fn.body, name)]


def test_references_skip_nested_functions_that_rebind_the_name() -> None:
    code = """
        export function outer(value, other) {
          const a = value + 1;
          function byParam(value) { return value; }
          const byArrow = (value) => value;
          const byPattern = ({ value }) => value;
          const byRest = (...value) => value;
          function byDeclaration() { const value = 2; return value; }
          function byFunction() { function value() {} return value; }
          const reads = (x = value) => value + x;
          [1].map(() => value);
          return value;
        }
    """
    assert _refs(code, "outer", "value") == [2, 9, 9, 10, 11]


def test_references_of_a_variable_declared_in_a_callback() -> None:
    m = module("""
        export function run(items) {
          items.forEach(() => {
            const seen = new Set();
            seen.add(1);
            return seen;
          });
          items.forEach(() => { const seen = 0; return seen; });
        }
    """)
    first = next(v for v in m.variables if v.name == "seen")
    assert first.scope_node.type == "arrow_function"
    assert [r.start_point[0] + 1 for r in references(first.scope_node, "seen", exclude=first.name_node)] == [4, 5]


def test_module_level_names_are_only_program_statements() -> None:
    m = module("""
        export const top = 1;
        export function f() { const local = 2; return local; }
        [1].forEach(() => { const inCallback = 3; function helper() {} return inCallback; });
        if (top) { class InBlock {} }
        export namespace ns { export const inside = 4; }
        export class C {}
        export interface I {}
        type Alias = number;
    """)
    assert sorted(m.top_level) == ["Alias", "C", "I", "f", "top"]


# -- project resolution ----------------------------------------------------------------------------------------------


def call_target(proj: TsProject, rel: str, source: str) -> str | None:
    """`file:qualname` of what the call whose text is exactly `source` resolves to."""
    m = proj.modules[rel]
    found = [c for c in m.calls if c.text == source.encode()]
    assert len(found) == 1, f"{source!r}: {len(found)} calls in {rel}"
    target = proj.target_of_call(m, found[0])
    return None if target is None else f"{proj.module_of(target).relpath}:{target.qualname}"


LIB = {
    "src/util/index.ts": """
        export * from "./strings";
        export { clamp as limit } from "./numbers";
    """,
    "src/util/strings.ts": """
        export function upper(s) { return s.toUpperCase(); }
    """,
    "src/util/numbers.ts": """
        export function clamp(n, lo, hi) { return Math.min(hi, Math.max(lo, n)); }
        export default function double(n) { return n * 2; }
    """,
    "src/shapes.ts": """
        export class Shape {
          constructor(name) { this.name = name; }
          area() { return 0; }
          describe() { return `${this.name}: ${this.area()}`; }
          static unit() { return new Shape("unit"); }
        }
        export class Square extends Shape {
          constructor(side) { super("square"); this.side = side; }
          area() { return this.side ** 2; }
          label() { return this.describe() + super.describe(); }
        }
        export class Bare {}
    """,
}


def test_module_specifiers() -> None:
    proj = project({**LIB, "src/main.ts": """
        import { upper, limit } from "./util/index.js";
        import { upper as up2 } from "./util";
        import double from "./util/numbers.js";
        import * as numbers from "./util/numbers";
        import React from "react";
        upper("a");
        up2("b");
        limit(5, 0, 3);
        double(2);
        numbers.clamp(1, 2, 3);
        numbers.default(4);
        React.render();
    """, "src/app/view.ts": """
        import { upper } from "../util";
        import { limit as clampTo } from "../util/index";
        upper("c");
        clampTo(1, 0, 2);
    """})
    assert call_target(proj, "src/app/view.ts", 'upper("c")') == "src/util/strings.ts:upper"  # `../dir`
    assert call_target(proj, "src/app/view.ts", "clampTo(1, 0, 2)") == "src/util/numbers.ts:clamp"
    rel = "src/main.ts"
    assert call_target(proj, rel, 'upper("a")') == "src/util/strings.ts:upper"  # `./x.js` names x.ts; export *
    assert call_target(proj, rel, 'up2("b")') == "src/util/strings.ts:upper"  # `./dir` names dir/index.ts
    assert call_target(proj, rel, "limit(5, 0, 3)") == "src/util/numbers.ts:clamp"  # export { a as b } from
    assert call_target(proj, rel, "double(2)") == "src/util/numbers.ts:double"  # default import
    assert call_target(proj, rel, "numbers.clamp(1, 2, 3)") == "src/util/numbers.ts:clamp"  # namespace import
    assert call_target(proj, rel, "numbers.default(4)") == "src/util/numbers.ts:double"
    assert call_target(proj, rel, "React.render()") is None  # packages are not resolved
    g = proj.graph(only=[rel])
    imports = {g.nodes[b]["label"] for a, b, k in g.edges(data="kind") if k == "IMPORTS"}
    assert imports == {"src/util/index.ts", "src/util/numbers.ts"}


def test_reexport_chains_and_cycles() -> None:
    proj = project({
        "a.ts": 'export * from "./b";\nexport * from "./c";',
        "b.ts": 'export { f as g } from "./c";\nexport * from "./a";',
        "c.ts": "export function f() { return 1; }",
        "main.ts": 'import { g, f } from "./a";\ng();\nf();\nmissing();',
    })
    assert call_target(proj, "main.ts", "g()") == "c.ts:f"
    assert call_target(proj, "main.ts", "f()") == "c.ts:f"
    assert call_target(proj, "main.ts", "missing()") is None


def test_classes_constructors_this_and_super() -> None:
    proj = project({**LIB, "src/main.ts": """
        import { Shape, Square, Bare } from "./shapes";
        const s = new Square(2);
        const b = new Bare();
        Shape.unit();
        s.area();
    """})
    assert call_target(proj, "src/main.ts", "new Square(2)") == "src/shapes.ts:Square.constructor"
    assert call_target(proj, "src/main.ts", "new Bare()") == "src/shapes.ts:Bare"  # no constructor: the class
    assert call_target(proj, "src/main.ts", "Shape.unit()") == "src/shapes.ts:Shape.unit"  # static method
    assert call_target(proj, "src/main.ts", "s.area()") is None  # no types: an instance's method is not resolved
    rel = "src/shapes.ts"
    assert call_target(proj, rel, "this.area()") == "src/shapes.ts:Shape.area"
    assert call_target(proj, rel, "this.describe()") == "src/shapes.ts:Shape.describe"  # through `extends`
    assert call_target(proj, rel, "super.describe()") == "src/shapes.ts:Shape.describe"
    assert call_target(proj, rel, 'super("square")') == "src/shapes.ts:Shape.constructor"
    assert call_target(proj, rel, 'new Shape("unit")') == "src/shapes.ts:Shape.constructor"
    g = proj.graph()
    inherits = {(g.nodes[a]["label"], g.nodes[b]["label"]) for a, b, k in g.edges(data="kind") if k == "INHERITS"}
    assert inherits == {("Square", "Shape")}


def test_implements_is_not_extends() -> None:
    proj = project({"m.ts": """
        export interface Named { name: string }
        export class Base { hello() { return 1; } }
        export class Thing extends Base implements Named, Iterable<number> {
          name = "";
          run() { return this.hello(); }
        }
    """})
    thing = proj.modules["m.ts"].class_named("Thing")
    assert thing is not None and thing.heritage == ["Base"] and thing.implements == ["Named", "Iterable"]
    assert call_target(proj, "m.ts", "this.hello()") == "m.ts:Base.hello"


def test_methods_of_module_level_object_literals() -> None:
    proj = project({
        "api.ts": "export const api = { get(url) { return url; }, post: (url, body) => body };",
        "main.ts": 'import { api } from "./api";\napi.get("/");\napi.post("/", 1);\napi.missing();',
    })
    assert call_target(proj, "main.ts", 'api.get("/")') == "api.ts:api.get"
    assert call_target(proj, "main.ts", 'api.post("/", 1)') == "api.ts:api.post"
    assert call_target(proj, "main.ts", "api.missing()") is None


def test_calls_starting_at_the_same_byte_are_told_apart() -> None:
    proj = project({"m.ts": """
        export function round(x) { return x; }
        export function show(v) { return round(v).toFixed(2); }
    """})
    assert call_target(proj, "m.ts", "round(v)") == "m.ts:round"
    assert call_target(proj, "m.ts", "round(v).toFixed(2)") is None
    g = proj.graph()
    calls = sorted(g.nodes[a]["label"] for a, _b, k in g.edges(data="kind") if k == "CALLS")
    assert calls == ["round"]


# -- slices ----------------------------------------------------------------------------------------------------------

SENTINEL = "Zq"  # no identifier of the example starts with it


def test_a_slots_own_annotation_never_appears_in_its_slice(in_ts: Path) -> None:
    """For every slot of the example: give it (alone) a unique annotation; its slice must not show it."""
    proj = load_shop()
    checked = 0
    for rel, m in proj.modules.items():
        for i, site in enumerate(extract_ts_slots(m)):
            mark = f"{SENTINEL}{i}Mark"
            changed = with_file(proj, rel, annotate(m.data, [(site, mark)]))
            again = next(s for s in extract_ts_slots(changed.modules[rel]) if s.slot.id == site.slot.id)
            assert again.slot.annotation == mark
            sliced = render_slice(TsSlicer(changed).slice(again))
            assert mark not in sliced, f"{site.slot.id}:\n{sliced}"
            checked += 1
    assert checked > 100


def test_own_annotation_is_hidden_in_recursive_calls() -> None:
    proj = project({"m.ts": """
        export function find(items: Item[], id, index = 0): Item | undefined {
          if (items[index].id === id) {
            return items[index];
          }
          return find(items, id, index + 1);
        }
    """})
    by_id = {s.slot.id: s for s in extract_ts_slots(proj.modules["m.ts"])}
    slicer = TsSlicer(proj)
    items = render_slice(slicer.slice(by_id["m.ts::param::find::items"]))
    assert "find(#0 items)" in items and "Item[]" not in items
    ret = render_slice(slicer.slice(by_id["m.ts::return::find::return"]))
    assert "Item | undefined" not in ret
    index = render_slice(slicer.slice(by_id["m.ts::param::find::index"]))
    assert "find(items: Item[], id, index = 0)" in index, "other slots' annotations are shown"


def _blind_marked(proj: TsProject) -> tuple[TsProject, list[str]]:
    """The project with every type annotation, type argument list and `as` type replaced by a unique marker."""
    marks: list[str] = []
    srcs = []
    for rel, m in proj.modules.items():
        edits: list[tuple[int, int, str]] = []
        stack = [m.parsed.root]
        while stack:
            n = stack.pop()
            mark = f"{SENTINEL}{len(marks) + len(edits)}Mark"
            if n.type == "type_annotation":
                edits.append((n.start_byte, n.end_byte, f": {mark}"))
                continue
            if n.type == "type_arguments":
                edits.append((n.start_byte, n.end_byte, f"<{mark}>"))
                continue
            if n.type == "as_expression":
                t = n.named_children[-1]
                edits.append((t.start_byte, t.end_byte, mark))
            stack.extend(n.named_children)
        data = m.data
        for start, end, new in sorted(edits, reverse=True):
            data = data[:start] + new.encode() + data[end:]
        marks += [e[2].strip(": <>") for e in edits]
        src = decode_source(data, Path(rel), rel)
        assert isinstance(src, SourceFile)
        srcs.append(src)
    return TsProject.from_sources(srcs), marks


def test_blind_slices_show_no_annotation_at_all(in_ts: Path) -> None:
    marked, marks = _blind_marked(load_shop())
    assert len(marks) >= 25 and not marked.diagnostics
    def slices(blind: bool) -> str:
        slicer = TsSlicer(marked, blind=blind)
        return "\n".join(render_slice(slicer.slice(s)) for m in marked.modules.values() for s in extract_ts_slots(m))

    leaked = sorted(set(re.findall(SENTINEL + r"\d+Mark", slices(blind=True))))
    assert not leaked, leaked
    assert len(set(re.findall(SENTINEL + r"\d+Mark", slices(blind=False)))) >= 10, "seeing slices show them"


def test_untyped_cuts_types_out_of_code() -> None:
    m = module("const f = (a: number, b?: Map<string, X>): Y => a as unknown as Z;\nconst x = new Map<K, V>();")
    arrow = m.variables[0].value
    assert untyped(arrow) == "(a, b?) => a"
    assert untyped(m.variables[1].value) == "new Map()"


def _slice_of(proj: TsProject, slot_id: str, blind: bool = False) -> str:
    for m in proj.modules.values():
        for site in extract_ts_slots(m):
            if site.slot.id == slot_id:
                return render_slice(TsSlicer(proj, blind=blind).slice(site))
    raise AssertionError(f"no slot {slot_id}")


def test_slices_show_narrowing_await_spread_for_of_and_templates(in_ts: Path) -> None:
    proj = load_shop()
    discount = _slice_of(proj, "shop/pricing.ts::param::applyDiscount::discount")
    assert 'typeof === "number"' in discount and 'typeof === "string"' in discount
    assert "instanceof Product" in _slice_of(proj, "shop/pricing.ts::param::priceOf::item")
    assert "result await" in _slice_of(proj, "shop/api.ts::return::load::return")
    assert "evidence: await" in _slice_of(proj, "shop/api.ts::variable::load::response")
    assert "evidence: as ProductRow[]" in _slice_of(proj, "shop/api.ts::variable::load::rows")
    assert "evidence: await" in _slice_of(proj, "shop/api.ts::variable::load::rows", blind=True)
    lines = _slice_of(proj, "shop/models/cart.ts::attribute::Cart::lines")
    assert "for of" in lines and "...spread into array" in lines
    assert "for of" in _slice_of(proj, "shop/api.ts::variable::quickBuy::products")
    assert "in template string" in _slice_of(proj, "shop/pricing.ts::param::formatPrice::currency")
    spread = project({"m.ts": "export function f(xs, o) { g(...xs); return { ...o }; }"})
    assert "...spread into call" in _slice_of(spread, "m.ts::param::f::xs")
    assert "...spread into object" in _slice_of(spread, "m.ts::param::f::o")


def test_slices_follow_calls_across_files(in_ts: Path) -> None:
    proj = load_shop()
    owner = _slice_of(proj, "shop/models/cart.ts::param::Cart.constructor::owner")
    assert "callers: email" in owner  # `new Cart(email)` in api.ts
    name = _slice_of(proj, "shop/models/product.ts::param::DigitalProduct.constructor::name")
    assert "super(#0: string)" in name  # super() is the parent's constructor, with its annotation
    assert "super(#0" in _slice_of(proj, "shop/models/product.ts::param::DigitalProduct.constructor::name", blind=True)
    assert ": string" not in _slice_of(proj, "shop/models/product.ts::param::DigitalProduct.constructor::name",
                                       blind=True)


def test_object_literal_evidence_lists_keys() -> None:
    proj = project({"m.ts": "export const handlers = { run(x) { return x; }, stop: () => 0, ...base, 'a-b': 1 };\n"
                            "export const config = { ...handlers, size: 2 };"})
    assert "literal object {...handlers, size}" in _slice_of(proj, "m.ts::variable::<module>::config")


def test_scope_names_list_value_uses_first_never_types() -> None:
    proj = project({"m.ts": """
        import { Alpha, Beta } from "./types";
        export class Gamma {}
        export function make(x: Alpha) { return new Beta(x); }
    """})
    sliced = _slice_of(proj, "m.ts::param::make::x")
    # Beta is used as a value and comes first; Alpha, used only as a type (an annotation), keeps its place
    assert "names: Beta ; Gamma ; Alpha" in sliced, sliced


def test_slicing_is_reproducible(in_ts: Path) -> None:
    first = render_slices(load_shop())
    assert render_slices(load_shop()) == first
