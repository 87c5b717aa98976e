"""The type names TypeScript code shares: its built-ins and lib types, and those the decoder knows.

Does: the name set that decides what counts as a user-defined TypeScript type (evaluation groups, corpus
statistics, the name linker's candidates, the names training may rename), through
`Language.is_standard_type`; the names every TypeScript prediction may use (`GRAMMAR_*`, the decoder's grammar
through `Language.grammar_names`). Data only: no parser imports.
Does not: parse types (`typetool.ts.typeexpr`).
"""

from __future__ import annotations

# fmt: off
GRAMMAR_GENERIC = """Array ReadonlyArray Promise Record Map Set WeakMap WeakSet Partial Required Readonly Pick Omit
Iterable Iterator AsyncIterable Generator"""
GRAMMAR_PLAIN = "string number boolean any unknown void undefined null never object bigint symbol Date RegExp Error Function"
# fmt: on

TS_BUILTIN_TYPES = frozenset({
    "string", "number", "boolean", "any", "unknown", "void", "undefined", "null", "never", "object", "bigint",
    "symbol", "this", "Array", "ReadonlyArray", "Promise", "PromiseLike", "Record", "Map", "Set", "WeakMap",
    "WeakSet", "ReadonlyMap", "ReadonlySet", "Partial", "Required", "Readonly", "Pick", "Omit", "Exclude",
    "Extract", "NonNullable", "ReturnType", "Parameters", "InstanceType", "Awaited", "Iterable", "Iterator",
    "IterableIterator", "AsyncIterable", "AsyncIterator", "AsyncIterableIterator", "Generator", "AsyncGenerator",
    "Date", "RegExp", "Error", "TypeError", "Function", "Uint8Array", "ArrayBuffer", "Callable", "tuple",
    "Intersection", "Literal", "[]", "()", "...", "|", "Symbol", "PropertyKey", "ArrayLike", "Response",
    "Request", "Headers", "URL", "AbortSignal", "AbortController", "Blob", "ReadableStream",
})


def grammar_names() -> dict[str, bool]:
    """name -> may take `[...]`, for the names every TypeScript prediction may use."""
    return {**{n: False for n in GRAMMAR_PLAIN.split()}, **{n: True for n in GRAMMAR_GENERIC.split()}}
