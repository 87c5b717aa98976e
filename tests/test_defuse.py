"""Def-use (reaching definitions) in `typetool.python.facts`, one rule per test, on real tree-sitter parses.

Each test states, for every read of a name, exactly which bindings (by line) may reach it. `reaching(code)` maps
(name, line of the use) to the sorted lines of the definitions that reach it (uses of builtins such as `print`
are left out).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from typetool.diagnostics import Diagnostic
from typetool.python.project import PythonProject
from typetool.python.facts import ModuleFacts
from typetool.python.slots import extract_slots
from typetool.slots import SlotKind
from typetool.sources import decode_source

BUILTINS = frozenset({"print", "range", "len", "open", "isinstance", "ValueError", "KeyError", "str", "bytes",
                      "object", "int", "sum"})


def facts_of(code: str) -> ModuleFacts:
    src = decode_source(textwrap.dedent(code).lstrip("\n").encode("utf-8"), Path("mod.py"), "mod.py")
    assert not isinstance(src, Diagnostic)
    project = PythonProject.from_sources([src])
    assert not project.diagnostics, [d.format() for d in project.diagnostics]
    return project.modules["mod.py"]


def reaching(code: str) -> dict[tuple[str, int], list[int]]:
    """(name, line) of each use -> sorted lines of the definitions reaching it (several uses of one name on a
    line are merged). Lines are 1-based, counted from the first non-empty line of `code`."""
    out: dict[tuple[str, int], set[int]] = {}
    for u in facts_of(code).uses.values():
        if u.name in BUILTINS:
            continue
        lines = out.setdefault((u.name, u.node.start_point[0] + 1), set())
        lines.update(d.node.start_point[0] + 1 for d in u.defs)
    return {k: sorted(v) for k, v in out.items()}


def kinds(code: str, name: str) -> list[tuple[int, str]]:
    m = facts_of(code)
    return sorted((d.node.start_point[0] + 1, d.kind) for d in m.defs.values() if d.name == name)


# -- bindings --------------------------------------------------------------------------------------------------

def test_assignment_kills_the_previous_binding() -> None:
    r = reaching("""
        x = 1
        x = x + 1
        y = z = x
        a, (b, *c) = x, (y, z)
        print(x, y, z, a, b, c)
    """)
    assert r[("x", 2)] == [1]
    assert r[("x", 3)] == [2]
    assert r[("x", 4)] == [2] and r[("y", 4)] == [3] and r[("z", 4)] == [3]
    assert r[("x", 5)] == [2]
    assert r[("a", 5)] == [4] and r[("b", 5)] == [4] and r[("c", 5)] == [4]


def test_annotated_assignment_binds_but_a_bare_annotation_does_not() -> None:
    code = """
        x = 1
        x: int
        print(x)
        y: int = 2
        print(y)
    """
    r = reaching(code)
    assert r[("x", 3)] == [1]  # `x: int` declares, it binds nothing
    assert r[("y", 5)] == [4]
    assert kinds(code, "x") == [(1, "assign"), (2, "annassign")]


def test_augmented_assignment_reads_then_rebinds() -> None:
    code = """
        total = 0
        total += 5
        total -= 1
        print(total)
    """
    r = reaching(code)
    assert r[("total", 2)] == [1]
    assert r[("total", 3)] == [2]
    assert r[("total", 4)] == [3]
    assert kinds(code, "total") == [(1, "assign"), (2, "augassign"), (3, "augassign")]


def test_for_targets_are_bound_each_iteration_and_after_the_loop() -> None:
    code = """
        i = -1
        for i, (j, k) in items:
            print(i, j, k)
        print(i)
    """
    r = reaching(code)
    assert r[("i", 3)] == [2] and r[("j", 3)] == [2] and r[("k", 3)] == [2]
    assert r[("i", 4)] == [1, 2]  # the loop may not run
    assert kinds(code, "j") == [(2, "for")]


def test_with_targets() -> None:
    code = """
        async def main(path, lock):
            with open(path) as f, lock:
                print(f)
            async with session() as (reader, writer):
                print(reader, writer)
            print(f)
    """
    r = reaching(code)
    assert r[("f", 3)] == [2]
    assert r[("reader", 5)] == [4] and r[("writer", 5)] == [4]
    assert r[("f", 6)] == [2]  # `with` targets stay bound after the block
    m = facts_of(code)
    f = next(d for d in m.defs.values() if d.name == "f")
    assert f.kind == "with" and f.value is not None and f.value.text == b"open(path)"


def test_except_target_is_bound_in_the_handler_only() -> None:
    code = """
        def f():
            err = None
            try:
                run()
            except (ValueError, KeyError) as err:
                print(err)
            except* OSError as group:
                print(group)
            return err
    """
    r = reaching(code)
    assert r[("err", 6)] == [5]
    assert r[("group", 8)] == [7]
    # `except E as err` ends with an implicit `del err`: only the binding from before the try reaches
    assert r[("err", 9)] == [2]
    assert kinds(code, "err") == [(2, "assign"), (5, "except")]


def test_walrus_binds_in_the_current_scope() -> None:
    r = reaching("""
        def f(data):
            if (n := len(data)) > 10:
                print(n)
            return n
    """)
    assert r[("n", 3)] == [2]
    assert r[("n", 4)] == [2]


def test_walrus_in_a_comprehension_binds_in_the_enclosing_function() -> None:
    code = """
        def f(values):
            last = None
            kept = [y for v in values if (last := v) and last > 0]
            nested = [[w for w in row if (deep := w)] for row in values]
            return last, kept, nested, deep
    """
    r = reaching(code)
    assert r[("last", 3)] == [3]  # inside the comprehension: its own walrus
    assert r[("last", 5)] == [2, 3]  # after it: the comprehension may run zero times
    assert r[("deep", 5)] == [4]  # from a nested comprehension too
    m = facts_of(code)
    last = [d for d in m.defs.values() if d.name == "last"]
    assert {d.scope.kind for d in last} == {"function"}


def test_comprehension_scopes_do_not_leak() -> None:
    r = reaching("""
        def f(rows):
            x = 0
            squares = [x * x for x in range(10)]
            pairs = {k: v for k, v in rows}
            total = sum(x for x in rows if x)
            return x, k
    """)
    assert r[("x", 3)] == [3]  # the comprehension's own x
    assert r[("x", 5)] == [5]
    assert r[("k", 4)] == [4] and r[("v", 4)] == [4]
    assert r[("x", 6)] == [2]  # the function's x is untouched
    assert r[("k", 6)] == []  # k never leaks out


def test_comprehension_sees_the_definitions_reaching_it() -> None:
    r = reaching("""
        def f(items):
            scale = 1
            first = [scale * i for i in items]
            scale = 2
            second = [scale * i for i in items]
            return first, second
    """)
    assert r[("scale", 3)] == [2]  # a comprehension runs where it stands
    assert r[("scale", 5)] == [4]
    assert r[("items", 3)] == [1]


def test_first_iterable_is_evaluated_in_the_enclosing_scope() -> None:
    r = reaching("""
        x = [1, 2]
        y = [x for x in x]
    """)
    assert r[("x", 2)] == [1, 2]  # `in x` reads the module's x (line 1); the element `x` reads the loop's


def test_global_redirects_bindings_to_the_module() -> None:
    code = """
        counter = 0

        def bump():
            global counter
            print(counter)
            counter += 1
            return counter

        def reset():
            global counter
            counter = 0
    """
    r = reaching(code)
    # before the function rebinds it, a global name may hold any module-level binding (flow-insensitive)
    assert r[("counter", 5)] == [1, 6, 11]
    assert r[("counter", 6)] == [1, 6, 11]
    # after the rebinding inside the function, only that binding reaches
    assert r[("counter", 7)] == [6]
    m = facts_of(code)
    assert {d.scope.kind for d in m.defs.values() if d.name == "counter"} == {"module"}


def test_nonlocal_redirects_bindings_to_the_enclosing_function() -> None:
    code = """
        def outer():
            n = 0
            def inner():
                nonlocal n
                n += 1
                return n
            inner()
            return n
    """
    r = reaching(code)
    assert r[("n", 5)] == [2, 5]  # the enclosing binding, or this one from an earlier call
    assert r[("n", 6)] == [5]
    assert r[("n", 8)] == [2]  # flow-sensitive in outer: the call's effect is not tracked
    m = facts_of(code)
    assert {d.scope.qualname for d in m.defs.values() if d.name == "n"} == {"outer"}


def test_free_variable_of_a_nested_function_reads_every_enclosing_binding() -> None:
    r = reaching("""
        def outer():
            factor = 1
            def scale(v):
                return v * factor
            factor = 2
            return scale
    """)
    assert r[("factor", 4)] == [2, 5]  # the closure runs later: any binding of the enclosing scope


# -- control flow -------------------------------------------------------------------------------------------------

def test_if_else_branches_join() -> None:
    r = reaching("""
        def f(c):
            x = 0
            if c:
                x = 1
            print(x)
            if c > 1:
                y = 1
            elif c > 2:
                y = 2
            else:
                y = 3
            return y
    """)
    assert r[("x", 5)] == [2, 4]  # no else: the before-state joins
    assert r[("y", 12)] == [7, 9, 11]


def test_loop_back_edge_reaches_uses_earlier_in_the_body() -> None:
    r = reaching("""
        def f(c):
            x = 0
            while c:
                print(x)
                x = x + 1
            return x
    """)
    assert r[("x", 4)] == [2, 5]
    assert r[("x", 5)] == [2, 5]
    assert r[("x", 6)] == [2, 5]


def test_nested_loops_reach_a_fixpoint() -> None:
    r = reaching("""
        def f(rows):
            a = b = 0
            for row in rows:
                print(a)
                for cell in row:
                    print(b)
                    b = cell
                a = b
            return a, b
    """)
    assert r[("a", 4)] == [2, 8]
    assert r[("b", 6)] == [2, 7]
    assert r[("b", 8)] == [2, 7]
    assert r[("a", 9)] == [2, 8] and r[("b", 9)] == [2, 7]


def test_break_continue_and_return_cut_the_flow() -> None:
    r = reaching("""
        def f(xs):
            r = None
            for x in xs:
                if x:
                    r = 1
                    break
                r = 2
                continue
                r = 3
            else:
                print(r)
            return r
    """)
    assert r[("r", 11)] == [2, 7]  # the else runs when the loop ends without break
    assert r[("r", 12)] == [2, 5, 7]  # r = 3 is unreachable


def test_return_and_raise_end_a_branch() -> None:
    r = reaching("""
        def f(c):
            if c:
                x = 1
                return x
            elif c > 1:
                x = 2
                raise ValueError(x)
            else:
                x = 3
            return x
    """)
    assert r[("x", 4)] == [3]
    assert r[("x", 10)] == [9]


def test_while_true_exits_only_by_break() -> None:
    r = reaching("""
        def f(read):
            line = None
            while True:
                line = read()
                if line:
                    break
            return line
    """)
    assert r[("line", 7)] == [4]  # not the initial None: the loop cannot end through its condition


def test_try_except_else_finally() -> None:
    r = reaching("""
        def f():
            x = 0
            try:
                x = 1
                x = 2
            except ValueError:
                print(x)
                x = 3
            except KeyError:
                return x
            else:
                print(x)
                x = 4
            finally:
                print(x)
            return x
    """)
    # a handler may start after any statement of the body
    assert r[("x", 7)] == [2, 4, 5]
    assert r[("x", 10)] == [2, 4, 5]
    assert r[("x", 12)] == [5]  # else: the body completed
    # finally also runs when an exception escapes from the body or a handler
    assert r[("x", 15)] == [2, 4, 5, 8, 13]
    # after the try: only the normal exits (the second handler returns)
    assert r[("x", 16)] == [8, 13]


def test_try_finally_without_handlers() -> None:
    r = reaching("""
        def f(lock):
            state = "idle"
            try:
                state = "busy"
                work()
            finally:
                print(state)
            return state
    """)
    assert r[("state", 7)] == [2, 4]
    assert r[("state", 8)] == [4]


def test_match_case_captures() -> None:
    code = """
        def handle(command):
            match command:
                case [x, *rest]:
                    print(x, rest)
                case {"key": value, **others}:
                    print(value, others)
                case Point(x=px) as point:
                    print(px, point)
                case str() | bytes() as raw:
                    print(raw)
                case _:
                    pass
            return x
    """
    r = reaching(code)
    assert r[("x", 4)] == [3] and r[("rest", 4)] == [3]
    assert r[("value", 6)] == [5] and r[("others", 6)] == [5]
    assert r[("px", 8)] == [7] and r[("point", 8)] == [7]
    assert r[("raw", 10)] == [9]
    assert r[("x", 13)] == [3]  # only the first case binds x
    assert r[("Point", 7)] == []
    assert kinds(code, "point") == [(7, "match")]


def test_class_scope_is_not_visible_in_methods() -> None:
    r = reaching("""
        limit = 10

        class Config:
            limit = 5
            double = limit * 2
            values = [limit for _ in range(3)]

            def check(self, v):
                return v < limit
    """)
    assert r[("limit", 5)] == [4]  # the class body itself reads the class binding
    assert r[("limit", 6)] == [1]  # a comprehension in a class body does not see it
    assert r[("limit", 9)] == [1]  # nor does a method: the module's binding


def test_del_unbinds() -> None:
    r = reaching("""
        def f(c):
            x = 1
            y = 2
            del x, y
            print(x, y)
            z = 3
            if c:
                del z
            return z
    """)
    assert r[("x", 4)] == [2] and r[("y", 4)] == [3]  # del reads the name
    assert r[("x", 5)] == [] and r[("y", 5)] == []
    assert r[("z", 9)] == [6]  # the path without del


def test_parameters_defaults_and_annotations() -> None:
    r = reaching("""
        default = 3
        Kind = int

        def f(a: Kind, b=default, *args, c=default, **kwargs):
            return a, b, args, c, kwargs
    """)
    assert r[("Kind", 4)] == [2]  # annotations and defaults are read in the enclosing scope
    assert r[("default", 4)] == [1]
    assert r[("a", 5)] == [4] and r[("args", 5)] == [4] and r[("kwargs", 5)] == [4]


def test_lambda_is_its_own_scope() -> None:
    r = reaching("""
        k = 2
        f = lambda x, y=k: x * y * k
        print(x)
    """)
    assert r[("k", 2)] == [1]
    assert r[("x", 2)] == [2] and r[("y", 2)] == [2]
    assert r[("x", 3)] == []


def test_definitions_inside_loops_are_recorded_once() -> None:
    """Loop bodies are walked until the flow converges; a def or class inside must not become f@2."""
    code = """
        for item in items:
            def handler(event):
                return event
            class Box:
                def get(self):
                    return item
            item = handler
    """
    m = facts_of(code)
    assert [f.qualname for f in m.functions] == ["handler", "Box.get"]
    assert [c.qualname for c in m.classes] == ["Box"]
    ids = {s.slot.id for s in extract_slots(m) if s.slot.kind in (SlotKind.PARAM, SlotKind.RETURN)}
    assert ids == {"mod.py::param::handler::event", "mod.py::return::handler::return",
                   "mod.py::return::Box.get::return"}
    assert reaching(code)[("item", 6)] == [1, 7]


@pytest.mark.parametrize("statement", ["x = 1", "x: int = 1", "for x in y: pass", "with y as x: pass",
                                       "import x", "from y import x", "def x(): pass", "class x: pass",
                                       "(x := 1)"])
def test_every_binding_form_reaches_a_later_use(statement: str) -> None:
    r = reaching(f"{statement}\nprint(x)\n")
    assert r[("x", 2)] == [1]


def test_reaching_definitions_are_listed_in_creation_order() -> None:
    """Reaching definitions are computed in sets; each use lists them in a reproducible order."""
    m = facts_of("""
        def f(c):
            x = 1
            if c == 1:
                x = 2
            elif c == 2:
                x = 3
            else:
                x = 4
            return x
    """)
    (use,) = [u for u in m.uses.values() if u.name == "x"]
    assert [d.node.start_point[0] + 1 for d in use.defs] == [4, 6, 8]
