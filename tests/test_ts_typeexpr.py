"""Tests for typetool.ts.typeexpr: TS type text <-> the shared bracket-form trees, normal form, printing back."""

from __future__ import annotations

import pytest
import tree_sitter as ts
from hypothesis import given, settings
from hypothesis import strategies as st

from typetool.ts.parse import typescript_language
from typetool.ts.typeexpr import normalize_ts, normalize_ts_label, parse_ts_type, to_ts
from typetool.typeexpr import (
    ELLIPSIS,
    EMPTY_TUPLE,
    HOLE,
    TypeNode,
    TypeParseError,
    nodes,
    parse_type,
    partial,
    to_str,
)

T = TypeNode

# TS text -> the tree as parsed (before normalization), printed by typeexpr.to_str.
CONVERSIONS = [
    ("string", "string"), ("number", "number"), ("boolean", "boolean"), ("any", "any"), ("unknown", "unknown"),
    ("void", "void"), ("undefined", "undefined"), ("null", "null"), ("never", "never"), ("object", "object"),
    ("bigint", "bigint"), ("symbol", "symbol"), ("this", "this"), ("Foo", "Foo"), ("HTMLElement", "HTMLElement"),
    ("string[]", "Array[string]"), ("string[][]", "Array[Array[string]]"), ("Array<string>", "Array[string]"),
    ("readonly T[]", "ReadonlyArray[T]"), ("ReadonlyArray<T>", "ReadonlyArray[T]"),
    ("readonly string[][]", "ReadonlyArray[Array[string]]"), ("readonly (A | B)[]", "ReadonlyArray[A | B]"),
    ("readonly string[] | undefined", "ReadonlyArray[string] | undefined"),
    ("readonly A[] & B | C", "Intersection[ReadonlyArray[A], B] | C"),
    ("(A | B)[]", "Array[A | B]"), ("Array<A | B>", "Array[A | B]"),
    ("(string | null)[] | null", "Array[string | null] | null"),
    ("Promise<Foo>", "Promise[Foo]"), ("Promise<void>", "Promise[void]"),
    ("Map<string, number[]>", "Map[string, Array[number]]"), ("Set<string>", "Set[string]"),
    ("Record<string, Array<Promise<T>>>", "Record[string, Array[Promise[T]]]"),
    ("Partial<Pick<User, K>>", "Partial[Pick[User, K]]"),
    ("A | null | undefined", "A | null | undefined"), ("| A\n| B", "A | B"), ("A | (B | C)", "A | B | C"),
    ("ns.Foo<T>", "ns.Foo[T]"), ("a.b.C", "a.b.C"), ("React.FC<Props>", "React.FC[Props]"),
    ("[A, B]", "tuple[A, B]"), ("[]", "tuple[()]"), ("[string]", "tuple[string]"), ("readonly [A, B]", "tuple[A, B]"),
    ("[x: number, y: number]", "tuple[number, number]"), ("[string, number][]", "Array[tuple[string, number]]"),
    ("() => void", "Callable[[], void]"), ("(a: A, b?: B) => R", "Callable[[A, B], R]"),
    ("(...args: any[]) => void", "Callable[..., void]"), ("(a: A, ...rest: B[]) => R", "Callable[..., R]"),
    ("(this: Window, ev: Event) => any", "Callable[[Event], any]"),
    ("({ a }: Props, b) => R", "Callable[[Props, any], R]"),
    ("(cb: (err: Error | null) => void) => Promise<void>", "Callable[[Callable[[Error | null], void]], Promise[void]]"),
    ("() => () => T", "Callable[[], Callable[[], T]]"), ("(() => void)[]", "Array[Callable[[], void]]"),
    ("(() => void) | null", "Callable[[], void] | null"), ("() => A | B", "Callable[[], A | B]"),
    ("A & B", "Intersection[A, B]"), ("A & B & C", "Intersection[A, B, C]"), ("(A & B) | C", "Intersection[A, B] | C"),
    ("A & (B | C)", "Intersection[A, B | C]"),
    ("'a'", "Literal['a']"), ('"a"', "Literal['a']"), ("'it\\'s'", 'Literal["it\'s"]'), ("'a\\nb'", "Literal['a\\nb']"),
    ("'\\u{41}\\x42'", "Literal['AB']"), ("1", "Literal[1]"), ("-1", "Literal[-1]"), ("1.5", "Literal[1.5]"),
    ("0x10", "Literal[16]"), ("1_000", "Literal[1000]"), ("1e3", "Literal[1000]"), ("true", "Literal[true]"),
    ("false", "Literal[false]"), ("'a' | 'b'", "Literal['a'] | Literal['b']"),
    ("'GET' | 'POST' | null", "Literal['GET'] | Literal['POST'] | null"),
    ("(A)", "A"), ("((string))[]", "Array[string]"), ("Map<\n  string, // key\n  number\n>", "Map[string, number]"),
    ("A /* note */ | B", "A | B"),
]

UNSUPPORTED = [
    "{ a: string }", "{}", "{ [key: string]: number }", "{ [K in Keys]: T[K] }", "T extends U ? X : Y", "keyof T",
    "typeof x", "T[K]", "T['a']", "`a${string}`", "x is T", "asserts x", "asserts x is T", "new () => T",
    "abstract new () => T", "unique symbol", "<T>(x: T) => T", "1n", "[A, B?]", "[A, ...B[]]", "[...A[]]",
    "[a: A, b?: B]", "readonly Foo", "Array<{ a: string }>", "() => { a: string }", "infer U", "'\\u{110000}'",
]

SYNTAX_ERRORS = ["", "   ", "string[", "A |", "Foo<>", "Map<string,", "string; let y: number", "string = 3",
                 "string, y: number", "A\nB", "(a: A) =>", "x.", "[A, B"]


@pytest.mark.parametrize(("text", "expected"), CONVERSIONS)
def test_conversion(text: str, expected: str) -> None:
    tree = parse_ts_type(text)
    assert to_str(tree) == expected
    assert parse_type(expected) == tree  # the bracket form is the one the Python-side parser reads


def test_conversion_table_is_large() -> None:
    assert len(CONVERSIONS) >= 40


@pytest.mark.parametrize("text", UNSUPPORTED + SYNTAX_ERRORS)
def test_unsupported_and_malformed_raise(text: str) -> None:
    with pytest.raises(TypeParseError):
        parse_ts_type(text)
    assert normalize_ts_label(text) is None


def test_parse_guards_depth() -> None:
    assert parse_ts_type("Promise<" * 50 + "T" + ">" * 50).name == "Promise"
    with pytest.raises(TypeParseError):
        parse_ts_type("Promise<" * 300 + "T" + ">" * 300)
    with pytest.raises(TypeParseError):
        parse_ts_type("(" * 300 + "T" + ")" * 300)
    wide = parse_ts_type(" | ".join(f"'v{i}'" for i in range(1000)))  # long chains are not deep
    assert wide.name == "|" and len(wide.args) == 1000 and wide.args[-1] == T("Literal", (T("'v999'"),))
    assert len(parse_ts_type(" & ".join(f"A{i}" for i in range(500))).args) == 500


# ---------------------------------------------------------------------------------------------- normalization

@pytest.mark.parametrize(("text", "label"), [
    ("undefined | null | string", "string | null | undefined"),
    ("null | B | A", "A | B | null"),
    ("string | string[] | string", "Array[string] | string"),
    ("Array<string> | string[]", "Array[string]"),
    ("ReadonlyArray<T> | readonly T[]", "ReadonlyArray[T]"),
    ("Set<T>", "Set[T]"), ("Map<K, V>", "Map[K, V]"), ("Record<string, List>", "Record[string, List]"),
    ("Dict", "Dict"), ("Tuple<A>", "Tuple[A]"),
    ("ns.Foo<T>", "Foo[T]"), ("React.ReactNode | undefined", "ReactNode | undefined"),
    ("B & A & (C & A)", "Intersection[A, B, C]"), ("A & A", "A"),
    ("'b' | 'a' | 'b'", "Literal['a'] | Literal['b']"), ("1 | 0x1", "Literal[1]"),
    ("Promise<null | T>", "Promise[T | null]"), ("(b: B | A) => void", "Callable[[A | B], void]"),
    ("readonly A[] | B", "B | ReadonlyArray[A]"),
])
def test_normalize_ts_label(text: str, label: str) -> None:
    assert normalize_ts_label(text) == label
    assert normalize_ts(parse_type(label)) == parse_type(label)  # idempotent on the printed label


def test_normalize_label_rejects_names_the_shared_parser_cannot_read() -> None:
    assert to_str(parse_ts_type("$Foo")) == "$Foo"
    assert normalize_ts_label("$Foo") is None
    assert normalize_ts_label("Array<$Foo>") is None


def test_normalize_ts_reads_model_output_and_keeps_holes() -> None:
    assert normalize_ts(parse_type("null | Promise[string]")) == parse_ts_type("Promise<string> | null")
    assert normalize_ts(parse_type("Literal['b', 'a']")) == parse_ts_type("'a' | 'b'")
    assert normalize_ts(parse_type("Intersection[B, Intersection[A, ?]]")) == parse_type("Intersection[?, A, B]")
    assert normalize_ts(parse_type("Callable[..., ns.T]")) == T("Callable", (ELLIPSIS, T("T")))
    assert normalize_ts(parse_type("tuple[()]")) == T("tuple", (EMPTY_TUPLE,))
    assert normalize_ts(HOLE) == HOLE


# --------------------------------------------------------------------------------------------------- printing

@pytest.mark.parametrize(("bracket", "expected"), [
    ("Array[string]", "string[]"), ("Array[string | null]", "(string | null)[]"),
    ("Array[Callable[[], void]]", "(() => void)[]"), ("Array[Intersection[A, B]]", "(A & B)[]"),
    ("Array[Array[number]]", "number[][]"), ("ReadonlyArray[A | B]", "readonly (A | B)[]"),
    ("ReadonlyArray[A] | null", "(readonly A[]) | null"), ("Promise[Array[T]]", "Promise<T[]>"),
    ("Map[str, Array[int]]", "Map<str, int[]>"), ("tuple[A, B]", "[A, B]"), ("tuple[()]", "[]"),
    ("Callable[[A, B], R]", "(arg0: A, arg1: B) => R"), ("Callable[[], void]", "() => void"),
    ("Callable[..., R]", "(...args: any[]) => R"), ("Callable[?, R]", "(...args: any[]) => R"),
    ("Callable[[], void] | null", "(() => void) | null"), ("Callable[[], A | B]", "() => A | B"),
    ("Intersection[A, B | C]", "A & (B | C)"), ("Intersection[A, B] | C", "A & B | C"),
    ("Literal['a']", "'a'"), ("Literal[\"it's\"]", "'it\\'s'"), ("Literal['a\\nb']", "'a\\nb'"),
    ("Literal['a', 1, true]", "'a' | 1 | true"), ("Array[Literal['a', 'b']]", "('a' | 'b')[]"),
    ("Array[Literal[-1]]", "(-1)[]"), ("ns.Foo[T]", "ns.Foo<T>"), ("? | null", "any | null"),
])
def test_to_ts(bracket: str, expected: str) -> None:
    tree = parse_type(bracket)
    assert to_ts(tree) == expected
    parse_ts_type(expected)  # valid TS


def test_holes_print_as_any_or_unknown() -> None:
    tree = parse_type("Map[?, Array[?]] | Callable[?, ?] | Literal['a', ?]")
    assert to_ts(tree) == "Map<any, any[]> | ((...args: any[]) => any) | 'a' | any"
    assert to_ts(tree, hole="unknown") == "Map<unknown, unknown[]> | ((...args: any[]) => unknown) | 'a' | unknown"
    assert to_ts(HOLE) == "any"
    assert to_ts(HOLE, hole="unknown") == "unknown"


def _filled(t: TypeNode, hole: str) -> TypeNode:
    """What `to_ts(t, hole)` means as a tree: holes become `hole`, a holed parameter list `...`, and a Literal's
    values single-value Literals (a holed value the hole)."""
    if t == HOLE:
        return T(hole)
    if t.name == "Literal" and t.args:
        members = tuple(T(hole) if v == HOLE else T("Literal", (v,)) for v in t.args)
        return members[0] if len(members) == 1 else T("|", members)
    if t.name == "Callable" and len(t.args) == 2 and t.args[0].name in ("?", "..."):
        return T("Callable", (ELLIPSIS, _filled(t.args[1], hole)))
    return T(t.name, tuple(_filled(a, hole) for a in t.args))


def _assert_round_trip(t: TypeNode, hole: str = "any") -> None:
    text = to_ts(t, hole)
    assert normalize_ts(parse_ts_type(text)) == normalize_ts(_filled(t, hole)), text


@pytest.mark.parametrize(("text", "expected"), CONVERSIONS)
def test_to_ts_round_trips_conversions(text: str, expected: str) -> None:
    tree = parse_ts_type(text)
    _assert_round_trip(tree)
    _assert_round_trip(normalize_ts(tree))


@pytest.mark.parametrize(("text", "expected"), CONVERSIONS)
def test_partial_trees_print_as_valid_ts(text: str, expected: str) -> None:
    tree = normalize_ts(parse_ts_type(text))
    paths = [p for p, _ in nodes(tree)]
    for depth in range(max(len(p) for p in paths) + 1):
        for hole in ("any", "unknown"):
            _assert_round_trip(partial(tree, {p for p in paths if len(p) <= depth}), hole)


_LEAVES = st.sampled_from([
    T("string"), T("number"), T("boolean"), T("any"), T("unknown"), T("void"), T("null"), T("undefined"),
    T("never"), T("this"), T("Foo"), T("ns.Bar"), T("Date"), HOLE, T("tuple", (EMPTY_TUPLE,)),
    T("Literal", (T("'a'"),)), T("Literal", (T('"it\'s"'),)), T("Literal", (T("1"),)), T("Literal", (T("-2"),)),
    T("Literal", (T("true"),)), T("Literal", (T("'x'"), T("2.5"))), T("Literal", (HOLE,)),
])


def _extend(children: st.SearchStrategy[TypeNode]) -> st.SearchStrategy[TypeNode]:
    some = st.lists(children, min_size=1, max_size=3).map(tuple)
    return st.one_of(
        st.tuples(st.sampled_from(["Array", "ReadonlyArray", "Promise", "Set"]), children).map(
            lambda p: T(p[0], (p[1],))),
        st.tuples(st.sampled_from(["Map", "Record"]), children, children).map(lambda p: T(p[0], (p[1], p[2]))),
        some.map(lambda a: T("tuple", a)),
        st.tuples(st.lists(children, max_size=3), children).map(lambda p: T("Callable", (T("[]", tuple(p[0])), p[1]))),
        st.tuples(st.sampled_from([ELLIPSIS, HOLE]), children).map(lambda p: T("Callable", p)),
        st.lists(children, min_size=2, max_size=3).map(lambda a: T("|", tuple(a))),
        st.lists(children, min_size=2, max_size=3).map(lambda a: T("Intersection", tuple(a))),
    )


TREES = st.recursive(_LEAVES, _extend, max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(TREES, st.sampled_from(["any", "unknown"]))
def test_to_ts_round_trip_property(t: TypeNode, hole: str) -> None:
    _assert_round_trip(t, hole)
    n = normalize_ts(t)
    assert normalize_ts(n) == n
    _assert_round_trip(n, hole)


# ---------------------------------------------------------------------------------------------- real TypeScript

SNIPPET = """
import type { Request, Response } from 'express';
import * as React from 'react';

export interface User {
  id: number;
  name: string;
  email?: string | null;
  tags: readonly string[];
  meta: Record<string, unknown>;
  address: { city: string };
}

type Handler = (req: Request, res: Response) => Promise<void>;

export class UserStore {
  private users: Map<number, User> = new Map();
  private listeners: Array<(u: User) => void> = [];
  private state: 'idle' | 'loading' | 'error' = 'idle';

  constructor(private readonly api: ApiClient, timeout: number = 1000) {}

  async load(ids: number[], opts?: Partial<LoadOptions>): Promise<User[]> {
    const found: User | undefined = this.users.get(ids[0]);
    return [];
  }

  find(pred: (u: User, i: number) => boolean): User | undefined { return undefined; }
  keys(): IterableIterator<number> { return this.users.keys(); }
  pick<K extends keyof User>(u: User, k: K): User[K] { return u[k]; }
  isAdmin(u: User): u is Admin { return false; }
  pair(): [string, number] { return ['a', 1]; }
  on(event: 'change', cb: () => void): this { return this; }
  get size(): number { return this.users.size; }
}

export function render(props: React.PropsWithChildren<{ title: string }>): JSX.Element | null { return null; }
export const sum = (xs: readonly number[], init = 0): number => xs.reduce((a: number, b: number) => a + b, init);
let visitor: ((node: Node) => void) & { depth: number };
let code: typeof import('./x');
let point: [x: number, y?: number];
"""

SNIPPET_LABELS = [
    ("number", "number"), ("string", "string"), ("string | null", "string | null"),
    ("readonly string[]", "ReadonlyArray[string]"), ("Record<string, unknown>", "Record[string, unknown]"),
    ("{ city: string }", None),
    ("Request", "Request"), ("Response", "Response"),
    ("Map<number, User>", "Map[number, User]"), ("Array<(u: User) => void>", "Array[Callable[[User], void]]"),
    ("'idle' | 'loading' | 'error'", "Literal['error'] | Literal['idle'] | Literal['loading']"),
    ("ApiClient", "ApiClient"), ("number", "number"),
    ("number[]", "Array[number]"), ("Partial<LoadOptions>", "Partial[LoadOptions]"),
    ("Promise<User[]>", "Promise[Array[User]]"),
    ("User | undefined", "User | undefined"),
    ("(u: User, i: number) => boolean", "Callable[[User, number], boolean]"), ("User | undefined", "User | undefined"),
    ("IterableIterator<number>", "IterableIterator[number]"),
    ("User", "User"), ("K", "K"), ("User[K]", None),
    ("User", "User"), ("u is Admin", None),
    ("[string, number]", "tuple[string, number]"),
    ("'change'", "Literal['change']"), ("() => void", "Callable[[], void]"), ("this", "this"),
    ("number", "number"),
    ("React.PropsWithChildren<{ title: string }>", None), ("JSX.Element | null", "Element | null"),
    ("readonly number[]", "ReadonlyArray[number]"), ("number", "number"), ("number", "number"), ("number", "number"),
    ("((node: Node) => void) & { depth: number }", None), ("typeof import('./x')", None),
    ("[x: number, y?: number]", None),
]


def _annotations(source: str) -> list[str]:
    """The type text of each annotation in `source` that is not inside another type (slots, not sub-types)."""
    tree = ts.Parser(typescript_language()).parse(source.encode())
    assert not tree.root_node.has_error
    found: list[str] = []

    def walk(node: ts.Node) -> None:
        if node.type in ("type_annotation", "type_predicate_annotation"):
            found.append((node.named_children[-1].text or b"").decode())
            return
        for child in node.named_children:
            walk(child)

    walk(tree.root_node)
    return found


def test_real_typescript_annotations() -> None:
    texts = _annotations(SNIPPET)
    assert [(text, normalize_ts_label(text)) for text in texts] == SNIPPET_LABELS
    for text, label in SNIPPET_LABELS:
        if label is not None:  # every label prints back as TS that reads as the same label
            assert normalize_ts_label(to_ts(parse_type(label))) == label
