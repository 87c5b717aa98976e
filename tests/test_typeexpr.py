"""Tests for typetool.typeexpr: parsing, printing, normalization, spans and prediction-set tree operations."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from typetool.typeexpr import (
    ELLIPSIS,
    HOLE,
    NONE,
    TypeNode,
    TypeParseError,
    contains,
    hole_count,
    is_well_formed,
    names,
    nodes,
    normalize,
    normalize_label,
    outer,
    own_char_positions,
    parse_type,
    partial,
    replace_at,
    size,
    to_str,
    to_str_with_spans,
)

T = TypeNode

# Annotations seen in real code; each prints back exactly as written (canonical spelling).
ROUND_TRIP = [
    "int", "str", "None", "bytes", "Any", "object", "Path", "pathlib.Path", "np.ndarray", "torch.Tensor",
    "list[int]", "dict[str, Any]", "set[str]", "frozenset[int]", "type[Foo]", "tuple[()]",
    "tuple[int, str]", "tuple[int, ...]", "dict[str, list[tuple[int, ...]]]", "int | None",
    "str | bytes | os.PathLike[str]", "list[int | None] | None", "Optional[int]", "Union[int, str, None]",
    "List[Dict[str, Any]]", "Callable[..., Awaitable[None]]", "Callable[[], None]",
    "Callable[[int, str], bool]", "Callable[[Callable[[int], str]], list[str]]",
    "collections.abc.Mapping[str, Any]", "Iterator[tuple[str, int]]", "AsyncIterator[bytes]",
    "Literal['a', 'b']", "Literal[1, -1, True, None]", "Literal[Color.RED]", "Annotated[int, Field(gt=0)]",
    "Final[int]", "ClassVar[dict[str, int]]", "Generator[int, None, str]", "Coroutine[Any, Any, T]",
    "Mapping[str, Sequence[float]]", "type[BaseException] | None", "Concatenate[int, P]", "dict[str, ?]",
    "Callable[?, int]",
]

# Inputs that are accepted but print differently.
REWRITTEN = {
    '"Foo"': "Foo",
    "'list[\"Foo\"]'": "list[Foo]",
    'dict[str, "Node"]': "dict[str, Node]",
    'int | "str | None"': "int | str | None",
    'Literal["a"]': "Literal['a']",
    "dict[ str ,int ]": "dict[str, int]",
    "tuple[(int, str)]": "tuple[int, str]",
    "typing.Optional[ 'Foo' ]": "typing.Optional[Foo]",
    "Literal[+1]": "Literal[1]",
}

ILL_FORMED = [
    "", "   ", "int(", "dict[str", "f(x)", "lambda: int", "1 + 2", "int + str", "int and str", "1", "-1",
    "x == y", "[int, str]", "...", "int | ...", "dict[str, int][int]", "a[b].c", "foo()[int]", "{int}",
    "(int, str)", "Literal[x + 1]", "Literal[f()]", "int | [str]", "Callable[[[int]], str]", "int?",
    "??", "a.?", "?[int]", "not int", "*Ts", "x if y else z", "await x", "int; str", "int\nstr",
    "f'{x}'", '"1 + 2"', '"""', "tuple[*Ts]", "'" + "'" * 100,
]


@pytest.mark.parametrize("s", ROUND_TRIP)
def test_round_trip(s: str) -> None:
    t = parse_type(s)
    assert to_str(t) == s
    assert parse_type(to_str(t)) == t
    assert is_well_formed(s)


@pytest.mark.parametrize(("s", "expected"), sorted(REWRITTEN.items()))
def test_accepted_rewritten(s: str, expected: str) -> None:
    assert to_str(parse_type(s)) == expected


@pytest.mark.parametrize("s", ILL_FORMED)
def test_ill_formed_rejected(s: str) -> None:
    assert not is_well_formed(s)
    with pytest.raises(TypeParseError):
        parse_type(s)
    assert issubclass(TypeParseError, ValueError)


def test_tree_shapes() -> None:
    assert parse_type("dict[str, list[int]]") == T("dict", (T("str"), T("list", (T("int"),))))
    assert parse_type("int | str | None") == T("|", (T("int"), T("str"), NONE))
    assert parse_type("Callable[[int], str]") == T("Callable", (T("[]", (T("int"),)), T("str")))
    assert parse_type("Callable[..., T]") == T("Callable", (ELLIPSIS, T("T")))
    assert parse_type("tuple[()]") == T("tuple", (T("()"),))
    assert parse_type("Literal['a', 1, True]") == T("Literal", (T("'a'"), T("1"), T("True")))
    assert parse_type("dict[str, ?]") == T("dict", (T("str"), HOLE))
    assert parse_type("?") == HOLE
    assert parse_type("Literal['?']") == T("Literal", (T("'?'"),))  # a ? inside a string is not a hole


NORMALIZE = {
    "List[int]": "list[int]",
    "typing.List[int]": "list[int]",
    "t.Dict[str, t.Any]": "dict[str, Any]",
    "typing_extensions.Literal['x']": "Literal['x']",
    "Set[FrozenSet[int]]": "set[frozenset[int]]",
    "Tuple[int, ...]": "tuple[int, ...]",
    "Type[Foo]": "type[Foo]",
    "typing.DefaultDict[str, typing.Deque[int]]": "defaultdict[str, deque[int]]",
    "collections.defaultdict[str, int]": "defaultdict[str, int]",
    "collections.abc.Callable[[int], str]": "Callable[[int], str]",
    "collections.abc.Set[int]": "AbstractSet[int]",
    "torch.Tensor": "Tensor",
    "Text": "str",
    "Optional[int]": "int | None",
    "Optional[Union[str, int]]": "int | str | None",
    "Union[str, int]": "int | str",
    "Union[None, str, int]": "int | str | None",
    "None | int": "int | None",
    "Union[int, Union[str, bytes]]": "bytes | int | str",
    "int | Optional[str] | Union[int, None]": "int | str | None",
    "Union[int, int]": "int",
    "Union[List[int], list[int]]": "list[int]",
    "dict[str, Optional[List[int]]]": "dict[str, list[int] | None]",
    "'Optional[\"Foo\"]'": "Foo | None",
    "Final[int]": "int",
    "typing.Final[Optional[int]]": "int | None",
    "ClassVar[Final[int]]": "int",
    "Annotated[List[int], Field(gt=0), 'doc']": "list[int]",
    "Required[int]": "int",
    "NotRequired[Optional[str]]": "str | None",
    "ReadOnly[int]": "int",
    "Literal[Literal['a', 'b'], 'c', 'a']": "Literal['a', 'b', 'c']",
    "Literal['collections.abc.Set']": "Literal['collections.abc.Set']",
    "Callable[[Optional[int]], Tuple[()]]": "Callable[[int | None], tuple[()]]",
    "dict[str, ?] | None": "dict[str, ?] | None",
}


@pytest.mark.parametrize(("s", "expected"), sorted(NORMALIZE.items()))
def test_normalize(s: str, expected: str) -> None:
    n = normalize(parse_type(s))
    assert to_str(n) == expected
    assert normalize(n) == n


@pytest.mark.parametrize(("s", "expected"), [
    ("Optional[List[int]]", "list[int] | None"),
    ("Final", None), ("typing.Final", None), ("ClassVar", None), ("TypeAlias", None),
    ("typing_extensions.TypeAlias", None), ("ClassVar[Final]", None),
    ("Final[str]", "str"), ("f(x)", None), ("dict[str,", None), ("dict[str, ?]", None),
    ("'Foo'", "Foo"), ("typing.Any", "Any"),
])
def test_normalize_label(s: str, expected: str | None) -> None:
    assert normalize_label(s) == expected


TYPING_STYLE = {
    "int | None": "Optional[int]",
    "None | int": "Optional[int]",
    "int | str": "Union[int, str]",
    "int | str | None": "Union[int, str, None]",
    "dict[str, list[int]]": "Dict[str, List[int]]",
    "set[frozenset[int]] | None": "Optional[Set[FrozenSet[int]]]",
    "tuple[type[Foo], ...]": "Tuple[Type[Foo], ...]",
    "tuple[()]": "Tuple[()]",
    "defaultdict[str, deque[int]]": "DefaultDict[str, Deque[int]]",
    "list": "list",
    "Callable[[list[int]], dict[str, int] | None]": "Callable[[List[int]], Optional[Dict[str, int]]]",
    "Literal['a', 'b'] | None": "Optional[Literal['a', 'b']]",
}


@pytest.mark.parametrize(("s", "expected"), sorted(TYPING_STYLE.items()))
def test_typing_style(s: str, expected: str) -> None:
    t = parse_type(s)
    out = to_str(t, style="typing")
    assert out == expected
    assert normalize(parse_type(out)) == normalize(t)


def test_hole_printing() -> None:
    t = parse_type("dict[str, ?] | None")
    assert to_str(t) == "dict[str, ?] | None"
    assert to_str(t, hole="Any") == "dict[str, Any] | None"
    assert to_str(t, style="typing", hole="Any") == "Optional[Dict[str, Any]]"
    assert to_str(HOLE, hole="Any") == "Any"
    # Written-back holes stay valid Python typing.
    assert to_str(parse_type("Callable[?, int]"), hole="Any") == "Callable[..., int]"
    assert to_str(parse_type("Literal['a', ?]"), hole="Any") == "Any"
    assert to_str(parse_type("Literal['a', ?]")) == "Literal['a', ?]"
    with pytest.raises(ValueError):
        to_str(t, style="py2")  # type: ignore[arg-type]


def test_nodes_replace_partial() -> None:
    t = parse_type("dict[str, list[int]]")
    assert [(p, n.name) for p, n in nodes(t)] == [
        ((), "dict"), ((0,), "str"), ((1,), "list"), ((1, 0), "int")]
    assert to_str(replace_at(t, (1, 0), parse_type("float | None"))) == "dict[str, list[float | None]]"
    assert replace_at(t, (), HOLE) == HOLE
    with pytest.raises(IndexError):
        replace_at(t, (2,), HOLE)
    assert to_str(partial(t, {(), (0,), (1,)})) == "dict[str, list[?]]"
    assert to_str(partial(t, {(), (0,)})) == "dict[str, ?]"
    assert partial(t, set()) == HOLE
    assert partial(t, {p for p, _ in nodes(t)}) == t
    with pytest.raises(ValueError):
        partial(t, {(), (1, 0)})  # not downward closed: (1,) missing
    with pytest.raises(ValueError):
        partial(t, {(), (5,)})
    assert size(t) == 4 and hole_count(t) == 0
    assert size(partial(t, {(), (0,)})) == 3 and hole_count(partial(t, {(), (0,)})) == 1


def test_contains() -> None:
    full = T("dict", (T("str"), T("list", (T("int"),))))
    assert contains(HOLE, full)
    assert contains(full, full)
    assert contains(T("dict", (T("str"), HOLE)), full)
    assert contains(T("dict", (HOLE, HOLE)), full)
    assert contains(T("dict", (T("str"), T("list", (HOLE,)))), full)
    assert not contains(T("dict", (T("bytes"), HOLE)), full)
    assert not contains(T("Mapping", (T("str"), HOLE)), full)
    assert not contains(T("dict", (HOLE,)), full)  # arity differs
    assert not contains(T("dict", (T("str"), T("list", (T("str"),)))), full)
    assert not contains(full, T("dict", (T("str"), HOLE)))  # a hole in the full type is not a type
    # Unions match as sets; a hole is one member.
    u = parse_type("bytes | int | None")
    assert contains(parse_type("int | ? | None"), u)
    assert contains(parse_type("None | bytes | int"), u)
    assert contains(parse_type("? | ? | ?"), u)
    assert not contains(parse_type("int | ?"), u)
    assert not contains(parse_type("int | str | ?"), u)
    assert contains(parse_type("list[?] | None"), parse_type("list[str] | None"))
    assert not contains(parse_type("list[?] | None"), parse_type("set[str] | None"))
    assert contains(parse_type("Callable[?, ?]"), parse_type("Callable[[int], str]"))
    assert contains(parse_type("Literal['a', ?]"), parse_type("Literal['a', 'b']"))


def test_outer_and_names() -> None:
    assert outer(parse_type("dict[str, int]")) == T("dict")
    assert outer(parse_type("list[int] | None")) == outer(parse_type("None | list[str]"))
    assert to_str(outer(parse_type("None | list[int] | list[str] | dict[str, int]"))) == "dict | list | None"
    assert outer(parse_type("int")) == T("int")
    assert outer(parse_type("list[int] | list[str]")) == T("list")
    assert names(parse_type("dict[str, list[Foo]] | None")) == {"dict", "str", "list", "Foo", "None"}
    assert names(parse_type("Callable[..., tuple[()]]")) == {"Callable", "tuple"}
    assert names(parse_type("Literal['a', Color.RED] | ?")) == {"Literal"}
    assert names(parse_type("Annotated[int, Field(gt=0)]")) == {"Annotated", "int"}
    assert names(parse_type("Literal[Literal['a']]")) == {"Literal"}


@pytest.mark.parametrize("s", ROUND_TRIP + ["Optional[Union[int, str]]", "int | str | None"])
@pytest.mark.parametrize("style", ["pep604", "typing"])
def test_spans(s: str, style: str) -> None:
    t = parse_type(s)
    text, spans = to_str_with_spans(t, style=style)  # type: ignore[arg-type]
    assert text == to_str(t, style=style)  # type: ignore[arg-type]
    assert set(spans) == {p for p, _ in nodes(t)}
    for path, node in nodes(t):
        start, end = spans[path]
        if style == "pep604":
            assert text[start:end] == to_str(node)  # the span is exactly the subtree's own printing
        for i in range(len(node.args)):  # children nest inside the parent, in disjoint spans
            cs, ce = spans[path + (i,)]
            assert start <= cs <= ce <= end
            for j in range(i):
                os_, oe = spans[path + (j,)]
                assert ce <= os_ or oe <= cs or cs == ce or os_ == oe


def test_own_char_positions() -> None:
    t = parse_type("dict[str, list[int] | None]")
    text = to_str(t)
    own = own_char_positions(t)
    own_text = {p: "".join(text[i] for i in pos) for p, pos in own.items()}
    assert own_text == {
        (): "dict[, ]", (0,): "str", (1,): " | ", (1, 0): "list[]", (1, 0, 0): "int", (1, 1): "None",
    }
    # Own texts partition the string: concatenated in position order they give it back.
    assert sorted(i for pos in own.values() for i in pos) == list(range(len(text)))
    names_only = "".join(v for k, v in sorted(own_text.items()) if k)
    assert names_only.replace(" | ", "").replace("[]", "") == "strlistintNone"


# ------------------------------------------------------------------------------------- property tests

PLAIN = ["int", "str", "None", "Foo", "pkg.mod.Bar", "Any", "T", "torch.Tensor", "t.Any", "Final", "List",
         "typing.Set", "collections.abc.Set", "NoneType", "Text"]
GENERIC = ["list", "dict", "set", "tuple", "type", "Mapping", "typing.List", "typing.Dict", "Optional",
           "Union", "Final", "ClassVar", "Required", "typing_extensions.ReadOnly", "Type",
           "collections.deque"]
VALUES = ["'a'", "'b'", '"it\'s"', "1", "-2", "True", "None", "b'x'", "Color.RED"]
METADATA = ["'doc'", "Field(gt=0)", "3"]

leaves = st.one_of(st.sampled_from(PLAIN).map(T), st.just(HOLE))


def _union(members: list[TypeNode]) -> TypeNode:
    """A union in the form parse_type produces: members that are unions are spliced in."""
    return T("|", tuple(x for m in members for x in (m.args if m.name == "|" else (m,))))


def _extend(children: st.SearchStrategy[TypeNode]) -> st.SearchStrategy[TypeNode]:
    params = st.lists(children, max_size=3).map(lambda a: T("[]", tuple(a)))
    values = st.lists(st.sampled_from(VALUES).map(T) | st.just(HOLE), min_size=1, max_size=3)
    return st.one_of(
        st.builds(T, st.sampled_from(GENERIC), st.lists(children, min_size=1, max_size=3).map(tuple)),
        st.lists(children, min_size=2, max_size=3).map(_union),
        st.builds(lambda ps, r: T("Callable", (ps, r)),
                  st.just(ELLIPSIS) | st.just(HOLE) | params,
                  children),
        children.map(lambda c: T("tuple", (c, ELLIPSIS))),
        st.just(T("tuple", (T("()"),))),
        values.map(lambda v: T("Literal", tuple(v))),
        st.builds(lambda c, m: T("Annotated", (c, *map(T, m))), children,
                  st.lists(st.sampled_from(METADATA), min_size=1, max_size=2)),
    )


type_trees = st.recursive(leaves, _extend, max_leaves=12)


@settings(max_examples=400, deadline=None)
@given(type_trees)
def test_property_parse_print_normalize(t: TypeNode) -> None:
    s = to_str(t)
    assert parse_type(s) == t
    n = normalize(t)
    assert normalize(n) == n
    assert parse_type(to_str(n)) == n
    assert normalize(parse_type(to_str(t, style="typing"))) == n
    assert normalize(parse_type(to_str(n, style="typing"))) == n
    assert is_well_formed(to_str(t, hole="Any"))


@settings(max_examples=300, deadline=None)
@given(type_trees, st.data())
def test_property_spans_and_partial(t: TypeNode, data: st.DataObject) -> None:
    text, spans = to_str_with_spans(t)
    for path, node in nodes(t):
        assert text[slice(*spans[path])] == to_str(node)
    own = own_char_positions(t)
    assert sorted(i for pos in own.values() for i in pos) == list(range(len(text)))
    # A random downward-closed keep set: walk from the root, keeping each child with some chance.
    keep: set[tuple[int, ...]] = set()
    if data.draw(st.booleans()):
        keep.add(())
        for path, node in nodes(t):
            if path in keep:
                for i in range(len(node.args)):
                    if data.draw(st.booleans()):
                        keep.add(path + (i,))
    p = partial(t, keep)
    assert contains(p, t)
    cut = [path for path, _ in nodes(t) if path not in keep and (not path or path[:-1] in keep)]
    assert size(p) == len(keep) + len(cut)
    assert all(replace_at(p, path, HOLE) == p for path in cut)
    assert parse_type(to_str(p)) == p
