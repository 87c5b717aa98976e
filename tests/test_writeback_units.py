"""Small unit tests of write-back: options, refusals, the proof itself, atomic writes."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

import typetool.python.writeback as wb
from typetool.fileio import atomic_write
from typetool.python.writeback import apply_types, locate_slots, strip_annotations, verify_rewrite
from typetool.writeback import UnsafeRewrite, WriteError, WriteMode, WriteOptions, parse_target_version


def test_parse_target_version() -> None:
    assert parse_target_version("py39") == (3, 9)
    assert parse_target_version("py310") == (3, 10)
    assert parse_target_version("3.12") == (3, 12)
    for bad in ("py2", "py27", "python3", "4.0", ""):
        with pytest.raises(ValueError):
            parse_target_version(bad)
    assert WriteOptions(target_version=(3, 9)).style == "typing"
    assert WriteOptions().style == "pep604"


def test_write_modes() -> None:
    assert WriteMode.from_flags(False, False) is WriteMode.WRITE
    assert WriteMode.from_flags(True, False) is WriteMode.DIFF
    assert WriteMode.from_flags(False, True) is WriteMode.CHECK
    assert WriteMode.from_flags(True, True) is WriteMode.DIFF_CHECK
    assert WriteMode.DIFF_CHECK.shows_diff and WriteMode.DIFF_CHECK.checks and not WriteMode.DIFF_CHECK.writes


@pytest.mark.parametrize(("text", "code"), [
    ("def f(x):\r    return x\r", "not-round-trippable"),  # old Mac line endings: libcst drops a byte
    ("type Alias = int\n", "syntax-error"),  # 3.12 syntax: the Python running typetool cannot check it
    ("(x): int = 1\n", "syntax-error"),  # valid Python that libcst cannot parse
    ("def f(:\n", "syntax-error"),
])
def test_files_that_cannot_be_rewritten_are_refused(text: str, code: str) -> None:
    with pytest.raises(wb.Refused) as info:
        apply_types(text, "m.py", {"m.py::param::f::x": "int"})
    assert info.value.entry[0] == code


def test_all_hole_and_existing_annotations_are_not_written() -> None:
    r = apply_types("def f(x: int, y):\n    pass\n", "m.py",
                    {"m.py::param::f::x": "str", "m.py::param::f::y": "?", "m.py::return::f::return": "None"})
    assert r.new == "def f(x: int, y) -> None:\n    pass\n"
    assert [s.status.value for s in r.slots] == ["skipped", "skipped", "written"]


def test_global_binding_is_not_annotated_where_python_forbids_it() -> None:
    text = "def f():\n    global g\n    g = 1\n\n\ng = 0\n"
    slots = locate_slots(text, "m.py")
    assert "m.py::variable::f::g" not in slots
    r = apply_types(text, "m.py", {"m.py::variable::<module>::g": "int"})
    assert r.new == "def f():\n    global g\n    g = 1\n\n\ng: int = 0\n"
    verify_rewrite(r.old, r.new, r.added_imports)


def test_verify_rejects_changes_beyond_annotations() -> None:
    old = "import os\n\n\ndef f(x):  # keep me\n    return x + 1\n"
    verify_rewrite(old, "import os\nfrom typing import Any\n\n\ndef f(x: Any) -> int:  # keep me\n    return x + 1\n",
                   frozenset({("typing", "Any")}))
    with pytest.raises(UnsafeRewrite, match="syntax trees differ"):
        verify_rewrite(old, old.replace("x + 1", "x + 2"))
    with pytest.raises(UnsafeRewrite, match="syntax trees differ"):  # an import not declared as added
        verify_rewrite(old, "from typing import Any\n" + old)
    with pytest.raises(UnsafeRewrite, match="syntax trees differ"):  # an import removed
        verify_rewrite(old, old.replace("import os\n", ""))
    with pytest.raises(UnsafeRewrite, match="comments differ"):
        verify_rewrite(old, old.replace("  # keep me", ""))
    with pytest.raises(UnsafeRewrite, match="does not parse"):
        verify_rewrite(old, old.replace("return", "retrun"))
    bare = "def f():\n    x: int\n    print(x)\n"
    with pytest.raises(UnsafeRewrite, match="local names"):  # deleting `x: int` makes `x` global
        verify_rewrite(bare, "def f():\n    print(x)\n")
    with pytest.raises(UnsafeRewrite, match="scope checks"):
        verify_rewrite("def f():\n    global g\n    g = 1\n", "def f():\n    global g\n    g: int = 1\n")


def test_strip_keeps_a_declaration_that_makes_a_name_local() -> None:
    text = "def f():\n    x: int\n    print(x)\n\n\ndef g():\n    y: int\n\n    def h():\n        nonlocal y\n" \
           "        y = 1\n"
    r = strip_annotations(text, "m.py")
    assert r.new == text
    verify_rewrite(r.old, r.new)


def test_second_application_check_catches_instability() -> None:
    text = "def f(x):\n    return x\n"
    r = apply_types(text, "m.py", {"m.py::param::f::x": "int"})
    wb._check_stable(r, lambda m: apply_types(m, "m.py", {"m.py::param::f::x": "int"}))
    with pytest.raises(UnsafeRewrite, match="second application"):
        wb._check_stable(r, lambda m: apply_types(m, "m.py", {"m.py::param::f::x": "str"},
                                                   WriteOptions(overwrite=True)))


def test_atomic_write_keeps_mode_and_refuses_changed_or_read_only(tmp_path: Path) -> None:
    f = tmp_path / "a.py"
    f.write_bytes(b"old\n")
    os.chmod(f, 0o750)
    sha = hashlib.sha256(b"old\n").hexdigest()
    atomic_write(f, b"new\n", sha)
    assert f.read_bytes() == b"new\n" and (os.stat(f).st_mode & 0o777) == 0o750
    with pytest.raises(WriteError, match="changed on disk"):
        atomic_write(f, b"newer\n", sha)
    assert f.read_bytes() == b"new\n"
    os.chmod(f, 0o444)
    try:
        with pytest.raises(WriteError, match="read-only"):
            atomic_write(f, b"x\n", hashlib.sha256(b"new\n").hexdigest())
    finally:
        os.chmod(f, 0o644)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.py"]


def test_a_local_import_is_the_meaning_of_a_name_but_a_local_value_is_not() -> None:
    text = ("class Lines:\n    list = []\n\n    def justify(self, width):\n        from rich.text import Text\n\n"
            "        tokens = []\n        return tokens\n")
    types = {"m.py::variable::Lines.justify::tokens": "List[Text]", "m.py::param::Lines.justify::width": "int",
             "m.py::return::Lines.justify::return": "list[Text]"}
    r = apply_types(text, "m.py", types)
    assert "        tokens: List[Text] = []\n" in r.new and "from typing import List" in r.new
    assert "def justify(self, width: int):" in r.new  # `list` is the class attribute here: not written
    assert {s.slot_id: s.code for s in r.slots}["m.py::return::Lines.justify::return"] == "shadowed-name"
    verify_rewrite(r.old, r.new, r.added_imports)


def test_a_class_body_binding_shadows_only_below_it() -> None:
    """As in pytest's `LineMatcher`: a method named `str` hides the builtin only for signatures after it."""
    text = "class M:\n    def a(self, x):\n        return x\n\n    def str(self):\n        return ''\n\n" \
           "    def b(self, y):\n        return y\n"
    r = apply_types(text, "m.py", {"m.py::param::M.a::x": "str", "m.py::return::M.str::return": "str",
                                   "m.py::param::M.b::y": "str"})
    assert "def a(self, x: str):" in r.new and "def str(self) -> str:" in r.new and "def b(self, y):" in r.new
    assert {s.slot_id: s.code for s in r.slots}["m.py::param::M.b::y"] == "shadowed-name"


def test_a_type_checking_import_joins_a_block_whose_variable_was_just_annotated() -> None:
    """Found by the property test on pytest's `_py/error.py`: the annotated variable sits in the module's
    `if TYPE_CHECKING:` block, which the rewrite replaces, and the new TYPE_CHECKING import must still go into
    that block."""
    text = ("from typing import TYPE_CHECKING, TypeVar\n\n"
            "if TYPE_CHECKING:\n    from typing_extensions import ParamSpec\n\n    P = ParamSpec('P')\n\n"
            "R = TypeVar('R')\n\n\ndef f(w):\n    return w\n")

    def index_of(name: str) -> list[str]:
        return {"Widget": ["pkg.widgets"]}.get(name, [])

    r = apply_types(text, "m.py", {"m.py::variable::<module>::P": "ParamSpec", "m.py::param::f::w": "Widget"},
                    module_name="pkg.m", index=index_of)
    assert "if TYPE_CHECKING:\n    from typing_extensions import ParamSpec\n\n    P: \"ParamSpec\" = ParamSpec('P')\n" \
           "    from pkg.widgets import Widget\n" in r.new, r.new
    assert 'def f(w: "Widget"):' in r.new
