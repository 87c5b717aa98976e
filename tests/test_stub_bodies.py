"""A stub body (`...`, with at most a docstring: overloads, protocol and abstract methods) says nothing of its
return type: its return slice reads `stub body`, not `no return`, and `None` is never a candidate for it. A body of
`pass` or a docstring alone is a real no-op (it returns None) and reads `no return`."""

from __future__ import annotations

from pathlib import Path

from typetool.pipeline import slice_paths
from typetool.python.language import LANGUAGE
from typetool.slices import render_slice

SOURCE = '''from typing import Protocol, overload

class P(Protocol):
    def clone(self):
        ...

    def name(self):
        """The name."""
        ...

    async def close(self):
        ...

    def hook(self):
        pass

    def documented(self):
        """Does nothing."""

class C:
    def run(self):
        print("x")

    def abstract(self):
        raise NotImplementedError

    @overload
    def f(self, x: int): ...
    @overload
    def f(self, x: str): ...
    def f(self, x):
        return x
'''


def test_stub_bodies_read_stub_body_and_never_get_none(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text(SOURCE, encoding="utf-8")
    run = slice_paths([tmp_path / "m.py"])
    evidence = {s.slot.scope: s.evidence for s in run.slices if s.slot.kind.value == "return"}
    assert "stub body" in evidence["P.clone"] and "stub body" in evidence["P.name"]
    assert "stub body" in evidence["P.close"] and "async def" in evidence["P.close"]
    assert "stub body" in evidence["C.f"] and "stub body" in evidence["C.f@2"]
    assert "no return" in evidence["C.run"] and "only raises" in evidence["C.abstract"]
    assert "no return" in evidence["P.hook"] and "no return" in evidence["P.documented"]
    assert not any("stub body" in e or "no return" in e for e in evidence["C.f@3"])
    texts = {s.slot.scope: render_slice(s) for s in run.slices if s.slot.kind.value == "return"}
    assert not LANGUAGE.admits("return", texts["P.close"], "None")
    assert not LANGUAGE.admits("return", texts["C.f"], "None")
    assert LANGUAGE.admits("return", texts["C.f"], "int")
    assert LANGUAGE.admits("return", texts["C.run"], "None")
    assert LANGUAGE.admits("param", texts["C.f"], "None")
